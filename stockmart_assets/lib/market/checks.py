"""The market data's rules, in the MySQL suites' vocabulary (``lib.deequ.rules.Rule``), checked in DuckDB.

A day of bars or candles is a small lake file: DuckDB checks it where it is, without a Spark session. Each
rule's failing-row predicate is the one Deequ's suites use (Spark SQL), read by DuckDB through sqlglot.
Columns are named as each source sends them (Yahoo's ``High``, Upbit's ``high_price``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.deequ.rules import Rule
from stockmart_assets.lib.deequ.suites import Suite

if TYPE_CHECKING:
    import pyarrow as pa

SAMPLE_SIZE = 5
_CANDLE_PRICES = ("opening_price", "high_price", "low_price", "trade_price")

# Yahoo's 1-minute bars as kept in the lake (the landing file's columns).
BAR_SUITE = Suite("yfinance_bars", (
    Rule("High", "ge", other="Low"),
    Rule("Open", "within", other=("Low", "High")),
    Rule("Close", "within", other=("Low", "High")),
    Rule("Volume", "non_negative"),
    Rule("Datetime", "in_partition_day"),
))

# Upbit's 1-minute candles: every price present and positive, inside the candle's range; one candle per market
# and timestamp; each on its partition's UTC day.
CANDLE_SUITE = Suite("upbit_candles", (
    *(Rule(price, "complete") for price in _CANDLE_PRICES),
    *(Rule(price, "positive") for price in _CANDLE_PRICES),
    Rule("high_price", "ge", other="low_price"),
    Rule("opening_price", "within", other=("low_price", "high_price")),
    Rule("trade_price", "within", other=("low_price", "high_price")),
    Rule("timestamp", "complete"),
    Rule(("market", "timestamp"), "unique"),
    Rule("candle_date_time_utc", "in_partition_day"),
))


@cache
def _duckdb(spark_sql: str) -> str:
    import sqlglot

    return sqlglot.transpile(spark_sql, read="spark", write="duckdb")[0]


def violations(suite: Suite, rows: pa.Table | Path, day: Day) -> list[dict]:
    """Each rule's bad-row count and a sample of its bad rows, for one day's rows (a table or a parquet file)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'").fetchall()
    if isinstance(rows, Path):
        import pyarrow.parquet as pq

        rows = pq.read_table(rows)
    con.register("_rows", _microseconds(rows))
    columns = rows.column_names
    derived = {name: sql for rule in suite.rules for name, sql in rule.derived_columns().items()}
    extra = "".join(f", {_duckdb(sql)} AS \"{name}\"" for name, sql in derived.items())
    con.execute(f"CREATE TEMP TABLE checked AS SELECT *{extra} FROM _rows").fetchall()
    shown = ", ".join(f'"{c}"' for c in columns)  # the source's columns, without the derived ones
    results = []
    for rule in suite.rules:
        predicate = _duckdb(rule.violation(day))
        count = con.sql(f"SELECT count(*) FROM checked WHERE {predicate}").fetchall()[0][0]
        sample = (con.sql(f"SELECT {shown} FROM checked WHERE {predicate} LIMIT {SAMPLE_SIZE}")
                  .to_arrow_table().to_pylist() if count else [])
        results.append({"rule": rule.description, "predicate": predicate, "failing_rows": count,
                        "sample": [{k: _jsonable(v) for k, v in r.items()} for r in sample]})
    return results


def _microseconds(rows: pa.Table) -> pa.Table:
    """Timestamps in microseconds, as the rules' literals are (DuckDB will not compare nanoseconds with them)."""
    import pyarrow as pa

    fields = [pa.field(f.name, pa.timestamp("us", f.type.tz)) if pa.types.is_timestamp(f.type) else f
              for f in rows.schema]
    return rows.cast(pa.schema(fields), safe=False)


def _jsonable(value):
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
