"""The whole benchmark suite (issue 7) in one command, with its results appended to BENCHMARKS.md.

    .venv/bin/python bench/run_all.py [--trades 1000000] [--backfill-days 30] [--backfill-trades 100000]
                                      [--only partition backfill definitions sensor] [--no-append] [--keep]

- partition: one day of ``--trades`` trades through the real ``daily_partition`` job (raw → mysql → the
  blocking Deequ checks → mart on DuckDB, LOCAL resources) in a fresh process, timed per stage from the run's
  event log; then, in that same process, each stage's raw-tool floor: one Spark start + bare JDBC scan, a bare
  DuckDB ``read_csv``, a bare ``LOAD DATA LOCAL INFILE`` and (when ``.venv-bq`` is installed) a bare BigQuery
  emulator load next to stockmart's PROD mart replace. Peak RSS per stage: the child's process tree (Python
  and the Spark JVM) sampled every 0.1 s, attributed to the steps' windows.
- backfill: ``--backfill-days`` × ``--backfill-trades`` as one single-run backfill (a partition range) and as
  that many single-partition runs, each a fresh process as a launched run is.
- definitions: ``dagster definitions validate``, median of 5 fresh processes.
- sensor: ticks of ``landing_files`` over 10,000 landing files (cold, the backlog, steady state).

A throwaway MariaDB (and the emulator) run for the duration and are stopped at the end, on Ctrl-C too.
Progress goes to stderr, the children's logs to the work folder; the result is one JSON line on stdout and,
unless ``--no-append``, a dated section at the end of BENCHMARKS.md.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import DAY  # bench/common.py: the day every benchmark loads
from proctree import TreeSampler
from suite_report import GIB, Figure, machine, markdown

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).resolve().with_name("suite_child.py")
BACKFILL_START = dt.date(2024, 11, 1)
CUSTOMERS = 10_000
SECTIONS = ("partition", "backfill", "definitions", "sensor")
STAGES = {  # stage -> (which steps of the run, its raw-tool floor)
    "raw (CSV → lake)": (lambda k: k.startswith("raw__"), "floor_duckdb"),
    "mysql (LOAD DATA)": (lambda k: k.startswith("mysql__") and "deequ" not in k, "floor_mysql"),
    "quality (Deequ)": (lambda k: "deequ" in k or k.startswith("quality__"), "floor_spark"),
    "mart (DuckDB)": (lambda k: k.startswith("mart__"), "floor_duckdb"),
}
FLOOR_NAMES = {"floor_duckdb": "bare DuckDB read_csv", "floor_mysql": "bare LOAD DATA LOCAL INFILE",
               "floor_spark": "Spark start + one bare JDBC scan", "floor_bigquery": "bare emulator load"}

_started = time.monotonic()
_children: list[subprocess.Popen] = []


def say(message: str) -> None:
    elapsed = int(time.monotonic() - _started)
    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", file=sys.stderr, flush=True)


def rss_target(trades: int) -> float:
    return 2.0 if trades <= 1_000_000 else 6.0


class Child:
    """One measured child process: its result, wall time, sampled tree RSS and wait4's ru_maxrss."""

    def __init__(self, argv: list[str], env: dict, log: Path, label: str):
        self.label, self.result_path = label, log.with_suffix(".json")
        say(f"{label} ...")
        t0 = time.perf_counter()
        with open(log, "ab") as err:
            process = subprocess.Popen([sys.executable, str(CHILD), argv[0], str(self.result_path), *argv[1:]],
                                       env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True,
                                       start_new_session=True)  # Ctrl-C reaches the driver, which ends it
        _children.append(process)
        done = threading.Event()

        def heartbeat():
            while not done.wait(60):
                say(f"  {label}: running for {time.perf_counter() - t0:.0f} s, tree RSS {self.rss.latest() / GIB:.2f} GiB")

        with TreeSampler(process.pid) as self.rss:
            threading.Thread(target=heartbeat, daemon=True).start()
            for line in process.stdout:
                if line.startswith("progress: "):
                    say(f"  {label}: {line.removeprefix('progress: ').strip()}")
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            done.set()
        _children.remove(process)
        self.wall = time.perf_counter() - t0
        self.max_single_rss = usage.ru_maxrss * 1024  # the largest single process (Python or the JVM)
        if process.returncode != 0 or not self.result_path.exists():
            raise RuntimeError(f"{label} exited with {process.returncode}; its log: {log}")
        self.result = json.loads(self.result_path.read_text())
        say(f"{label}: done in {self.wall:.1f} s, peak tree RSS {self.rss.peak() / GIB:.2f} GiB")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def kill_children() -> None:
    for process in list(_children):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)  # the child and its JVM (same process group)
            except ProcessLookupError:
                break
            try:
                process.wait(10)
                break
            except subprocess.TimeoutExpired:
                continue


