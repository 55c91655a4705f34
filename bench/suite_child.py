"""What bench/run_all.py runs in its measured child processes (one fresh process per run, as a launched run is).

    suite_child.py run RESULT.json --job daily_partition [--partition D | --range FIRST LAST] [--floors ...]
    suite_child.py sensor RESULT.json --files 10000

The environment (STOCKMART_HOME, STOCKMART_LANDING_DIR, STOCKMART_MYSQL_URL, DAGSTER_HOME) is set by the
driver, so ``stockmart_assets.definitions`` builds its LOCAL resources from it exactly as ``dagster dev`` would.
Every time reported is wall-clock; windows are ``time.time()`` pairs, the clock the driver's RSS sampler and
Dagster's event log use. Progress goes to stdout as ``progress: ...`` lines, which the driver echoes.
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path


def progress(message: str) -> None:
    print(f"progress: {message}", flush=True)


def _step_windows(instance, run_id: str) -> list[dict]:
    """Each step's start and end (success or failure) from the run's event log."""
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    steps: dict[str, dict] = {}
    for entry in instance.all_logs(run_id, of_type=kinds):
        event = entry.dagster_event
        step = steps.setdefault(entry.step_key, {"key": entry.step_key, "start": None, "end": None, "status": None})
        if event.event_type == dg.DagsterEventType.STEP_START:
            step["start"] = entry.timestamp
        else:
            step["end"], step["status"] = entry.timestamp, event.event_type_value
    return sorted(steps.values(), key=lambda s: s["start"] or 0)


def _failure(instance, run_id: str) -> str | None:
    import dagster as dg

    for entry in instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_FAILURE}):
        error, messages = entry.dagster_event.step_failure_data.error, []
        while error is not None:  # Dagster wraps the user's exception: name each layer, innermost last
            messages.append(error.message.strip())
            error = error.cause
        return f"{entry.step_key}: {' <- '.join(reversed(messages))[:800]}"
    return None


def run_job(job: str, partition: str | None, first: str | None, last: str | None) -> dict:
    """One run of the real job from the real definitions, in this process (Dagster's in-process executor)."""
    import dagster as dg

    from stockmart_assets.definitions import defs

    instance = dg.DagsterInstance.get()  # DAGSTER_HOME: the runs of every child share one instance, as in dagster dev
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last} if first else {}
    what = f"{job} [{partition or (first and f'{first}...{last}') or 'unpartitioned'}]"
    progress(f"run {what} starts")
    t0, started = time.perf_counter(), time.time()
    result = defs.resolve_job_def(job).execute_in_process(
        partition_key=partition, tags=tags, instance=instance, raise_on_error=False)
    wall = time.perf_counter() - t0
    progress(f"run {what} {'succeeded' if result.success else 'FAILED'} in {wall:.1f} s")
    return {"job": job, "partition": partition, "range": [first, last] if first else None, "success": result.success,
            "wall_s": wall, "start": started, "end": time.time(), "run_id": result.run_id,
            "steps": _step_windows(instance, result.run_id),
            "failure": None if result.success else _failure(instance, result.run_id)}


# -- the raw-tool floors, measured in the same process right after the run ---------------------------------------

def _mysql():
    """The run's server (its resource holds a dg.EnvVar, which only resolves inside a run)."""
    from stockmart_assets.defs.mysql.resources import MySQLResource

    return MySQLResource(url=os.environ["STOCKMART_MYSQL_URL"])


def floor_spark(day: str, trades: int) -> dict:
    """Start Spark (JVM + Deequ jars) and scan the day once over JDBC, as bench_quality_gate.py's bare scan."""
    from stockmart_assets.environment import build_resources
    from stockmart_assets.lib.day import Day
    from stockmart_assets.lib.deequ.spark import stop_spark
    from stockmart_assets.lib.landing.contract import TRADE

    spark_resource, mysql = build_resources("LOCAL")["spark"], _mysql()  # the run's Spark settings
    t0 = time.perf_counter()
    spark_resource.session().range(1).count()
    started = time.perf_counter() - t0
    t1 = time.perf_counter()
    df = spark_resource.read_mysql(mysql, TRADE, Day.of(day))  # a day is not persisted: a bare scan
    row = df.selectExpr("count(*) AS n", "sum(xxhash64(*)) AS h").collect()[0]
    scan = time.perf_counter() - t1
    stop_spark()
    assert row["n"] == trades, (row["n"], trades)
    return {"spark_start_s": started, "scan_s": scan, "seconds": started + scan}


