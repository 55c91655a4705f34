"""`stockmart`: load the landing folder on the embedded defaults, open the UI, manage the local MariaDB.

    stockmart run [--sample]     load what the landing folder holds and the mart does not have yet
    stockmart ui                 dagster dev on 127.0.0.1, with the same Dagster home as `run`
    stockmart mysql start|stop|url|install
"""

import argparse
import datetime as dt
import os
import shutil
import signal
import sys
import time
from pathlib import Path


def _dagster_home():
    """The Dagster home of `run` and `ui`, with a dagster.yaml that limits the warehouse pool (a user's is kept)."""
    from stockmart_assets.instance import write_dagster_yaml
    from stockmart_assets.paths import stockmart_home

    home = os.environ.get("DAGSTER_HOME") or str(stockmart_home() / "dagster_home")
    os.makedirs(home, exist_ok=True)
    os.environ["DAGSTER_HOME"] = home
    write_dagster_yaml(home)
    return home


def _instance():
    """The instance of `_dagster_home()`, its pool limits in place and no slot left held by an ended run."""
    import dagster as dg

    from stockmart_assets.instance import ensure_pool_limits, fail_runs_of_dead_processes, free_slots_of_finished_runs

    _dagster_home()
    instance = dg.DagsterInstance.get()
    for pool, limit in ensure_pool_limits(instance).items():
        print(f"pool {pool}: limit {limit} (this Dagster home's dagster.yaml sets none)")
    for run_id in fail_runs_of_dead_processes(instance):
        print(f"run {run_id} was left unfinished by a stockmart process that is gone: marked failed")
    if freed := free_slots_of_finished_runs(instance):
        print(f"freed the pool slots of {freed} ended run(s)")
    return instance


def _local_server():
    from stockmart_assets.mysql.local_server import LocalMariaDB
    from stockmart_assets.paths import stockmart_home

    return LocalMariaDB(stockmart_home() / "mariadb")


def _command(*args: str) -> str:
    """How the user calls this program, for the commands we suggest (``.venv/bin/stockmart ui``)."""
    me = sys.argv[0] if os.sep in sys.argv[0] and Path(sys.argv[0]).name == "stockmart" else "stockmart"
    if os.path.isabs(me) and Path(me).is_relative_to(Path.cwd()):
        me = os.path.relpath(me)
    return " ".join([me, *args])


def _write_sample(landing: Path, args) -> None:
    """Generated landing files for the last ``--days`` days (to yesterday, Seoul time), into an empty folder only."""
    from zoneinfo import ZoneInfo

    from stockmart_assets.landing.contract import SERVICE_TIMEZONE
    from stockmart_assets.landing.generator import generate
    from stockmart_assets.landing.scan import file_versions

    if existing := file_versions(landing):
        print(f"--sample: {landing} already holds {len(existing)} landing file(s); they are left as they are")
        return
    yesterday = dt.datetime.now(ZoneInfo(SERVICE_TIMEZONE)).date() - dt.timedelta(days=1)
    start = yesterday - dt.timedelta(days=args.days - 1)
    counts = generate(landing, customers=args.customers, days=args.days, trades_per_day=args.trades_per_day,
                      start_date=start, seed=args.seed)
    print(f"sample landing files for {start} .. {yesterday} written to {landing}: "
          + ", ".join(f"{n} {kind}" for kind, n in counts.items()))


NO_LANDING_FILES = 2
RUNS_IN_PROGRESS = 3


