"""`stockmart run`: load what the landing folder holds and the mart does not have yet, then say what it holds."""

import datetime as dt
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

from stockmart_assets.cli.home import command, instance, local_server

NO_LANDING_FILES = 2
RUNS_IN_PROGRESS = 3
BAD_LANDING_FILE = 4


def write_sample(landing: Path, args) -> None:
    """Generated landing files for the last ``--days`` days (to yesterday, Seoul time), into an empty folder only."""
    from zoneinfo import ZoneInfo

    from stockmart_assets.lib.landing.contract import SERVICE_TIMEZONE
    from stockmart_assets.lib.landing.generator import generate
    from stockmart_assets.lib.landing.scan import file_versions

    if existing := file_versions(landing):
        print(f"--sample: {landing} already holds {len(existing)} landing file(s); they are left as they are")
        return
    yesterday = dt.datetime.now(ZoneInfo(SERVICE_TIMEZONE)).date() - dt.timedelta(days=1)
    start = yesterday - dt.timedelta(days=args.days - 1)
    counts = generate(landing, customers=args.customers, days=args.days, trades_per_day=args.trades_per_day,
                      start_date=start, seed=args.seed)
    print(f"sample landing files for {start} .. {yesterday} written to {landing}: "
          + ", ".join(f"{n} {kind}" for kind, n in counts.items()))


def cmd_run(args) -> int:
    from stockmart_assets.lib.landing.scan import unmatched_csv_files
    from stockmart_assets.lib.landing.units import (landing_bytes, landing_units, scan_landing, unplaced,
                                                    unplaced_problems)
    from stockmart_assets.lib.partitions_start import record_partitions_start
    from stockmart_assets.lib.paths import landing_dir

    started = time.monotonic()
    landing = landing_dir()
    if args.sample:
        write_sample(landing, args)
    versions, days = scan_landing(landing)
    if not versions:
        print(f"no landing files in {landing}: put the trading service's exports there (customer.csv, budget.csv, "
              "stocks.csv, trade*.csv, stock/<TICKER>_data.csv; see the README's landing contract), point "
              f"STOCKMART_LANDING_DIR at them, or write a generated sample with `{command('run', '--sample')}`",
              file=sys.stderr)
        return NO_LANDING_FILES
    if ignored := unmatched_csv_files(landing, versions):
        print(f"not read (no landing file is named so; see the README's landing contract): "
              f"{', '.join(ignored[:10])}{' ...' if len(ignored) > 10 else ''}")
    if problems := unplaced_problems(landing, unplaced(versions, days)):
        # Every run of their table reads them: no day can load until they are fixed (or moved away).
        print(f"nothing loaded: landing files that no day can be read from.\n{problems}", file=sys.stderr)
        return BAD_LANDING_FILE
    units = landing_units(versions, days)
    # Whatever the landing holds, the local MariaDB is needed below: it starts now, beside Dagster's.
    mysql = _in_background(_ensure_local_mysql)
    day_units = [u for u in units if u.day]
    first_load = False
    if day_units and (recorded := record_partitions_start(day_units[0].day.key)):
        print(f"daily partitions start on {recorded}, the first day of the landing files")
        first_load = True
    with ExitStack() as spark:  # the Spark session of the runs, once one is started
        if first_load:  # nothing was loaded with this home yet: there is work, and its checks need Spark
            spark.enter_context(_spark_for_the_runs(landing_bytes(versions, days, units)))
        found = instance()
        if busy := _runs_in_progress(found):
            print("runs are in progress in this Dagster home; wait for them to end (or cancel them in the UI):\n"
                  + "\n".join(busy), file=sys.stderr)
            return RUNS_IN_PROGRESS
        return _load(found, units, versions, days, started, mysql, spark, args.empty_days_without_files)


def _in_background(call) -> Future:
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call)
    finally:
        pool.shutdown(wait=False)


@contextmanager
def _spark_for_the_runs(landing_bytes: int) -> Iterator[None]:
    """One Spark session for the runs of the block, the one their Spark resource asks for, starting now in the
    background (before Dagster is imported, on a first load), stopped when the block ends. ``landing_bytes``,
    what the runs load, sets how its JVM compiles."""
    from stockmart_assets.lib.deequ import spark

    with spark.held(quick_jit=landing_bytes <= spark.QUICK_JIT_MAX_BYTES):
        spark.start_in_background(warn=lambda message: print(message, file=sys.stderr), **spark.environment_driver())
        yield