def floor_duckdb(csv: Path, database: Path) -> dict:
    """``CREATE TABLE AS SELECT * FROM read_csv(trade.csv)`` into a DuckDB file, as bench_mart_load.py's bare."""
    import duckdb

    t0 = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE OR REPLACE TABLE bare AS SELECT * FROM read_csv(?, header = true)", [str(csv)]).fetchall()
    return {"seconds": time.perf_counter() - t0}


LOAD_TRADE_CSV = ("LOAD DATA LOCAL INFILE %s INTO TABLE trade CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' "
                  "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES "
                  "(order_id, customer_id, stock_id, trade_type, quantity, order_datetime)")


def floor_mysql(csv: Path, trades: int) -> dict:
    """One bare LOAD DATA LOCAL INFILE of the landing trade.csv into the (emptied) trade table, committed, as
    bench_mysql_load.py's bare; the table (keys and foreign keys in place) is emptied again afterwards."""
    mysql = _mysql()
    with mysql.connect() as con, con.cursor() as cur:
        cur.execute("TRUNCATE TABLE trade")
        t0 = time.perf_counter()
        con.begin()
        n = cur.execute(LOAD_TRADE_CSV, (str(csv),))
        con.commit()
        seconds = time.perf_counter() - t0
        cur.execute("TRUNCATE TABLE trade")
    assert n == trades, (n, trades)
    return {"seconds": seconds}


def floor_bigquery(landing: Path, endpoint: str, project: str, day: str) -> dict:
    """Against the emulator: one bare ``load_table_from_dataframe`` of the mart partition, then stockmart's
    ``BigQueryWarehouse.replace`` of the same rows (the PROD mart stage), as bench_mart_load.py does."""
    from google.cloud import bigquery

    from bench_mart_load import mart_rows  # bench/bench_mart_load.py
    from stockmart_assets.lib.warehouse.tables import TRADE as MART_TRADE
    from stockmart_assets.lib.day import Days
    from stockmart_assets.lib.warehouse.bigquery import BigQueryWarehouse, emulator_client

    rows = mart_rows(landing)
    frame = rows.to_pandas()
    client = emulator_client(project, endpoint)
    client.query(f"CREATE SCHEMA IF NOT EXISTS `{project}.bench`").result()
    t0 = time.perf_counter()
    client.load_table_from_dataframe(frame, f"{project}.bench.bare", job_config=bigquery.LoadJobConfig(
        write_disposition="WRITE_TRUNCATE")).result()
    bare = time.perf_counter() - t0
    t1 = time.perf_counter()
    BigQueryWarehouse(project, client=lambda: nullcontext(client)).replace(MART_TRADE, Days.of([day]), rows=rows)
    ours = time.perf_counter() - t1
    client.close()
    return {"seconds": bare, "mart_replace_s": ours}


def phase(phases: list, name: str, action) -> dict:
    progress(f"{name} starts")
    start = time.time()
    try:
        value = action()
    except Exception as error:  # a floor that cannot run is reported, not fatal to the suite
        value = {"error": f"{type(error).__name__}: {error}"[:800]}
    end = time.time()
    phases.append({"name": name, "start": start, "end": end, **value})
    progress(f"{name}: " + (value["error"] if "error" in value else f"{value['seconds']:.2f} s"))
    return value


# -- the landing sensor over 10,000 files --------------------------------------------------------------------------

