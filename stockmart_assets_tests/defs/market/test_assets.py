"""market/* assets materialized for real over replayed HTTP: lake files, landing files, the mart, the checks."""

from __future__ import annotations

import copy
import datetime as dt
import time
from types import SimpleNamespace

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stockmart_assets.defs.market.assets import MARKET_RETRY_POLICY, market_assets
from stockmart_assets.defs.market.mart import MART_UPBIT_CANDLES_KEY, mart_upbit_candles
from stockmart_assets.defs.market.checks import (
    BARS_CHECK, CANDLES_CHECK, UPBIT_CANDLES_KEY, YFINANCE_BARS_KEY, market_checks)
from stockmart_assets.defs.market.resources import MarketResource
from stockmart_assets.lib.day import Day, Days
from stockmart_assets.lib.lake import lake_file
from stockmart_assets.lib.market.checks import BAR_SUITE, CANDLE_SUITE, violations
from stockmart_assets.lib.landing.contract import STOCK_PRICE
from stockmart_assets.lib.landing.reader import read_landing
from stockmart_assets_tests.support import replay
from stockmart_assets.lib.market.upbit import CANDLE_SCHEMA
from stockmart_assets.lib.market.yfinance_bars import DEFAULT_TICKERS, fetch_bars
from stockmart_assets.lib.warehouse.tables import UPBIT_CANDLES
from stockmart_assets.partitions import daily_partitions
from stockmart_assets.defs.mart.io_manager import MartIOManager
from stockmart_assets.defs.mart.resources import DuckDBMart
from stockmart_assets.defs.raw.resources import LakeIOManager, LandingResource
from stockmart_assets_tests.support.market import FIXTURES

DAY = "2024-12-26"
HOLIDAY = "2024-12-25"
OPEN, CLOSE = 1735223400, 1735246800  # 2024-12-26 14:30 and 21:00 UTC: the period Yahoo is asked for
SEED_HEADER = ",Datetime,Close,High,Low,Open,Volume,Company,ticker"
SEED_AAPL_FIRST = ("0,2024-12-26 14:30:00+00:00,258.9790954589844,259.19000244140625,258.1000061035156,"
                   "258.9790954589844,1052265,Apple,AAPL")
SEED_AAPL_LAST = ("388,2024-12-26 20:59:00+00:00,259.1000061035156,259.2149963378906,259.010009765625,"
                  "259.1300048828125,390385,Apple,AAPL")


class ReplayedMarket(MarketResource):
    """The real resource, but every request goes to a requests Session that ``responses`` answers, at once."""

    def yfinance_session(self):
        return replay.replay_session()

    def upbit_session(self):
        return replay.replay_session()

    def sleep(self, seconds: float) -> None:
        pass


@pytest.fixture
def retry_waits(monkeypatch) -> list[float]:
    """The in-process executor waits out a RetryPolicy's delay with ``time.sleep``: here a clock that jumps
    instead, so the real policy runs at once. Yields the waits."""
    from dagster._core.execution.plan import active

    waits: list[float] = []
    ahead = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        ahead[0] += seconds

    monkeypatch.setattr(active, "time", SimpleNamespace(time=lambda: time.time() + ahead[0], sleep=sleep))
    return waits


@pytest.fixture
def folders(tmp_path):
    return {"lake": tmp_path / "lake", "landing": tmp_path / "landing", "warehouse": tmp_path / "warehouse.duckdb"}


def run(folders, *keys, partition=DAY, tickers=("AAPL", "MSFT"), market=None, **kwargs) -> dg.ExecuteInProcessResult:
    """Materialize ``keys`` (with their checks) for one partition, against throwaway folders."""
    resources = {
        "market": market or ReplayedMarket(tickers=list(tickers)),
        "lake_io_manager": LakeIOManager(base_dir=str(folders["lake"])),
        "landing": LandingResource(path=str(folders["landing"])),
        "mart_io_manager": MartIOManager(warehouse=DuckDBMart(database=str(folders["warehouse"]))),
    }
    return dg.materialize([*market_assets, mart_upbit_candles, *market_checks], selection=dg.AssetSelection.assets(*keys),
                          partition_key=partition, resources=resources, **kwargs)


