"""The README's path, walked as a new user walks it: a fresh clone, the README's commands exactly as written, no
virtualenv activated, then the UI through Dagster's GraphQL API and a browser.

The test (`test_user_path.py`) asserts on each step; `bench/bench_user_path.py` records the times in
BENCHMARKS.md. Commands are read from the README's "The two commands" block, so a README that drifts from what
works fails here.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from stockmart_assets_tests.support import REPO
from stockmart_assets_tests.support.ui_server import DagsterDev, free_port

LOCATION = "stockmart"  # the code location `stockmart ui` serves (pyproject: tool.dg.project.code_location_name)
SENSOR = "landing_files"
SENSOR_INTERVAL_S = 30
# What a login shell on a fresh Debian machine has: no virtualenv, no project paths.
PLAIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSED_THROUGH = ("HOME", "LANG", "LC_ALL", "TMPDIR", "MAVEN_REPOSITORY", "http_proxy", "https_proxy", "no_proxy",
                  "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")

RUNS = """query Runs($filter: RunsFilter) { runsOrError(filter: $filter, limit: 50) { __typename
  ... on Runs { results { runId status jobName startTime endTime tags { key value } } } } }"""
TICKS = """query Ticks($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) { __typename
  ... on Sensor { sensorState { status ticks(limit: 25) { tickId status timestamp skipReason runIds } } } } }"""
LAUNCH_BACKFILL = """mutation Launch($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  ... on InvalidStepError { invalidStepKey } ... on PartitionSetNotFoundError { message } } }"""
MATERIALIZATIONS = """query Mats($path: [String!]!, $partitions: [String!]) { assetOrError(assetKey: {path: $path}) {
  ... on Asset { assetMaterializations(partitions: $partitions, limit: 50) { partition runId timestamp
    metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }"""
CHECKS = """query Checks($path: [String!]!, $check: String!, $partition: String) {
  assetCheckExecutions(assetKey: {path: $path}, checkName: $check, partition: $partition, limit: 5) {
    runId status partition evaluation { success metadataEntries { label ... on IntMetadataEntry { intValue } } } } }"""


def readme_commands(readme: Path = REPO / "README.md") -> dict[str, str]:
    """The README's first commands: ``main`` (set up and run the main job), ``ui``, and ``test``."""
    text = readme.read_text(encoding="utf-8")
    block = re.search(r"## The two commands.*?```bash\n(.*?)```", text, re.S)
    assert block, "README: no ```bash block under '## The two commands'"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    found = {"main": commands[0], "ui": next(c for c in commands if "stockmart ui" in c),
             "test": next(c for c in commands if c.startswith("scripts/test.sh"))}
    return found


def fresh_clone(dest: Path, repo: Path = REPO) -> Path:
    """``git clone`` of the repository, with the working tree's uncommitted changes on top (so a test of a change
    walks the change); in CI, a clone of main is exactly main."""
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(repo), str(dest)], check=True)

    def listed(*args: str) -> list[str]:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                              text=True).stdout.split("\0")

    changed = listed("diff", "--name-only", "--no-renames", "-z", "HEAD")  # staged or not, against the clone
    untracked = listed("ls-files", "-z", "--others", "--exclude-standard")
    for rel in filter(None, dict.fromkeys(changed + untracked)):
        source, target = repo / rel, dest / rel
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.exists():
            target.unlink()
    return dest


def user_env(**extra: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})  # a mirror, if the machine has one
    return {**env, "PATH": PLAIN_PATH, **extra}


def seoul_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Seoul")).date()


