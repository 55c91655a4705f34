"""mart/upbit_candles: Upbit's candles in the warehouse, a day at a time, only when the day's rules hold."""

import dagster as dg

from stockmart_assets.defs.mart.resources import MART_POOL
from stockmart_assets.defs.market.checks import UPBIT_CANDLES_KEY
from stockmart_assets.lib.day import Day
from stockmart_assets.lib.warehouse.tables import UPBIT_CANDLES
from stockmart_assets.metadata import record_rows_by_day
from stockmart_assets.partitions import daily_partitions

MART_UPBIT_CANDLES_KEY = dg.AssetKey(["mart", UPBIT_CANDLES.name])


@dg.asset(
    key=MART_UPBIT_CANDLES_KEY, ins={"candles": dg.AssetIn(key=UPBIT_CANDLES_KEY)},
    partitions_def=daily_partitions, io_manager_key="mart_io_manager", group_name="mart",
    kinds={"duckdb", "bigquery"}, pool=MART_POOL,
    metadata={"dagster/column_schema": UPBIT_CANDLES.column_schema},
)
def mart_upbit_candles(context: dg.AssetExecutionContext, candles):  # LakeDays -> pyarrow.Table
    """Upbit's 1-minute candles by UTC trade date (`trade_date`), clustered by market; `timestamp` is the
    epoch millisecond of the candle's last trade. A day whose candles break a rule of the `ohlc_consistent`
    check is not published, however this asset is run."""
    import duckdb

    from stockmart_assets.lib.market.checks import CANDLE_SUITE, violations

    candles = candles.dataset().to_table()  # a day of one-minute candles: small
    failed = [r for r in violations(CANDLE_SUITE, candles, Day.of(context.partition_key)) if r["failing_rows"]]
    if failed:
        raise dg.Failure(description=f"{UPBIT_CANDLES_KEY.to_user_string()} [{context.partition_key}] breaks "
                                     + "; ".join(f"{r['rule']} ({r['failing_rows']} rows)" for r in failed)
                                     + ": not published", allow_retries=False,
                         metadata={"failing_rows": dg.MetadataValue.json({r["rule"]: r["sample"] for r in failed})})
    con = duckdb.connect()
    con.register("candles", candles)
    rows = con.sql(
        "SELECT CAST(candle_date_time_utc AS DATE) AS trade_date, market, candle_date_time_utc, "
        "candle_date_time_kst, opening_price, high_price, low_price, trade_price, \"timestamp\", "
        "candle_acc_trade_price, candle_acc_trade_volume, CAST(unit AS BIGINT) AS unit FROM candles "
        "ORDER BY trade_date, market, candle_date_time_utc").to_arrow_table().select(UPBIT_CANDLES.column_names)
    record_rows_by_day(context, rows, "trade_date")
    return rows
