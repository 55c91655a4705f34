"""The raw stage's own work on one day of trades, against a bare typed parse of the same file.

    .venv/bin/python bench/bench_landing.py [--trades 10000000] [--repeat 2]

Ours: ``lib.landing.reader.write_landing`` (validate the file against the contract, then write the day's
parquet), as the raw asset calls it, without Dagster around it. Bare: DuckDB's typed ``read_csv`` of the file
into a temporary table, on a connection with the same memory limit. Each is timed ``--repeat`` times,
alternately. To time another checkout's code on the same file, run this script with
``PYTHONPATH=<that checkout>``. The file is generated once into ``bench/out/landing-<trades>``. Prints one
JSON line.
"""

import argparse
import datetime as dt
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import stockmart_assets
from stockmart_assets.lib.day import Day, Days
from stockmart_assets.lib.landing.contract import TRADE
from stockmart_assets.lib.landing.generator import generate
from stockmart_assets.lib.landing.reader import columns_arg, write_landing
from stockmart_assets.lib.scratch import scratch

DAY = "2024-12-26"
OUT = Path(__file__).resolve().parent / "out"


def bare(landing: Path) -> float:
    options = f"header = true, auto_detect = false, columns = {columns_arg(TRADE)}"
    if TRADE.timestamp_format:
        options += f", timestampformat = '{TRADE.timestamp_format}'"
    with scratch() as con:
        start = time.perf_counter()
        con.execute(f"CREATE TEMP TABLE t AS SELECT * FROM read_csv('{landing / 'trade.csv'}', {options})").fetchall()
        return time.perf_counter() - start


def ours(landing: Path) -> float:
    folder = Path(tempfile.mkdtemp(prefix="stockmart-bench-landing-"))
    try:
        start = time.perf_counter()
        write_landing(TRADE, landing, Days(Day.of(DAY), Day.of(DAY)), folder)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trades", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    landing = OUT / f"landing-{a.trades}"
    if not (landing / "trade.csv").exists():
        generate(landing, customers=10_000, days=1, trades_per_day=a.trades, bars=False)
    times = {"bare": [], "ours": []}
    for _ in range(a.repeat):
        times["bare"].append(bare(landing))
        times["ours"].append(ours(landing))
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "trades": a.trades,
        "code": str(Path(stockmart_assets.__file__).parents[1]),
        "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
        "median": {k: round(v, 2) for k, v in medians.items()}, "ours/bare": round(medians["ours"] / medians["bare"], 2),
    }))


if __name__ == "__main__":
    main()
