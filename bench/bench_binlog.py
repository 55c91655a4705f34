"""Binlog change capture: an idle tick's cost, and commit-to-mart latency, on the throwaway MariaDB.

    .venv/bin/python bench/bench_binlog.py [--commits 20] [--idle-ticks 50]

Loads 3 generated days (1,000 trades a day, dimensions first) through the pipeline (raw → MySQL → Deequ checks →
DuckDB mart, LOCAL resources, in this process), then:
- idle tick: the ``mysql_binlog`` sensor evaluated with nothing new (median and p95 of ``--idle-ticks``);
- commit to mart: ``--commits`` commits of 1 to 10,000 new trades (log-spaced), each spread over the 3 days;
  for each, the time from the commit until the mart holds its rows: the sensor's tick, then the runs it
  requests, executed in this process as the daemon launches them. Waiting for the next tick comes on top:
  up to one sensor interval (10 s).
Prints one JSON line.
"""

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the pipeline helpers live with the tests

import dagster as dg
import duckdb
import numpy as np

from stockmart_assets.lib.landing.generator import generate
from stockmart_assets.lib.mysql.local_server import LocalMariaDB

DAYS = ["2024-12-26", "2024-12-27", "2024-12-28"]


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=20)
    ap.add_argument("--idle-ticks", type=int, default=50)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stockmart-bench-"))
    server = LocalMariaDB(work / "mariadb")
    os.environ.update(STOCKMART_MYSQL_URL=server.ensure(), STOCKMART_HOME=str(work / "home"),
                      STOCKMART_LANDING_DIR=str(work / "landing"), STOCKMART_PARTITIONS_START="2024-12-01")
    try:
        from stockmart_assets.defs.mysql.resources import MySQLResource
        from stockmart_assets.defs.orchestration.mysql_changes import mysql_binlog
        from stockmart_assets_tests.support.pipeline import ALL_ASSETS, DIMENSIONS, FACTS, run_request
        from stockmart_assets.defs.quality.checks import quality_checks
        from stockmart_assets.environment import build_resources

        generate(work / "landing", customers=1_000, days=3, trades_per_day=1_000,
                 start_date=dt.date.fromisoformat(DAYS[0]), bars=False)
        instance = dg.DagsterInstance.ephemeral()
        for keys, tags in ((DIMENSIONS, {}), ([k for k in FACTS if k[1] != "stock_price"],
                                              {"dagster/asset_partition_range_start": DAYS[0],
                                               "dagster/asset_partition_range_end": DAYS[-1]})):
            assert dg.materialize([*ALL_ASSETS, *quality_checks], selection=dg.AssetSelection.assets(*keys),
                                  resources=build_resources("LOCAL"), instance=instance, tags=tags).success
        mysql = MySQLResource(url=os.environ["STOCKMART_MYSQL_URL"])
        context = lambda cursor: dg.build_sensor_context(instance=instance, cursor=cursor,  # noqa: E731
                                                        resources={"mysql": mysql})
        cursor = mysql_binlog(context(None)).cursor

        idle = []
        for _ in range(args.idle_ticks):
            start = time.perf_counter()
            assert not mysql_binlog(context(cursor)).run_requests
            idle.append(time.perf_counter() - start)

        warehouse = str(work / "home" / "warehouse.duckdb")
        latencies, sizes, next_id = [], [], 10_000_000
        for rows in np.geomspace(1, 10_000, args.commits).round().astype(int).tolist():
            ids = list(range(next_id, next_id + rows))
            next_id += rows
            values = ", ".join(f"({i}, {1 + i % 1000}, {1 + i % 5}, '매수', 1, '{DAYS[i % 3]} 12:00:00')" for i in ids)
            start = time.perf_counter()
            with mysql.connect() as con, con.cursor() as cur:
                cur.execute(f"INSERT INTO trade VALUES {values}")
                con.commit()
            result = mysql_binlog(context(cursor))
            cursor = result.cursor
            for request in result.run_requests:
                assert run_request(request, instance).success, request.job_name
            with duckdb.connect(warehouse, read_only=True) as con:
                [(seen,)] = con.execute(f"SELECT count(*) FROM mart.trade WHERE order_id >= {ids[0]} "
                                        f"AND order_id <= {ids[-1]}").fetchall()
            assert seen == rows, (seen, rows)
            latencies.append(time.perf_counter() - start)
            sizes.append(rows)
            print(f"commit of {rows} rows: {latencies[-1]:.1f} s", file=sys.stderr)
        print(json.dumps({
            "idle_tick_s": {"median": round(statistics.median(idle), 4), "p95": round(p95(idle), 4)},
            "commit_to_mart_s": {"commits": len(latencies), "rows": [min(sizes), max(sizes)],
                                 "p50": round(statistics.median(latencies), 2), "p95": round(p95(latencies), 2),
                                 "max": round(max(latencies), 2)},
            "sensor_interval_s": 10,
        }))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
