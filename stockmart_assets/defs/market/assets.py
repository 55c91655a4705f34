"""market/*: 1-minute price bars from Yahoo (yfinance) and 1-minute candles from Upbit, one UTC day per partition.

Each day's answer is kept as parquet in the lake (``<lake>/yfinance/stock_price/date=D/data.parquet``,
``<lake>/upbit/candles/date=D/data.parquet``), so a day can be rebuilt without asking the source again, which
for Yahoo matters: it serves 1-minute bars for the last 30 days only. The bars are also written to the landing
folder as per-day files in the service's export format, where ``raw/stock_price`` reads them (an edge of the
graph); the candles are published to the mart as ``mart/upbit_candles`` (``mart.py``).

A source that does not deliver (``MarketDataUnavailable``: Yahoo's empty answer on a trading day, Upbit's
throttling) fails the step, and the step is retried later by ``MARKET_RETRY_POLICY`` on top of the clients'
own quick retries. An answer that is final (an unknown market) fails without retry.
"""

import datetime as dt
from typing import TYPE_CHECKING

import dagster as dg

from stockmart_assets.defs.market.checks import (
    UPBIT_CANDLES_KEY, UPBIT_LAKE_PATH, YFINANCE_BARS_KEY, YFINANCE_LAKE_PATH)
from stockmart_assets.defs.market.resources import MarketResource
from stockmart_assets.defs.raw.resources import LandingResource
from stockmart_assets.lib.day import Day
from stockmart_assets.lib.lake import lake_file, write_atomic
from stockmart_assets.partitions import daily_partitions

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# Retries of a whole step, after the clients' own quick attempts: 30 s, 90 s, then 210 s later (Dagster's
# exponential backoff is delay * (2**n - 1)).
MARKET_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL)


def _column_schema(schema: "pa.Schema") -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in schema])


def _bar_table(bars: "pd.DataFrame") -> "pa.Table":
    """The bars as Arrow, typed from the landing contract (an empty day keeps its column types), no pandas
    metadata: the same bars always give the same parquet bytes."""
    import pyarrow as pa

    from stockmart_assets.lib.market.yfinance_bars import BAR_DTYPES

    arrow = {"datetime64[ns, UTC]": pa.timestamp("ns", tz="UTC"), "float64": pa.float64(), "int64": pa.int64(),
             "object": pa.string()}
    schema = pa.schema([(name, arrow[dtype]) for name, dtype in BAR_DTYPES.items()])
    return pa.Table.from_pandas(bars, schema=schema, preserve_index=False).replace_schema_metadata(None)


@dg.asset(
    key=YFINANCE_BARS_KEY, partitions_def=daily_partitions, group_name="market", kinds={"parquet", "csv"},
    io_manager_key="lake_io_manager", required_resource_keys={"market", "landing", "lake_io_manager"},
    metadata={"lake_path": YFINANCE_LAKE_PATH}, retry_policy=MARKET_RETRY_POLICY,
)
def yfinance_bars(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Yahoo's regular-session 1-minute bars of the configured tickers for one UTC day, as Yahoo sent them.

    Kept in the lake at `yfinance/stock_price/date=D/data.parquet` (Yahoo keeps 1-minute bars for 30 days
    only), and written to the landing folder as `stock/<TICKER>_<D>_data.csv`, in the service's export
    format: this is what feeds `raw/stock_price`. On a day the NYSE is closed the partition is empty and
    Yahoo is not asked. An empty answer on a trading day fails the run (Yahoo throttled or was unreachable)
    and the step is retried later.
    """
    from stockmart_assets.lib.market.landing import write_day_landing
    from stockmart_assets.lib.market.sessions import EXCHANGE, trading_session
    from stockmart_assets.lib.market.yfinance_bars import TICKER, fetch_bars

    market: MarketResource = context.resources.market
    landing: LandingResource = context.resources.landing
    day = Day.of(context.partition_key)
    hours = trading_session(day.date)
    # MarketDataUnavailable (an empty answer on a trading day) propagates as is: the RetryPolicy retries it.
    bars = fetch_bars(market.tickers, day.date, session=market.yfinance_session(), sleep=market.sleep,
                      now=market.now())
    table = _bar_table(bars)
    path = lake_file(context.resources.lake_io_manager.base_dir, YFINANCE_LAKE_PATH, day)
    write_atomic(table, path)
    written = write_day_landing(bars, landing.path, day)
    status = (f"market closed: {EXCHANGE} has no session on {day}" if hours is None
              else f"open {hours[0]:%H:%M}-{hours[1]:%H:%M} UTC")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": _column_schema(table.schema),
        "market_status": status,
        "rows_per_ticker": dg.MetadataValue.json({str(k): int(v) for k, v in bars[TICKER].value_counts().items()}),
        "lake_file": dg.MetadataValue.path(str(path)),
        "landing_files": dg.MetadataValue.json([str(p) for p in written]),
    })


@dg.asset(
    key=UPBIT_CANDLES_KEY, partitions_def=daily_partitions, group_name="market", kinds={"parquet"},
    io_manager_key="lake_io_manager", required_resource_keys={"market", "lake_io_manager"},
    metadata={"lake_path": UPBIT_LAKE_PATH}, retry_policy=MARKET_RETRY_POLICY,
)
def upbit_candles(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Upbit's 1-minute candles of the configured markets for one UTC day (a candle exists only for a minute
    with trades), with Upbit's values unchanged; `timestamp` is epoch milliseconds, int64.

    Kept in the lake at `upbit/candles/date=D/data.parquet` and published to `mart/upbit_candles`. A day is
    fetched only once it is over in UTC. Throttling or an unreachable Upbit fails the run, retried later.
    """
    import pyarrow as pa

    from stockmart_assets.lib.market.errors import MarketDataError, MarketDataUnavailable
    from stockmart_assets.lib.market.upbit import CANDLE_SCHEMA, fetch_candles

    market: MarketResource = context.resources.market
    day = Day.of(context.partition_key)
    day_end = day.end.replace(tzinfo=dt.timezone.utc)
    if market.now() < day_end:
        raise dg.Failure(description=f"{day} (UTC) is not over until {day_end:%Y-%m-%d %H:%M} UTC: its candles "
                                     "would be incomplete", allow_retries=False)
    tables = []
    for code in market.upbit_markets:
        try:
            tables.append(fetch_candles(code, day.date, session=market.upbit_session(), sleep=market.sleep))
        except MarketDataUnavailable:
            raise
        except MarketDataError as exc:  # Upbit's answer is final (an unknown market): retrying cannot help
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
    table = pa.concat_tables(tables) if tables else CANDLE_SCHEMA.empty_table()
    table = table.sort_by([("market", "ascending"), ("candle_date_time_utc", "ascending")])
    path = lake_file(context.resources.lake_io_manager.base_dir, UPBIT_LAKE_PATH, day)
    write_atomic(table, path)
    per_market = {code: 0 for code in market.upbit_markets}
    for code in table.column("market").to_pylist():
        per_market[code] = per_market.get(code, 0) + 1
    return dg.MaterializeResult(metadata={
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": _column_schema(table.schema),
        "rows_per_market": dg.MetadataValue.json(per_market),
        "lake_file": dg.MetadataValue.path(str(path)),
    })


market_assets = [yfinance_bars, upbit_candles]
