"""mart/*: the warehouse tables the business reads (DuckDB locally, BigQuery in production).

Dimensions are copied from MySQL; facts are one day each, partitioned by ``trade_date`` and clustered by
ticker. A day is written only when the blocking quality check of its MySQL partition passed on that
partition's latest load (``gate.require_passed_checks``), whether the check ran in this run or not.
"""

import datetime as dt

import dagster as dg

from stockmart_assets.defs.mart.gate import require_passed_checks
from stockmart_assets.defs.mart.resources import MART_POOL
from stockmart_assets.lib.landing.contract import DIMENSION_TABLES
from stockmart_assets.lib.warehouse.tables import MART_TABLES
from stockmart_assets.metadata import record_rows_by_day, rows_metadata, run_days
from stockmart_assets.partitions import daily_partitions

VERIFICATION_RESULTS = dg.AssetKey(["quality", "verification_results"])  # what the gate reads
# The day's tables are expected within a day and an hour of the day's end.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=26),
                                                 warn_window=dt.timedelta(hours=25))
MART_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL)  # a busy warehouse, not bad data
MART = dict(io_manager_key="mart_io_manager", kinds={"duckdb", "bigquery"}, pool=MART_POOL, retry_policy=MART_RETRY,
            required_resource_keys={"warehouse"})
DAILY = dict(partitions_def=daily_partitions, backfill_policy=dg.BackfillPolicy.single_run(),
             freshness_policy=DAILY_FRESHNESS)


def _dimension(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["mart", name], ins={"rows": dg.AssetIn(key=["mysql", name])}, deps=[VERIFICATION_RESULTS],
        group_name="mart", metadata={"dagster/column_schema": MART_TABLES[name].column_schema},
        description=f"Dimension `{name}`, copied from MySQL after its quality checks passed.", **MART,
    )
    def _asset(context: dg.AssetExecutionContext, rows):
        require_passed_checks(context, name)
        rows = rows.select(MART_TABLES[name].column_names)
        context.add_output_metadata(rows_metadata(rows))
        return rows

    return _asset


@dg.asset(
    key=["mart", "trade"], ins={"trades": dg.AssetIn(key=["mysql", "trade"]), "stocks": dg.AssetIn(key=["mysql", "stocks"])},
    deps=[VERIFICATION_RESULTS], group_name="mart",
    metadata={"dagster/column_schema": MART_TABLES["trade"].column_schema},
    description="One row per order, by trade date (the order's Seoul date), with its ticker; "
                "partitioned by day, clustered by ticker.", **MART, **DAILY,
)
def mart_trade(context: dg.AssetExecutionContext, trades, stocks):
    require_passed_checks(context, "trade", list(run_days(context)))
    require_passed_checks(context, "stocks")
    import duckdb

    con = duckdb.connect()
    con.register("trades", trades)
    con.register("stocks", stocks)
    rows = con.sql(
        "SELECT CAST(t.order_datetime AS DATE) AS trade_date, t.order_id, t.customer_id, t.stock_id, s.ticker, "
        "t.trade_type, t.quantity, t.order_datetime FROM trades t LEFT JOIN stocks s USING (stock_id) "
        "ORDER BY trade_date, s.ticker, t.order_id").to_arrow_table()
    record_rows_by_day(context, rows, "trade_date")
    return rows


@dg.asset(
    key=["mart", "stock_price"], ins={"bars": dg.AssetIn(key=["mysql", "stock_price"])}, deps=[VERIFICATION_RESULTS],
    group_name="mart", metadata={"dagster/column_schema": MART_TABLES["stock_price"].column_schema},
    description="One-minute bars by trading day (UTC date); partitioned by day, clustered by ticker.",
    **MART, **DAILY,
)
def mart_stock_price(context: dg.AssetExecutionContext, bars):
    require_passed_checks(context, "stock_price", list(run_days(context)))
    import duckdb

    con = duckdb.connect()
    con.register("bars", bars)
    rows = con.sql("SELECT CAST(ts AS DATE) AS trade_date, ticker, ts, open, high, low, close, volume, company "
                   "FROM bars ORDER BY trade_date, ticker, ts").to_arrow_table()
    record_rows_by_day(context, rows, "trade_date")
    return rows


mart_assets = [*(_dimension(n) for n in DIMENSION_TABLES), mart_trade, mart_stock_price]
