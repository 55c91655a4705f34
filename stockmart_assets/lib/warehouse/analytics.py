"""The business's questions, as SQL written once (DuckDB dialect) and run inside the warehouse.

BigQuery gets the same text transpiled by sqlglot, so there are never two hand-kept copies.

Answers compose from one additive daily fact, ``daily_buys`` (buy orders per day, ticker, age group and sex),
and ``orders_per_day``: a day's facts are computed from that day's trades only, so loading or replacing a day
touches that day's rows, and any window's answer is a sum over its days' facts, computed when it is asked.
Each answer is written once with ``{window}`` where its days are chosen, and is served three ways:

- per day, as a partitioned table (``top_ticker_by_age_sex``, ``buys_by_age_group``): each day's own numbers;
- all time, as a view (``<answer>_all_time``): what a user opens first;
- over any window, as a table function (``<answer>_between(first_day, last_day)``, both days included): a
  DuckDB table macro, a BigQuery table function.

The top ticker breaks ties by count, then the alphabetically first ticker; buys by age group cover every
ticker bought.

Age group (and sex) are the customer's as the mart's ``customer`` table has them when a day is published:
``daily_buys`` keeps them with the day, so a later change of a customer's age does not rewrite days already
published; re-running a day takes the customer as they are then.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from stockmart_assets.lib.day import Days
from stockmart_assets.lib.warehouse.protocol import Warehouse
from stockmart_assets.lib.warehouse.tables import MART_TABLES

DAILY_BUYS_TABLE = MART_TABLES["daily_buys"]

# Age groups: ten-year bands (label, lowest age, highest age; None: no upper end). Any other age (unknown,
# or under 10) is UNKNOWN_AGE.
AGE_BANDS = (("10대", 10, 19), ("20대", 20, 29), ("30대", 30, 39), ("40대", 40, 49), ("50대", 50, 59),
             ("60대", 60, 69), ("70대 이상", 70, None))
UNKNOWN_AGE = "미확인"
AGE_GROUPS = (*(label for label, _, _ in AGE_BANDS), UNKNOWN_AGE)
AGE_GROUP = "CASE " + " ".join(
    f"WHEN c.age BETWEEN {low} AND {high} THEN '{label}'" if high is not None else f"WHEN c.age >= {low} THEN '{label}'"
    for label, low, high in AGE_BANDS) + f" ELSE '{UNKNOWN_AGE}' END"
BUY = "매수"

# The run's days of the daily facts, from the mart's trade and customer tables. Orders per day are counted here
# and zero-filled by the caller, which knows the days.
DAILY_BUYS = f"""
    SELECT t.trade_date, t.ticker, {AGE_GROUP} AS age_group, c.sex, COUNT(*) AS buy_count
    FROM {{schema}}.trade AS t LEFT JOIN {{schema}}.customer AS c ON c.customer_id = t.customer_id
    WHERE {{window}} AND t.trade_type = '{BUY}'
    GROUP BY t.trade_date, t.ticker, {AGE_GROUP}, c.sex"""
ORDER_COUNTS = """
    SELECT t.trade_date, COUNT(*) AS total_orders FROM {schema}.trade AS t WHERE {window} GROUP BY t.trade_date"""


@dataclass(frozen=True)
class Answer:
    """A business question over a window of days; ``{by}`` is ``trade_date, `` when answered per day."""

    name: str
    sql: str
    description: str

    @property
    def all_time(self) -> str:
        return f"{self.name}_all_time"

    @property
    def between(self) -> str:
        return f"{self.name}_between"


TOP_TICKER = Answer("top_ticker_by_age_sex", """
    WITH counts AS (
        SELECT {by}b.age_group, b.sex, b.ticker, SUM(b.buy_count) AS buy_count
        FROM {schema}.daily_buys AS b WHERE {window}
        GROUP BY {by}b.age_group, b.sex, b.ticker),
    ranked AS (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY {by}age_group, sex ORDER BY buy_count DESC, ticker ASC) AS rn
        FROM counts)
    SELECT {by}age_group, sex, ticker, buy_count FROM ranked WHERE rn = 1""",
    "The most-bought ticker (매수 orders) per age group and sex; ties go to the alphabetically first ticker.")
BUYS_BY_AGE_GROUP = Answer("buys_by_age_group", """
    SELECT {by}b.ticker, b.age_group, SUM(b.buy_count) AS buy_count
    FROM {schema}.daily_buys AS b WHERE {window}
    GROUP BY {by}b.ticker, b.age_group""",
    "매수 orders per ticker and age group, for every ticker bought.")
ORDERS = Answer("orders_per_day", """
    SELECT o.trade_date, o.total_orders FROM {schema}.orders_per_day AS o WHERE {window}""",
    "Orders per day (0 on a loaded day without orders).")
ANSWERS = {a.name: a for a in (TOP_TICKER, BUYS_BY_AGE_GROUP, ORDERS)}

ALL_TIME = "TRUE"
BETWEEN_PARAMETERS = ("first_day", "last_day")
_BETWEEN = "trade_date BETWEEN first_day AND last_day"


def days_window(days: Days, alias: str) -> str:
    return f"{alias}.trade_date BETWEEN {days.first.sql} AND {days.last.sql}"


def render(sql: str, dialect: str, schema: str, window: str, by: str = "") -> str:
    """``sql`` with its schema, window and grouping filled in, in ``dialect`` ('duckdb' or 'bigquery')."""
    if not schema.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"not a dataset/schema name: {schema!r}")
    return _transpiled(sql.format(schema=schema, window=window, by=by), dialect)


def replace_daily_buys(w: Warehouse, days: Days) -> int:
    """Recompute ``days`` of ``daily_buys`` from the mart's trades and customers, in one statement."""
    return w.replace(DAILY_BUYS_TABLE, days, select_sql=render(DAILY_BUYS, w.dialect, w.schema, days_window(days, "t")))