def _load(found, units, versions, days, started: float, mysql: Future, spark: ExitStack, empty_gone: bool) -> int:
    from stockmart_assets.defs.orchestration import jobs, ledger
    from stockmart_assets.definitions import defs
    from stockmart_assets.lib.deequ.spark import is_held
    from stockmart_assets.lib.day import Day
    from stockmart_assets.lib.landing.units import day_blocks, landing_bytes, no_files_unit, outside, outside_message
    from stockmart_assets.lib.mysql.load import EMPTY_DAYS_TAG
    from stockmart_assets.partitions import partition_bounds

    graph = defs.resolve_asset_graph()
    gone = _days_without_files(found, units)
    listed = f"{', '.join(gone[:10])}{' ...' if len(gone) > 10 else ''}"
    if gone and empty_gone:
        print(f"{len(gone)} day(s) loaded earlier are in no landing file now, and are emptied: {listed}")
        units = sorted([*units, *(no_files_unit(Day.of(d)) for d in gone)], key=lambda u: (u.day is not None, u.day))
    elif gone:
        print(f"{len(gone)} day(s) loaded earlier are in no landing file now; their rows stay in MySQL and the mart "
              f"(a missing export never empties a loaded day; `{command('run', '--empty-days-without-files')}` "
              f"does): {listed}")
    states = ledger.unit_states(found, graph, ledger.job_assets(graph, [jobs.dimensions_job, jobs.daily_job]), units)
    todo = [u for u in units if states[u] != ledger.LOADED]
    first, last = partition_bounds()
    if skipped := outside(todo, first, last, days):
        print(outside_message(skipped, first), file=sys.stderr)
        todo = [u for u in todo if u.day not in skipped]
    if not todo:
        spark.close()
        mysql.result()
        day_count = sum(1 for u in units if u.day)
        print(f"nothing changed since the last load: the {len(versions)} landing file(s) are all in the mart "
              f"({day_count} day(s){', and the dimension exports' if day_count < len(units) else ''})")
        _summary(defs, [], started)
        return 0
    print("to load: " + "; ".join(f"{u.label} ({states[u]})" for u in todo))
    results, ok = [], True
    with spark:  # the runs below share one Spark session (started already on a first load), stopped after them
        if not is_held():
            spark.enter_context(_spark_for_the_runs(landing_bytes(versions, days, todo)))
        mysql.result()
        if dims := [u for u in todo if u.day is None]:
            results.append(_execute(defs, found, jobs.dimensions_job.name, {}, "dimensions"))
            ok = results[-1].success
        if ok:
            for block in day_blocks([u for u in todo if u.day]):
                label = block[0].label + (f" .. {block[-1].label}" if len(block) > 1 else "")
                emptied = [u.day.key for u in block if u.day.key in gone] if empty_gone else []
                tags = {**ledger.range_tags(block), **({EMPTY_DAYS_TAG: ",".join(emptied)} if emptied else {})}
                results.append(_execute(defs, found, jobs.daily_job.name, tags, label))
                ok = ok and results[-1].success
        elif len(todo) > len(dims):
            print("the days wait for the dimension exports (trades reference customers and stocks)")
    _summary(defs, results, started)
    return 0 if ok else 1


def _days_without_files(found, units) -> list[str]:
    """The days a raw fact asset has materialized that no landing file touches now (a file removed, or a
    date corrected)."""
    import dagster as dg

    from stockmart_assets.lib.landing.contract import FACT_TABLES

    touched = {u.day.key for u in units if u.day}
    gone = set()
    for table in FACT_TABLES:
        key = dg.AssetKey(["raw", table])
        if days := found.get_materialized_partitions(key) - touched:  # usually none: the rest is not asked
            ids = found.get_latest_storage_id_by_partition(key, dg.DagsterEventType.ASSET_MATERIALIZATION, days)
            records = found.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, storage_ids=list(ids.values())), limit=len(ids)).records
            gone |= {r.partition_key for r in records  # a day run with no rows (a weekend in a backfill) held none
                     if getattr(r.asset_materialization.metadata.get("dagster/row_count"), "value", 0)}
    return sorted(gone)


