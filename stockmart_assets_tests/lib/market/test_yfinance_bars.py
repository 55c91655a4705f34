"""yfinance bars, replayed at the HTTP layer: the landing format, empty answers, holidays, the CSV writer."""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pytest

from stockmart_assets.lib.day import Days
from stockmart_assets.lib.landing.contract import STOCK_PRICE
from stockmart_assets.lib.landing.reader import read_landing
from stockmart_assets_tests.support import replay
from stockmart_assets.lib.market.errors import MarketDataUnavailable
from stockmart_assets.lib.market.landing import write_landing_csv
from stockmart_assets.lib.market.yfinance_bars import (
    BAR_COLUMNS,
    BAR_DTYPES,
    empty_bars,
    fetch_bars,
)
from stockmart_assets_tests.support.market import FIXTURES

DAY = dt.date(2024, 12, 26)
OPEN, CLOSE = 1735223400, 1735246800  # 2024-12-26 14:30 and 21:00 UTC: the period Yahoo is asked for

# Lines of the seed export (stock/AAPL_data.csv, stock/MSFT_data.csv) for 2024-12-26, byte for byte.
SEED_HEADER = ",Datetime,Close,High,Low,Open,Volume,Company,ticker"
SEED_AAPL_FIRST = [
    "0,2024-12-26 14:30:00+00:00,258.9790954589844,259.19000244140625,258.1000061035156,258.9790954589844,"
    "1052265,Apple,AAPL",
    "1,2024-12-26 14:31:00+00:00,259.3900146484375,259.6499938964844,258.8450012207031,258.889892578125,"
    "299504,Apple,AAPL",
]
SEED_AAPL_LAST = ("388,2024-12-26 20:59:00+00:00,259.1000061035156,259.2149963378906,259.010009765625,"
                  "259.1300048828125,390385,Apple,AAPL")
SEED_MSFT_FIRST = ("0,2024-12-26 14:30:00+00:00,439.1199951171875,439.6000061035156,438.44000244140625,"
                   "439.0799865722656,331809,Microsoft,MSFT")
SEED_MSFT_LAST = ("387,2024-12-26 20:59:00+00:00,438.1199951171875,438.409912109375,438.0799865722656,"
                  "438.239990234375,234121,Microsoft,MSFT")


def serve_day(http, symbol: str, minute_body=None) -> None:
    replay.add_yahoo_handshake(http)
    replay.add_yahoo_chart(http, symbol, FIXTURES / f"yahoo_chart_{symbol}_1d.json", interval="1d")
    replay.add_yahoo_chart(http, symbol, minute_body or FIXTURES / f"yahoo_chart_{symbol}_{DAY}_1m.json",
                           params={"period1": OPEN, "period2": CLOSE})


def test_replayed_day_gives_the_sessions_bars_in_landing_format(http, sleeps):
    serve_day(http, "AAPL")
    serve_day(http, "MSFT")

    bars = fetch_bars(["AAPL", "MSFT"], DAY, session=replay.replay_session(), sleep=sleeps.append)

    assert list(bars.columns) == BAR_COLUMNS == [c.header for c in STOCK_PRICE.columns]
    assert bars.dtypes.astype(str).to_dict() == BAR_DTYPES
    assert str(bars["Datetime"].dt.tz) == "UTC"
    assert bars.groupby("ticker", sort=False).size().to_dict() == {"AAPL": 389, "MSFT": 388}
    assert (bars["Datetime"].dt.date == DAY).all()
    for _, one in bars.groupby("ticker"):
        times = one["Datetime"]
        assert times.is_monotonic_increasing and times.is_unique
        assert times.min() == pd.Timestamp("2024-12-26 14:30", tz="UTC")
        assert times.max() == pd.Timestamp("2024-12-26 20:59", tz="UTC")
    # Yahoo's gaps: AAPL's null bar at 16:49 is dropped; MSFT has a null bar at 16:46 and no 16:49 at all.
    minutes = {t: set(g["Datetime"].dt.strftime("%H:%M")) for t, g in bars.groupby("ticker")}
    assert "16:49" not in minutes["AAPL"] and {"16:46", "16:49"}.isdisjoint(minutes["MSFT"])
    assert set(bars["Company"]) == {"Apple", "Microsoft"}
    assert sleeps == []


