"""market/*: 1-minute price bars from Yahoo (yfinance) and 1-minute candles from Upbit, one UTC day per partition.

Each day's answer is kept as parquet in the lake (``<lake>/yfinance/stock_price/date=D/data.parquet``,
``<lake>/upbit/candles/date=D/data.parquet``), so a day can be rebuilt without asking the source again, which
for Yahoo matters: it serves 1-minute bars for the last 30 days only. The bars are also written to the landing
folder as per-day files in the service's export format, where ``raw/stock_price`` reads them; the candles are
published to the mart as ``mart/upbit_candles``.

The lake files are written here, not by ``LakeIOManager``: it finds a partition's rows through the landing
contract table named by the asset key's last part (``yfinance_bars`` and ``upbit_candles`` are none). They follow
its layout and atomic write, so it reads them back for downstream assets (``mart/upbit_candles`` does).

A source that does not deliver (``MarketDataUnavailable``: Yahoo's empty answer on a trading day, Upbit's
throttling) fails the step, and the step is retried later by ``MARKET_RETRY_POLICY`` on top of the clients'
own quick retries. An answer that is final (an unknown market) fails without retry.
"""

import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from stockmart_assets.assets.mart import MART_POOL
from stockmart_assets.mart.tables import UPBIT_CANDLES
from stockmart_assets.partitions import daily_partitions
from stockmart_assets.resources.landing import LandingResource

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

YFINANCE_BARS_KEY = dg.AssetKey(["market", "yfinance_bars"])
UPBIT_CANDLES_KEY = dg.AssetKey(["market", "upbit_candles"])
MART_UPBIT_CANDLES_KEY = dg.AssetKey(["mart", UPBIT_CANDLES.name])
YFINANCE_LAKE_PATH = "yfinance/stock_price"
UPBIT_LAKE_PATH = "upbit/candles"
BARS_CHECK = "bars_consistent"
CANDLES_CHECK = "ohlc_consistent"

# Retries of a whole step, after the clients' own quick attempts: 30 s, 90 s, then 210 s later (Dagster's
# exponential backoff is delay * (2**n - 1)).
MARKET_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL)
FAILING_ROWS_SAMPLE = 5

# Data-quality rules: (name, SQL predicate that is true for a bad row). Predicates run in DuckDB over the day's
# lake file with helper columns (named with a leading underscore): _partition_day (the partition's date) and,
# for candles, _same_timestamp (how many candles of the market share the row's timestamp). A NULL price in a
# bar is allowed (the landing contract makes prices optional); a candle's prices must be present and positive.
BAR_RULES: tuple[tuple[str, str], ...] = (
    ("high_not_below_low", '"High" < "Low"'),
    ("open_within_low_high", '"Open" < "Low" OR "Open" > "High"'),
    ("close_within_low_high", '"Close" < "Low" OR "Close" > "High"'),
    ("volume_not_negative", '"Volume" < 0'),
    ("datetime_on_partition_day",
     "\"Datetime\" IS NULL OR CAST(timezone('UTC', \"Datetime\") AS DATE) <> _partition_day"),
)
CANDLE_RULES: tuple[tuple[str, str], ...] = (
    ("prices_positive",
     "NOT coalesce(opening_price > 0 AND high_price > 0 AND low_price > 0 AND trade_price > 0, false)"),
    ("high_not_below_low", "high_price < low_price"),
    ("high_covers_open_and_close", "high_price < greatest(opening_price, trade_price)"),
    ("low_covers_open_and_close", "low_price > least(opening_price, trade_price)"),
    ("timestamp_complete", '"timestamp" IS NULL'),
    ("timestamp_unique_per_market", "_same_timestamp > 1"),
    ("candle_on_partition_day",
     "candle_date_time_utc IS NULL OR CAST(candle_date_time_utc AS DATE) <> _partition_day"),
)
_CANDLE_HELPERS = 'count(*) OVER (PARTITION BY market, "timestamp") AS _same_timestamp'


class MarketResource(dg.ConfigurableResource):
    """What to fetch from the market-data sources. The HTTP session, the clock and the pause between retries are
    methods, so a test can subclass the resource to replay recorded responses without waiting."""

    # The seed export's tickers (stockmart_assets.market.yfinance_bars.DEFAULT_TICKERS, which imports pandas:
    # repeated here to keep it out of definition load time; a test pins the two together).
    tickers: list[str] = Field(default=["AAPL", "AMZN", "GOOGL", "META", "MSFT"],
                               description="US tickers whose 1-minute bars Yahoo is asked for.")
    upbit_markets: list[str] = Field(default=["KRW-BTC"], description="Upbit markets whose 1-minute candles are kept.")

    def yfinance_session(self):
        """The session handed to yfinance; None keeps yfinance's own (curl_cffi)."""
        return None

    def upbit_session(self):
        """The requests Session for Upbit; None lets the client open and close its own."""
        return None

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


# --- the lake and the landing folder ---------------------------------------------------------------------------