def serve_yahoo_day(http, symbol: str, minute_body=None) -> None:
    replay.add_yahoo_handshake(http)
    replay.add_yahoo_chart(http, symbol, FIXTURES / f"yahoo_chart_{symbol}_1d.json", interval="1d")
    replay.add_yahoo_chart(http, symbol, minute_body or FIXTURES / f"yahoo_chart_{symbol}_{DAY}_1m.json",
                           params={"period1": OPEN, "period2": CLOSE})


def materialization(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> dg.AssetMaterialization:
    (event,) = [m for m in result.asset_materializations_for_node(key.to_python_identifier())]
    return event


def check_evaluation(result: dg.ExecuteInProcessResult, name: str):
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def step_failures(result: dg.ExecuteInProcessResult) -> list[str]:
    return [e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure]


def lake_files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --- the definitions ---------------------------------------------------------------------------------------------

def test_asset_definitions():
    assets = {key: a for a in [*market_assets, mart_upbit_candles] for key in a.keys}
    assert set(assets) == {YFINANCE_BARS_KEY, UPBIT_CANDLES_KEY, MART_UPBIT_CANDLES_KEY}
    for key in (YFINANCE_BARS_KEY, UPBIT_CANDLES_KEY):
        asset = assets[key]
        assert asset.group_names_by_key[key] == "market"
        assert asset.partitions_def == daily_partitions
        assert asset.op.retry_policy == MARKET_RETRY_POLICY
        assert asset.op.retry_policy == dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL)
        assert {"market", "lake_io_manager"} <= asset.required_resource_keys
    assert assets[YFINANCE_BARS_KEY].metadata_by_key[YFINANCE_BARS_KEY]["lake_path"] == "yfinance/stock_price"
    assert assets[UPBIT_CANDLES_KEY].metadata_by_key[UPBIT_CANDLES_KEY]["lake_path"] == "upbit/candles"
    assert "raw/stock_price" in assets[YFINANCE_BARS_KEY].descriptions_by_key[YFINANCE_BARS_KEY]
    mart = assets[MART_UPBIT_CANDLES_KEY]
    assert UPBIT_CANDLES.partition_column == "trade_date"  # the mart's IO manager replaces the run's days by it
    assert mart.asset_deps[MART_UPBIT_CANDLES_KEY] == {UPBIT_CANDLES_KEY}
    checks = {(k.asset_key, k.name): c for c in market_checks for k in c.check_keys}
    assert set(checks) == {(YFINANCE_BARS_KEY, BARS_CHECK), (UPBIT_CANDLES_KEY, CANDLES_CHECK)}
    assert all(spec.blocking for c in market_checks for spec in c.check_specs)
    # The resource's default tickers are the yfinance client's (repeated there to keep pandas out of load time).
    assert MarketResource().tickers == list(DEFAULT_TICKERS)
    assert MarketResource().upbit_markets == ["KRW-BTC"]
    assert MarketResource().yfinance_session() is None and MarketResource().upbit_session() is None


# --- yfinance ---------------------------------------------------------------------------------------------------