def run_args(job: str, partition: str | None = None, first: str | None = None, last: str | None = None) -> list[str]:
    return ["run", "--job", job, *(["--partition", partition] if partition else []),
            *(["--range", first, last] if first else [])]


def stage_rows(run: dict, phases: dict, rss: TreeSampler) -> list[dict]:
    rows = []
    for stage, (selects, floor) in STAGES.items():
        steps = [s for s in run["steps"] if selects(s["key"]) and s["start"] and s["end"]]
        seconds = sum(s["end"] - s["start"] for s in steps)
        floor_s = phases.get(floor, {}).get("seconds")
        rows.append({"stage": stage, "steps": [s["key"] for s in steps], "seconds": seconds, "floor": floor,
                     "floor_s": floor_s, "ratio": seconds / floor_s if floor_s else None,
                     "peak_rss": rss.peak(windows := [(s["start"], s["end"]) for s in steps]),
                     "peak_rss_python": rss.peak(windows, python_only=True)})
    return rows


# -- sections ----------------------------------------------------------------------------------------------------

def section_partition(a, work: Path, env: dict, emulator, figures: list, details: list, out: dict) -> None:
    from stockmart_assets.lib.landing.generator import generate

    landing = Path(env["STOCKMART_LANDING_DIR"])
    say(f"partition: generating {a.trades:,} trades for {DAY}")
    generate(landing, customers=CUSTOMERS, days=1, trades_per_day=a.trades, start_date=dt.date.fromisoformat(DAY),
             bars=True)
    extra = ["--floors", "--trades", str(a.trades), "--work", str(work)]
    if emulator:
        extra += ["--bigquery-endpoint", emulator.endpoint, "--bigquery-project", emulator.project]
    child = Child([*run_args("daily_partition", DAY), *extra], env, work / "logs" / "partition.log",
                  f"partition {DAY} ({a.trades:,} trades) + floors")
    run, phases = child.result["run"], {p["name"]: p for p in child.result.get("phases", [])}
    if not run["success"]:
        raise RuntimeError(f"the daily_partition run failed: {run['failure']}")
    stages = stage_rows(run, phases, child.rss)
    floors_sum = sum(r["floor_s"] for r in stages if r["floor_s"])
    missing = sorted({r["floor"] for r in stages if not r["floor_s"]})
    run_rss = child.rss.peak([(run["start"], run["end"])])
    scale = f"{a.trades:,} trades"
    figures.append(Figure(f"partition end to end, {scale} (daily_partition run)", run["wall_s"], "s",
                          45.0 if a.trades == 1_000_000 else None))
    figures.append(Figure("end to end / sum of its stage floors", None if missing else run["wall_s"] / floors_sum,
                          "x", 1.5, f"floors {floors_sum:.2f} s" + (f"; missing {missing}" if missing else "")))
    for r in stages:
        figures.append(Figure(f"  {r['stage']} / {FLOOR_NAMES[r['floor']]}", r["ratio"], "x", None,
                              f"{r['seconds']:.2f} s vs " + (f"{r['floor_s']:.2f} s" if r["floor_s"] else "no floor")))
    for r in stages:
        figures.append(Figure(f"peak RSS, {r['stage']}", r["peak_rss"] / GIB, "GiB", rss_target(a.trades)))
    figures.append(Figure("peak RSS, whole partition run (Python + JVM)", run_rss / GIB, "GiB", rss_target(a.trades),
                          f"largest single process {child.max_single_rss / GIB:.2f} GiB"))
    bq = phases.get("floor_bigquery")
    if bq and "error" not in bq:
        figures.append(Figure("PROD mart stage: BigQueryWarehouse.replace / bare emulator load", bq["mart_replace_s"] / bq["seconds"],
                              "x", None, f"{bq['mart_replace_s']:.2f} s vs {bq['seconds']:.2f} s"))
    bq_note = (f"BigQuery emulator floor: {bq['error'] if bq and 'error' in bq else 'measured'}" if bq
               else "BigQuery emulator floor: skipped (.venv-bq missing or --no-bigquery)")
    spark = phases.get("floor_spark", {})
    overhead = run["wall_s"] - sum(s["end"] - s["start"] for s in run["steps"] if s["start"] and s["end"])
    details += [
        f"Partition run: {run['wall_s']:.2f} s in a {child.wall:.1f} s process; Dagster's own time between and "
        f"around the steps {overhead:.2f} s. Spark floor = start {spark.get('spark_start_s', 0):.2f} s + scan "
        f"{spark.get('scan_s', 0):.2f} s (the run starts Spark too). {bq_note}. Floors each run once, in the same "
        "process right after the run; DuckDB's floor serves both the raw and the mart stage. Slowest steps: "
        + ", ".join(f"{s['key']} {s['end'] - s['start']:.2f} s" for s in sorted(
            (s for s in run["steps"] if s["start"] and s["end"]), key=lambda s: s["start"] - s["end"])[:5]) + ".", "",
        "| stage | steps | seconds | floor | floor s | × floor | peak RSS: tree (Python alone) |",
        "|---|---|---|---|---|---|---|",
        *[f"| {r['stage']} | {', '.join(r['steps'])} | {r['seconds']:.2f} | {FLOOR_NAMES[r['floor']]} | "
          + (f"{r['floor_s']:.2f} | {r['ratio']:.2f}" if r["floor_s"] else "n/a | n/a")
          + f" | {r['peak_rss'] / GIB:.2f} GiB ({r['peak_rss_python'] / GIB:.2f}) |" for r in stages], ""]
    out["partition"] = {"trades": a.trades, "run_s": run["wall_s"], "process_s": child.wall, "floors_sum_s": floors_sum,
                        "stages": stages, "floors": phases, "steps": run["steps"], "peak_rss_bytes": run_rss,
                        "max_single_rss_bytes": child.max_single_rss}


