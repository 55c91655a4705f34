"""A generated year of the mart's customers and trades, for the analytics tests and benchmark: written into any
warehouse as the mart's own tables, and kept as plain tuples so the answers can be computed without SQL."""

import datetime as dt

import numpy as np
import pyarrow as pa

from stockmart_assets.lib.day import WHOLE, Day, Days
from stockmart_assets.lib.warehouse.analytics import AGE_BANDS, UNKNOWN_AGE
from stockmart_assets.lib.warehouse.protocol import Warehouse
from stockmart_assets.lib.warehouse.tables import CUSTOMER, TRADE

TICKERS = ["AAPL", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "TSLA", "NFLX", "AMD", "INTC", "ORCL", "IBM"]
YEAR = Days(Day(dt.date(2024, 1, 1)), Day(dt.date(2024, 12, 31)))


def age_group(age: int | None) -> str:
    for label, low, high in AGE_BANDS:
        if age is not None and age >= low and (high is None or age <= high):
            return label
    return UNKNOWN_AGE


def customers(n: int = 300, seed: int = 11) -> pa.Table:
    """Every age band, and ages the mart cannot band (unknown, under 10)."""
    rng = np.random.default_rng(seed)
    ages = [None if i % 37 == 0 else int(a) for i, a in enumerate(rng.integers(5, 90, n))]
    return pa.table({"customer_id": list(range(1, n + 1)), "name": [f"c{i}" for i in range(1, n + 1)],
                     "sex": [str(s) for s in rng.choice(["남", "여"], n)], "age": ages,
                     "budget_id": list(range(100_001, 100_001 + n))}, schema=CUSTOMER.arrow_schema)


def trades(days: Days = YEAR, per_day: int = 40, n_customers: int = 300, seed: int = 5, first_id: int = 1
           ) -> pa.Table:
    """Up to ``per_day`` orders a day, some days none; small counts make ties common."""
    rng = np.random.default_rng(seed)
    dates = np.array([d.date for d in days], dtype="datetime64[D]")
    counts = rng.integers(0, per_day + 1, len(dates)) * (rng.random(len(dates)) > 0.03)
    n = int(counts.sum())
    trade_date = np.repeat(dates, counts)
    stock = rng.integers(0, len(TICKERS), n)
    return pa.table({
        "trade_date": trade_date, "order_id": np.arange(first_id, first_id + n),
        "customer_id": rng.integers(1, n_customers + 1, n), "stock_id": stock + 1,
        "ticker": np.array(TICKERS)[stock], "trade_type": np.where(rng.random(n) < 0.6, "매수", "매도"),
        "quantity": rng.integers(1, 500, n),
        "order_datetime": trade_date.astype("datetime64[us]") + rng.integers(0, 24 * 60, n).astype("timedelta64[m]"),
    }, schema=TRADE.arrow_schema)


def load(w: Warehouse, customer_rows: pa.Table, trade_rows: pa.Table, days: Days = YEAR) -> None:
    """Write the rows as the mart's customer table and ``days`` of its trade table."""
    w.replace(CUSTOMER, WHOLE, rows=customer_rows)
    w.replace(TRADE, days, rows=trade_rows)


def as_tuples(customer_rows: pa.Table, trade_rows: pa.Table) -> list[tuple]:
    """(day, sex, age group, ticker, trade type) of every trade: what the answers are computed from in Python."""
    who = {c["customer_id"]: (c["sex"], age_group(c["age"])) for c in customer_rows.to_pylist()}
    return [(t["trade_date"].isoformat(), *who[t["customer_id"]], t["ticker"], t["trade_type"])
            for t in trade_rows.to_pylist()]
