"""Four day partitions at once, with the multiprocess executor: correct tables, DuckDB's lock never hit.

DuckDB lets one process write a database file at a time; every mart step is in the ``mart_warehouse`` pool and
the instance limits the pool to one step (``stockmart_assets.instance``). The slow test runs the real assets
against the session's MariaDB, a DuckDB file and a Dagster home with the dagster.yaml that ``stockmart`` writes,
in five stages, each stage's runs started as child processes (``dg.execute_job`` on the real definitions):

1. one run, default executor (in-process): raw/* and mysql/* of the dimensions;
2. four runs at once, one per day, multiprocess executor: raw/* and mysql/* of the day (concurrent MySQL loads);
3. one run, default executor: the blocking ``deequ_suite`` check of every table (Spark), so the mart's gate opens;
4. one run, default executor: mart/budget, mart/customer, mart/stocks;
5. four runs at once, one per day, multiprocess executor: mart/trade, mart/stock_price, mart/orders_per_day.

Stages 2 and 5 select their assets without checks (``.without_checks()``); the checks run once, in stage 3,
because in the multiprocess executor every check step starts a Spark driver of its own (4 runs x 2 checks = 8
JVMs at once on a 2-core machine). Multiprocess stages use the forkserver start method with the definitions
preloaded.

Then: every run succeeded; no step failed, was retried or logged a lock error; a DuckDB observer in every
process of the runs (a ``sitecustomize`` on PYTHONPATH that wraps ``duckdb.connect``, passing every call through
to the real DuckDB and recording connects and failures) saw the mart steps open the warehouse and DuckDB never
refuse a connection (dagster-duckdb retries a refused connect silently, so the event log alone could not tell);
the pool did hold steps back (a mart run's mart/trade and mart/stock_price are ready together, so one of them
waits; on SQLite, Dagster's slot claim is not atomic, so two steps starting at the same instant may both pass,
which the warehouse's own file lock makes harmless); MySQL and the mart hold
exactly what the landing files say, per day. Landing data: ``generate(..., seed=SEED)``, 4 weekdays, 2 tickers,
40 trades a day. About 6 minutes on a busy 2-core machine, most of it Spark (stage 3) and pool waits (stage 5).

No negative control runs the same stages without the pool and the lock: whether two writers collide depends on
timing. Instead the observer is shown to catch a held lock, and a fast test shows a bare connect refused while
the warehouse's own connection waits for the lock and succeeds.
"""

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from stockmart_assets.defs.mart.resources import MART_POOL
from stockmart_assets.defs.quality.results import SUITE_CHECK
from stockmart_assets.cli.stale_runs import free_slots_of_finished_runs
from stockmart_assets.instance import CONCURRENCY, POOL_LIMITS, ensure_pool_limits, write_dagster_yaml
from stockmart_assets.lib.landing.generator import generate
from stockmart_assets.partitions import daily_partitions
from stockmart_assets_tests.conftest import mysql_connect
from stockmart_assets_tests.support import REPO

ROOT = REPO
SEED = 11
DAYS = ["2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02"]  # weekdays: every day has trades and bars
TICKERS, TRADES_PER_DAY, CUSTOMERS = 2, 40, 12
DIMENSIONS, FACTS = ("budget", "customer", "stocks"), ("trade", "stock_price")
# A day's mart steps in the concurrent stage: the two facts (ready together) and one of the analytics. The other
# two analytics are steps of the same kind; each pool step adds ~10 s here, as waiting steps poll for a slot
# ever less often (up to every 15 s).
MART_DAY = ("trade", "stock_price", "orders_per_day")
# forkserver: each step forks from a process that has imported the definitions once, instead of a fresh
# interpreter importing Dagster and stockmart per step (seconds of CPU each on a small machine).
MULTIPROCESS = {"execution": {"config": {"multiprocess": {
    "max_concurrent": 4, "start_method": {"forkserver": {"preload_modules": ["stockmart_assets.definitions"]}}}}}}