def sensor_landing(root: Path, files: int, shards: int = 10) -> None:
    """Dimension exports plus ``files`` small valid trade files, one per day and shard (trade/<day>_<shard>.csv)."""
    from stockmart_assets.lib.landing.contract import TRADE
    from stockmart_assets.lib.landing.generator import generate

    customers = 50
    generate(root, customers=customers, days=1, trades_per_day=0, bars=False)
    (root / "trade.csv").unlink()
    (root / "trade").mkdir()
    header = ",".join(c.header for c in TRADE.columns) + "\n"
    first_day, order_id = dt.date(2021, 1, 1), 1
    for i in range(files):
        day = first_day + dt.timedelta(days=i // shards)
        rows = "".join(f"{order_id + k},{(order_id + k) % customers + 1},{k % 5 + 1},{'매수' if k % 2 else '매도'},"
                       f"{k + 1},{day} {9 + k:02d}:{i % 60:02d}\n" for k in range(3))
        order_id += 3
        (root / "trade" / f"{day}_{i % shards:02d}.csv").write_text(header + rows, encoding="utf-8")


def sensor_ticks(root: Path) -> dict:
    """Ticks of ``landing_files``: cold (no cursor: every file's days are read, a batch per tick), the tick that
    requests the day runs once the dimension exports are loaded, and a steady-state tick (everything loaded)."""
    import dagster as dg

    from stockmart_assets.definitions import defs
    from stockmart_assets.defs.raw.resources import LandingResource
    from stockmart_assets.defs.orchestration.sensors import landing_files
    from stockmart_assets_tests.support.instance_state import record_loaded

    instance = dg.DagsterInstance.ephemeral()
    resources = {"landing": LandingResource(path=str(root))}

    def tick(cursor):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
        t0 = time.perf_counter()
        result = landing_files(context)
        return time.perf_counter() - t0, result

    cold, result = tick(None)
    reading = [cold]
    while not result.run_requests:  # the backlog: new files read in batches, no run until all are read
        seconds, result = tick(result.cursor)
        reading.append(seconds)
    assert [r.job_name for r in result.run_requests] == ["dimensions"], "the dimension exports come first"
    record_loaded(instance, root, "dimensions")  # what the daemon would see once that run succeeded
    requesting, result = tick(result.cursor)
    days = {d for r in result.run_requests for d in _range_days(r)}
    record_loaded(instance, root, "daily_partition", sorted(days))
    steady = [tick(result.cursor)[0] for _ in range(3)]
    return {"cold_s": cold, "backlog_ticks": len(reading), "backlog_s": reading, "backlog_max_s": max(reading),
            "requesting_s": requesting, "days_requested": len(days), "steady_s": sorted(steady)[1],
            "seconds": max([*reading, requesting, sorted(steady)[1]])}


def _range_days(request) -> list[str]:
    first, last = request.partition_key_range.start, request.partition_key_range.end
    d, days = dt.date.fromisoformat(first), []
    while d <= dt.date.fromisoformat(last):
        days.append(d.isoformat())
        d += dt.timedelta(days=1)
    return days


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    run = sub.add_parser("run")
    run.add_argument("result", type=Path)
    run.add_argument("--job", required=True)
    run.add_argument("--partition")
    run.add_argument("--range", nargs=2, metavar=("FIRST", "LAST"))
    run.add_argument("--floors", action="store_true", help="then measure the raw-tool floors of --partition")
    run.add_argument("--trades", type=int, help="rows of the partition (floors check their counts)")
    run.add_argument("--work", type=Path, help="scratch folder of the floors")
    run.add_argument("--bigquery-endpoint")
    run.add_argument("--bigquery-project")
    sensor = sub.add_parser("sensor")
    sensor.add_argument("result", type=Path)
    sensor.add_argument("--files", type=int, default=10_000)
    sensor.add_argument("--root", type=Path, required=True)
    args = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # stockmart_assets_tests (the emulator client)
    out: dict = {}
    if args.what == "run":
        first, last = args.range or (None, None)
        out["run"] = run_job(args.job, args.partition, first, last)
        if args.floors:
            landing = Path(os.environ["STOCKMART_LANDING_DIR"])
            csv, phases = landing / "trade.csv", []
            phase(phases, "floor_spark", lambda: floor_spark(args.partition, args.trades))
            phase(phases, "floor_duckdb", lambda: floor_duckdb(csv, args.work / "bare.duckdb"))
            phase(phases, "floor_mysql", lambda: floor_mysql(csv, args.trades))
            if args.bigquery_endpoint:
                phase(phases, "floor_bigquery", lambda: floor_bigquery(
                    landing, args.bigquery_endpoint, args.bigquery_project, args.partition))
            out["phases"] = phases
    else:
        start = time.time()
        progress(f"writing {args.files:,} landing files")
        sensor_landing(args.root, args.files)
        written = time.time()
        progress(f"wrote them in {written - start:.1f} s; ticking")
        out["phases"] = [{"name": "sensor_ticks", "start": written, **sensor_ticks(args.root), "end": time.time()}]
    args.result.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