def test_a_replayed_day_lands_in_the_lake_and_the_landing_folder(http, folders):
    serve_yahoo_day(http, "AAPL")
    serve_yahoo_day(http, "MSFT")

    result = run(folders, YFINANCE_BARS_KEY)

    assert result.success
    lake = pq.read_table(lake_file(str(folders["lake"]), "yfinance/stock_price", Day.of(DAY)))
    replayed = fetch_bars(["AAPL", "MSFT"], dt.date.fromisoformat(DAY), session=replay.replay_session())
    pd.testing.assert_frame_equal(lake.to_pandas(), replayed, check_exact=True)
    assert lake.num_rows == 389 + 388
    meta = materialization(result, YFINANCE_BARS_KEY).metadata
    assert meta["dagster/row_count"].value == 389 + 388
    assert meta["rows_per_ticker"].value == {"AAPL": 389, "MSFT": 388}
    assert meta["market_status"].value.startswith("open")

    stock = folders["landing"] / "stock"
    assert sorted(p.name for p in folders["landing"].iterdir()) == ["stock"]  # no staging folder left behind
    assert sorted(p.name for p in stock.iterdir()) == [f"AAPL_{DAY}_data.csv", f"MSFT_{DAY}_data.csv"]
    aapl = (stock / f"AAPL_{DAY}_data.csv").read_text(encoding="utf-8")
    assert aapl.split("\n")[:2] == [SEED_HEADER, SEED_AAPL_FIRST] and aapl.endswith(SEED_AAPL_LAST + "\n")
    landed = read_landing(STOCK_PRICE, folders["landing"], Days.of([DAY]))
    assert landed.num_rows == 389 + 388
    assert sorted(set(landed.column("ticker").to_pylist())) == ["AAPL", "MSFT"]

    assert check_evaluation(result, BARS_CHECK).passed


def test_an_empty_answer_on_a_trading_day_fails_the_step_after_the_retry_policy(http, folders, retry_waits):
    serve_yahoo_day(http, "AAPL", minute_body=FIXTURES / "yahoo_chart_AAPL_empty.json")

    result = run(folders, YFINANCE_BARS_KEY, tickers=["AAPL"], raise_on_error=False)

    assert not result.success
    (failure,) = step_failures(result)
    assert "MarketDataUnavailable" in failure
    assert "AAPL" in failure and DAY in failure and "trading day" in failure
    restarts = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    assert len(restarts) == 3
    assert retry_waits == [pytest.approx(30, abs=1), pytest.approx(90, abs=1), pytest.approx(210, abs=1)]
    # Each of the 4 step attempts made the client's own 3 attempts.
    assert len(replay.yahoo_chart_calls(http, "AAPL")) == 4 * 3
    assert not lake_file(str(folders["lake"]), "yfinance/stock_price", Day.of(DAY)).exists()
    assert not (folders["landing"] / "stock").exists()


def test_a_holiday_is_an_empty_partition_without_a_request(http, folders):
    result = run(folders, YFINANCE_BARS_KEY, partition=HOLIDAY)

    assert result.success
    assert len(http.calls) == 0
    lake = pq.read_table(lake_file(str(folders["lake"]), "yfinance/stock_price", Day.of(HOLIDAY)))
    assert lake.num_rows == 0
    assert lake.schema.names == ["Datetime", "Close", "High", "Low", "Open", "Volume", "Company", "ticker"]
    assert lake.schema.field("Datetime").type == pa.timestamp("ns", tz="UTC")
    assert lake.schema.field("Company").type == pa.string()
    meta = materialization(result, YFINANCE_BARS_KEY).metadata
    assert "market closed" in meta["market_status"].value
    assert meta["dagster/row_count"].value == 0
    assert not (folders["landing"] / "stock").exists()
    assert check_evaluation(result, BARS_CHECK).passed


def test_rematerializing_a_day_rewrites_it_identically_and_atomically(http, folders, monkeypatch, retry_waits):
    serve_yahoo_day(http, "AAPL")
    path = lake_file(str(folders["lake"]), "yfinance/stock_price", Day.of(DAY))
    landing = folders["landing"] / "stock" / f"AAPL_{DAY}_data.csv"

    run(folders, YFINANCE_BARS_KEY, tickers=["AAPL"])
    first, first_csv = path.read_bytes(), landing.read_bytes()
    run(folders, YFINANCE_BARS_KEY, tickers=["AAPL"])
    assert path.read_bytes() == first and landing.read_bytes() == first_csv
    assert lake_files_under(folders["lake"]) == [f"yfinance/stock_price/date={DAY}/data.parquet"]

    real_write = pq.write_table

    def write_half_then_crash(table, where, *args, **kwargs):
        real_write(table.slice(0, 10), where, *args, **kwargs)  # the temporary file exists, then the disk fills
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", write_half_then_crash)
    result = run(folders, YFINANCE_BARS_KEY, tickers=["AAPL"], raise_on_error=False)

    assert not result.success and "disk full" in step_failures(result)[0]
    assert path.read_bytes() == first  # the previous file, whole
    assert lake_files_under(folders["lake"]) == [f"yfinance/stock_price/date={DAY}/data.parquet"]