LOCK_ERRORS = ("Could not set lock", "Conflicting lock")
BAD_EVENTS = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_UP_FOR_RETRY,
              dg.DagsterEventType.STEP_RESTARTED, dg.DagsterEventType.RUN_FAILURE}

# What each stage of the slow test materializes (step processes rebuild the job from here: see stage_job).
STAGES = {
    "dimensions": dg.AssetSelection.assets(*[[layer, t] for layer in ("raw", "mysql") for t in DIMENSIONS])
    .without_checks(),
    "load": dg.AssetSelection.assets(*[[layer, t] for layer in ("raw", "mysql") for t in FACTS]).without_checks(),
    "checks": dg.AssetSelection.checks(*[dg.AssetCheckKey(dg.AssetKey(["mysql", t]), SUITE_CHECK)
                                         for t in (*DIMENSIONS, *FACTS)]),
    "mart_dimensions": dg.AssetSelection.assets(*[["mart", t] for t in DIMENSIONS]).without_checks(),
    "mart": dg.AssetSelection.assets(*[["mart", t] for t in MART_DAY]).without_checks(),
}
PARALLEL = ("load", "mart")  # one run per day at once, multiprocess executor; the others: one run, default executor


def stage_job(stage: str) -> dg.JobDefinition:
    """The real definitions (resources, executor) with one job for ``stage``: reconstructable in step processes."""
    from stockmart_assets.definitions import defs

    # A job of checks alone is not partitioned by its checks: give it the days (unpartitioned checks ignore them).
    job = dg.define_asset_job(f"concurrency_{stage}", selection=STAGES[stage],
                              partitions_def=daily_partitions if stage == "checks" else None)
    return dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def(job.name)


CHILD = """
import os
import sys
import dagster as dg

stage, days = sys.argv[1], sys.argv[2:]
tags = ({} if not days else {"dagster/partition": days[0]} if len(days) == 1 else
        {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]})
job = dg.build_reconstructable_job("stockmart_assets_tests.defs.mart.test_concurrency", "stage_job", (stage,),
                                   reconstructor_working_directory=os.getcwd())
run_config = MULTIPROCESS if stage in PARALLEL else {}
sys.exit(0 if dg.execute_job(job, dg.DagsterInstance.get(), run_config=run_config, tags=tags).success else 1)
""".replace("MULTIPROCESS", repr(MULTIPROCESS)).replace("PARALLEL", repr(PARALLEL))

# Loaded first by every Python process of the runs (PYTHONPATH): records each DuckDB file connect and failure.
OBSERVER = """
import json, os, time
_path = os.environ.get("STOCKMART_TEST_DUCKDB_LOG")
if _path:
    import duckdb
    _connect = duckdb.connect

    def _log(**record):
        with open(_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"pid": os.getpid(), "time": time.time(), **record}) + "\\n")

    def connect(database=":memory:", *args, **kwargs):
        name = str(database)
        on_file = name not in ("", ":memory:") and not name.startswith(":memory:")
        try:
            con = _connect(database, *args, **kwargs)
        except Exception as e:
            if on_file:
                _log(event="error", database=name, error=str(e))
            raise
        if on_file:
            _log(event="connect", database=name)
        return con

    duckdb.connect = connect
"""


# ---------------------------------------------------------------------------------------------------------------
# Fast: the instance settings, declared once and shipped everywhere


def test_docker_instance_limits_the_warehouse_pool_as_declared():
    from dagster._core.instance.config import ConcurrencyConfig, PoolGranularity, validate_concurrency_config

    config = yaml.safe_load((ROOT / "docker" / "dagster.yaml").read_text(encoding="utf-8"))
    assert config["concurrency"]["pools"] == CONCURRENCY["pools"]
    validate_concurrency_config(config)  # raises on run-queue limits left in run_coordinator, bad values
    pools = ConcurrencyConfig.from_concurrency_settings(config["concurrency"], None).pool_config
    assert pools.pool_granularity == PoolGranularity.OP  # enforced per step by each run's executor
    assert pools.default_pool_limit == POOL_LIMITS[MART_POOL] == 1


