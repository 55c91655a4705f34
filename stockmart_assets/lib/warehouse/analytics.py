"""The business's questions, as SQL written once (DuckDB dialect) and run inside the warehouse.

BigQuery gets the same text transpiled by sqlglot, so there are never two hand-kept copies. Every query
computes one day (``trade_date = DATE '{day}'``) so refreshing a day touches only that day's partitions. The
top ticker has a deterministic tie-break (count, then the alphabetically first ticker), and buys by age group
cover every ticker.
"""

from functools import cache

from stockmart_assets.lib.day import Day

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


def query(name: str, dialect: str, schema: str, day: Day) -> str:
    """The SQL of analytics table ``name`` for one day, in ``dialect`` ('duckdb' or 'bigquery')."""
    return template(name, dialect, schema).replace("{day}", day.key)


def template(name: str, dialect: str, schema: str) -> str:
    """The SQL of analytics table ``name`` with the day left as ``{day}``: what every partition runs."""
    if not schema.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ValueError(f"not a dataset/schema name: {schema!r}")
    return _transpiled(name, dialect).replace("{schema}", schema)