def section_backfill(a, work: Path, env: dict, figures: list, details: list, out: dict) -> None:
    from stockmart_assets.lib.landing.generator import generate

    days = [(BACKFILL_START + dt.timedelta(days=i)).isoformat() for i in range(a.backfill_days)]
    landing = work / "landing-backfill"
    say(f"backfill: generating {a.backfill_days} days × {a.backfill_trades:,} trades ({days[0]}...{days[-1]})")
    generate(landing, customers=CUSTOMERS, days=a.backfill_days, trades_per_day=a.backfill_trades,
             start_date=BACKFILL_START, bars=True, split_trades_by_day=True)
    env = {**env, "STOCKMART_LANDING_DIR": str(landing)}
    logs = work / "logs"
    single = Child(run_args("daily_partition", first=days[0], last=days[-1]), env, logs / "backfill.log",
                   f"single-run backfill of {len(days)} partitions")
    if not single.result["run"]["success"]:
        raise RuntimeError(f"the backfill run failed: {single.result['run']['failure']}")
    runs, processes, peaks = [], [], []
    for i, day in enumerate(days):
        child = Child(run_args("daily_partition", day), env, logs / f"single-{day}.log",
                      f"single-partition run {i + 1}/{len(days)} ({day})")
        if not child.result["run"]["success"]:
            raise RuntimeError(f"the run of {day} failed: {child.result['run']['failure']}")
        runs.append(child.result["run"]["wall_s"])
        processes.append(child.wall)
        peaks.append(child.rss.peak())
    backfill_s, one = single.result["run"]["wall_s"], statistics.median(runs)
    scale = f"{len(days)} × {a.backfill_trades:,}"
    figures.append(Figure(f"single-run backfill, {scale}", backfill_s, "s", None,
                          f"process {single.wall:.1f} s"))
    figures.append(Figure(f"{len(days)} single-partition runs, total", sum(runs), "s", None,
                          f"processes {sum(processes):.1f} s; median run {one:.2f} s"))
    figures.append(Figure("backfill / one partition (median single run)", backfill_s / one, "x", 3.0))
    partition = out.get("partition")
    if partition:
        figures.append(Figure(f"backfill / the {partition['trades']:,}-trade partition run",
                              backfill_s / partition["run_s"], "x", None))
    figures.append(Figure(f"peak RSS, backfill run ({scale})", single.rss.peak() / GIB, "GiB",
                          rss_target(len(days) * a.backfill_trades)))
    details += [f"Backfill: single runs' wall (s) {', '.join(f'{x:.1f}' for x in runs)}; the {len(days)} runs as "
                f"processes took {sum(processes):.1f} s against {single.wall:.1f} s for the backfill's process "
                f"({sum(processes) / single.wall:.1f}× longer).", ""]
    out["backfill"] = {"days": len(days), "trades_per_day": a.backfill_trades, "backfill_run_s": backfill_s,
                       "backfill_process_s": single.wall, "single_runs_s": runs, "single_processes_s": processes,
                       "backfill_peak_rss_bytes": single.rss.peak(), "single_peak_rss_bytes": max(peaks)}