def test_the_warehouse_is_the_only_pool():
    """dagster.yaml can only set a default pool limit: it is the warehouse's as long as no other pool exists."""
    from stockmart_assets.definitions import defs

    pools = {a.node_def.pool for a in _executable(defs) if a.node_def.pool}
    assert pools == set(POOL_LIMITS) == {MART_POOL}


def _executable(defs) -> list:
    """Assets and checks that run as steps (external asset specs have no op)."""
    return [a for a in defs.resolve_asset_graph().assets_defs if a.is_executable]


HOLDER = """
import sys, time
import duckdb
from stockmart_assets.lib.warehouse.lock import writer_lock

with writer_lock(sys.argv[1]), duckdb.connect(sys.argv[1]) as con:
    con.execute("CREATE OR REPLACE TABLE t AS SELECT 1 AS x").fetchall()
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    con.execute("INSERT INTO t VALUES (2)").fetchall()
"""


def test_a_second_writer_waits_for_the_warehouse_instead_of_meeting_duckdbs_lock(tmp_path):
    """Every warehouse connection (mart IO manager, analytics, quality results) queues on ``<db>.lock``."""
    from stockmart_assets.lib.warehouse.duckdb import DuckDBWarehouse

    db = str(tmp_path / "w.duckdb")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db, "2"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException, match="|".join(LOCK_ERRORS)):  # the control: a bare connect is refused
            duckdb.connect(db)
        t0 = time.monotonic()
        rows = DuckDBWarehouse(database=db).query("SELECT x FROM t ORDER BY x")
        waited = time.monotonic() - t0
    finally:
        holder.wait(timeout=60)
    assert holder.returncode == 0
    assert rows == [(1,), (2,)]  # it ran after the holder's last write, not beside it
    assert waited > 0.5, waited


def test_executor_is_in_process_unless_a_run_asks_for_processes():
    """The schema; the slow test runs both modes (its checks stage leaves the mode to the default)."""
    from dagster._config import process_config

    from stockmart_assets.definitions import defs

    executor = defs.resolve_job_def("daily_partition").executor_def
    field = executor.config_schema.as_field()
    default = process_config(field.config_type, field.default_value)
    assert default.success and list(default.value) == ["in_process"]
    chosen = process_config(field.config_type, MULTIPROCESS["execution"]["config"])
    assert chosen.success and chosen.value["multiprocess"]["max_concurrent"] == 4
    assert executor.get_requirements(chosen.value) and not executor.get_requirements(default.value)