def lake_file(base_dir: str, lake_path: str, day: str):
    """Where a partition lives in the lake (``LakeIOManager``'s layout, which reads it back)."""
    from stockmart_assets.resources.lake import lake_root

    return lake_root(base_dir) / lake_path / f"date={day}" / "data.parquet"


def _write_lake(table: "pa.Table", path) -> None:
    from stockmart_assets.resources.lake import write_atomic  # the lake's one atomic write

    write_atomic(table, path)


def day_bar_file(ticker: str, day: str) -> str:
    """A day's landing file of a ticker, ``stock/<TICKER>_<YYYY-MM-DD>_data.csv``: the contract's glob matches it."""
    from stockmart_assets.market.yfinance_bars import bar_file

    return bar_file(f"{ticker}_{day}")


def write_day_landing(bars: "pd.DataFrame", landing_dir: str | os.PathLike, day: str) -> list[Path]:
    """One landing file per ticker for ``day``, each in the seed's format and moved into place whole.

    ``write_landing_csv`` names files by ticker only, so it writes into a staging folder beside ``stock/`` (same
    file system, outside every landing glob) and each file is renamed to its per-day name.
    """
    from stockmart_assets.market.yfinance_bars import TICKER, bar_file, write_landing_csv

    landing = Path(landing_dir)
    landing.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=landing, prefix=".market-staging-"))
    try:
        staged = {staging / bar_file(t): t for t in bars[TICKER].unique()}
        written = []
        for path in write_landing_csv(bars, staging):
            target = landing / day_bar_file(staged[path], day)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- rules ---------------------------------------------------------------------------------------------------

