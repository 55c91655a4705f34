"""The mart's tables, declared once: columns in BigQuery's types, the day column, the clustering.

DuckDB's DDL is derived from the same declaration, so both warehouses hold the same tables. Facts and the
daily analytics are partitioned by ``trade_date`` (DAY) and clustered by ticker where they have one.
"""

from dataclasses import dataclass
from typing import NamedTuple

_DUCKDB_TYPES = {"INT64": "BIGINT", "STRING": "VARCHAR", "DATE": "DATE", "DATETIME": "TIMESTAMP",
                 "TIMESTAMP": "TIMESTAMPTZ", "FLOAT64": "DOUBLE", "NUMERIC": "DECIMAL(38, 9)", "BOOL": "BOOLEAN"}


class MartColumn(NamedTuple):
    name: str
    type: str  # BigQuery's
    description: str


@dataclass(frozen=True)
class MartTable:
    name: str
    columns: tuple[MartColumn, ...]
    partition_column: str | None = None  # a DATE column: BigQuery PARTITION BY it (DAY)
    cluster_by: tuple[str, ...] = ()
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def column_schema(self):
        """The table's columns as Dagster shows them on the asset page."""
        import dagster as dg

        return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.description)
                                       for c in self.columns])

    @property
    def arrow_schema(self):
        """The table's columns as Arrow types: what its rows are built in and read back as."""
        import pyarrow as pa

        return pa.schema([(c.name, _arrow_type(c.type)) for c in self.columns])

    @property
    def bigquery_schema(self) -> list:
        from google.cloud import bigquery

        return [bigquery.SchemaField(c.name, c.type, description=c.description) for c in self.columns]

    def duckdb_ddl(self, qualified: str) -> str:
        cols = ", ".join(f'"{c.name}" {_DUCKDB_TYPES[c.type]}' for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {qualified} ({cols})"

    def bigquery_ddl(self, qualified: str) -> str:
        cols = ", ".join(f"`{c.name}` {c.type}" for c in self.columns)
        ddl = f"CREATE TABLE IF NOT EXISTS `{qualified}` ({cols})"
        if self.partition_column:
            ddl += f" PARTITION BY `{self.partition_column}`"
        if self.cluster_by:
            ddl += " CLUSTER BY " + ", ".join(f"`{c}`" for c in self.cluster_by)
        return ddl


def _arrow_type(bigquery_type: str):
    import pyarrow as pa

    return {"INT64": pa.int64(), "STRING": pa.string(), "DATE": pa.date32(), "DATETIME": pa.timestamp("us"),
            "TIMESTAMP": pa.timestamp("us", tz="UTC"), "FLOAT64": pa.float64(), "NUMERIC": pa.decimal128(38, 9),
            "BOOL": pa.bool_()}[bigquery_type]


def _t(name, columns, partition=None, cluster=(), description=""):
    return MartTable(name, tuple(MartColumn(*c) for c in columns), partition, tuple(cluster), description)


TRADE_DATE = ("trade_date", "DATE", "The day the row belongs to: the order's date in Seoul time (trades), the "
              "bar's or candle's UTC date (prices); the table's partition")
AGE_GROUP = ("age_group", "STRING", "The customer's age in ten-year bands (10대 ... 60대, 70대 이상); 미확인 when the "
             "age is unknown or under 10")
BUY_COUNT = ("buy_count", "INT64", "Number of 매수 (buy) orders")

BUDGET = _t("budget", [("budget_id", "INT64", "Account id (계좌id)"),
                       ("budget", "NUMERIC", "The account's budget in won (예산)")])
CUSTOMER = _t("customer", [("customer_id", "INT64", "Customer id (id)"), ("name", "STRING", "Name (이름)"),
                           ("sex", "STRING", "남 or 여 (성별)"), ("age", "INT64", "Age in years (나이)"),
                           ("budget_id", "INT64", "The customer's account (계좌id), a budget_id of mart.budget")])
STOCKS = _t("stocks", [("stock_id", "INT64", "Stock id"), ("company", "STRING", "Company name"),
                       ("ticker", "STRING", "Exchange ticker, e.g. AAPL")])
TRADE = _t("trade", [TRADE_DATE, ("order_id", "INT64", "Order id (주문id)"),
                     ("customer_id", "INT64", "Who ordered (고객id), a customer_id of mart.customer"),
                     ("stock_id", "INT64", "What was ordered (주식), a stock_id of mart.stocks"),
                     ("ticker", "STRING", "The stock's ticker, from mart.stocks"),
                     ("trade_type", "STRING", "매수 (buy) or 매도 (sell) (거래종류)"),
                     ("quantity", "INT64", "Shares ordered (주문량)"),
                     ("order_datetime", "DATETIME", "When the order was placed, Seoul wall-clock time (주문일시)")],
           partition="trade_date", cluster=["ticker"])
STOCK_PRICE = _t("stock_price", [TRADE_DATE, ("ticker", "STRING", "Exchange ticker"),
                                 ("ts", "DATETIME", "Start of the one-minute bar, UTC"),
                                 ("open", "FLOAT64", "First price of the minute"),
                                 ("high", "FLOAT64", "Highest price of the minute"),
                                 ("low", "FLOAT64", "Lowest price of the minute"),
                                 ("close", "FLOAT64", "Last price of the minute"),
                                 ("volume", "INT64", "Shares traded in the minute"),
                                 ("company", "STRING", "Company name")],
                 partition="trade_date", cluster=["ticker"])
SEX = ("sex", "STRING", "남 or 여, as the customer table has it")
DAILY_BUYS = _t(
    "daily_buys", [TRADE_DATE, ("ticker", "STRING", "Exchange ticker"), AGE_GROUP, SEX, BUY_COUNT],
    partition="trade_date", cluster=["ticker"],
    description="매수 orders per day, ticker, age group and sex: the additive fact every window's answer sums")
ORDERS_PER_DAY = _t("orders_per_day", [TRADE_DATE, ("total_orders", "INT64", "Orders placed that day (0 on a "
                                                                              "day without orders)")],
                    partition="trade_date")
TOP_TICKER_BY_AGE_SEX = _t(
    "top_ticker_by_age_sex",
    [TRADE_DATE, AGE_GROUP, SEX,
     ("ticker", "STRING", "The most-bought ticker of the group that day; ties go to the alphabetically first"),
     BUY_COUNT], partition="trade_date", cluster=["ticker"])
BUYS_BY_AGE_GROUP = _t(
    "buys_by_age_group", [TRADE_DATE, ("ticker", "STRING", "Exchange ticker"), AGE_GROUP, BUY_COUNT],
    partition="trade_date", cluster=["ticker"])
# The all-time answers: views over daily_buys (lib.warehouse.analytics), never written directly.
TOP_TICKER_ALL_TIME = _t(
    "top_ticker_by_age_sex_all_time",
    [AGE_GROUP, SEX, ("ticker", "STRING", "The group's most-bought ticker over all days; ties go to the "
                                          "alphabetically first"), BUY_COUNT])
BUYS_BY_AGE_GROUP_ALL_TIME = _t(
    "buys_by_age_group_all_time", [("ticker", "STRING", "Exchange ticker"), AGE_GROUP, BUY_COUNT])

# The quality layer's outcomes, queryable next to the data they judge: one row per constraint per table per
# partition (Deequ's check-result columns), and one row per column per table per partition of profiles.
# partition_date is NULL for the unpartitioned dimension tables.
_TABLE_NAME = ("table_name", "STRING", "The MySQL table verified")
_PARTITION_DATE = ("partition_date", "DATE", "The daily partition verified; NULL for a dimension table")
_RUN_TIME = ("run_time", "DATETIME", "When the verification ran, UTC")
VERIFICATION_RESULTS = _t(
    "verification_results",
    [_TABLE_NAME, _PARTITION_DATE, _RUN_TIME, ("run_id", "STRING", "The Dagster run that verified it"),
     ("suite", "STRING", "deequ_suite (blocking) or deequ_anomalies (warning)"),
     ("check", "STRING", "The rule, in words (one Deequ check per rule)"),
     ("check_level", "STRING", "Error (blocks the mart) or Warning"),
     ("check_status", "STRING", "Success, Warning or Error"),
     ("constraint", "STRING", "Deequ's constraint"),
     ("constraint_status", "STRING", "Success or Failure"),
     ("constraint_message", "STRING", "Deequ's message when the constraint failed")], cluster=["table_name"])
COLUMN_PROFILES = _t(
    "column_profiles",
    [_TABLE_NAME, _PARTITION_DATE, _RUN_TIME, ("column_name", "STRING", "The profiled column"),
     ("completeness", "FLOAT64", "Share of non-NULL values"),
     ("approx_distinct", "INT64", "Approximate number of distinct values"),
     ("data_type", "STRING", "Deequ's inferred type: Integral, Fractional, String, Boolean or Unknown"),
     ("spark_type", "STRING", "The column's Spark type"),
     ("mean", "FLOAT64", "Mean (numeric columns)"), ("stddev", "FLOAT64", "Standard deviation (numeric columns)"),
     ("min", "FLOAT64", "Minimum (numeric columns)"), ("max", "FLOAT64", "Maximum (numeric columns)")],
    cluster=["table_name"])

# Upbit's 1-minute candles as the API sends them, by the candle's UTC date.
UPBIT_CANDLES = _t(
    "upbit_candles",
    [TRADE_DATE, ("market", "STRING", "Upbit market code, e.g. KRW-BTC"),
     ("candle_date_time_utc", "DATETIME", "Start of the one-minute candle, UTC"),
     ("candle_date_time_kst", "DATETIME", "Start of the candle, Korean time"),
     ("opening_price", "FLOAT64", "First trade price of the minute"),
     ("high_price", "FLOAT64", "Highest trade price"), ("low_price", "FLOAT64", "Lowest trade price"),
     ("trade_price", "FLOAT64", "Last trade price of the minute"),
     ("timestamp", "INT64", "Epoch milliseconds of the candle's last trade"),
     ("candle_acc_trade_price", "FLOAT64", "Traded value in the minute"),
     ("candle_acc_trade_volume", "FLOAT64", "Traded volume in the minute"),
     ("unit", "INT64", "Candle length in minutes (1)")],
    partition="trade_date", cluster=["market"])

MART_TABLES: dict[str, MartTable] = {t.name: t for t in (
    BUDGET, CUSTOMER, STOCKS, TRADE, STOCK_PRICE, DAILY_BUYS, ORDERS_PER_DAY, TOP_TICKER_BY_AGE_SEX,
    BUYS_BY_AGE_GROUP, VERIFICATION_RESULTS, COLUMN_PROFILES, UPBIT_CANDLES)}
MART_VIEWS: dict[str, MartTable] = {t.name: t for t in (TOP_TICKER_ALL_TIME, BUYS_BY_AGE_GROUP_ALL_TIME)}