def test_stockmart_writes_its_dagster_yaml_once_and_keeps_a_users(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert write_dagster_yaml(home)
    written = (home / "dagster.yaml").read_text(encoding="utf-8")
    assert not write_dagster_yaml(home) and (home / "dagster.yaml").read_text(encoding="utf-8") == written
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert ensure_pool_limits(instance) == {}, "the default limit is the pool's limit: nothing to set"

    users = tmp_path / "users"
    users.mkdir()
    (users / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    assert not write_dagster_yaml(users)
    assert (users / "dagster.yaml").read_text(encoding="utf-8") == "telemetry:\n  enabled: false\n"
    with dg.DagsterInstance.from_config(str(users)) as instance:
        assert ensure_pool_limits(instance) == {MART_POOL: 1}  # their dagster.yaml gives the pool no limit
        assert instance.event_log_storage.get_concurrency_info(MART_POOL).slot_count == 1
        instance.event_log_storage.set_concurrency_slots(MART_POOL, 3)  # an operator's choice is kept
        assert ensure_pool_limits(instance) == {}
        assert instance.event_log_storage.get_concurrency_info(MART_POOL).slot_count == 3


def test_slots_of_ended_runs_are_freed_and_live_runs_keep_theirs(tmp_path):
    write_dagster_yaml(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(MART_POOL, 2)
        for run_id, status in (("ended", dg.DagsterRunStatus.FAILURE), ("live", dg.DagsterRunStatus.STARTED)):
            instance.add_run(dg.DagsterRun(job_name="daily_partition", run_id=run_id, status=status))
            assert storage.claim_concurrency_slot(MART_POOL, run_id, "mart__trade").is_claimed
        assert storage.get_concurrency_info(MART_POOL).active_slot_count == 2
        assert free_slots_of_finished_runs(instance) == 1
        info = storage.get_concurrency_info(MART_POOL)
        assert info.active_slot_count == 1 and info.active_run_ids == {"live"}


def test_the_observer_catches_a_held_duckdb_lock(tmp_path):
    """The slow test's "never refused for a lock" means something only if the observer sees a refusal."""
    log, db = tmp_path / "duckdb.jsonl", str(tmp_path / "w.duckdb")
    env = _observed_env(tmp_path, log)
    with duckdb.connect(db) as holder:  # this process holds the file's write lock
        holder.execute("CREATE TABLE t AS SELECT 1 AS x").fetchall()
        done = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({db!r})"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    done = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({db!r}).close()"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["event"] for r in records] == ["error", "connect"]
    assert any(e in records[0]["error"] for e in LOCK_ERRORS), records[0]


# ---------------------------------------------------------------------------------------------------------------
# Slow: four partitions at once


def _observed_env(tmp_path: Path, log: Path) -> dict:
    observer = tmp_path / "observer"
    observer.mkdir(exist_ok=True)
    (observer / "sitecustomize.py").write_text(OBSERVER, encoding="utf-8")
    path = os.pathsep.join([str(observer), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": path, "STOCKMART_TEST_DUCKDB_LOG": str(log)}


def _run_stage(env: dict, stage: str, day_groups: list[list[str]], timeout: int = 600) -> None:
    """Start one child per day group at once (each one Dagster run) and wait for all of them."""
    children = [subprocess.Popen([sys.executable, "-c", CHILD, stage, *days], env=env, cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for days in day_groups]
    outputs = [child.communicate(timeout=timeout)[0] for child in children]
    for days, child, out in zip(day_groups, children, outputs):
        assert child.returncode == 0, f"stage {stage} {days} failed (seed {SEED}):\n{out[-6000:]}"
        assert not any(e in out for e in LOCK_ERRORS), f"stage {stage} {days} met DuckDB's lock:\n{out[-6000:]}"


def _expected(landing: Path) -> dict:
    """Per day, straight from the landing files: the trades (with their tickers) and the price bars."""
    def rows(name):
        with (landing / name).open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    tickers = {int(r["stock_id"]): r["ticker"] for r in rows("stocks.csv")}
    trades, bars = defaultdict(set), defaultdict(set)
    for r in rows("trade.csv"):
        at = dt.datetime.strptime(r["주문일시"], "%Y-%m-%d %H:%M")
        trades[at.date().isoformat()].add((int(r["주문id"]), int(r["고객id"]), int(r["주식"]), r["거래종류"],
                                           int(r["주문량"]), at))
    for path in sorted((landing / "stock").glob("*_data.csv")):
        for r in rows(path.relative_to(landing)):
            ts = dt.datetime.fromisoformat(r["Datetime"]).astimezone(dt.timezone.utc).replace(tzinfo=None)
            bars[ts.date().isoformat()].add((r["ticker"], ts, int(r["Volume"])))
    return {"tickers": tickers, "trades": trades, "bars": bars}


def _mysql_by_day(url: str) -> tuple[dict, dict]:
    trades, bars = defaultdict(set), defaultdict(set)
    with mysql_connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT order_id, customer_id, stock_id, trade_type, quantity, order_datetime FROM trade")
        for row in cur.fetchall():
            trades[row[5].date().isoformat()].add(tuple(row))
        cur.execute("SELECT ticker, ts, volume FROM stock_price")
        for ticker, ts, volume in cur.fetchall():
            bars[ts.date().isoformat()].add((ticker, ts, volume))
    return trades, bars


def _mart_by_day(db: Path) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        def day_map(sql):
            out = defaultdict(set)
            for row in con.execute(sql).fetchall():
                out[row[0].isoformat()].add(tuple(row[1:]))
            return out

        return {
            "trade": day_map("SELECT trade_date, order_id, customer_id, stock_id, ticker, trade_type, quantity, "
                             "order_datetime FROM mart.trade"),
            "stock_price": day_map("SELECT trade_date, ticker, epoch(ts), volume FROM mart.stock_price"),
            "orders_per_day": day_map("SELECT trade_date, total_orders FROM mart.orders_per_day"),
        }


def _pool_steps() -> set[str]:
    from stockmart_assets.definitions import defs

    return {a.node_def.name for a in _executable(defs) if a.node_def.pool == MART_POOL}


def test_four_days_at_once_give_correct_tables_and_never_meet_duckdbs_lock(tmp_path, mysql_url):
    started = time.monotonic()
    landing, home, dagster_home = tmp_path / "landing", tmp_path / "home", tmp_path / "dagster_home"
    generate(landing, customers=CUSTOMERS, tickers=TICKERS, days=len(DAYS), trades_per_day=TRADES_PER_DAY,
             start_date=dt.date.fromisoformat(DAYS[0]), seed=SEED)
    dagster_home.mkdir()
    assert write_dagster_yaml(dagster_home)  # what `stockmart run` / `stockmart ui` give their Dagster home
    log = tmp_path / "duckdb.jsonl"
    env = {**_observed_env(tmp_path, log), "DAGSTER_HOME": str(dagster_home), "STOCKMART_ENV": "LOCAL",
           "STOCKMART_HOME": str(home), "STOCKMART_LANDING_DIR": str(landing), "STOCKMART_MYSQL_URL": mysql_url}

    _run_stage(env, "dimensions", [[]])
    _run_stage(env, "load", [[d] for d in DAYS])
    _run_stage(env, "checks", [DAYS])
    _run_stage(env, "mart_dimensions", [[]])
    _run_stage(env, "mart", [[d] for d in DAYS])

    summary = _check_runs(dagster_home, log, home / "warehouse.duckdb")
    _check_tables(landing, mysql_url, home / "warehouse.duckdb")
    print(f"seed {SEED}: {summary}, {time.monotonic() - started:.0f} s")


def _check_runs(dagster_home: Path, log: Path, warehouse: Path) -> str:
    """Runs succeeded; DuckDB never refused a connection; the pool's steps ran one at a time, and had to wait."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        logs = {run.run_id: instance.all_logs(run.run_id) for run in runs}
        pool = instance.event_log_storage.get_concurrency_info(MART_POOL)
    assert sorted(r.job_name for r in runs) == sorted(
        [f"concurrency_{stage}" for stage in STAGES for _ in (DAYS if stage in PARALLEL else [None])])
    assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert pool.slot_count == 1 and pool.active_slot_count == 0, "the pool's limit is one, and no slot is left held"

    def of_type(run, *types):
        return [e for e in logs[run.run_id] if e.dagster_event and e.dagster_event.event_type in types]

    # No step failed or was retried, nothing logged a lock error.
    bad = [(e.dagster_event.event_type_value, e.step_key, e.message) for r in runs for e in logs[r.run_id]
           if (e.dagster_event and e.dagster_event.event_type in BAD_EVENTS)
           or any(err in (e.message or "") for err in LOCK_ERRORS)]
    assert bad == [], f"seed {SEED}"

    # The observer ran in the steps' processes, saw them open the warehouse, and never saw DuckDB refuse one.
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    refusals = [r for r in records if r["event"] == "error"]
    assert refusals == [], f"DuckDB refused a connection (seed {SEED}): {refusals[:5]}"
    opened_by = {r["pid"] for r in records if r["event"] == "connect" and r["database"] == str(warehouse)}

    # Multiprocess stages ran every step in a process of its own; the other stages (the default executor) in
    # the run's process.
    step_pids = {}
    for run in runs:
        [run_start] = of_type(run, dg.DagsterEventType.RUN_START)
        pids = {e.dagster_event.pid for e in of_type(run, dg.DagsterEventType.STEP_START)}
        step_pids[run.run_id] = pids
        if run.job_name.removeprefix("concurrency_") in PARALLEL:
            assert run_start.dagster_event.pid not in pids and len(pids) > 1, run.job_name
        else:
            assert pids == {run_start.dagster_event.pid}, f"{run.job_name}: the default executor is not in-process"
    mart_runs = [r for r in runs if r.job_name == "concurrency_mart"]
    assert len(opened_by & set().union(*(step_pids[r.run_id] for r in mart_runs))) >= 2 * len(DAYS), (
        "the observer saw too few mart steps open the warehouse")

    # The pool did hold steps back (a mart run's mart/trade and mart/stock_price are ready together: with one
    # slot, one of them waits).
    pool_steps = _pool_steps()
    intervals, waits = [], 0
    for run in runs:
        starts = {}
        for e in logs[run.run_id]:
            de = e.dagster_event
            if not de or de.step_key not in pool_steps:
                continue
            if de.event_type == dg.DagsterEventType.STEP_START:
                starts[de.step_key] = e.timestamp
            elif de.event_type == dg.DagsterEventType.STEP_SUCCESS:
                intervals.append((starts.pop(de.step_key), e.timestamp, run.job_name, de.step_key))
            elif f"blocked by limit for pool {MART_POOL}" in (e.message or ""):
                waits += 1
    assert len(intervals) == len(DIMENSIONS) + len(MART_DAY) * len(DAYS), intervals
    intervals.sort()
    # Dagster's SQLite storage claims a pool slot in two transactions, without row locks: two runs starting at
    # the same instant can both get the one slot. The warehouse's own lock (resources/duckdb_mart.py) is what
    # guarantees DuckDB is never met twice (asserted above); here the pool need only have done its job mostly.
    overlaps = [(a, b) for a, b in zip(intervals, intervals[1:]) if b[0] < a[1]]
    assert waits >= 1, f"only {waits} pool waits: the pool never held a step back"

    # The four mart runs were under way at the same time.
    spans = [(min(e.timestamp for e in logs[r.run_id]), max(e.timestamp for e in logs[r.run_id])) for r in mart_runs]
    assert max(s for s, _ in spans) < min(end for _, end in spans), f"the mart runs did not overlap: {spans}"
    return (f"{len(runs)} runs, {len(intervals)} pool steps ({len(overlaps)} overlapping), {waits} pool waits, "
            f"{len(opened_by)} processes opened the warehouse, no lock refused")


def _check_tables(landing: Path, url: str, warehouse: Path) -> None:
    """MySQL and the mart hold exactly what the landing files say, day by day."""
    expected = _expected(landing)
    trades, bars = _mysql_by_day(url)
    assert sorted(trades) == sorted(bars) == DAYS
    for day in DAYS:
        assert trades[day] == expected["trades"][day], f"mysql.trade {day} (seed {SEED})"
        assert bars[day] == expected["bars"][day], f"mysql.stock_price {day} (seed {SEED})"
    mart = _mart_by_day(warehouse)
    assert sorted(mart["trade"]) == sorted(mart["stock_price"]) == DAYS
    tickers = expected["tickers"]
    for day in DAYS:
        assert mart["trade"][day] == {(o, c, s, tickers[s], side, q, at) for o, c, s, side, q, at
                                      in expected["trades"][day]}, f"mart.trade {day} (seed {SEED})"
        assert mart["stock_price"][day] == {(t, ts.replace(tzinfo=dt.timezone.utc).timestamp(), v) for t, ts, v
                                            in expected["bars"][day]}, f"mart.stock_price {day} (seed {SEED})"
        assert mart["orders_per_day"][day] == {(len(expected["trades"][day]),)}, f"orders_per_day {day} (seed {SEED})"
