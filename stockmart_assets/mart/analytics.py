"""The business's questions, as SQL written once (DuckDB dialect) and run inside the warehouse.

BigQuery gets the same text transpiled by sqlglot, so there are never two hand-kept copies. Every query
computes one day (``trade_date = DATE '{day}'``) so refreshing a day touches only that day's partitions.
The seed's queries, done right: the top ticker has a deterministic tie-break, and buys by age group cover
every ticker instead of a hard-coded AAPL.
"""

import datetime as dt
from functools import cache

# Age groups as the seed's reports had them; unknown or implausible ages are '미확인'.
AGE_GROUP = """CASE
    WHEN c.age BETWEEN 10 AND 19 THEN '10대' WHEN c.age BETWEEN 20 AND 29 THEN '20대'
    WHEN c.age BETWEEN 30 AND 39 THEN '30대' WHEN c.age BETWEEN 40 AND 49 THEN '40대'
    WHEN c.age BETWEEN 50 AND 59 THEN '50대' WHEN c.age BETWEEN 60 AND 69 THEN '60대'
    WHEN c.age >= 70 THEN '70대 이상' ELSE '미확인' END"""

AGE_GROUPS = ("10대", "20대", "30대", "40대", "50대", "60대", "70대 이상", "미확인")
BUY = "매수"

QUERIES = {
    # One row per day, also on a day without orders.
    "orders_per_day": """
        SELECT DATE '{day}' AS trade_date, COUNT(t.order_id) AS total_orders
        FROM {schema}.trade AS t WHERE t.trade_date = DATE '{day}'""",
    "top_ticker_by_age_sex": f"""
        WITH counts AS (
            SELECT t.trade_date, {AGE_GROUP} AS age_group, c.sex, t.ticker, COUNT(*) AS buy_count
            FROM {{schema}}.trade AS t LEFT JOIN {{schema}}.customer AS c ON c.customer_id = t.customer_id
            WHERE t.trade_date = DATE '{{day}}' AND t.trade_type = '{BUY}'
            GROUP BY t.trade_date, {AGE_GROUP}, c.sex, t.ticker),
        ranked AS (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY trade_date, age_group, sex
                                         ORDER BY buy_count DESC, ticker ASC) AS rn
            FROM counts)
        SELECT trade_date, age_group, sex, ticker, buy_count FROM ranked WHERE rn = 1""",
    "buys_by_age_group": f"""
        SELECT t.trade_date, t.ticker, {AGE_GROUP} AS age_group, COUNT(*) AS buy_count
        FROM {{schema}}.trade AS t LEFT JOIN {{schema}}.customer AS c ON c.customer_id = t.customer_id
        WHERE t.trade_date = DATE '{{day}}' AND t.trade_type = '{BUY}'
        GROUP BY t.trade_date, t.ticker, {AGE_GROUP}""",
}


@cache
def _transpiled(name: str, dialect: str) -> str:
    if dialect == "duckdb":
        return QUERIES[name]
    import sqlglot  # only when BigQuery asks: importing it costs a third of a second

    # Placeholders are not SQL: protect them through the transpiler.
    text = QUERIES[name].replace("{schema}", "__schema__").replace("{day}", "1970-01-01")
    out = sqlglot.transpile(text, read="duckdb", write=dialect, pretty=True)[0]
    return out.replace("__schema__", "{schema}").replace("1970-01-01", "{day}")


def query(name: str, dialect: str, schema: str, day: str) -> str:
    """The SQL of analytics table ``name`` for one day, in ``dialect`` ('duckdb' or 'bigquery')."""
    dt.date.fromisoformat(day)  # a partition key is a date, nothing else reaches the SQL text
    return template(name, dialect, schema).replace("{day}", day)


def template(name: str, dialect: str, schema: str) -> str:
    """The SQL of analytics table ``name`` with the day left as ``{day}``: what every partition runs."""
    if not schema.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ValueError(f"not a dataset/schema name: {schema!r}")
    return _transpiled(name, dialect).replace("{schema}", schema)
