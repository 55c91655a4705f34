"""Analytics over a year: one changed day against a full recompute, in the embedded mart (DuckDB).

    .venv/bin/python bench/bench_analytics.py [--trades-per-day 10000] [--repeat 3]

Loads a generated year of customers and trades (up to ``--trades-per-day`` a day) into a DuckDB mart, then
times, ``--repeat`` times each:
- full: every analytics table recomputed for all 366 days (``analytics.refresh`` over the year), then the
  all-time answers read;
- one day: one day's trades replaced, that day's analytics refreshed (``analytics.refresh`` over the day, what
  a daily run does), then the all-time answers read.
Prints one JSON line.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the generated year lives with the tests

from stockmart_assets.lib.day import Days
from stockmart_assets.lib.warehouse import analytics
from stockmart_assets.lib.warehouse.duckdb import DuckDBWarehouse
from stockmart_assets_tests.support import analytics_year as year

DAY = Days.of(["2024-07-15"])


def all_time(w) -> int:
    """Read every all-time answer, as a user opening them would; returns the rows read."""
    return sum(len(w.query(f"SELECT * FROM {w.qualified(name)}")) for name in
               ("orders_per_day", "top_ticker_by_age_sex_all_time", "buys_by_age_group_all_time"))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trades-per-day", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    w = DuckDBWarehouse(str(Path(tempfile.mkdtemp(prefix="stockmart-bench-")) / "warehouse.duckdb"))
    customers, trades = year.customers(10_000), year.trades(per_day=args.trades_per_day, n_customers=10_000)
    year.load(w, customers, trades)

    full = [timed(lambda: (analytics.refresh(w, year.YEAR), all_time(w))) for _ in range(args.repeat)]
    one_day = []
    for i in range(args.repeat):
        changed = year.trades(DAY, per_day=args.trades_per_day, n_customers=10_000, seed=100 + i, first_id=10**9)
        year.load(w, customers, changed, DAY)
        one_day.append(timed(lambda: (analytics.refresh(w, DAY), all_time(w))))
    [(facts,)] = w.query(f"SELECT COUNT(*) FROM {w.qualified('daily_buys')}")
    print(json.dumps({
        "days": 366, "trades": trades.num_rows, "daily_buys_rows": facts,
        "full_recompute_s": round(statistics.median(full), 3), "one_day_s": round(statistics.median(one_day), 3),
        "speedup": round(statistics.median(full) / statistics.median(one_day), 1),
        "runs": {"full": [round(t, 3) for t in full], "one_day": [round(t, 3) for t in one_day]},
    }))


if __name__ == "__main__":
    main()
