"""The landing contract: what the trading service exports, declared once.

Every other module (the validating reader, the generator, the MySQL DDL, the quality suites) reads these
structures instead of repeating a header, a type or a file pattern. The service writes Korean headers; the
English names here are also what the columns are called in MySQL and the mart.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One column of a landing file.

    ``name`` is the canonical (English) name used downstream; ``header`` is what the service writes in the
    file (Korean for its own tables, yfinance's names for price bars). Either is accepted in a file's header.
    ``type`` is a DuckDB type: values that do not convert fail with the file, line and column.
    """

    name: str
    header: str
    type: str
    required: bool = True
    max_length: int | None = None
    choices: tuple[str, ...] | None = None  # documented values; enforced by the quality layer, not here

    @property
    def accepted_headers(self) -> tuple[str, ...]:
        return (self.header,) if self.header == self.name else (self.header, self.name)


@dataclass(frozen=True)
class LandingTable:
    """One kind of landing file and the rules that make a row of it valid."""

    name: str
    globs: tuple[str, ...]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # Column whose calendar date decides the daily partition (None: the table is not partitioned).
    partition_column: str | None = None
    # strftime format of timestamp columns, when not ISO 8601.
    timestamp_format: str | None = None
    # A leading unnamed column (pandas' index in yfinance exports) that is read and dropped.
    index_column: bool = False
    parents: tuple[tuple[str, str, str], ...] = field(default=())  # (column, parent table, parent column)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


BUDGET = LandingTable(
    name="budget",
    globs=("budget.csv",),
    columns=(
        Column("budget_id", "계좌id", "BIGINT"),
        Column("budget", "예산", "DECIMAL(18,2)", required=False),
    ),
    key=("budget_id",),
)

CUSTOMER = LandingTable(
    name="customer",
    globs=("customer.csv",),
    columns=(
        Column("customer_id", "id", "BIGINT"),
        Column("name", "이름", "VARCHAR", required=False, max_length=100),
        Column("sex", "성별", "VARCHAR", required=False, max_length=8, choices=("남", "여")),
        Column("age", "나이", "INTEGER", required=False),
        Column("budget_id", "계좌id", "BIGINT", required=False),
    ),
    key=("customer_id",),
    parents=(("budget_id", "budget", "budget_id"),),
)

STOCKS = LandingTable(
    name="stocks",
    globs=("stocks.csv",),
    columns=(
        Column("stock_id", "stock_id", "BIGINT"),
        Column("company", "company", "VARCHAR", required=False, max_length=100),
        Column("ticker", "ticker", "VARCHAR", max_length=16),
    ),
    key=("stock_id",),
)

TRADE = LandingTable(
    name="trade",
    globs=("trade.csv", "trade_*.csv", "trade-*.csv", "trade/*.csv"),
    columns=(
        Column("order_id", "주문id", "BIGINT"),
        Column("customer_id", "고객id", "BIGINT", required=False),
        Column("stock_id", "주식", "BIGINT", required=False),
        Column("trade_type", "거래종류", "VARCHAR", required=False, max_length=8, choices=("매수", "매도")),
        Column("quantity", "주문량", "BIGINT", required=False),
        Column("order_datetime", "주문일시", "TIMESTAMP"),
    ),
    key=("order_id",),
    partition_column="order_datetime",
    timestamp_format="%Y-%m-%d %H:%M",
    parents=(("customer_id", "customer", "customer_id"), ("stock_id", "stocks", "stock_id")),
)

STOCK_PRICE = LandingTable(
    name="stock_price",
    globs=("stock/*_data.csv",),
    columns=(
        Column("ts", "Datetime", "TIMESTAMPTZ"),
        Column("close", "Close", "DOUBLE", required=False),
        Column("high", "High", "DOUBLE", required=False),
        Column("low", "Low", "DOUBLE", required=False),
        Column("open", "Open", "DOUBLE", required=False),
        Column("volume", "Volume", "BIGINT", required=False),
        Column("company", "Company", "VARCHAR", required=False, max_length=100),
        Column("ticker", "ticker", "VARCHAR", max_length=16),
    ),
    key=("ticker", "ts"),
    partition_column="ts",
    index_column=True,
)

TABLES: dict[str, LandingTable] = {t.name: t for t in (BUDGET, CUSTOMER, STOCKS, TRADE, STOCK_PRICE)}
# Dimensions are whole exports, loaded (and merged by key) before the facts, whose foreign keys point at them.
DIMENSION_TABLES = tuple(name for name, t in TABLES.items() if t.partition_column is None)
FACT_TABLES = tuple(name for name, t in TABLES.items() if t.partition_column is not None)

# The trading service runs on Seoul time: a trade's order_datetime is local, its partition is that local date.
SERVICE_TIMEZONE = "Asia/Seoul"
