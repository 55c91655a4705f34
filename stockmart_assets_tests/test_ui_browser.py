"""The UI in a real browser: `dagster dev` on 127.0.0.1, Debian's Chromium driven headless by Playwright.

The upstream of one day (dimensions, raw/trade, mysql/trade and its Deequ checks for 2024-12-26) is
materialized first by the CLI, against the same Dagster home and warehouse, in processes that have exited
(DuckDB's file has one writer process at a time); the instigators that run by default (the landing sensor,
the daily schedule) are stopped in the instance first, so the UI's run is the only new one. Then, in the
browser: the asset graph, the mart/trade asset page, "Materialize…" for partition 2024-12-26 through the
partition dialog, the launched run until it succeeds, mart/trade's lineage and the mysql/trade checks tab.
Every outcome is also verified through the GraphQL API and, after the server is stopped, in the warehouse
itself. Screenshots are kept in the test's tmp folder (printed) and the last one is copied to
/tmp/stockmart-ui.png.

Chromium is Debian's (`apt-get install chromium`, /usr/bin/chromium): Playwright never downloads a browser here.
A missing browser or Playwright fails the test; it is never skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from stockmart_assets.landing.generator import generate
from stockmart_assets_tests.ui_server import DAGSTER, MODULE, DagsterDev, cmdline

pytestmark = [pytest.mark.mysql, pytest.mark.slow]

CHROMIUM = os.getenv("STOCKMART_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
DAY = "2024-12-26"
TRADES_PER_DAY = 20
FINAL_SCREENSHOT = Path("/tmp/stockmart-ui.png")
UI_TIMEOUT_MS = 60_000
RUN_TIMEOUT_S = 600
STOP_BEFORE_START = [("sensor", "landing_files"), ("schedule", "daily")]

RUNS_QUERY = """
query Runs($filter: RunsFilter) { runsOrError(filter: $filter, limit: 20) { __typename
  ... on Runs { results { runId status jobName creationTime tags { key value } assetSelection { path } } }
  ... on PythonError { message } } }
"""
RUN_QUERY = """
query Run($runId: ID!) { runOrError(runId: $runId) { __typename
  ... on Run { runId status jobName tags { key value } assetSelection { path } }
  ... on RunNotFoundError { message } ... on PythonError { message } } }
"""
MATERIALIZATIONS_QUERY = """
query Mats($path: [String!]!, $partitions: [String!]) { assetOrError(assetKey: {path: $path}) { __typename
  ... on Asset { assetMaterializations(partitions: $partitions, limit: 5) { runId partition timestamp } } } }
"""
CHECK_QUERY = """
query Check($path: [String!]!, $check: String!, $partition: String) {
  assetCheckExecutions(assetKey: {path: $path}, checkName: $check, partition: $partition, limit: 5) {
    runId status partition evaluation { success severity description } } }
"""


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def dismiss_nux(page) -> None:
    """Skip dagster dev's "Join the Dagster community" dialog now if it is up (it appears a second after load)."""
    nux = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
    try:
        nux.get_by_role("button", name="Skip").click(timeout=5_000)
        nux.wait_for(state="hidden", timeout=5_000)
    except Exception:  # noqa: BLE001 - not shown (already dismissed): nothing to do
        pass