def test_written_csv_is_identical_to_the_seed_export_and_reads_back(http, tmp_path):
    serve_day(http, "AAPL")
    serve_day(http, "MSFT")
    bars = fetch_bars(["AAPL", "MSFT"], DAY, session=replay.replay_session())

    paths = write_landing_csv(bars, tmp_path)

    assert paths == [tmp_path / "stock" / "AAPL_data.csv", tmp_path / "stock" / "MSFT_data.csv"]
    aapl = (tmp_path / "stock" / "AAPL_data.csv").read_text(encoding="utf-8")
    msft = (tmp_path / "stock" / "MSFT_data.csv").read_text(encoding="utf-8")
    assert aapl.split("\n")[:3] == [SEED_HEADER, *SEED_AAPL_FIRST]
    assert aapl.endswith(SEED_AAPL_LAST + "\n")
    assert msft.split("\n")[:2] == [SEED_HEADER, SEED_MSFT_FIRST]
    assert msft.endswith(SEED_MSFT_LAST + "\n")
    assert "\r" not in aapl
    assert sorted(p.name for p in (tmp_path / "stock").iterdir()) == ["AAPL_data.csv", "MSFT_data.csv"]

    # The project's own landing reader takes the files as they are, with the partition of that day.
    table = read_landing(STOCK_PRICE, tmp_path, Days.of([DAY]))
    assert table.num_rows == 389 + 388
    assert sorted(set(table.column("ticker").to_pylist())) == ["AAPL", "MSFT"]
    back = pd.read_csv(tmp_path / "stock" / "AAPL_data.csv", index_col=0, float_precision="round_trip")
    back["Datetime"] = pd.to_datetime(back["Datetime"], utc=True)
    expected = bars[bars["ticker"] == "AAPL"].reset_index(drop=True)
    pd.testing.assert_frame_equal(back.astype(BAR_DTYPES), expected, check_exact=True)


def test_empty_answer_on_a_trading_day_raises_after_retrying(http, sleeps):
    serve_day(http, "AAPL", minute_body=FIXTURES / "yahoo_chart_AAPL_empty.json")

    with pytest.raises(MarketDataUnavailable) as raised:
        fetch_bars(["AAPL"], DAY, session=replay.replay_session(), tries=3, base_delay=2.0, sleep=sleeps.append)

    message = str(raised.value)
    assert "AAPL" in message and "2024-12-26" in message and "trading day" in message
    assert "unavailable" in message and "no bars" not in message
    assert raised.value.retryable
    # Each attempt really asked Yahoo again: yfinance's response cache must not answer the retries.
    assert len(replay.yahoo_chart_calls(http, "AAPL")) == 3
    assert sleeps == [2.0, 4.0]


def test_throttling_is_retried_until_yahoo_answers(http, sleeps):
    replay.add_yahoo_handshake(http)
    replay.add_yahoo_chart(http, "AAPL", FIXTURES / "yahoo_chart_AAPL_1d.json", interval="1d")
    # yfinance re-asks once itself (with its other cookie strategy) before raising YFRateLimitError,
    # so two 429s make our first attempt fail; the second attempt gets the day.
    for _ in range(2):
        replay.add_yahoo_chart(http, "AAPL", "Too Many Requests\r\n", status=429, content_type="text/html")
    replay.add_yahoo_chart(http, "AAPL", FIXTURES / f"yahoo_chart_AAPL_{DAY}_1m.json")

    bars = fetch_bars(["AAPL"], DAY, session=replay.replay_session(), sleep=sleeps.append)

    assert len(bars) == 389
    assert [c.response.status_code for c in replay.yahoo_chart_calls(http, "AAPL")] == [429, 429, 200]
    assert sleeps == [2.0]


def test_yahoos_reason_is_in_the_error(http, sleeps):
    replay.add_yahoo_handshake(http)
    replay.add_yahoo_chart(http, "AAPL", FIXTURES / "yahoo_chart_AAPL_1d.json", interval="1d")
    replay.add_yahoo_chart(http, "AAPL", FIXTURES / "yahoo_chart_error_1m_window.json", status=422)

    with pytest.raises(MarketDataUnavailable, match="within the last 30 days") as raised:
        fetch_bars(["AAPL"], DAY, session=replay.replay_session(), tries=1, sleep=sleeps.append)
    assert "AAPL" in str(raised.value) and "2024-12-26" in str(raised.value)


