"""The mart's tables, declared once: columns in BigQuery's types, the day column, the clustering.

DuckDB's DDL is derived from the same declaration, so both warehouses hold the same tables. Facts and the
daily analytics are partitioned by ``trade_date`` (DAY) and clustered by ticker where they have one.
"""

from dataclasses import dataclass

_DUCKDB_TYPES = {"INT64": "BIGINT", "STRING": "VARCHAR", "DATE": "DATE", "DATETIME": "TIMESTAMP",
                 "TIMESTAMP": "TIMESTAMPTZ", "FLOAT64": "DOUBLE", "NUMERIC": "DECIMAL(38, 9)", "BOOL": "BOOLEAN"}


@dataclass(frozen=True)
class MartTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (column, BigQuery type)
    partition_column: str | None = None  # a DATE column: BigQuery PARTITION BY it (DAY)
    cluster_by: tuple[str, ...] = ()
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    @property
    def column_schema(self):
        """The table's columns as Dagster shows them on the asset page."""
        import dagster as dg

        return dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in self.columns])

    def duckdb_ddl(self, qualified: str) -> str:
        cols = ", ".join(f'"{c}" {_DUCKDB_TYPES[t]}' for c, t in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {qualified} ({cols})"

    def bigquery_ddl(self, qualified: str) -> str:
        cols = ", ".join(f"`{c}` {t}" for c, t in self.columns)
        ddl = f"CREATE TABLE IF NOT EXISTS `{qualified}` ({cols})"
        if self.partition_column:
            ddl += f" PARTITION BY `{self.partition_column}`"
        if self.cluster_by:
            ddl += " CLUSTER BY " + ", ".join(f"`{c}`" for c in self.cluster_by)
        return ddl


def _t(name, columns, partition=None, cluster=(), description=""):
    return MartTable(name, tuple(columns), partition, tuple(cluster), description)


BUDGET = _t("budget", [("budget_id", "INT64"), ("budget", "NUMERIC")])
CUSTOMER = _t("customer", [("customer_id", "INT64"), ("name", "STRING"), ("sex", "STRING"), ("age", "INT64"),
                           ("budget_id", "INT64")])
STOCKS = _t("stocks", [("stock_id", "INT64"), ("company", "STRING"), ("ticker", "STRING")])
TRADE = _t("trade", [("trade_date", "DATE"), ("order_id", "INT64"), ("customer_id", "INT64"), ("stock_id", "INT64"),
                     ("ticker", "STRING"), ("trade_type", "STRING"), ("quantity", "INT64"),
                     ("order_datetime", "DATETIME")], partition="trade_date", cluster=["ticker"])
STOCK_PRICE = _t("stock_price", [("trade_date", "DATE"), ("ticker", "STRING"), ("ts", "DATETIME"),
                                 ("open", "FLOAT64"), ("high", "FLOAT64"), ("low", "FLOAT64"), ("close", "FLOAT64"),
                                 ("volume", "INT64"), ("company", "STRING")],
                 partition="trade_date", cluster=["ticker"])
ORDERS_PER_DAY = _t("orders_per_day", [("trade_date", "DATE"), ("total_orders", "INT64")], partition="trade_date")
TOP_TICKER_BY_AGE_SEX = _t(
    "top_ticker_by_age_sex",
    [("trade_date", "DATE"), ("age_group", "STRING"), ("sex", "STRING"), ("ticker", "STRING"),
     ("buy_count", "INT64")], partition="trade_date", cluster=["ticker"])
BUYS_BY_AGE_GROUP = _t(
    "buys_by_age_group",
    [("trade_date", "DATE"), ("ticker", "STRING"), ("age_group", "STRING"), ("buy_count", "INT64")],
    partition="trade_date", cluster=["ticker"])

# The quality layer's outcomes, queryable next to the data they judge: one row per constraint per table per
# partition (Deequ's check-result columns), and one row per column per table per partition of profiles.
# partition_date is NULL for the unpartitioned dimension tables.
VERIFICATION_RESULTS = _t(
    "verification_results",
    [("table_name", "STRING"), ("partition_date", "DATE"), ("run_time", "DATETIME"), ("run_id", "STRING"),
     ("suite", "STRING"), ("check", "STRING"), ("check_level", "STRING"), ("check_status", "STRING"), ("constraint", "STRING"),
     ("constraint_status", "STRING"), ("constraint_message", "STRING")], cluster=["table_name"])
COLUMN_PROFILES = _t(
    "column_profiles",
    [("table_name", "STRING"), ("partition_date", "DATE"), ("run_time", "DATETIME"), ("column_name", "STRING"),
     ("completeness", "FLOAT64"), ("approx_distinct", "INT64"), ("data_type", "STRING"), ("spark_type", "STRING"),
     ("mean", "FLOAT64"), ("stddev", "FLOAT64"), ("min", "FLOAT64"), ("max", "FLOAT64")], cluster=["table_name"])

# Upbit's 1-minute candles as the API sends them, by the candle's UTC date. `timestamp` (epoch milliseconds of
# the candle's last trade) needs 64 bits.
UPBIT_CANDLES = _t(
    "upbit_candles",
    [("trade_date", "DATE"), ("market", "STRING"), ("candle_date_time_utc", "DATETIME"),
     ("candle_date_time_kst", "DATETIME"), ("opening_price", "FLOAT64"), ("high_price", "FLOAT64"),
     ("low_price", "FLOAT64"), ("trade_price", "FLOAT64"), ("timestamp", "INT64"),
     ("candle_acc_trade_price", "FLOAT64"), ("candle_acc_trade_volume", "FLOAT64"), ("unit", "INT64")],
    partition="trade_date", cluster=["market"])

MART_TABLES: dict[str, MartTable] = {t.name: t for t in (
    BUDGET, CUSTOMER, STOCKS, TRADE, STOCK_PRICE, ORDERS_PER_DAY, TOP_TICKER_BY_AGE_SEX, BUYS_BY_AGE_GROUP,
    VERIFICATION_RESULTS, COLUMN_PROFILES, UPBIT_CANDLES)}
