"""mart/*: the warehouse tables the business reads (DuckDB locally, BigQuery in production).

Dimensions are copied from MySQL; facts are one day each, partitioned by ``trade_date`` and clustered by
ticker. Rows stream from MySQL through DuckDB into the warehouse in record batches, so a day of any size is
written in bounded memory; each asset writes its table itself and records what the warehouse then holds.
A day is written only when the blocking quality check of its MySQL partition passed on that
partition's latest load (``gate.require_passed_checks``), whether the check ran in this run or not.
"""

import datetime as dt
from typing import TYPE_CHECKING

import dagster as dg

from stockmart_assets.defs.mart.gate import require_passed_checks
from stockmart_assets.defs.mart.resources import MART_POOL
from stockmart_assets.lib.day import WHOLE
from stockmart_assets.lib.landing.contract import DIMENSION_TABLES
from stockmart_assets.lib.scratch import scratch
from stockmart_assets.lib.warehouse.tables import MART_TABLES
from stockmart_assets.metadata import PREVIEW_ROWS, add_day_metadata, preview, rows_metadata, run_days
from stockmart_assets.partitions import daily_partitions

if TYPE_CHECKING:
    import pyarrow as pa

VERIFICATION_RESULTS = dg.AssetKey(["quality", "verification_results"])  # what the gate reads
# The day's tables are expected within a day and an hour of the day's end.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=26),
                                                 warn_window=dt.timedelta(hours=25))
MART_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL)  # a busy warehouse, not bad data
MART = dict(kinds={"duckdb", "bigquery"}, pool=MART_POOL, retry_policy=MART_RETRY, required_resource_keys={"warehouse"})
DAILY = dict(partitions_def=daily_partitions, backfill_policy=dg.BackfillPolicy.single_run(),
             freshness_policy=DAILY_FRESHNESS)


def publish(context: dg.AssetExecutionContext, name: str, rows: "pa.RecordBatchReader") -> dg.MaterializeResult:
    """Replace the run's days (or the whole table) of mart table ``name`` with ``rows``, streamed, in one
    transaction, and record what the warehouse then holds."""
    table = MART_TABLES[name]
    days = run_days(context) if table.partition_column else WHOLE
    return report(context, name, context.resources.warehouse.get().replace(table, days, rows=rows))


def report(context: dg.AssetExecutionContext, name: str, total: int, sums: dict[str, str] | None = None
           ) -> dg.MaterializeResult:
    """What mart table ``name`` holds after the run wrote ``total`` rows: an unpartitioned table's count and first
    rows; for a partitioned one, each day's count, first rows and ``sums`` (metadata name: column summed), on
    that day's materialization."""
    from stockmart_assets.lib.warehouse.reports import day_sums, day_summaries

    warehouse, table = context.resources.warehouse.get(), MART_TABLES[name]
    metadata = {"dagster/table_name": f"{warehouse.schema}.{table.name}", "warehouse": warehouse.dialect}
    if not table.partition_column:
        return dg.MaterializeResult(metadata={**metadata, **rows_metadata(warehouse.read(table, WHOLE, PREVIEW_ROWS)),
                                              "dagster/row_count": total})
    days = run_days(context)
    per_day = {day: {"dagster/row_count": count, "preview": preview(first)}
               for day, (count, first) in day_summaries(warehouse, table, days, PREVIEW_ROWS).items()}
    for label, column in (sums or {}).items():
        for day, value in day_sums(warehouse, table, days, column).items():
            per_day[day][label] = value
    add_day_metadata(context, per_day)
    return dg.MaterializeResult(metadata=metadata)


def _dimension(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["mart", name], ins={"rows": dg.AssetIn(key=["mysql", name])}, deps=[VERIFICATION_RESULTS],
        group_name="mart", metadata={"dagster/column_schema": MART_TABLES[name].column_schema},
        description=f"Dimension `{name}`, copied from MySQL after its quality checks passed.", **MART,
    )
    def _asset(context: dg.AssetExecutionContext, rows) -> dg.MaterializeResult:  # rows: record batches
        with context.resources.warehouse.get().session():  # the gate, the write and the report
            require_passed_checks(context, name)
            return publish(context, name, rows)

    return _asset


@dg.asset(
    key=["mart", "trade"], ins={"trades": dg.AssetIn(key=["mysql", "trade"]), "stocks": dg.AssetIn(key=["mysql", "stocks"])},
    deps=[VERIFICATION_RESULTS], group_name="mart",
    metadata={"dagster/column_schema": MART_TABLES["trade"].column_schema},
    description="One row per order, by trade date (the order's Seoul date), with its ticker; "
                "partitioned by day, clustered by ticker.", **MART, **DAILY,
)
def mart_trade(context: dg.AssetExecutionContext, trades, stocks) -> dg.MaterializeResult:
    from stockmart_assets.lib.mysql.read import BATCH_ROWS

    with context.resources.warehouse.get().session(), scratch() as con:
        require_passed_checks(context, "trade", list(run_days(context)))
        require_passed_checks(context, "stocks")
        # the day's trades stream from MySQL through DuckDB into the warehouse
        con.register("trades", trades)
        con.register("stocks", stocks.read_all())  # a dimension: small
        rows = con.sql(
            "SELECT CAST(t.order_datetime AS DATE) AS trade_date, t.order_id, t.customer_id, t.stock_id, s.ticker, "
            "t.trade_type, t.quantity, t.order_datetime FROM trades t LEFT JOIN stocks s USING (stock_id) "
            "ORDER BY trade_date, s.ticker, t.order_id").to_arrow_reader(BATCH_ROWS)
        return publish(context, "trade", rows)


@dg.asset(
    key=["mart", "stock_price"], ins={"bars": dg.AssetIn(key=["mysql", "stock_price"])}, deps=[VERIFICATION_RESULTS],
    group_name="mart", metadata={"dagster/column_schema": MART_TABLES["stock_price"].column_schema},
    description="One-minute bars by trading day (UTC date); partitioned by day, clustered by ticker.",
    **MART, **DAILY,
)
def mart_stock_price(context: dg.AssetExecutionContext, bars) -> dg.MaterializeResult:
    from stockmart_assets.lib.mysql.read import BATCH_ROWS

    with context.resources.warehouse.get().session(), scratch() as con:
        require_passed_checks(context, "stock_price", list(run_days(context)))
        con.register("bars", bars)
        rows = con.sql("SELECT CAST(ts AS DATE) AS trade_date, ticker, ts, open, high, low, close, volume, company "
                       "FROM bars ORDER BY trade_date, ticker, ts").to_arrow_reader(BATCH_ROWS)
        return publish(context, "stock_price", rows)


mart_assets = [*(_dimension(n) for n in DIMENSION_TABLES), mart_trade, mart_stock_price]