# --- Upbit ------------------------------------------------------------------------------------------------------

@pytest.fixture
def cassette() -> dict:
    return replay.load_cassette(FIXTURES / f"upbit_KRW-BTC_{DAY}.json")


def recorded_timestamps(cassette: dict) -> list[int]:
    return sorted({c["candle_date_time_utc"]: c["timestamp"] for i in cassette["interactions"]
                   for c in i["response"]["json"] if c["candle_date_time_utc"].startswith(DAY)}.values())


def mart_rows(folders) -> pa.Table:
    with duckdb.connect(str(folders["warehouse"]), read_only=True) as con:
        return con.sql('SELECT * FROM mart.upbit_candles ORDER BY candle_date_time_utc').to_arrow_table()


def test_upbit_day_lands_in_the_lake_and_the_mart(http, folders, cassette):
    replay.add_cassette(http, cassette)

    result = run(folders, UPBIT_CANDLES_KEY, MART_UPBIT_CANDLES_KEY)

    assert result.success
    lake = pq.read_table(lake_file(str(folders["lake"]), "upbit/candles", Day.of(DAY)))
    assert lake.schema == CANDLE_SCHEMA
    stamps = recorded_timestamps(cassette)
    assert sorted(lake.column("timestamp").to_pylist()) == stamps and lake.num_rows == 1436
    assert check_evaluation(result, CANDLES_CHECK).passed

    mart = mart_rows(folders)
    assert mart.column_names == UPBIT_CANDLES.column_names
    assert mart.schema.field("timestamp").type == pa.int64()
    assert sorted(mart.column("timestamp").to_pylist()) == stamps and min(stamps) > 2**31
    assert set(mart.column("trade_date").to_pylist()) == {dt.date.fromisoformat(DAY)}
    assert mart.column("candle_date_time_utc").to_pylist() == lake.column("candle_date_time_utc").to_pylist()
    assert mart.column("high_price").to_pylist() == lake.column("high_price").to_pylist()

    # Again: the lake file is rewritten identically and the mart partition replaced, not appended to.
    first = lake_file(str(folders["lake"]), "upbit/candles", Day.of(DAY)).read_bytes()
    assert run(folders, UPBIT_CANDLES_KEY, MART_UPBIT_CANDLES_KEY).success
    assert lake_file(str(folders["lake"]), "upbit/candles", Day.of(DAY)).read_bytes() == first
    assert mart_rows(folders).num_rows == 1436


def test_a_bad_candle_fails_the_check_and_stays_out_of_the_mart(http, folders, cassette):
    bad = copy.deepcopy(cassette)
    candle = next(c for i in bad["interactions"] for c in i["response"]["json"]
                  if c["candle_date_time_utc"] == f"{DAY}T12:00:00")
    candle["high_price"] = candle["low_price"] - 1000
    replay.add_cassette(http, bad)

    result = run(folders, UPBIT_CANDLES_KEY, MART_UPBIT_CANDLES_KEY, raise_on_error=False)

    evaluation = check_evaluation(result, CANDLES_CHECK)
    assert not evaluation.passed
    assert "high_price >= low_price: 1 bad row" in evaluation.description
    failing = evaluation.metadata["failing_rows"].value
    assert failing["high_price >= low_price"]["count"] == 1
    (sample,) = failing["high_price >= low_price"]["sample"]
    assert sample["candle_date_time_utc"] == f"{DAY} 12:00:00" and sample["high_price"] == candle["high_price"]
    # The blocking check stops the mart step of the same run ...
    assert not result.asset_materializations_for_node(MART_UPBIT_CANDLES_KEY.to_python_identifier())
    assert not folders["warehouse"].exists()
    # ... and the mart asset refuses the partition by itself when run alone.
    alone = run(folders, MART_UPBIT_CANDLES_KEY, raise_on_error=False)
    assert not alone.success
    (failure,) = step_failures(alone)
    assert "high_price >= low_price (1 rows)" in failure and "not published" in failure
    assert not alone.asset_materializations_for_node(MART_UPBIT_CANDLES_KEY.to_python_identifier())