def section_definitions(work: Path, figures: list, details: list, out: dict, repeat: int = 5) -> None:
    dagster = Path(sys.executable).with_name("dagster")
    home = Path(tempfile.mkdtemp(prefix="dagster-home-", dir=work))
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    seconds, peaks = [], []
    for i in range(repeat):
        t0 = time.perf_counter()
        process = subprocess.Popen([str(dagster), "definitions", "validate", "-m", "stockmart_assets.definitions"],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _children.append(process)
        stderr = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        _children.remove(process)
        seconds.append(time.perf_counter() - t0)
        peaks.append(usage.ru_maxrss * 1024)
        if process.returncode:
            raise RuntimeError(f"dagster definitions validate failed: {stderr.decode(errors='replace')[-2000:]}")
        say(f"definitions validate {i + 1}/{repeat}: {seconds[-1]:.2f} s")
    median = statistics.median(seconds)
    figures.append(Figure(f"`dagster definitions validate` (median of {repeat})", median, "s", 2.0,
                          ", ".join(f"{s:.2f}" for s in seconds)))
    out["definitions"] = {"seconds": seconds, "median_s": median, "peak_rss_bytes": max(peaks)}


def section_sensor(work: Path, env: dict, files: int, figures: list, details: list, out: dict) -> None:
    child = Child(["sensor", "--files", str(files), "--root", str(work / "sensor-landing")], env,
                  work / "logs" / "sensor.log", f"landing_files sensor over {files:,} files")
    ticks = child.result["phases"][0]
    figures.append(Figure(f"sensor tick, {files:,} files, cold cursor", ticks["cold_s"], "s", 1.0))
    figures.append(Figure("sensor tick, backlog (slowest)", ticks["backlog_max_s"], "s", 1.0,
                          f"{ticks['backlog_ticks']} ticks read every file's days"))
    figures.append(Figure("sensor tick that requests the day runs", ticks["requesting_s"], "s", 1.0,
                          f"{ticks['days_requested']} days"))
    figures.append(Figure("sensor tick, steady state (nothing changed)", ticks["steady_s"], "s", 1.0))
    out["sensor"] = ticks


# -- the run -----------------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trades", type=int, default=1_000_000, help="trades in the end-to-end partition")
    ap.add_argument("--backfill-days", type=int, default=30)
    ap.add_argument("--backfill-trades", type=int, default=100_000, help="trades per backfill day")
    ap.add_argument("--sensor-files", type=int, default=10_000)
    ap.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    ap.add_argument("--no-bigquery", action="store_true", help="skip the BigQuery emulator floor")
    ap.add_argument("--no-append", action="store_true", help="print the result, leave BENCHMARKS.md alone")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (data, logs) afterwards")
    a = ap.parse_args()
    command = ".venv/bin/python bench/run_all.py" + "".join(f" {x}" for x in sys.argv[1:])
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    signal.signal(signal.SIGTERM, _interrupt)  # cleaned up like Ctrl-C
    work = Path(tempfile.mkdtemp(prefix="stockmart-suite-"))
    (work / "logs").mkdir()
    say(f"work folder {work} (children's logs in logs/)")
    figures: list[Figure] = []
    details: list[str] = []
    out: dict = {"bench": "suite", "date": date, "command": command}
    mariadb = emulator = None
    mariadb_version = None
    failed = None
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKMART_")}
        env |= {"STOCKMART_HOME": str(work / "home"), "STOCKMART_LANDING_DIR": str(work / "landing"),
                "DAGSTER_HOME": str(work / "dagster-home"), "PYTHONUNBUFFERED": "1"}
        (work / "dagster-home").mkdir()
        pipeline = {"partition", "backfill"} & set(a.only)
        if pipeline:
            from stockmart_assets.lib.landing.generator import generate
            from stockmart_assets.lib.mysql.local_server import LocalMariaDB

            say("starting a throwaway MariaDB")
            mariadb = LocalMariaDB(work / "mariadb")
            env["STOCKMART_MYSQL_URL"] = mariadb.ensure()
            from stockmart_assets.defs.mysql.resources import MySQLResource

            with MySQLResource(url=env["STOCKMART_MYSQL_URL"]).connect() as con, con.cursor() as cur:
                cur.execute("SELECT VERSION()")
                mariadb_version = cur.fetchone()[0]
            # The dimension tables every day references, loaded and checked once (not timed as a figure).
            generate(work / "landing", customers=CUSTOMERS, days=1, trades_per_day=0, bars=False)
            dims = Child(run_args("dimensions"), env, work / "logs" / "dimensions.log", "dimensions run (setup)")
            if not dims.result["run"]["success"]:
                raise RuntimeError(f"the dimensions run failed: {dims.result['run']['failure']}")
            details.append(f"Setup: the dimensions run ({CUSTOMERS:,} customers) took {dims.result['run']['wall_s']:.1f} s.")
            details.append("")
        if "partition" in a.only:
            if not a.no_bigquery:
                sys.path.insert(0, str(ROOT))
                from stockmart_assets_tests.support.bigquery_emulator import is_installed, start_emulator

                if is_installed():
                    say("starting the BigQuery emulator")
                    emulator = start_emulator(work / "bq", install_if_missing=False)
                else:
                    say("BigQuery emulator not installed (.venv-bq): its floor is skipped")
            section_partition(a, work, env, emulator, figures, details, out)
            if emulator:
                emulator.stop()
        if "backfill" in a.only:
            with MySQLResource(url=env["STOCKMART_MYSQL_URL"]).connect() as con, con.cursor() as cur:
                cur.execute("TRUNCATE TABLE trade")  # the backfill's generated order ids start at 1 again
            section_backfill(a, work, env, figures, details, out)
        if "definitions" in a.only:
            section_definitions(work, figures, details, out)
        if "sensor" in a.only:
            section_sensor(work, env, a.sensor_files, figures, details, out)
    except KeyboardInterrupt:
        failed = "interrupted"
        say("interrupted: cleaning up")
    except Exception as error:  # report what was measured, then fail
        failed = f"{type(error).__name__}: {error}"
        say(f"FAILED: {failed}")
    finally:
        kill_children()
        if emulator:
            emulator.stop()
        if mariadb:
            say("stopping MariaDB")
            mariadb.stop()
    out["suite_s"] = round(time.monotonic() - _started, 1)
    details.append(f"Whole suite: {out['suite_s'] / 60:.1f} min.")
    bq_venv = Path(os.environ.get("STOCKMART_BQ_EMULATOR_VENV") or ROOT / ".venv-bq")
    out["machine"] = info = machine(mariadb_version, bq_venv)
    out["figures"] = [f.as_json() for f in figures]
    if failed:
        out["failed"] = failed
    print(json.dumps(out, default=str))
    section = markdown(command, date, info, figures, details)
    if not figures:
        pass
    elif not a.no_append and not failed:
        with open(ROOT / "BENCHMARKS.md", "a", encoding="utf-8") as f:
            f.write(section)
        say("appended this section to BENCHMARKS.md:")
    else:
        say("the section BENCHMARKS.md would get (not appended):")
    if figures:
        print(section, file=sys.stderr)
    if a.keep or failed:
        say(f"work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