def _ensure_local_mysql() -> None:
    """The throwaway MariaDB, installed if missing and started, unless STOCKMART_MYSQL_URL names a server."""
    if not os.getenv("STOCKMART_MYSQL_URL"):
        from stockmart_assets.lib.mysql.install import install_mariadb_if_missing

        install_mariadb_if_missing()
        local_server().ensure()


def _execute(defs, found, job_name: str, tags: dict, label: str):
    """One in-process run, its console kept to INFO (a line per day of the raw stage), then its outcome."""
    from stockmart_assets.cli.stale_runs import RUNNER_PID_TAG

    begun = time.monotonic()
    print(f"{job_name} {label}: running")
    with _brief_console():
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=found, raise_on_error=False, tags={**tags, RUNNER_PID_TAG: str(os.getpid())},
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}})
    outcome = "ok" if result.success else f"FAILED (run {result.run_id}: see `{command('ui')}`)"
    print(f"{job_name} {label}: {outcome} in {time.monotonic() - begun:.0f} s")
    return result


@contextmanager
def _brief_console() -> Iterator[None]:
    """Dagster's console logger, made while the block runs, prints an error's message without its stack traces
    (the run's event log, in the UI, keeps them): a bad landing line is read in one place, not found in three
    screens of frames. Dagster makes that logger with the class ``logging.getLoggerClass()`` gives."""
    import logging

    class Brief(logging.Logger):
        def __init__(self, name: str, level: int | str = logging.NOTSET):
            super().__init__(name, level)
            self.addFilter(_without_stack_trace)

    before = logging.getLoggerClass()
    logging.setLoggerClass(Brief)
    try:
        yield
    finally:
        logging.setLoggerClass(before)


def _without_stack_trace(record) -> bool:
    if isinstance(record.msg, str) and (cut := record.msg.find("\n\nStack Trace:")) >= 0:
        record.msg = record.msg[:cut] + "\n"
    return True


def _runs_in_progress(found) -> list[str]:
    import dagster as dg

    from stockmart_assets.defs.orchestration.ledger import IN_FLIGHT

    return [f"  run {r.dagster_run.run_id} ({r.dagster_run.job_name}), {r.dagster_run.status.value}"
            for r in found.get_run_records(dg.RunsFilter(statuses=list(IN_FLIGHT)), limit=10)]


def _summary(defs, results, started: float) -> None:
    """Where the mart is and what it holds, this run's checks, and how to look at it all."""
    import dagster as dg

    with dg.build_resources({"warehouse": defs.resources["warehouse"]}) as resources:  # EnvVars resolved
        _print_mart(resources.warehouse.get())
    evaluations = [e for r in results for e in r.get_asset_check_evaluations()]
    if evaluations:
        failed = [e for e in evaluations if not e.passed]
        print(f"quality checks this run: {len(evaluations) - len(failed)} passed, {len(failed)} failed"
              + "".join(f"\n  FAILED {e.asset_key.to_user_string()} {e.check_name}"
                        + (f" [{e.partition}]" if e.partition else "") + f": {e.description}" for e in failed))
    print(f"done in {time.monotonic() - started:.0f} s. See it all in the UI: {command('ui')}  "
          f"(http://127.0.0.1:{os.getenv('STOCKMART_UI_PORT', '3000')})")
    if not os.getenv("STOCKMART_MYSQL_URL"):
        server = local_server()
        print(f"the local MariaDB keeps running on 127.0.0.1:{server.port} (data in {server.base}); "
              f"stop it with: {command('mysql', 'stop')}")


def _print_mart(warehouse) -> None:
    from stockmart_assets.lib.warehouse.reports import table_sizes
    from stockmart_assets.lib.warehouse.tables import MART_TABLES

    where = (f"DuckDB file {warehouse.database}" if warehouse.dialect == "duckdb"
             else f"BigQuery dataset {warehouse.project}.{warehouse.schema}")
    print(f"\nthe mart: {where}")
    with warehouse.session():
        sizes = table_sizes(warehouse, list(MART_TABLES.values()))
    for name, rows, days in sizes:
        print(f"  {warehouse.schema}.{name:<22} {rows:>9,} rows" + (f" over {days} day(s)" if days else ""))