def test_offline_raises_unavailable_without_leaving_the_machine(http, sleeps, no_network):
    # Nothing registered: every request fails as an unreachable host would.
    with pytest.raises(MarketDataUnavailable, match="AAPL.*2024-12-26"):
        fetch_bars(["AAPL"], DAY, session=replay.replay_session(), tries=2, sleep=sleeps.append)
    assert sleeps == [2.0]
    assert no_network == []


@pytest.mark.parametrize("day", [dt.date(2024, 12, 25), dt.date(2024, 12, 28), dt.date(2024, 12, 29)],
                         ids=["christmas", "saturday", "sunday"])
def test_closed_days_give_an_empty_frame_and_no_request(http, day, tmp_path):
    bars = fetch_bars(["AAPL", "MSFT"], day, session=replay.replay_session())

    assert bars.empty
    assert list(bars.columns) == BAR_COLUMNS
    assert bars.dtypes.astype(str).to_dict() == BAR_DTYPES
    assert len(http.calls) == 0
    # With yfinance's own (curl_cffi) session too: the network guard would refuse any request.
    assert fetch_bars(["AAPL"], day).empty
    assert write_landing_csv(bars, tmp_path) == []


def test_a_session_that_has_not_closed_is_not_fetched(http):
    before_close = dt.datetime(2024, 12, 26, 20, 0, tzinfo=dt.timezone.utc)
    with pytest.raises(MarketDataUnavailable, match="not complete"):
        fetch_bars(["AAPL"], DAY, session=replay.replay_session(), now=before_close)
    assert len(http.calls) == 0


def test_write_replaces_a_file_atomically(tmp_path, monkeypatch):
    bars = pd.DataFrame({
        "Datetime": pd.to_datetime(["2024-12-26 14:31:00+00:00", "2024-12-26 14:30:00+00:00"], utc=True),
        "Close": [2.5, 1.25], "High": [3.0, 1.5], "Low": [2.0, 1.0], "Open": [2.25, 1.125],
        "Volume": [20, 10], "Company": ["Apple", "Apple"], "ticker": ["AAPL", "AAPL"],
    })
    (path,) = write_landing_csv(bars, tmp_path)
    assert path.read_text().split("\n") == [
        SEED_HEADER,
        "0,2024-12-26 14:30:00+00:00,1.25,1.5,1.0,1.125,10,Apple,AAPL",
        "1,2024-12-26 14:31:00+00:00,2.5,3.0,2.0,2.25,20,Apple,AAPL",
        "",
    ]
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_landing_csv(bars.assign(Close=99.0), tmp_path)
    assert path.read_bytes() == before  # the old file is untouched
    assert [p.name for p in path.parent.iterdir()] == ["AAPL_data.csv"]  # and no temporary file is left


def test_bars_without_the_landing_columns_are_refused(tmp_path):
    with pytest.raises(ValueError, match="Company"):
        write_landing_csv(empty_bars().drop(columns=["Company"]), tmp_path)


def test_the_production_transport_curl_cffi_over_tls_gives_the_same_bars(http, sleeps):
    """yfinance's own transport (curl_cffi, Chrome impersonation, verified TLS) through a loopback proxy."""
    serve_day(http, "AAPL")
    over_requests = fetch_bars(["AAPL"], DAY, session=replay.replay_session())

    with replay.yahoo_over_curl() as proxy:
        serve_day(proxy, "AAPL")
        over_curl = fetch_bars(["AAPL"], DAY, session=proxy.curl_session(), sleep=sleeps.append)

    pd.testing.assert_frame_equal(over_curl, over_requests, check_exact=True)
    assert [c.response.status_code for c in replay.yahoo_chart_calls(proxy, "AAPL")] == [200]
    assert sleeps == []


def test_the_production_transport_retries_an_empty_answer(sleeps):
    with replay.yahoo_over_curl() as proxy:
        serve_day(proxy, "AAPL", minute_body=FIXTURES / "yahoo_chart_AAPL_empty.json")
        with pytest.raises(MarketDataUnavailable, match="AAPL"):
            fetch_bars(["AAPL"], DAY, session=proxy.curl_session(), sleep=sleeps.append)

    assert len(replay.yahoo_chart_calls(proxy, "AAPL")) == 3
    assert sleeps == [2.0, 4.0]