def cmd_run(args) -> int:
    from stockmart_assets import ledger
    from stockmart_assets.paths import landing_dir, record_partitions_start

    started = time.monotonic()
    landing = landing_dir()
    if args.sample:
        _write_sample(landing, args)
    versions, days = ledger.scan_landing(landing)
    if not versions:
        print(f"no landing files in {landing}: put the trading service's exports there (customer.csv, budget.csv, "
              "stocks.csv, trade*.csv, stock/<TICKER>_data.csv; see the README's landing contract), point "
              f"STOCKMART_LANDING_DIR at them, or write a generated sample with `{_command('run', '--sample')}`",
              file=sys.stderr)
        return NO_LANDING_FILES
    units = ledger.landing_units(versions, days)
    day_units = [u for u in units if u.partition]
    if day_units and (recorded := record_partitions_start(day_units[0].partition)):
        print(f"daily partitions start on {recorded}, the first day of the landing files")
    if not os.getenv("STOCKMART_MYSQL_URL"):
        from stockmart_assets.mysql.local_server import install_mariadb_if_missing

        install_mariadb_if_missing()
        _local_server().ensure()
    instance = _instance()
    if busy := _runs_in_progress(instance):
        print("runs are in progress in this Dagster home; wait for them to end (or cancel them in the UI):\n"
              + "\n".join(busy), file=sys.stderr)
        return RUNS_IN_PROGRESS

    from stockmart_assets.definitions import defs
    from stockmart_assets.jobs import daily_job, dimensions_job

    graph = defs.resolve_asset_graph()
    states = ledger.unit_states(instance, graph, ledger.job_assets(graph, [dimensions_job, daily_job]), units)
    todo = [u for u in units if states[u] != ledger.LOADED]
    from stockmart_assets.partitions import daily_partitions

    if outside := ledger.outside(todo, daily_partitions, days):
        print(ledger.outside_message(outside, daily_partitions), file=sys.stderr)
        todo = [u for u in todo if u.partition not in outside]
    if not todo:
        print(f"nothing changed since the last load: the {len(versions)} landing file(s) in {landing} are all in "
              f"the mart ({len(day_units)} day(s){', and the dimension exports' if len(day_units) < len(units) else ''})")
        _summary(defs, [], started)
        return 0
    print("to load: " + "; ".join(f"{u.label} ({states[u]})" for u in todo))
    results = []
    ok = True
    if dims := [u for u in todo if u.job == ledger.DIMENSIONS_JOB]:
        results.append(_execute(defs, instance, ledger.DIMENSIONS_JOB, {}, "dimensions"))
        ok = results[-1].success
    if ok:
        for block in ledger.day_blocks([u for u in todo if u.job == ledger.DAILY_JOB]):
            label = block[0].partition + (f" .. {block[-1].partition}" if len(block) > 1 else "")
            results.append(_execute(defs, instance, ledger.DAILY_JOB, ledger.range_tags(block), label))
            ok = ok and results[-1].success
    elif len(todo) > len(dims):
        print("the days wait for the dimension exports (trades reference customers and stocks)")
    _summary(defs, results, started)
    return 0 if ok else 1


def _execute(defs, instance, job_name: str, tags: dict, label: str):
    """One in-process run, its console kept to INFO (our one line per step), then its outcome in one line."""
    from stockmart_assets.instance import RUNNER_PID_TAG

    begun = time.monotonic()
    print(f"{job_name} {label}: running")
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, raise_on_error=False, tags={**tags, RUNNER_PID_TAG: str(os.getpid())},
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}})
    outcome = "ok" if result.success else f"FAILED (run {result.run_id}: see `{_command('ui')}`)"
    print(f"{job_name} {label}: {outcome} in {time.monotonic() - begun:.0f} s")
    return result


def _runs_in_progress(instance) -> list[str]:
    from stockmart_assets.ledger import IN_FLIGHT

    import dagster as dg

    return [f"  run {r.dagster_run.run_id} ({r.dagster_run.job_name}), {r.dagster_run.status.value}"
            for r in instance.get_run_records(dg.RunsFilter(statuses=list(IN_FLIGHT)), limit=10)]


