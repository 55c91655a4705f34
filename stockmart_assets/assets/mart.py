"""mart/*: the warehouse tables the business reads (DuckDB locally, BigQuery in production).

Dimensions are copied from MySQL; facts are one day each, partitioned by ``trade_date`` and clustered by
ticker. A fact partition is written only when every blocking quality check of its MySQL partition passed on
that partition's latest load (see ``gate.require_passed_checks``), whether the checks ran in this run or not.
The analytics are SQL run inside the warehouse for one day at a time.
"""

import datetime as dt

import dagster as dg

from stockmart_assets.gate import require_passed_checks
from stockmart_assets.mart import analytics
from stockmart_assets.mart.tables import MART_TABLES
from stockmart_assets.metadata import add_partition_metadata, day_slices, rows_metadata
from stockmart_assets.partitions import daily_partitions

MART_POOL = "mart_warehouse"  # DuckDB has one writer at a time: mart steps queue on this pool
# The day's tables are expected within a day and an hour of the day's end (the daily schedule runs at 01:00).
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=26), warn_window=dt.timedelta(hours=25))
MART_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL)  # a busy warehouse, not bad data


def _dimension(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["mart", name], ins={"rows": dg.AssetIn(key=["mysql", name])}, io_manager_key="mart_io_manager",
        group_name="mart", kinds={"duckdb", "bigquery"}, pool=MART_POOL, retry_policy=MART_RETRY, required_resource_keys={"warehouse"},
        metadata={"dagster/column_schema": MART_TABLES[name].column_schema},
        description=f"Dimension `{name}`, copied from MySQL after its quality checks passed.",
    )
    def _asset(context: dg.AssetExecutionContext, rows):
        require_passed_checks(context, name, [None])
        rows = rows.select(MART_TABLES[name].column_names)
        context.add_output_metadata(rows_metadata(rows))
        return rows

    return _asset


mart_dimensions = [_dimension(n) for n in ("budget", "customer", "stocks")]


@dg.asset(
    key=["mart", "trade"],
    ins={"trades": dg.AssetIn(key=["mysql", "trade"]), "stocks": dg.AssetIn(key=["mysql", "stocks"])},
    partitions_def=daily_partitions, backfill_policy=dg.BackfillPolicy.single_run(), freshness_policy=DAILY_FRESHNESS, io_manager_key="mart_io_manager", group_name="mart",
    kinds={"duckdb", "bigquery"}, pool=MART_POOL, retry_policy=MART_RETRY, required_resource_keys={"warehouse"},
    metadata={"partition_expr": "trade_date", "dagster/column_schema": MART_TABLES["trade"].column_schema},
    description="One row per order, by trade date (the order's Seoul date), with its ticker; "
                "partitioned by day, clustered by ticker.",
)
def mart_trade(context: dg.AssetExecutionContext, trades, stocks):
    require_passed_checks(context, "trade", list(context.partition_keys))
    require_passed_checks(context, "stocks", [None])
    import duckdb

    con = duckdb.connect()
    con.register("trades", trades)
    con.register("stocks", stocks)
    return _with_day_metadata(context, con.sql(
        "SELECT CAST(t.order_datetime AS DATE) AS trade_date, t.order_id, t.customer_id, t.stock_id, s.ticker, "
        "t.trade_type, t.quantity, t.order_datetime FROM trades t LEFT JOIN stocks s USING (stock_id) "
        "ORDER BY trade_date, s.ticker, t.order_id").to_arrow_table())


def _with_day_metadata(context: dg.AssetExecutionContext, rows):
    """``rows``, after recording each day's row count and preview on that day's materialization."""
    add_partition_metadata(context, {day: rows_metadata(day_rows) for day, day_rows in
                                     day_slices(rows, "trade_date", context.partition_keys).items()})
    return rows


@dg.asset(
    key=["mart", "stock_price"], ins={"bars": dg.AssetIn(key=["mysql", "stock_price"])},
    partitions_def=daily_partitions, backfill_policy=dg.BackfillPolicy.single_run(), freshness_policy=DAILY_FRESHNESS, io_manager_key="mart_io_manager", group_name="mart",
    kinds={"duckdb", "bigquery"}, pool=MART_POOL, retry_policy=MART_RETRY, required_resource_keys={"warehouse"},
    metadata={"partition_expr": "trade_date", "dagster/column_schema": MART_TABLES["stock_price"].column_schema},
    description="One-minute bars by trading day (UTC date); partitioned by day, clustered by ticker.",
)
def mart_stock_price(context: dg.AssetExecutionContext, bars):
    require_passed_checks(context, "stock_price", list(context.partition_keys))
    import duckdb

    con = duckdb.connect()
    con.register("bars", bars)
    return _with_day_metadata(context, con.sql(
        "SELECT CAST(ts AS DATE) AS trade_date, ticker, ts, open, high, low, close, volume, company "
        "FROM bars ORDER BY trade_date, ticker, ts").to_arrow_table())


def _analytics(name: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["mart", name], deps=[dg.AssetKey(["mart", "trade"]), dg.AssetKey(["mart", "customer"])],
        partitions_def=daily_partitions, backfill_policy=dg.BackfillPolicy.single_run(), freshness_policy=DAILY_FRESHNESS, group_name="analytics", kinds={"sql"}, pool=MART_POOL, retry_policy=MART_RETRY,
        required_resource_keys={"warehouse"}, description=description,
        metadata={"dagster/column_schema": MART_TABLES[name].column_schema},
    )
    def _asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        warehouse = context.resources.warehouse
        table = MART_TABLES[name]
        for day in context.partition_keys:
            warehouse.replace_day(table, day, analytics.query(name, warehouse.dialect, warehouse.schema_name, day))
        # Each day's numbers on its own materialization, from one read of the range just written.
        written = warehouse.read_days(table, context.partition_keys)
        per_day = {}
        for day, rows in day_slices(written, "trade_date", context.partition_keys).items():
            per_day[day] = rows_metadata(rows)
            if name == "orders_per_day":  # numeric: the asset page charts it across partitions
                per_day[day]["total_orders"] = sum(rows["total_orders"].to_pylist())
        add_partition_metadata(context, per_day)
        sql = analytics.template(name, warehouse.dialect, warehouse.schema_name)
        return dg.MaterializeResult(metadata={"sql": dg.MetadataValue.md(f"```sql\n{sql}\n```")})

    return _asset


mart_analytics = [
    _analytics("orders_per_day", "Orders per day: trade_date, total_orders (0 on a day without orders)."),
    _analytics("top_ticker_by_age_sex",
               "The most-bought ticker (매수 orders) per age group and sex, per day; ties go to the "
               "alphabetically first ticker."),
    _analytics("buys_by_age_group", "매수 orders per age group for every ticker, per day."),
]

mart_assets = [*mart_dimensions, mart_trade, mart_stock_price, *mart_analytics]
