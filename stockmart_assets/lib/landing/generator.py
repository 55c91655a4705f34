"""Synthetic landing files in the trading service's exact export format.

The real service hands over a few dozen rows, which is too little to demo the pipeline, to test it on
realistic volumes, or to benchmark it. ``generate`` writes every file the landing contract declares
(budget.csv, customer.csv, stocks.csv, trade.csv or trade_YYYY-MM-DD.csv, stock/<TICKER>_data.csv) with
valid keys and foreign keys, so demos, tests and benchmarks all start from the same believable data.

* Deterministic: one seed gives byte-identical files. Each file kind draws from its own seeded numpy
  Generator, so e.g. ``--no-bars`` or ``--split-trades-by-day`` does not change the trades.
* Streamed: rows are generated and written ``CHUNK_ROWS`` at a time (trade times are sorted within a day
  without holding the day: per-minute counts are drawn first), so ten million trades take no more memory
  than ten thousand.
* Atomic: each file is written under a hidden temporary name in its folder and ``os.replace``-d into place
  when complete, so a crash never leaves a half-written landing file.

    stockmart-generate /tmp/landing --customers 1000 --days 5 --trades-per-day 200000 --seed 7
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.landing.contract import BUDGET, CUSTOMER, STOCK_PRICE, STOCKS, TRADE, LandingTable

CHUNK_ROWS = 50_000  # rows generated and written at a time: bounds memory whatever the volume
DEFAULT_STOCKS = (  # (ticker, company as in stocks.csv, a plausible starting price)
    ("AAPL", "apple", 259.0), ("AMZN", "amazon", 228.0), ("GOOGL", "google", 195.0),
    ("META", "meta", 605.0), ("MSFT", "microsoft", 439.0),
)
SURNAMES = "김이박최정강조윤장임한오서신권황안송홍배"
GIVEN = "민서지수영현준우성은하도윤예진혜동정호희"
SEXES = ("남", "여")
SIDES = (",매수,", ",매도,")
TRADE_MINUTES = range(8 * 60, 18 * 60)  # orders arrive 08:00-17:59 Seoul time, as in the service's export
SESSION_OPEN_UTC = 14 * 60 + 30  # US regular session, 14:30-20:59 UTC: one bar a minute
SESSION_BARS = 390
# Random streams, one per file kind, so that one kind's options never shift another kind's data.
_PEOPLE, _STOCKS, _TRADES, _BARS = 1, 2, 3, 100


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _header(table: LandingTable) -> str:
    """The header row the service writes, from the contract (yfinance's unnamed index column first)."""
    return ("," if table.index_column else "") + ",".join(c.header for c in table.columns) + "\n"


@contextmanager
def _landing_file(path: Path) -> Iterator[TextIO]:
    """Open ``path`` for writing under a temporary name; move it into place only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # hidden, and matches no contract glob
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_people(out: Path, customers: int, rng: np.random.Generator) -> None:
    """budget.csv and customer.csv together: customer i owns the i-th budget account (1:1)."""
    with _landing_file(out / "budget.csv") as fb, _landing_file(out / "customer.csv") as fc:
        fb.write(_header(BUDGET))
        fc.write(_header(CUSTOMER))
        last_budget_id = 100_000
        for start in range(0, customers, CHUNK_ROWS):
            n = min(CHUNK_ROWS, customers - start)
            budget_ids = (last_budget_id + np.cumsum(rng.integers(1, 21, n))).tolist()  # distinct, increasing
            last_budget_id = budget_ids[-1]
            amounts = (rng.integers(10, 501, n) * 100_000).tolist()  # 1,000,000 .. 50,000,000 won
            names = rng.integers(0, [len(SURNAMES), len(GIVEN), len(GIVEN)], (n, 3)).tolist()
            sexes, ages = rng.integers(0, 2, n).tolist(), rng.integers(19, 81, n).tolist()
            fb.write("".join(f"{b},{a}\n" for b, a in zip(budget_ids, amounts)))
            fc.write("".join(
                f"{cid},{SURNAMES[s]}{GIVEN[g1]}{GIVEN[g2]},{SEXES[x]},{age},{b}\n"
                for cid, (s, g1, g2), x, age, b in zip(range(start + 1, start + n + 1), names, sexes, ages, budget_ids)
            ))


def _stock_list(tickers: int, rng: np.random.Generator) -> list[tuple[str, str, float]]:
    listed = list(DEFAULT_STOCKS[:tickers])
    return listed + [(f"TK{i:04d}", f"company{i}", round(float(rng.uniform(20, 500)), 2))
                     for i in range(len(listed) + 1, tickers + 1)]


def _trade_chunks(rng: np.random.Generator, day: date, count: int, first_order_id: int,
                  customers: int, stocks: int) -> Iterator[str]:
    """One day's trades, time-ordered, as text chunks of at most CHUNK_ROWS rows."""
    stamps = [f",{day.isoformat()} {m // 60:02d}:{m % 60:02d}\n" for m in TRADE_MINUTES]
    # How many orders fall in each minute; row r of the day is in the first minute whose running total > r.
    ends = np.cumsum(rng.multinomial(count, np.full(len(stamps), 1 / len(stamps))))
    for start in range(0, count, CHUNK_ROWS):
        n = min(CHUNK_ROWS, count - start)
        minutes = np.searchsorted(ends, np.arange(start, start + n), side="right").tolist()
        cust = rng.integers(1, customers + 1, n).tolist()
        stock = rng.integers(1, stocks + 1, n).tolist()
        side = rng.integers(0, 2, n).tolist()
        qty = rng.integers(1, 1001, n).tolist()
        order_ids = range(first_order_id + start, first_order_id + start + n)
        yield "".join(f"{o},{c},{s}{SIDES[t]}{q}{stamps[m]}"
                      for o, c, s, t, q, m in zip(order_ids, cust, stock, side, qty, minutes))


def _write_bars(path: Path, ticker: str, company: str, price: float, days: list[date],
                rng: np.random.Generator) -> int:
    """yfinance-style 1-minute bars for the weekdays in ``days``: a random walk from ``price``."""
    clock = [f" {(SESSION_OPEN_UTC + i) // 60:02d}:{(SESSION_OPEN_UTC + i) % 60:02d}:00+00:00"
             for i in range(SESSION_BARS)]
    minute = np.arange(SESSION_BARS)
    u_shape = 1 + 4 * np.exp(-minute / 8) + 5 * np.exp(-(SESSION_BARS - 1 - minute) / 8)  # busy open/close
    tail = f",{company.capitalize()},{ticker}\n"
    rows = 0
    with _landing_file(path) as f:
        f.write(_header(STOCK_PRICE))
        for day in (d for d in days if d.weekday() < 5):
            close = price * np.exp(np.cumsum(rng.normal(0, 0.0006, SESSION_BARS)))
            open_ = np.concatenate(([price], close[:-1]))
            wick = np.abs(rng.normal(0, 0.0004, (2, SESSION_BARS)))
            high, low = np.maximum(open_, close) * (1 + wick[0]), np.minimum(open_, close) * (1 - wick[1])
            volume = (rng.lognormal(11, 0.6, SESSION_BARS) * u_shape).astype(np.int64).tolist()
            price = float(close[-1])
            # yfinance stores float32 prices; widening them reproduces its digits (e.g. 258.9790954589844).
            c, h, lo, o = (a.astype(np.float32).astype(np.float64).tolist() for a in (close, high, low, open_))
            f.write("".join(f"{rows + i},{day}{clock[i]},{c[i]!r},{h[i]!r},{lo[i]!r},{o[i]!r},{volume[i]}{tail}"
                            for i in range(SESSION_BARS)))
            rows += SESSION_BARS
    return rows


def generate(out_dir: Path | str, *, customers: int = 20, tickers: int = 5, days: int = 3,
             trades_per_day: int = 20, start_date: date = date(2024, 12, 26), seed: int = 0,
             bars: bool = True, split_trades_by_day: bool = False) -> dict[str, int]:
    """Write a full set of landing files into ``out_dir``; return the row count per file kind.

    Trades: ``trades_per_day`` orders on each of ``days`` calendar days from ``start_date``, order ids 1..,
    in trade.csv or (``split_trades_by_day``) one trade_YYYY-MM-DD.csv per day. Bars: every weekday of the
    same days, 390 per ticker. ``seed`` must be >= 0.
    """
    if customers < 1 or tickers < 1 or days < 1 or trades_per_day < 0 or seed < 0:
        raise ValueError("customers, tickers and days must be >= 1; trades_per_day and seed >= 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_people(out, customers, _rng(seed, _PEOPLE))

    listed = _stock_list(tickers, _rng(seed, _STOCKS))
    with _landing_file(out / "stocks.csv") as f:
        f.write(_header(STOCKS))
        f.writelines(f"{i},{company},{ticker}\n" for i, (ticker, company, _) in enumerate(listed, 1))

    dates = [start_date + timedelta(days=i) for i in range(days)]
    rng = _rng(seed, _TRADES)

    def day_chunks(i: int) -> Iterator[str]:
        return _trade_chunks(rng, dates[i], trades_per_day, 1 + i * trades_per_day, customers, tickers)

    if split_trades_by_day:
        for i, day in enumerate(dates):
            with _landing_file(out / f"trade_{day.isoformat()}.csv") as f:
                f.write(_header(TRADE))
                f.writelines(day_chunks(i))
    else:
        with _landing_file(out / "trade.csv") as f:
            f.write(_header(TRADE))
            for i in range(days):
                f.writelines(day_chunks(i))

    bar_rows = 0
    if bars:
        for k, (ticker, company, price) in enumerate(listed):
            bar_rows += _write_bars(out / "stock" / f"{ticker}_data.csv", ticker, company, price, dates,
                                    _rng(seed, _BARS + k))
    return {"budget": customers, "customer": customers, "stocks": tickers, "trade": days * trades_per_day,
            "stock_price": bar_rows}


def main(argv: list[str] | None = None) -> int:
    """``stockmart-generate``: write synthetic landing files (OUT_DIR defaults to $STOCKMART_LANDING_DIR)."""
    env_dir = os.environ.get("STOCKMART_LANDING_DIR")
    p = argparse.ArgumentParser(prog="stockmart-generate", description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir", metavar="OUT_DIR", type=Path, **({"nargs": "?", "default": env_dir} if env_dir else {}),
                   help="landing folder to write (default: $STOCKMART_LANDING_DIR)")
    p.add_argument("--customers", type=int, default=20)
    p.add_argument("--tickers", type=int, default=5)
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--trades-per-day", type=int, default=20)
    p.add_argument("--start-date", type=lambda key: Day.of(key).date, default=date(2024, 12, 26), metavar="YYYY-MM-DD")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-bars", dest="bars", action="store_false", help="skip stock/<TICKER>_data.csv")
    p.add_argument("--split-trades-by-day", action="store_true", help="trade_YYYY-MM-DD.csv instead of trade.csv")
    a = p.parse_args(argv)
    started = time.perf_counter()
    try:
        counts = generate(a.out_dir, customers=a.customers, tickers=a.tickers, days=a.days,
                          trades_per_day=a.trades_per_day, start_date=a.start_date, seed=a.seed, bars=a.bars,
                          split_trades_by_day=a.split_trades_by_day)
    except ValueError as e:
        p.error(str(e))
    print(f"stockmart-generate: wrote {', '.join(f'{n} {kind}' for kind, n in counts.items())} rows "
          f"to {a.out_dir} in {time.perf_counter() - started:.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