def rule_violations(rules: tuple[tuple[str, str], ...], rows: "pa.Table | Path", day: str,
                    helpers: str = "") -> list[dict]:
    """Each rule's bad-row count and a sample of its bad rows, for one day's rows (a table or a parquet file)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'").fetchall()
    if isinstance(rows, Path):
        source = "read_parquet($path)"
        params = {"path": str(rows), "day": dt.date.fromisoformat(day)}
    else:
        con.register("_rows", rows)
        source, params = "_rows", {"day": dt.date.fromisoformat(day)}
    extra = f", {helpers}" if helpers else ""
    con.execute(f"CREATE TEMP TABLE checked AS SELECT *, $day::DATE AS _partition_day{extra} FROM {source}",
                params).fetchall()
    results = []
    for name, predicate in rules:
        bad = con.sql(f"SELECT COLUMNS('^[^_]') FROM checked WHERE {predicate}")  # without the helper columns
        count = con.sql(f"SELECT count(*) FROM checked WHERE {predicate}").fetchall()[0][0]
        sample = bad.limit(FAILING_ROWS_SAMPLE).to_arrow_table().to_pylist() if count else []
        results.append({"rule": name, "predicate": predicate, "failing_rows": count,
                        "sample": [{k: _jsonable(v) for k, v in r.items()} for r in sample]})
    return results


def _jsonable(value):
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)


def _check_result(results: list[dict], rows: int) -> dg.AssetCheckResult:
    failed = [r for r in results if r["failing_rows"]]
    lines = ["| rule | bad rows | bad when |", "|---|---|---|"]
    lines += [f"| {r['rule']} | {r['failing_rows']} | `{r['predicate'].replace('|', '/')}` |" for r in results]
    return dg.AssetCheckResult(
        passed=not failed, severity=dg.AssetCheckSeverity.ERROR,
        description=("; ".join(f"{r['rule']}: {r['failing_rows']} bad row(s)" for r in failed)
                     if failed else f"all {len(results)} rules hold on {rows} row(s)"),
        metadata={"rows_checked": rows, "rules": dg.MetadataValue.md("\n".join(lines)),
                  **({"failing_rows": dg.MetadataValue.json(
                      {r["rule"]: {"count": r["failing_rows"], "sample": r["sample"]} for r in failed})}
                     if failed else {})},
    )


def _build_check(asset_key: dg.AssetKey, name: str, rules: tuple[tuple[str, str], ...], lake_path: str,
                 helpers: str = "") -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key, name=name, blocking=True, partitions_def=daily_partitions,
        required_resource_keys={"lake_io_manager"},
        description=(f"Rules on the day's lake file (`{lake_path}`), each a bad-row condition: "
                     + "; ".join(f"{n}: `{p}`" for n, p in rules)
                     + ". A failure names the bad rows and stops what depends on the asset in the same run."),
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        from stockmart_assets.resources.lake import read_parquet

        day = context.partition_key
        path = lake_file(context.resources.lake_io_manager.base_dir, lake_path, day)
        if not path.exists():
            raise dg.Failure(description=f"no lake file for {day} at {path}: materialize "
                                         f"{asset_key.to_user_string()} [{day}] first", allow_retries=False)
        table = read_parquet(path)  # local or gs://: read through the lake, then checked in DuckDB
        return _check_result(rule_violations(rules, table, day, helpers), table.num_rows)

    return _check


# --- assets --------------------------------------------------------------------------------------------------

def _column_schema(schema: "pa.Schema") -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in schema])


def _bar_table(bars: "pd.DataFrame") -> "pa.Table":
    """The bars as Arrow, typed from the landing contract (an empty day keeps its column types), no pandas
    metadata: the same bars always give the same parquet bytes."""
    import pyarrow as pa

    from stockmart_assets.market.yfinance_bars import BAR_DTYPES

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
    from stockmart_assets.market.sessions import EXCHANGE, trading_session
    from stockmart_assets.market.yfinance_bars import TICKER, fetch_bars

    market: MarketResource = context.resources.market
    landing: LandingResource = context.resources.landing
    day = context.partition_key
    hours = trading_session(dt.date.fromisoformat(day))
    # MarketDataUnavailable (an empty answer on a trading day) propagates as is: the RetryPolicy retries it.
    bars = fetch_bars(market.tickers, dt.date.fromisoformat(day), session=market.yfinance_session(),
                      sleep=market.sleep, now=market.now())
    table = _bar_table(bars)
    path = lake_file(context.resources.lake_io_manager.base_dir, YFINANCE_LAKE_PATH, day)
    _write_lake(table, path)
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

    from stockmart_assets.market.errors import MarketDataError, MarketDataUnavailable
    from stockmart_assets.market.upbit import CANDLE_SCHEMA, fetch_candles

    market: MarketResource = context.resources.market
    day = context.partition_key
    date = dt.date.fromisoformat(day)
    day_end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    if market.now() < day_end:
        raise dg.Failure(description=f"{day} (UTC) is not over until {day_end:%Y-%m-%d %H:%M} UTC: its candles "
                                     "would be incomplete", allow_retries=False)
    tables = []
    for code in market.upbit_markets:
        try:
            tables.append(fetch_candles(code, date, session=market.upbit_session(), sleep=market.sleep))
        except MarketDataUnavailable:
            raise
        except MarketDataError as exc:  # Upbit's answer is final (an unknown market): retrying cannot help
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
    table = pa.concat_tables(tables) if tables else CANDLE_SCHEMA.empty_table()
    table = table.sort_by([("market", "ascending"), ("candle_date_time_utc", "ascending")])
    path = lake_file(context.resources.lake_io_manager.base_dir, UPBIT_LAKE_PATH, day)
    _write_lake(table, path)
    per_market = {code: 0 for code in market.upbit_markets}
    for code in table.column("market").to_pylist():
        per_market[code] = per_market.get(code, 0) + 1
    return dg.MaterializeResult(metadata={
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": _column_schema(table.schema),
        "rows_per_market": dg.MetadataValue.json(per_market),
        "lake_file": dg.MetadataValue.path(str(path)),
    })


@dg.asset(
    key=MART_UPBIT_CANDLES_KEY, ins={"candles": dg.AssetIn(key=UPBIT_CANDLES_KEY)},
    partitions_def=daily_partitions, io_manager_key="mart_io_manager", group_name="mart",
    kinds={"duckdb", "bigquery"}, pool=MART_POOL, metadata={"partition_expr": UPBIT_CANDLES.partition_column},
)
def mart_upbit_candles(context: dg.AssetExecutionContext, candles):  # -> pyarrow.Table
    """Upbit's 1-minute candles by UTC trade date (`trade_date`), clustered by market; `timestamp` is the
    epoch millisecond of the candle's last trade. A day whose candles break a rule of the `ohlc_consistent`
    check is not published, however this asset is run."""
    import duckdb

    failed = [r for r in rule_violations(CANDLE_RULES, candles, context.partition_key, _CANDLE_HELPERS)
              if r["failing_rows"]]
    if failed:
        raise dg.Failure(description=f"{UPBIT_CANDLES_KEY.to_user_string()} [{context.partition_key}] breaks "
                                     + "; ".join(f"{r['rule']} ({r['failing_rows']} rows)" for r in failed)
                                     + ": not published", allow_retries=False,
                         metadata={"failing_rows": dg.MetadataValue.json({r["rule"]: r["sample"] for r in failed})})
    con = duckdb.connect()
    con.register("candles", candles)
    return con.sql(
        "SELECT CAST(candle_date_time_utc AS DATE) AS trade_date, market, candle_date_time_utc, "
        "candle_date_time_kst, opening_price, high_price, low_price, trade_price, \"timestamp\", "
        "candle_acc_trade_price, candle_acc_trade_volume, CAST(unit AS BIGINT) AS unit FROM candles "
        "ORDER BY trade_date, market, candle_date_time_utc").to_arrow_table().select(UPBIT_CANDLES.column_names)


market_assets = [yfinance_bars, upbit_candles, mart_upbit_candles]
market_checks = [
    _build_check(YFINANCE_BARS_KEY, BARS_CHECK, BAR_RULES, YFINANCE_LAKE_PATH),
    _build_check(UPBIT_CANDLES_KEY, CANDLES_CHECK, CANDLE_RULES, UPBIT_LAKE_PATH, _CANDLE_HELPERS),
]