def test_bar_rules_name_each_bad_bar():
    at = pd.Timestamp("2024-12-26 15:00", tz="UTC")
    bars = pa.Table.from_pandas(pd.DataFrame({
        "Datetime": [at, at, at, at, at, pd.Timestamp("2024-12-27 00:00", tz="UTC")],
        "Close": [10.0, 10.0, 12.5, 10.0, 10.0, 10.0], "High": [11.0, 9.0, 11.0, 11.0, 11.0, 11.0],
        "Low": [9.0, 10.0, 9.0, 9.0, 9.0, 9.0], "Open": [10.0, 10.0, 10.0, 8.0, 10.0, 10.0],
        "Volume": [5, 5, 5, 5, -1, 5], "Company": ["Apple"] * 6, "ticker": ["AAPL"] * 6,
    }), preserve_index=False)

    found = {r["rule"]: r for r in violations(BAR_SUITE, bars, Day.of(DAY))}

    assert {name: r["failing_rows"] for name, r in found.items()} == {
        "High >= Low": 1, "Open is within [Low, High]": 2, "Close is within [Low, High]": 2,
        "Volume is non-negative": 1, "Datetime is inside the partition's day": 1}
    assert found["Volume is non-negative"]["sample"][0]["Volume"] == -1
    assert found["Datetime is inside the partition's day"]["sample"][0]["Datetime"].startswith("2024-12-27 00:00:00")
    assert set(found["High >= Low"]["sample"][0]) == set(bars.column_names), "samples show the bars' own columns"


def test_candle_rules_name_each_bad_candle():
    def candle(minute, stamp, market="KRW-BTC", day=26, **prices):
        at = dt.datetime(2024, 12, day, 12, minute)
        return {"market": market, "candle_date_time_utc": at, "candle_date_time_kst": at + dt.timedelta(hours=9),
                **{"opening_price": 100.0, "high_price": 110.0, "low_price": 90.0, "trade_price": 105.0, **prices},
                "timestamp": stamp, "candle_acc_trade_price": 1.0, "candle_acc_trade_volume": 1.0, "unit": 1}

    candles = pa.Table.from_pylist([
        candle(0, 1735214400000),
        candle(1, 1735214460000, low_price=0.0),  # not positive
        candle(2, 1735214460000),  # the previous candle's timestamp
        candle(3, 1735214400000, market="KRW-ETH"),  # same timestamp, other market: fine
        candle(4, 1735214640000, trade_price=120.0),  # closes above its high
        candle(5, 1735301100000, day=27),  # the next day
    ], schema=CANDLE_SCHEMA)

    found = {r["rule"]: r["failing_rows"] for r in violations(CANDLE_SUITE, candles, Day.of(DAY))}

    prices = ("opening_price", "high_price", "low_price", "trade_price")
    assert found == {**{f"{p} is complete": 0 for p in prices},
                     **{f"{p} is positive": int(p == "low_price") for p in prices},
                     "high_price >= low_price": 0, "opening_price is within [low_price, high_price]": 0,
                     "trade_price is within [low_price, high_price]": 1, "timestamp is complete": 0,
                     "(market, timestamp) is unique": 2, "candle_date_time_utc is inside the partition's day": 1}


def test_an_unfinished_utc_day_is_not_fetched(http, folders):
    class BeforeMidnight(ReplayedMarket):
        def now(self) -> dt.datetime:
            return dt.datetime(2024, 12, 26, 23, 0, tzinfo=dt.timezone.utc)

    result = run(folders, UPBIT_CANDLES_KEY, market=BeforeMidnight(), raise_on_error=False)

    assert not result.success and "not over" in step_failures(result)[0]
    assert len(http.calls) == 0