def run_cli(args: list[str], env: dict, cwd: Path, log: Path) -> None:
    """A `dagster` CLI command, to completion: its process (and its Spark JVM) has exited when this returns."""
    start = time.monotonic()
    with open(log, "ab") as out:
        out.write(f"\n$ dagster {' '.join(args)}\n".encode())
        out.flush()
        done = subprocess.run([DAGSTER, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, timeout=900, start_new_session=True)
    print(f"dagster {' '.join(args[:2])}: {time.monotonic() - start:.0f} s")
    assert done.returncode == 0, f"`dagster {' '.join(args)}` failed:\n{log.read_text(errors='replace')[-6000:]}"


def tags_of(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def checks_for(server: DagsterDev, asset: list[str], check: str, partition: str) -> list[dict]:
    return server.graphql(CHECK_QUERY, {"path": asset, "check": check, "partition": partition})["assetCheckExecutions"]


def materializations(server: DagsterDev, asset: list[str], partition: str) -> list[dict]:
    answer = server.graphql(MATERIALIZATIONS_QUERY, {"path": asset, "partitions": [partition]})["assetOrError"]
    return answer.get("assetMaterializations") or []


def wait_for_run(server: DagsterDev, run_id: str, timeout: float = RUN_TIMEOUT_S) -> dict:
    deadline, run = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        run = server.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]
        if run.get("status") in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        time.sleep(2)
    raise AssertionError(f"run {run_id} not finished after {timeout}s: {run}\n{server.log_tail()}")


@pytest.fixture
def ui_env(tmp_path, mysql_url) -> dict[str, str]:
    """Sample landing files for one day, a fresh Dagster home and stockmart home, the session's MariaDB."""
    home, dagster_home, landing = tmp_path / "home", tmp_path / "dagster_home", tmp_path / "landing"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    counts = generate(landing, days=1, trades_per_day=TRADES_PER_DAY, start_date=dt.date.fromisoformat(DAY))
    assert counts["trade"] == TRADES_PER_DAY
    env = {**os.environ, "STOCKMART_HOME": str(home), "STOCKMART_LANDING_DIR": str(landing),
           "DAGSTER_HOME": str(dagster_home), "STOCKMART_MYSQL_URL": mysql_url, "STOCKMART_ENV": "LOCAL",
           "PYTHONUNBUFFERED": "1"}
    for name in ("STOCKMART_LAKE_DIR", "STOCKMART_METRICS_REPOSITORY", "DAGSTER_IS_DEV_CLI"):
        env.pop(name, None)
    return env


def test_materialize_a_mart_partition_from_the_ui_in_chromium(tmp_path, ui_env):
    started = time.monotonic()
    # Fail, never skip, when the browser or its driver is missing.
    assert Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK), (
        f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as e:  # pragma: no cover - an install problem, reported as a failure
        pytest.fail(f"the playwright package is not installed ({e}); pip install it (never `playwright install`)")

    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nscreenshots: {shots}")
    setup_log = tmp_path / "setup.log"

    # 1. Everything upstream of mart/trade [DAY], by the CLI, in processes that have exited before the UI writes.
    run_cli(["job", "execute", "-m", MODULE, "-j", "dimensions"], ui_env, tmp_path, setup_log)
    run_cli(["asset", "materialize", "-m", MODULE, "--select", "raw/trade,mysql/trade", "--partition", DAY],
            ui_env, tmp_path, setup_log)
    assert (Path(ui_env["STOCKMART_HOME"]) / "warehouse.duckdb").is_file(), "the checks wrote their verification"

    # The instigators that run by default would start their own runs of the day (the landing sensor sees the
    # sample files) and compete for the warehouse: stopped, so the UI's run is the only one (asserted below).
    for kind, name in STOP_BEFORE_START:
        run_cli([kind, "stop", name, "-m", MODULE], ui_env, tmp_path, setup_log)

    server = DagsterDev(env=ui_env, cwd=tmp_path, log_path=tmp_path / "dagster-dev.log")
    browser_profile = tmp_path / "chromium-profile"
    try:
        server.start()
        server.wait_ready(timeout=300)
        print(f"dagster dev ready on {server.url} after {time.monotonic() - started:.0f} s (pgid {server.pgid})")

        # The instance has the CLI's runs, and the gate's precondition: mysql/trade [DAY] passed its suite.
        executions = checks_for(server, ["mysql", "trade"], "deequ_suite", DAY)
        assert executions and executions[0]["status"] == "SUCCEEDED" and executions[0]["evaluation"]["success"], (
            executions)
        assert not materializations(server, ["mart", "trade"], DAY), "only the mart partition is left to launch"
        runs_before = {r["runId"] for r in server.graphql(RUNS_QUERY)["runsOrError"]["results"]}
        assert len(runs_before) >= 2, "the setup runs are in the same Dagster instance"

        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(browser_profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": 1680, "height": 1050}, timezone_id="UTC", locale="en-US")
            context.set_default_timeout(UI_TIMEOUT_MS)
            expect.set_options(timeout=UI_TIMEOUT_MS)
            page = context.pages[0] if context.pages else context.new_page()
            # dagster dev greets a new browser with a "Join the Dagster community" dialog: skip it, as a person would.
            page.add_locator_handler(
                page.get_by_role("dialog").filter(has_text="Join the Dagster community"),
                lambda nux: nux.get_by_role("button", name="Skip").click())
            step = iter(range(1, 100))

            def shot(name: str) -> Path:
                path = shots / f"{next(step):02d}-{name}.png"
                page.screenshot(path=str(path))
                return path

            try:
                # 2. The asset graph.
                page.goto(f"{server.url}/asset-groups", wait_until="domcontentloaded")
                expect(page.get_by_role("button", name=re.compile(r"Materialize all"))).to_be_visible()
                expect(page.get_by_text(re.compile(r"\banalytics\b")).first).to_be_visible()
                dismiss_nux(page)
                # The global graph opens with its groups collapsed: expand them (graph settings menu, else ⌥E).
                try:
                    page.get_by_role("button", name="settings", exact=True).click(timeout=10_000)
                    page.get_by_role("menuitem", name=re.compile(r"Expand all groups")).click(timeout=10_000)
                except Exception:  # noqa: BLE001 - the menu moved: the keyboard shortcut does the same
                    page.keyboard.press("Escape")
                    page.keyboard.press("Alt+e")
                expect(page.get_by_text("orders_per_day").first).to_be_visible()
                page.keyboard.press("Escape")
                page.reload(wait_until="domcontentloaded")  # the expanded groups are kept: a fresh layout fits the view
                expect(page.get_by_text("orders_per_day").first).to_be_visible()
                dismiss_nux(page)
                page.wait_for_timeout(2500)  # let the layout settle
                shot("asset-graph")

                # 3. mart/trade's page, "Materialize…", the partition dialog, day DAY, one run.
                page.goto(f"{server.url}/assets/mart/trade", wait_until="domcontentloaded")
                # Accessible names carry the icon's name ("materialization Materialize…"): match words.
                materialize = page.get_by_role("button", name=re.compile(r"\bMaterialize\b(?! all| selected)"))
                expect(materialize.first).to_be_enabled()
                shot("mart-trade-asset")
                materialize.first.click()
                dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
                expect(dialog).to_be_visible()
                expect(dialog.get_by_text("Partition selection")).to_be_visible()
                show_all = dialog.get_by_role("button", name="Show all partitions")
                try:  # DAY is older than the dialog's default window (the last 90 days)
                    show_all.wait_for(state="visible", timeout=10_000)
                    show_all.click()
                except Exception:  # noqa: BLE001 - no window in this version: the input takes every key
                    pass
                partitions_input = dialog.get_by_placeholder(re.compile(r"^ex: "))
                expect(partitions_input).to_be_visible()
                partitions_input.fill(DAY)
                partitions_input.press("Enter")
                expect(dialog.get_by_text(re.compile(r"^1 partition$"))).to_be_visible()
                launch = dialog.get_by_role("button", name=re.compile(r"\bLaunch 1 run\b"))
                expect(launch).to_be_enabled()
                shot("partition-dialog")
                launch.click()

                # 4. The toast says the run was launched; its "View" opens the run. GraphQL finds the same run.
                expect(page.get_by_text(re.compile(r"^Launched run")).first).to_be_visible()
                toast = page.get_by_role("region", name=re.compile("Notifications")).get_by_role("listitem").filter(
                    has_text="Launched run").first
                new_runs = [r for r in server.graphql(RUNS_QUERY)["runsOrError"]["results"]
                            if r["runId"] not in runs_before]
                assert len(new_runs) == 1, f"one new run, the UI's: {new_runs}"
                launched = new_runs[0]
                run_id = launched["runId"]
                try:
                    toast_text = toast.inner_text(timeout=5_000)
                    toast.get_by_role("link", name=re.compile(r"\bView\b")).click(timeout=10_000)
                    page.wait_for_url(f"**/runs/{run_id}*", timeout=15_000)
                    print(f"run {run_id} opened from the toast ({toast_text!r})")
                    assert run_id[:8] in toast_text, (run_id, toast_text)
                except AssertionError:
                    raise
                except Exception as e:  # noqa: BLE001 - the toast went away first: open the run directly
                    print(f"toast's View not usable ({type(e).__name__}): opening /runs/{run_id}")
                    page.goto(f"{server.url}/runs/{run_id}", wait_until="domcontentloaded")
                assert tags_of(launched).get("dagster/partition") == DAY, launched["tags"]
                assert [a["path"] for a in launched["assetSelection"]] == [["mart", "trade"]], launched
                page.wait_for_timeout(3000)
                shot("run-in-progress")

                run = wait_for_run(server, run_id)
                assert run["status"] == "SUCCESS", f"the UI's run {run_id} ended {run['status']}:\n{server.log_tail()}"
                mats = materializations(server, ["mart", "trade"], DAY)
                assert mats and mats[0]["runId"] == run_id and mats[0]["partition"] == DAY, mats

                # 5. The checks mart/trade's gate relied on, green on mysql/trade's Checks tab and in GraphQL.
                suite = checks_for(server, ["mysql", "trade"], "deequ_suite", DAY)[0]
                assert suite["status"] == "SUCCEEDED" and suite["evaluation"]["success"], suite
                assert suite["evaluation"]["severity"] == "ERROR", suite
                page.goto(f"{server.url}/assets/mart/trade?view=lineage", wait_until="domcontentloaded")
                expect(page.get_by_text("orders_per_day").first).to_be_visible()
                page.wait_for_timeout(2500)
                shot("mart-trade-lineage")
                page.goto(f"{server.url}/assets/mysql/trade?view=checks", wait_until="domcontentloaded")
                page.get_by_text("deequ_suite", exact=True).first.click()
                expect(page.get_by_text(re.compile(r"blocking asset check")).first).to_be_visible()
                expect(page.get_by_text("Passed", exact=True).first).to_be_visible()
                expect(page.get_by_text(DAY, exact=True).first).to_be_visible()
                page.wait_for_timeout(1500)
                shot("mysql-trade-checks")

                # 6. The run page, finished: the final screenshot.
                page.goto(f"{server.url}/runs/{run_id}", wait_until="domcontentloaded")
                expect(page.get_by_text("Success", exact=True).first).to_be_visible()
                expect(page.get_by_text(re.compile(r"mart__trade|mart/trade")).first).to_be_visible()
                page.wait_for_timeout(2000)
                final = shot("run-success")
            except BaseException:
                page.screenshot(path=str(shots / "failure.png"))
                print(f"failure screenshot: {shots / 'failure.png'}; server log: {server.log_path}")
                raise
            context.close()
        left = [cmd for cmd in (cmdline(pid) for pid in _all_pids()) if str(browser_profile) in cmd]
        assert not left, f"Chromium processes left after closing the browser: {left}"
    finally:
        report = server.stop()
        print(f"dagster dev stopped with {report.signals} in {report.seconds} s, exit {report.returncode}")

    shutil.copyfile(final, FINAL_SCREENSHOT)
    print(f"final screenshot: {final} (copied to {FINAL_SCREENSHOT}); total {time.monotonic() - started:.0f} s")

    # 7. Stopped cleanly: one SIGINT to the group stopped everything, nothing of the session is left.
    assert not report.left, f"processes left after stopping dagster dev: {report.left}"
    assert report.signals == ["SIGINT"], f"dagster dev needed {report.signals} to stop:\n{server.log_tail()}"

    # 8. The warehouse has the day, written by the UI's run (no process holds the DuckDB file any more).
    with duckdb.connect(str(Path(ui_env["STOCKMART_HOME"]) / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM mart.trade WHERE trade_date = DATE '2024-12-26'").fetchone() == (
            TRADES_PER_DAY,)
        assert con.execute("SELECT count(DISTINCT trade_date) FROM mart.trade").fetchone() == (1,)
