"""Seed rows to build test frames from, and the frame builder.

The rows are copied from shared/seed (the trading service's sample export). Numbers are typed loosely
(DOUBLE ids, DECIMAL budget), as a CSV-inferred or JDBC frame may be, so the "integral" rules can fail.
Timestamps are written as text and parsed by Spark, so they mean the same wall-clock/UTC time whatever the
machine's time zone.
"""

from __future__ import annotations

from decimal import Decimal

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.deequ.rules import Rule
from stockmart_assets.lib.deequ.suites import CUSTOMER_SEX, CUSTOMER_SUITE, Suite

# (column, Spark type) per table, in contract order.
SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "budget": [("budget_id", "double"), ("budget", "decimal(18,2)")],
    "customer": [("customer_id", "double"), ("name", "string"), ("sex", "string"), ("age", "double"),
                 ("budget_id", "double")],
    "stocks": [("stock_id", "bigint"), ("company", "string"), ("ticker", "string")],
    "trade": [("order_id", "double"), ("customer_id", "double"), ("stock_id", "double"), ("trade_type", "string"),
              ("quantity", "double"), ("order_datetime", "timestamp")],
    "stock_price": [("ts", "timestamp"), ("close", "double"), ("high", "double"), ("low", "double"),
                    ("open", "double"), ("volume", "double"), ("company", "string"), ("ticker", "string")],
}

SEED_ROWS: dict[str, list[tuple]] = {
    "budget": [
        (100001, 4500000), (100013, 7000000), (100024, 12000000), (100035, 9000000), (100046, 23000000),
    ],
    "customer": [
        (1, "김민수", "남", 32, 100001), (2, "이영희", "여", 27, 100013), (3, "박성준", "남", 41, 100024),
        (4, "최수정", "여", 36, 100035), (5, "오세훈", "남", 28, 100046),
    ],
    "stocks": [
        (1, "apple", "AAPL"), (2, "amazon", "AMZN"), (3, "google", "GOOGL"), (4, "meta", "META"),
        (5, "microsoft", "MSFT"),
    ],
    # The 2024-12-26 partition of trade.csv (order_datetime is Seoul wall-clock time, as stored).
    "trade": [
        (101, 1, 2, "매수", 30, "2024-12-26 09:15:00"), (102, 3, 4, "매도", 10, "2024-12-26 09:47:00"),
        (103, 5, 1, "매수", 50, "2024-12-26 10:05:00"), (104, 14, 5, "매도", 15, "2024-12-26 14:22:00"),
        (105, 2, 3, "매수", 70, "2024-12-26 16:30:00"),
    ],
    # 2024-12-26 UTC minute bars from stock/AAPL_data.csv and stock/AMZN_data.csv.
    "stock_price": [
        ("2024-12-26 14:30:00", 258.9790954589844, 259.19000244140625, 258.1000061035156, 258.9790954589844,
         1052265, "Apple", "AAPL"),
        ("2024-12-26 14:31:00", 259.3900146484375, 259.6499938964844, 258.8450012207031, 258.889892578125,
         299504, "Apple", "AAPL"),
        ("2024-12-26 14:32:00", 259.7449951171875, 259.8500061035156, 259.3500061035156, 259.4200134277344,
         285118, "Apple", "AAPL"),
        ("2024-12-26 14:30:00", 228.08999633789062, 228.39990234375, 227.57000732421875, 228.08999633789062,
         683212, "Amazon", "AMZN"),
        ("2024-12-26 14:31:00", 227.8249969482422, 228.10000610351562, 227.57200622558594, 228.0500030517578,
         76441, "Amazon", "AMZN"),
    ],
}

SEED_PARTITION = Day.of("2024-12-26")


def typed(table: str, row: tuple) -> tuple:
    """A literal row with Python values of the frame's types (timestamps stay text until Spark parses them)."""
    convert = {"double": float, "decimal(18,2)": lambda v: Decimal(str(v))}
    return tuple(
        None if value is None else convert.get(kind, lambda v: v)(value)
        for value, (_, kind) in zip(row, SCHEMAS[table])
    )


def make_frame(spark, table: str, rows: list[tuple]):
    from pyspark.sql import functions as F

    schema = SCHEMAS[table]
    ddl = ", ".join(f"`{name}` {'string' if kind == 'timestamp' else kind}" for name, kind in schema)
    df = spark.createDataFrame([typed(table, row) for row in rows], ddl)
    return df.select(*[
        F.to_timestamp(name).alias(name) if kind == "timestamp" else F.col(name) for name, kind in schema
    ])


def parents_of(spark, table: str, rows: list[tuple]) -> dict:
    """Parent frames holding exactly the foreign keys ``rows`` use: a key outside ``rows`` is an orphan."""
    from stockmart_assets.lib.landing.contract import TABLES

    columns = [name for name, _ in SCHEMAS[table]]
    frames = {}
    for column, parent, parent_column in TABLES[table].parents:
        i = columns.index(column)
        kind = dict(SCHEMAS[parent])[parent_column]
        keys = sorted({row[i] for row in rows if row[i] is not None})
        frames[parent] = spark.createDataFrame([(float(key) if kind == "double" else key,) for key in keys],
                                               f"`{parent_column}` {kind}")
    return frames


# The customer rule the service's first quality script used: it expects 남자/여자 where the service writes 남/여, so
# on real data it fails with "Value: 0.0 does not meet the constraint requirement!". Tests show that it does.
SEED_CUSTOMER_SEX = Rule("sex", "in", values=("남자", "여자"))
SEED_CUSTOMER_SUITE = Suite(
    CUSTOMER_SUITE.table,
    tuple(SEED_CUSTOMER_SEX if rule == CUSTOMER_SEX else rule for rule in CUSTOMER_SUITE.rules),
    name="customer (seed rules)",
)
