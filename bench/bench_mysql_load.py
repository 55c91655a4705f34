"""CSV → MySQL for one daily partition: stockmart's path vs a bare LOAD DATA LOCAL INFILE of the same file.

    .venv/bin/python bench/bench_mysql_load.py --trades 1000000 [--repeat 3] [--mysql-url URL]

Same server, same table (keys and foreign keys in place), same empty partition before every trial. Measured:
- bare:      one LOAD DATA LOCAL INFILE of the landing trade.csv (no validation), committed;
- io_manager: the MySQL IO manager's handle_output on the validated rows (write load file, delete, load, check);
- asset_run: a Dagster run of raw/trade + mysql/trade for the partition (parse + validate + lake + load).
Prints one JSON line; rows/s are medians over --repeat trials.
"""

import datetime as dt
import json
import platform
import statistics
import time

from common import DAY, setup, teardown  # bench/common.py

import dagster as dg

from stockmart_assets.defs.mysql.assets import mysql_assets
from stockmart_assets.defs.raw.assets import raw_assets
from stockmart_assets.lib.landing.contract import TRADE
from stockmart_assets.lib.landing.reader import read_landing
from stockmart_assets.lib.mysql.load import replace_partition
from stockmart_assets.defs.raw.resources import LakeIOManager, LandingResource
from stockmart_assets.lib.day import Days
from stockmart_assets.defs.mysql.io_manager import MySQLIOManager
from stockmart_assets.defs.mysql.resources import MySQLResource



def main() -> None:
    args, work, url, landing = setup(__doc__.splitlines()[0])
    mysql = MySQLResource(url=url)
    resources = {"mysql": mysql, "mysql_io_manager": MySQLIOManager(mysql=mysql),
                 "landing": LandingResource(path=str(landing)), "lake_io_manager": LakeIOManager(base_dir=str(work / "lake"))}
    assets = [*raw_assets, *mysql_assets]
    with mysql.connect() as con, con.cursor() as cur:
        for t in ("stock_price", "trade", "customer", "stocks", "budget"):
            cur.execute(f"DROP TABLE IF EXISTS `{t}`")
    dims = [[layer, t] for layer in ("raw", "mysql") for t in ("budget", "customer", "stocks")]
    dg.materialize(assets, selection=dg.AssetSelection.assets(*dims), resources=resources)

    trade_csv = str(landing / "trade.csv")

    def empty_partition():
        with mysql.connect() as con, con.cursor() as cur:
            cur.execute("TRUNCATE TABLE trade")  # no purge backlog left to slow the next trial

    def bare():
        with mysql.connect() as con, con.cursor() as cur:
            con.begin()
            n = cur.execute(
                "LOAD DATA LOCAL INFILE %s INTO TABLE trade CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' "
                "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES "
                "(order_id, customer_id, stock_id, trade_type, quantity, order_datetime)", (trade_csv,))
            con.commit()
        assert n == args.trades, n

    rows = read_landing(TRADE, landing, Days.of([DAY]))

    def io_manager():
        with mysql.connect() as con:
            assert replace_partition(con, TRADE, rows, Days.of([DAY])).rows_loaded == args.trades

    def asset_run():
        dg.materialize(assets, selection=dg.AssetSelection.assets(["raw", "trade"], ["mysql", "trade"]),
                       resources=resources, partition_key=DAY)

    timings: dict[str, list[float]] = {"bare": [], "io_manager": [], "asset_run": []}
    for _ in range(args.repeat):
        for name, fn in (("bare", bare), ("io_manager", io_manager), ("asset_run", asset_run)):
            empty_partition()
            t0 = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in timings.items()}
    rate = {k: args.trades / v for k, v in med.items()}
    print(json.dumps({
        "bench": "mysql_load", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {platform.python_version()}",
        "trades": args.trades, "repeat": args.repeat,
        "seconds": {k: [round(x, 2) for x in v] for k, v in timings.items()},
        "rows_per_s": {k: round(v) for k, v in rate.items()},
        "io_manager_vs_bare": round(rate["io_manager"] / rate["bare"], 3),
        "asset_run_vs_bare": round(rate["asset_run"] / rate["bare"], 3),
    }))
    teardown(args, work)


if __name__ == "__main__":
    main()
