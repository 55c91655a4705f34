"""mart/* analytics: the business's questions, answered by SQL run inside the warehouse, one day at a time."""

import dagster as dg

from stockmart_assets.defs.mart.assets import DAILY, MART_RETRY
from stockmart_assets.defs.mart.resources import MART_POOL
from stockmart_assets.lib.day import Days
from stockmart_assets.lib.warehouse import analytics
from stockmart_assets.lib.warehouse.tables import MART_TABLES
from stockmart_assets.metadata import record_rows_by_day, rows_metadata, run_days


def _per_day(name: str):
    """What each day's materialization shows; orders_per_day adds its number, charted across days."""
    if name != "orders_per_day":
        return rows_metadata
    return lambda rows: {**rows_metadata(rows), "total_orders": sum(rows["total_orders"].to_pylist())}


def _analytics(name: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["mart", name], deps=[dg.AssetKey(["mart", "trade"]), dg.AssetKey(["mart", "customer"])],
        group_name="analytics", kinds={"sql"}, pool=MART_POOL, retry_policy=MART_RETRY,
        required_resource_keys={"warehouse"}, description=description,
        metadata={"dagster/column_schema": MART_TABLES[name].column_schema}, **DAILY,
    )
    def _asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        warehouse, table = context.resources.warehouse.get(), MART_TABLES[name]
        days = run_days(context)
        for day in days:
            sql = analytics.query(name, warehouse.dialect, warehouse.schema, day)
            warehouse.replace(table, Days(day, day), select_sql=sql)
        record_rows_by_day(context, warehouse.read(table, days), "trade_date", _per_day(name))
        sql = analytics.template(name, warehouse.dialect, warehouse.schema)
        return dg.MaterializeResult(metadata={"sql": dg.MetadataValue.md(f"```sql\n{sql}\n```")})

    return _asset


mart_analytics = [
    _analytics("orders_per_day", "Orders per day: trade_date, total_orders (0 on a day without orders)."),
    _analytics("top_ticker_by_age_sex",
               "The most-bought ticker (매수 orders) per age group and sex, per day; ties go to the "
               "alphabetically first ticker."),
    _analytics("buys_by_age_group", "매수 orders per age group for every ticker, per day."),
]
