"""`stockmart`: run the whole pipeline on the embedded defaults, open the UI, manage the local MariaDB.

    stockmart run [--sample]     materialize every asset and every partition found in the landing folder
    stockmart ui                 dagster dev on 127.0.0.1, with the same Dagster home as `run`
    stockmart mysql start|stop|url|install
"""

import argparse
import os
import sys


def _dagster_home():
    """The Dagster home of `run` and `ui`, with a dagster.yaml that limits the warehouse pool (a user's is kept)."""
    from stockmart_assets.environment import stockmart_home
    from stockmart_assets.instance import write_dagster_yaml

    home = os.environ.get("DAGSTER_HOME") or str(stockmart_home() / "dagster_home")
    os.makedirs(home, exist_ok=True)
    os.environ["DAGSTER_HOME"] = home
    write_dagster_yaml(home)
    return home


def _instance():
    """The instance of `_dagster_home()`, its pool limits in place and no slot left held by an ended run."""
    import dagster as dg

    from stockmart_assets.instance import ensure_pool_limits, free_slots_of_finished_runs

    _dagster_home()
    instance = dg.DagsterInstance.get()
    for pool, limit in ensure_pool_limits(instance).items():
        print(f"pool {pool}: limit {limit} (this Dagster home's dagster.yaml sets none)")
    if freed := free_slots_of_finished_runs(instance):
        print(f"freed the pool slots of {freed} ended run(s)")
    return instance


def _local_server():
    from stockmart_assets.environment import stockmart_home
    from stockmart_assets.mysql.local_server import LocalMariaDB

    return LocalMariaDB(stockmart_home() / "mariadb")


def cmd_run(args) -> int:
    from stockmart_assets.environment import landing_dir
    from stockmart_assets.landing.contract import STOCK_PRICE, TRADE
    from stockmart_assets.landing.generator import generate
    from stockmart_assets.landing.reader import partition_dates
    from stockmart_assets.mysql.local_server import install_mariadb_if_missing

    landing = landing_dir()
    if args.sample or not any(landing.glob("*.csv")):
        counts = generate(landing, customers=args.customers, days=args.days, trades_per_day=args.trades_per_day,
                          seed=args.seed)
        print(f"sample landing files in {landing}: {counts}")
    if not os.getenv("STOCKMART_MYSQL_URL"):
        install_mariadb_if_missing()
        print(f"local MariaDB: {_redact(_local_server().ensure())}")
    instance = _instance()

    from stockmart_assets.definitions import defs

    dates = sorted({d for t in (TRADE, STOCK_PRICE) if any(landing.glob(g) for g in t.globs)
                    for d in partition_dates(t, landing)})
    print(f"materializing dimensions, then {len(dates)} daily partition(s): {', '.join(dates) or 'none'}")
    ok = defs.resolve_job_def("dimensions").execute_in_process(instance=instance, raise_on_error=False).success
    if ok and dates:
        # One run for all the days (a single-run backfill): Spark starts once, not once per day.
        result = defs.resolve_job_def("daily_partition").execute_in_process(
            instance=instance, raise_on_error=False,
            tags={"dagster/asset_partition_range_start": dates[0], "dagster/asset_partition_range_end": dates[-1]})
        print(f"  {dates[0]} ... {dates[-1]}: {'ok' if result.success else 'FAILED'}")
        ok = result.success
    print("done" if ok else "some runs failed: open the UI (`stockmart ui`) to see why")
    return 0 if ok else 1


def _redact(url: str) -> str:
    from urllib.parse import urlparse

    u = urlparse(url)
    return url.replace(f":{u.password}@", ":***@") if u.password else url


def cmd_ui(args) -> int:
    _instance().dispose()
    if not os.getenv("STOCKMART_MYSQL_URL"):
        _local_server().ensure()
    os.execvp("dagster", ["dagster", "dev", "-h", args.host, "-p", str(args.port), "-m",
                          "stockmart_assets.definitions"])


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
    run = sub.add_parser("run", help="materialize every asset and partition found in the landing folder")
    run.add_argument("--sample", action="store_true", help="(re)write sample landing files first")
    run.add_argument("--customers", type=int, default=20)
    run.add_argument("--days", type=int, default=3)
    run.add_argument("--trades-per-day", type=int, default=20)
    run.add_argument("--seed", type=int, default=0)
    run.set_defaults(func=cmd_run)
    ui = sub.add_parser("ui", help="open the Dagster UI (dagster dev) on this machine only")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
    mysql = sub.add_parser("mysql", help="the throwaway local MariaDB under $STOCKMART_HOME/mariadb")
    mysql.add_argument("action", choices=["start", "stop", "url", "install"])
    mysql.set_defaults(func=cmd_mysql)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
