"""What a Deequ gate costs next to a bare Spark scan, on 1M trade-like rows, in one process.

    .venv/bin/python bench/bench_deequ.py [--rows 1000000] [--repeat 3]

Prints JSON: Spark start (JVM + Deequ jars), the time to write the parquet, then for each measure the
wall-clock seconds of every repetition: a bare scan (count + one aggregate), the trade suite through
run_suite on good data, and the same suite on data where 0.1% of rows break rules (adds the failing-row
sample pass).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

from stockmart_assets.lib.deequ.runner import run_suite
from stockmart_assets.lib.deequ.spark import get_spark, stop_spark
from stockmart_assets.lib.deequ.suites import TRADE_SUITE

PARTITION = "2024-12-26"


def trade_rows(spark, rows: int, broken_every: int | None = None):
    """One day of trades; with ``broken_every``, every n-th row has quantity 0 and a repeated order_id."""
    broken = f"id % {broken_every} = 0" if broken_every else "false"
    return spark.range(rows).selectExpr(
        f"CASE WHEN {broken} THEN 1 ELSE id + 1 END AS order_id",
        "id % 20 + 1 AS customer_id",
        "id % 5 + 1 AS stock_id",
        "CASE WHEN id % 2 = 0 THEN '매수' ELSE '매도' END AS trade_type",
        f"CASE WHEN {broken} THEN 0 ELSE id % 100 + 1 END AS quantity",
        f"timestamp_seconds(unix_timestamp(TIMESTAMP '{PARTITION} 00:00:00') + id % 86400) AS order_datetime",
    )


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    value = action()
    return round(time.perf_counter() - start, 3), value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    start_seconds, spark = timed(get_spark)
    report: dict[str, object] = {
        "rows": args.rows,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "spark": spark.version,
        "spark_start_s": start_seconds,
    }
    with tempfile.TemporaryDirectory() as tmp:
        good_path, bad_path = f"{tmp}/good.parquet", f"{tmp}/bad.parquet"
        report["write_parquet_s"], _ = timed(lambda: trade_rows(spark, args.rows).write.parquet(good_path))
        trade_rows(spark, args.rows, broken_every=1000).write.parquet(bad_path)
        good, bad = spark.read.parquet(good_path), spark.read.parquet(bad_path)

        def bare_scan():
            return good.selectExpr("count(*)", "sum(quantity)", "max(order_datetime)").collect()

        runs: dict[str, list[float]] = {"bare_scan_s": [], "trade_suite_good_s": [], "trade_suite_broken_s": []}
        for _ in range(args.repeat):
            runs["bare_scan_s"].append(timed(bare_scan)[0])
            seconds, result = timed(lambda: run_suite(spark, good, TRADE_SUITE, PARTITION))
            assert result.passed, result.records()
            runs["trade_suite_good_s"].append(seconds)
            seconds, result = timed(lambda: run_suite(spark, bad, TRADE_SUITE, PARTITION))
            assert {r.check for r in result.failures} == {"order_id is unique", "quantity is positive"}
            runs["trade_suite_broken_s"].append(seconds)
        report.update(runs)
        report["constraints"] = len(result.results)
        best = {name: min(values) for name, values in runs.items()}
        report["suite_vs_scan_best"] = round(best["trade_suite_good_s"] / best["bare_scan_s"], 1)
    stop_spark()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
