"""mart/* analytics: the business's questions, answered inside the warehouse from additive daily facts.

``daily_buys`` and ``orders_per_day`` hold each day's facts, replaced with the day; the daily answer tables are
computed from them for the run's days, in one statement whatever the range. The all-time answers are views
and any window's are table functions over the facts (``lib.warehouse.analytics``), so a new or replaced day
changes them without recomputing any other day. The step of each answer's daily table (re)defines its view
and function, and shows the all-time answer on the view's own asset page.
"""

import dagster as dg

from stockmart_assets.defs.mart.assets import DAILY, MART_RETRY, report
from stockmart_assets.defs.mart.resources import MART_POOL
from stockmart_assets.lib.warehouse import analytics
from stockmart_assets.lib.warehouse.analytics import BUYS_BY_AGE_GROUP, ORDERS, TOP_TICKER, Answer
from stockmart_assets.lib.warehouse.tables import MART_TABLES, MART_VIEWS, MartTable
from stockmart_assets.metadata import preview, run_days

TRADE, CUSTOMER = dg.AssetKey(["mart", "trade"]), dg.AssetKey(["mart", "customer"])
DAILY_BUYS = dg.AssetKey(["mart", "daily_buys"])
ANALYTICS = dict(group_name="analytics", kinds={"sql"}, pool=MART_POOL, retry_policy=MART_RETRY,
                 required_resource_keys={"warehouse"}, **DAILY)
ALL_TIME_PREVIEW = 20  # the top ticker of every age group and sex fits
WINDOW_EXAMPLE = "(DATE '2024-12-01', DATE '2024-12-31')"


def _schema(table: MartTable) -> dict:
    return {"dagster/column_schema": table.column_schema}


@dg.asset(key=DAILY_BUYS.path, deps=[TRADE, CUSTOMER], metadata=_schema(analytics.DAILY_BUYS_TABLE),
          description=f"{analytics.DAILY_BUYS_TABLE.description}. Age group and sex are the customer's when the "
                      "day is published: a later change does not rewrite published days.", **ANALYTICS)
def mart_daily_buys(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    warehouse = context.resources.warehouse.get()
    with warehouse.session():
        total = analytics.replace_daily_buys(warehouse, run_days(context))
        return report(context, "daily_buys", total, sums={"total_buys": "buy_count"})


@dg.asset(key=["mart", ORDERS.name], deps=[TRADE], metadata=_schema(MART_TABLES[ORDERS.name]),
          description=f"{ORDERS.description} Over all days: this table. Any window: "
                      f"`SELECT * FROM mart.{ORDERS.between}{WINDOW_EXAMPLE}` (both days included).", **ANALYTICS)
def mart_orders_per_day(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    warehouse = context.resources.warehouse.get()
    with warehouse.session():
        total = analytics.replace_orders_per_day(warehouse, run_days(context))
        return report(context, ORDERS.name, total, sums={"total_orders": "total_orders"})


def _answer(answer: Answer, preview_order: list[str]) -> list:
    view = MART_VIEWS[answer.all_time]
    all_time = dg.AssetSpec(
        ["mart", answer.all_time], deps=[DAILY_BUYS], group_name="analytics", kinds={"sql"},
        metadata=_schema(view),
        description=f"{answer.description} Over all days: a view over mart.daily_buys, defined by "
                    f"mart/{answer.name}'s step. Any window: `SELECT * FROM mart.{answer.between}{WINDOW_EXAMPLE}` "
                    "(both days included).")

    @dg.asset(key=["mart", answer.name], deps=[DAILY_BUYS], metadata=_schema(MART_TABLES[answer.name]),
              description=f"{answer.description} Per day.", **ANALYTICS)
    def _asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        from stockmart_assets.lib.warehouse.reports import head

        warehouse = context.resources.warehouse.get()
        with warehouse.session():
            result = report(context, answer.name, analytics.replace_answer(warehouse, answer, run_days(context)))
            rows, first = head(warehouse, view, preview_order, ALL_TIME_PREVIEW)
        context.log_event(dg.AssetMaterialization(all_time.key, metadata={
            "dagster/row_count": rows, "preview": preview(first, limit=ALL_TIME_PREVIEW),
            "dagster/table_name": f"{warehouse.schema}.{answer.all_time}"}))
        return result

    return [_asset, all_time]


mart_analytics = [
    mart_daily_buys, mart_orders_per_day,
    *_answer(TOP_TICKER, ["age_group", "sex"]),
    *_answer(BUYS_BY_AGE_GROUP, ["buy_count DESC", "ticker", "age_group"]),
]
