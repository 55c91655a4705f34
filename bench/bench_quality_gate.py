"""The quality gate on a 1M-trade MySQL partition vs one bare Spark scan of the same rows, in one process.

    .venv/bin/python bench/bench_quality_gate.py [--trades 1000000] [--repeat 3] [--mysql-url URL]

Both read the partition from MySQL over JDBC the way the deequ_suite check does (the same parallel slices):
- bare:  read + count + a hash over every column (whole rows are read), nothing persisted;
- gate:  what mysql/trade's check step does, through the same function (``lib.deequ.runner.scan_table``):
         the trade suite (Deequ) with its referential integrity against customer and stocks, the anomaly
         metrics and the column profile, in one scan;
and the Spark start cost (session + JVM + Deequ jars). Prints one JSON line.
"""

import datetime as dt
import json
import platform
import statistics
import time

from common import DAY, setup, teardown  # bench/common.py

from stockmart_assets.lib.day import Day, Days
from stockmart_assets.lib.landing.contract import TABLES, TRADE
from stockmart_assets.lib.landing.reader import read_landing
from stockmart_assets.lib.mysql import ddl
from stockmart_assets.lib.mysql.load import merge_table, replace_partition
from stockmart_assets.lib.deequ import spark as quality_spark
from stockmart_assets.lib.deequ.anomaly import Watch
from stockmart_assets.lib.deequ.runner import scan_table
from stockmart_assets.lib.deequ.suites import TRADE_SUITE
from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.defs.quality.resources import SparkResource


def main() -> None:
    args, work, url, landing = setup(__doc__.splitlines()[0])
    mysql = MySQLResource(url=url)
    with mysql.connect() as con, con.cursor() as cur:
        for t in reversed(ddl.TABLE_ORDER):
            cur.execute(f"DROP TABLE IF EXISTS `{t}`")
        ddl.create_all(cur)
        for table in ("budget", "customer", "stocks"):
            merge_table(con, TABLES[table], read_landing(TABLES[table], landing))
        replace_partition(con, TRADE, read_landing(TRADE, landing, Days.of([DAY])), Days.of([DAY]))

    t0 = time.perf_counter()
    spark_resource = SparkResource()
    spark = spark_resource.session()
    spark.range(1).count()
    spark_start = time.perf_counter() - t0

    def bare():
        df = spark_resource.read_mysql(mysql, TRADE, Day.of(DAY))
        # xxhash64 over every column: the scan reads whole rows, as the suite does (not one pruned column).
        row = df.selectExpr("count(*) AS n", "sum(xxhash64(*)) AS h").collect()[0]
        assert row["n"] == args.trades

    def gate():
        parents = {p: spark_resource.read_mysql(mysql, TABLES[p]) for _, p, _ in TRADE.parents}
        rows = spark_resource.read_mysql(mysql, TRADE, Day.of(DAY))
        [scan] = scan_table(spark, rows, TRADE.name, [Day.of(DAY)], suite=TRADE_SUITE, parents=parents,
                            watch=Watch.of(TRADE.name, str(work / "metrics.json")), profile=True)
        assert scan.rows == args.trades and scan.suite.passed, scan.suite.failures

    timings = {"bare_scan": [], "gate": []}
    for _ in range(args.repeat):
        for name, fn in (("bare_scan", bare), ("gate", gate)):
            t0 = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in timings.items()}
    quality_spark.stop_spark()
    print(json.dumps({
        "bench": "quality_gate", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {platform.python_version()}", "trades": args.trades,
        "spark_start_s": round(spark_start, 2),
        "seconds": {k: [round(x, 2) for x in v] for k, v in timings.items()},
        "median_s": {k: round(v, 2) for k, v in med.items()},
        "gate_vs_bare_scan": round(med["gate"] / med["bare_scan"], 2),
    }))
    teardown(args, work)


if __name__ == "__main__":
    main()