def _summary(defs, results, started: float) -> None:
    """Where the mart is and what it holds, this run's checks, and how to look at it all."""
    import dagster as dg

    with dg.build_resources({"warehouse": defs.resources["warehouse"]}) as resources:  # EnvVars resolved
        _print_mart(resources.warehouse)
    evaluations = [e for r in results for e in r.get_asset_check_evaluations()]
    if evaluations:
        failed = [e for e in evaluations if not e.passed]
        print(f"quality checks this run: {len(evaluations) - len(failed)} passed, {len(failed)} failed"
              + "".join(f"\n  FAILED {e.asset_key.to_user_string()} {e.check_name}"
                        + (f" [{e.partition}]" if e.partition else "") + f": {e.description}" for e in failed))
    print(f"done in {time.monotonic() - started:.0f} s. See it all in the UI: {_command('ui')}  "
          f"(http://127.0.0.1:{os.getenv('STOCKMART_UI_PORT', '3000')})")
    if not os.getenv("STOCKMART_MYSQL_URL"):
        server = _local_server()
        print(f"the local MariaDB keeps running on 127.0.0.1:{server.port} (data in {server.base}); "
              f"stop it with: {_command('mysql', 'stop')}")


def _print_mart(warehouse) -> None:
    from stockmart_assets.mart.tables import MART_TABLES

    where = (f"DuckDB file {warehouse.database}" if warehouse.dialect == "duckdb"
             else f"BigQuery dataset {warehouse.project}.{warehouse.schema_name}")
    print(f"\nthe mart: {where}")
    for name, rows, days in warehouse.table_sizes(list(MART_TABLES.values())):
        print(f"  {warehouse.schema_name}.{name:<22} {rows:>9,} rows" + (f" over {days} day(s)" if days else ""))


def _redact(url: str) -> str:
    from urllib.parse import urlparse

    u = urlparse(url)
    return url.replace(f":{u.password}@", ":***@") if u.password else url


def cmd_ui(args) -> int:
    from stockmart_assets import ledger
    from stockmart_assets.paths import landing_dir, record_partitions_start

    versions, days = ledger.scan_landing(landing_dir())
    first = min((d for ds in days.values() for d in ds), default=None)
    if first and (recorded := record_partitions_start(first)):
        print(f"daily partitions start on {recorded}, the first day of the landing files")
    _instance().dispose()
    if not os.getenv("STOCKMART_MYSQL_URL"):
        server = _local_server()
        server.ensure()
        print(f"the local MariaDB runs on 127.0.0.1:{server.port}; it keeps running after the UI stops "
              f"(stop it with: {_command('mysql', 'stop')})")
    # dagster (and the processes it starts) from this program's own environment, whatever PATH says.
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    dagster = shutil.which("dagster", path=bin_dir) or os.path.join(bin_dir, "dagster")
    print(f"the Dagster UI: http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    # Started in the background by a script, this process may have inherited SIGINT as ignored, and dagster dev
    # would then ignore Ctrl-C and SIGTERM alike: it gets the default handlers, whoever started it.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    os.execv(dagster, [dagster, "dev", "-h", args.host, "-p", str(args.port), "-m", "stockmart_assets.definitions"])


def cmd_mysql(args) -> int:
    from stockmart_assets.mysql.local_server import install_mariadb_if_missing

    server = _local_server()
    if args.action == "install":
        install_mariadb_if_missing()
    elif args.action == "start":
        install_mariadb_if_missing()
        print(_redact(server.ensure()))
    elif args.action == "url":
        print(server.ensure())
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stockmart", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="load what the landing folder holds and the mart does not have yet")
    run.add_argument("--sample", action="store_true",
                     help="first write generated landing files, if the landing folder holds none")
    run.add_argument("--customers", type=int, default=20, help="sample size (with --sample)")
    run.add_argument("--days", type=int, default=3, help="sample days, ending yesterday (with --sample)")
    run.add_argument("--trades-per-day", type=int, default=20, help="sample size (with --sample)")
    run.add_argument("--seed", type=int, default=0, help="sample seed (with --sample)")
    run.set_defaults(func=cmd_run)
    ui = sub.add_parser("ui", help="open the Dagster UI (dagster dev) on this machine only")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=int(os.getenv("STOCKMART_UI_PORT", "3000")),
                    help="default 3000, or STOCKMART_UI_PORT")
    ui.set_defaults(func=cmd_ui)
    mysql = sub.add_parser("mysql", help="the throwaway local MariaDB under $STOCKMART_HOME/mariadb")
    mysql.add_argument("action", choices=["start", "stop", "url", "install"])
    mysql.set_defaults(func=cmd_mysql)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
