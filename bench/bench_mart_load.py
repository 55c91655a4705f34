"""Mart load of a 1M-trade partition: our atomic replace vs the bare tools, into DuckDB and a BigQuery emulator.

    .venv/bin/python bench/bench_mart_load.py [--trades 1000000] [--repeat 3] [--no-bigquery]

DuckDB: bare = ``CREATE TABLE AS SELECT * FROM read_csv(trade.csv)``; ours = the mart IO manager's handler
(declared table, DELETE + INSERT of the Arrow partition in one transaction) through dagster's DbIOManager.
BigQuery (local emulator, started here): bare = one ``load_table_from_dataframe``; ours = ``BigQueryWarehouse.replace``
(create from DDL, stage, one BEGIN/DELETE/INSERT/COMMIT script). Prints one JSON line.
"""

import argparse
from contextlib import nullcontext
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the BigQuery emulator harness lives in the tests

import dagster as dg
import duckdb

from stockmart_assets.lib.landing.generator import generate
from stockmart_assets.lib.warehouse.tables import TRADE as MART_TRADE
from stockmart_assets.defs.mart.io_manager import MartIOManager
from stockmart_assets.defs.mart.resources import DuckDBMart
from stockmart_assets.lib.day import Days

DAY = "2024-12-26"


def mart_rows(landing: Path):
    """The mart/trade partition as the asset builds it (ticker joined, trade_date derived)."""
    con = duckdb.connect()
    return con.sql(
        f"SELECT CAST(order_datetime AS DATE) AS trade_date, order_id, customer_id, stock_id, "
        f"'T' || stock_id AS ticker, trade_type, quantity, order_datetime FROM read_csv('{landing}/trade.csv', "
        "header = true, columns = {'order_id': 'BIGINT', 'customer_id': 'BIGINT', 'stock_id': 'BIGINT', "
        "'trade_type': 'VARCHAR', 'quantity': 'BIGINT', 'order_datetime': 'TIMESTAMP'}, "
        "timestampformat = '%Y-%m-%d %H:%M')").to_arrow_table()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-bigquery", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stockmart-bench-"))
    landing = work / "landing"
    generate(landing, customers=10_000, days=1, trades_per_day=args.trades, start_date=dt.date.fromisoformat(DAY),
             bars=False)
    rows = mart_rows(landing)
    csv = landing / "trade.csv"
    db = str(work / "warehouse.duckdb")

    def duckdb_bare():
        with duckdb.connect(db) as con:
            con.execute("CREATE OR REPLACE TABLE bare AS SELECT * FROM read_csv(?, header = true)", [str(csv)])

    @dg.asset(key=["mart", "trade"], partitions_def=dg.DailyPartitionsDefinition(start_date="2024-01-01"),
              io_manager_key="mart_io_manager")
    def trade():
        return rows

    def duckdb_ours():
        dg.materialize([trade], partition_key=DAY, resources={"mart_io_manager": MartIOManager(warehouse=DuckDBMart(database=db))})

    timings: dict[str, list[float]] = {"duckdb_bare_read_csv": [], "duckdb_mart_replace": []}
    runs = [("duckdb_bare_read_csv", duckdb_bare), ("duckdb_mart_replace", duckdb_ours)]
    emulator = None
    if not args.no_bigquery:
        from stockmart_assets.lib.warehouse.bigquery import BigQueryWarehouse
        from stockmart_assets_tests.support.bigquery_emulator import start_emulator

        emulator = start_emulator(work / "bq")
        client = emulator.client()
        frame = rows.to_pandas()

        def bq_bare():
            from google.cloud import bigquery

            client.load_table_from_dataframe(frame, f"{emulator.project}.bench.bare", job_config=bigquery.LoadJobConfig(
                write_disposition="WRITE_TRUNCATE")).result()

        def bq_ours():
            BigQueryWarehouse(emulator.project, client=lambda: nullcontext(client)).replace(
                MART_TRADE, Days.of([DAY]), rows=rows)

        client.query(f"CREATE SCHEMA IF NOT EXISTS `{emulator.project}.bench`").result()
        timings |= {"bigquery_bare_load": [], "bigquery_mart_replace": []}
        runs += [("bigquery_bare_load", bq_bare), ("bigquery_mart_replace", bq_ours)]
    try:
        for _ in range(args.repeat):
            for name, fn in runs:
                t0 = time.perf_counter()
                fn()
                timings[name].append(time.perf_counter() - t0)
    finally:
        if emulator:
            emulator.stop()
    rate = {k: args.trades / statistics.median(v) for k, v in timings.items()}
    out = {"bench": "mart_load", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "machine": f"{platform.node()} {platform.machine()} {platform.python_version()}", "trades": args.trades,
           "seconds": {k: [round(x, 2) for x in v] for k, v in timings.items()},
           "rows_per_s": {k: round(v) for k, v in rate.items()},
           "duckdb_ours_vs_bare": round(rate["duckdb_mart_replace"] / rate["duckdb_bare_read_csv"], 2)}
    if emulator:
        out["bigquery_ours_vs_bare"] = round(rate["bigquery_mart_replace"] / rate["bigquery_bare_load"], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