@dataclass
class Walk:
    """One walk: a clone in ``work``, its UI on a free port, the times of each step in ``timings``."""

    work: Path
    clone: Path = field(init=False)
    env: dict[str, str] = field(init=False)
    commands: dict[str, str] = field(init=False)
    timings: dict[str, float] = field(default_factory=dict)
    ui: DagsterDev | None = None

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.clone = fresh_clone(self.work / "stockmart")
        self.env = user_env(STOCKMART_UI_PORT=str(free_port()))
        self.commands = readme_commands(self.clone / "README.md")

    @property
    def home(self) -> Path:
        return self.clone / ".stockmart"

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    # -- the README's commands -------------------------------------------------------------------------------
    def shell(self, command: str, log: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        """``command`` exactly as the README writes it, in bash, in the clone, with a plain environment."""
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", command], cwd=self.clone, env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        (self.work / log).write_text(f"$ {command}\n{done.stdout}\n--- stderr ---\n{done.stderr}")
        self.timings[f"{log}_total_s"] = round(time.monotonic() - started, 1)
        if m := re.search(r"done in (\d+) s", done.stdout):
            self.timings[f"{log}_s"] = float(m.group(1))  # `stockmart run`'s own time: setup excluded
        return done

    def main_job(self, log: str = "main_job") -> subprocess.CompletedProcess:
        return self.shell(self.commands["main"], log)

    def start_ui(self) -> None:
        started = time.monotonic()
        port = int(self.env["STOCKMART_UI_PORT"])
        self.ui = DagsterDev(env=self.env, cwd=self.clone, log_path=self.work / "ui.log", port=port,
                             command=["bash", "-c", f"exec {self.commands['ui']}"]).start()
        self.ui.wait_ready(timeout=300)
        self.timings["ui_ready_s"] = round(time.monotonic() - started, 1)

    def stop_ui(self):
        report = self.ui.stop()
        self.timings["ui_stop_s"] = report.seconds
        return report

    # -- GraphQL, through the client external tools use ------------------------------------------------------
    def graphql(self, query: str, variables: dict | None = None) -> dict:
        from gql import Client, GraphQLRequest
        from gql.transport.requests import RequestsHTTPTransport

        transport = RequestsHTTPTransport(url=f"{self.ui.url}/graphql", timeout=60)
        with Client(transport=transport, fetch_schema_from_transport=False) as session:
            return session.execute(GraphQLRequest(query, variable_values=variables or {}))

    def run_status(self, run_id: str):
        from dagster_graphql import DagsterGraphQLClient

        return DagsterGraphQLClient(self.ui.host, port_number=self.ui.port).get_run_status(run_id)

    def runs(self, **tags: str) -> list[dict]:
        variables = {"filter": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}} if tags else {}
        return self.graphql(RUNS, variables)["runsOrError"]["results"]

    def sensor_ticks(self) -> list[dict]:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": SENSOR}
        sensor = self.graphql(TICKS, {"selector": selector})["sensorOrError"]
        return sensor["sensorState"]["ticks"]

    def wait_ticks(self, count: int, after: float, timeout: float = 4 * SENSOR_INTERVAL_S) -> list[dict]:
        """The sensor's ticks evaluated after ``after`` (epoch seconds), once there are ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            ticks = [t for t in self.sensor_ticks() if t["timestamp"] > after and t["status"] != "STARTED"]
            if len(ticks) >= count or time.monotonic() > deadline:
                return ticks
            time.sleep(2)

    def wait_runs(self, predicate, count: int, timeout: float) -> list[dict]:
        """Runs matching ``predicate``, once ``count`` of them have ended (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while True:
            runs = [r for r in self.runs() if predicate(r)]
            ended = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
            if len(ended) >= count or time.monotonic() > deadline:
                return runs
            time.sleep(2)

    def launch_backfill(self, assets: list[list[str]], days: list[str]) -> str:
        params = {"assetSelection": [{"path": a} for a in assets], "partitionNames": days, "fromFailure": False,
                  "title": "user path: three days"}
        answer = self.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert answer["__typename"] == "LaunchBackfillSuccess", answer
        return answer["backfillId"]

    def materializations(self, asset: list[str], days: list[str]) -> list[dict]:
        return self.graphql(MATERIALIZATIONS, {"path": asset, "partitions": days})["assetOrError"][
            "assetMaterializations"]

    def check_executions(self, asset: list[str], check: str, day: str) -> list[dict]:
        return self.graphql(CHECKS, {"path": asset, "check": check, "partition": day})["assetCheckExecutions"]

    # -- the data ----------------------------------------------------------------------------------------------
    def drop_trades(self, day: dt.date, trades: int, first_order_id: int = 900_000) -> Path:
        """A new export of ``trades`` orders on ``day``, as the service would drop it (customers 1.., stocks 1..)."""
        header = "주문id,고객id,주식,거래종류,주문량,주문일시\n"
        rows = [f"{first_order_id + i},{1 + i % 5},{1 + i % 3},{'매수' if i % 2 == 0 else '매도'},{1 + i},"
                f"{day} {9 + i % 8:02d}:{i % 60:02d}" for i in range(trades)]
        path = self.landing / f"trade_{day}.csv"
        staging = path.with_name(f".{path.name}.tmp")
        staging.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
        os.replace(staging, path)  # the file appears whole, as an export dropped by a script would
        return path

    def mart(self, sql: str) -> list[tuple]:
        """A read of the DuckDB mart, queued behind any writer (the warehouse's own lock)."""
        import duckdb

        from stockmart_assets.lib.warehouse.lock import writer_lock

        with writer_lock(str(self.warehouse)), duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()


HANGUL_PROBE = """() => {
  const canvas = document.createElement('canvas'); canvas.width = 240; canvas.height = 48;
  const g = canvas.getContext('2d');
  const draw = (text) => { g.clearRect(0, 0, 240, 48); g.font = '28px sans-serif'; g.fillText(text, 4, 36);
                           return Array.from(g.getImageData(0, 0, 240, 48).data).join(','); };
  const tofu = draw('\\uE000\\uE001\\uE002\\uE003');  // private-use code points: no font has them
  return {hangul: draw('매수매도') !== tofu && draw('매수매도') !== draw(''),
          probe_sees_tofu: draw('\\u{10FFFD}\\u{10FFFC}\\u{10FFFB}\\u{10FFFA}') === tofu};
}"""
