"""The business's answers over any window, computed in the warehouse from the daily facts: equal to the same
answers computed in Python, equal in DuckDB and in BigQuery (the emulator), and kept up to date one day at a
time."""

import datetime as dt
from collections import Counter

import pyarrow as pa
import pytest

from stockmart_assets.lib.day import WHOLE, Day, Days
from stockmart_assets.lib.warehouse import analytics
from stockmart_assets.lib.warehouse.duckdb import DuckDBWarehouse
from stockmart_assets.lib.warehouse.tables import CUSTOMER
from stockmart_assets_tests.support import analytics_year as year
from stockmart_assets_tests.support.bigquery_emulator import bigquery_emulator, bq_dataset  # noqa: F401 (fixtures)
from stockmart_assets_tests.support.pipeline import answers

LAST_7_DAYS = ("2024-12-25", "2024-12-31")
FEBRUARY = ("2024-02-01", "2024-02-29")


def answers_in(w, window: tuple[str, str] | None = None):
    """(orders per day with orders, buys per ticker and age group, top ticker per age group and sex) as the
    warehouse answers them: the all-time views, or the table functions over ``window``."""
    def rows(name, columns):
        source = (w.qualified(f"{name}_all_time") if window is None else
                  f"{w.qualified(f'{name}_between')}({Day.of(window[0]).sql}, {Day.of(window[1]).sql})")
        return sorted(tuple(r) for r in w.query(f"SELECT {columns} FROM {source}"))

    if window is None:
        orders = w.query(f"SELECT trade_date, total_orders FROM {w.qualified('orders_per_day')}")
    else:
        orders = w.query(f"SELECT trade_date, total_orders FROM {w.qualified('orders_per_day_between')}"
                         f"({Day.of(window[0]).sql}, {Day.of(window[1]).sql})")
    return (sorted((d.isoformat(), n) for d, n in orders if n),
            rows("buys_by_age_group", "ticker, age_group, buy_count"),
            rows("top_ticker_by_age_sex", "age_group, sex, ticker, buy_count"))


def per_day_tables(w):
    return {name: sorted(tuple(r) for r in w.query(f"SELECT * FROM {w.qualified(name)}"))
            for name in ("daily_buys", "orders_per_day", "top_ticker_by_age_sex", "buys_by_age_group")}


def test_a_changed_day_updates_every_answer_without_touching_other_days(tmp_path):
    """Replacing one day's trades and refreshing that day only gives what a full recompute gives; the other
    days' facts are not rewritten."""
    customers, trades = year.customers(), year.trades()
    incremental = DuckDBWarehouse(str(tmp_path / "incremental.duckdb"))
    year.load(incremental, customers, trades)
    analytics.refresh(incremental, year.YEAR)
    before = per_day_tables(incremental)

    day = Days.of(["2024-07-15"])
    changed = year.trades(day, per_day=200, seed=99, first_id=10_000_000)
    year.load(incremental, customers, changed, day)
    analytics.refresh(incremental, day)

    full = DuckDBWarehouse(str(tmp_path / "full.duckdb"))
    rest = trades.filter([d != dt.date(2024, 7, 15) for d in trades["trade_date"].to_pylist()])
    year.load(full, customers, rest)
    year.load(full, customers, changed, day)
    analytics.refresh(full, year.YEAR)

    assert per_day_tables(incremental) == per_day_tables(full)
    for window in (None, LAST_7_DAYS, ("2024-07-01", "2024-07-31")):
        assert answers_in(incremental, window) == answers_in(full, window)
    assert answers_in(incremental, ("2024-07-15", "2024-07-15")) == answers(
        year.as_tuples(customers, changed), ("2024-07-15", "2024-07-15"))
    after = per_day_tables(incremental)
    other_days = lambda rows: [r for r in rows if r[0] != dt.date(2024, 7, 15)]  # noqa: E731
    assert other_days(after["daily_buys"]) == other_days(before["daily_buys"])
    assert after["daily_buys"] != before["daily_buys"]


def test_an_age_change_does_not_rewrite_published_days(tmp_path):
    """A customer's age group is theirs when the day is published: days already published keep theirs."""
    w = DuckDBWarehouse(str(tmp_path / "warehouse.duckdb"))
    customers, trades = year.customers(), year.trades(Days.of(["2024-03-01", "2024-03-02"]), per_day=300)
    year.load(w, customers, trades, Days.of(["2024-03-01", "2024-03-02"]))
    analytics.refresh(w, Days.of(["2024-03-01"]))
    first_day = w.query(f"SELECT * FROM {w.qualified('daily_buys')} ORDER BY ALL")

    ages = [None if a is None else a + 10 for a in customers["age"].to_pylist()]
    older = customers.set_column(3, "age", pa.array(ages, pa.int64()))
    w.replace(CUSTOMER, WHOLE, rows=older)
    analytics.refresh(w, Days.of(["2024-03-02"]))

    assert w.query(f"SELECT * FROM {w.qualified('daily_buys')} WHERE trade_date = DATE '2024-03-01' ORDER BY ALL"
                   ) == first_day
    second = [t for t in year.as_tuples(older, trades) if t[0] == "2024-03-02"]
    assert answers_in(w, ("2024-03-02", "2024-03-02"))[1:] == answers(second)[1:]


@pytest.mark.slow
def test_a_year_answers_the_same_in_duckdb_and_bigquery(tmp_path, bigquery_emulator, bq_dataset):  # noqa: F811
    from stockmart_assets.defs.mart.resources import BigQueryMart

    customers, trades = year.customers(), year.trades()
    duck = DuckDBWarehouse(str(tmp_path / "warehouse.duckdb"))
    bigquery = BigQueryMart(project=bigquery_emulator.project, api_endpoint=bigquery_emulator.endpoint,
                            schema_name=bq_dataset).get()
    expected = year.as_tuples(customers, trades)
    for w in (duck, bigquery):
        year.load(w, customers, trades)
        analytics.refresh(w, year.YEAR)

    assert per_day_tables(duck) == per_day_tables(bigquery)
    assert len(per_day_tables(duck)["orders_per_day"]) == 366, "a row for every day, orders or not"
    for window in (None, LAST_7_DAYS, FEBRUARY):
        assert answers_in(duck, window) == answers_in(bigquery, window) == answers(expected, window), window
    # The tie-break is exercised: some group's winner ties on count with a later ticker.
    bought = Counter((g, sex, t) for d, sex, g, t, kind in expected if FEBRUARY[0] <= d <= FEBRUARY[1] and kind == "매수")
    assert any(n == bought[(g, sex, other)] for g, sex, t, n in answers_in(duck, FEBRUARY)[2]
               for other in year.TICKERS if other > t)