def replace_orders_per_day(w: Warehouse, days: Days) -> int:
    """Recompute ``days`` of ``orders_per_day`` (a row for every day, 0 without orders); define its window
    function."""
    import pyarrow as pa

    sql = render(ORDER_COUNTS, w.dialect, w.schema, days_window(days, "t"))
    counts = dict(w.query(sql))
    rows = pa.table({"trade_date": [d.date for d in days], "total_orders": [counts.get(d.date, 0) for d in days]},
                    schema=MART_TABLES[ORDERS.name].arrow_schema)
    total = w.replace(MART_TABLES[ORDERS.name], days, rows=rows)
    w.define_window_function(ORDERS.between, render(ORDERS.sql, w.dialect, w.schema, _BETWEEN))
    return total


def replace_answer(w: Warehouse, answer: Answer, days: Days) -> int:
    """Recompute ``days`` of ``answer``'s daily table from ``daily_buys``, in one statement; define its all-time
    view and its window function."""
    sql = render(answer.sql, w.dialect, w.schema, days_window(days, "b"), by="trade_date, ")
    total = w.replace(MART_TABLES[answer.name], days, select_sql=sql)
    w.define_view(answer.all_time, render(answer.sql, w.dialect, w.schema, ALL_TIME))
    w.define_window_function(answer.between, render(answer.sql, w.dialect, w.schema, _BETWEEN))
    return total


def refresh(w: Warehouse, days: Days) -> None:
    """Every analytics table for ``days``, in the order the assets run: the facts, then the answers."""
    replace_daily_buys(w, days)
    replace_orders_per_day(w, days)
    for answer in (TOP_TICKER, BUYS_BY_AGE_GROUP):
        replace_answer(w, answer, days)


@lru_cache(maxsize=256)
def _transpiled(sql: str, dialect: str) -> str:
    if dialect == "duckdb":
        return sql
    import sqlglot  # only when BigQuery asks: importing it costs a third of a second

    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0]
