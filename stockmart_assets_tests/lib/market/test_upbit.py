"""Upbit 1-minute candles, replayed from a recorded day: pagination, types, rate limit, retries."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stockmart_assets_tests.support import replay
from stockmart_assets.lib.market.errors import MarketDataError, MarketDataUnavailable
from stockmart_assets.lib.market.upbit import CANDLE_SCHEMA, MINUTE_CANDLES_URL, fetch_candles, remaining_requests
from stockmart_assets_tests.support.market import FIXTURES

DAY = dt.date(2024, 12, 26)
MARKET = "KRW-BTC"
CASSETTE = FIXTURES / f"upbit_{MARKET}_{DAY}.json"
NO_TRADE = {"00:12", "03:17", "03:18", "19:42"}  # minutes of the recorded day without a candle


@pytest.fixture
def cassette() -> dict:
    return replay.load_cassette(CASSETTE)


def recorded_day(cassette: dict) -> dict[str, dict]:
    """The recorded candles of DAY, straight from the JSON (independently of the client)."""
    return {c["candle_date_time_utc"]: c
            for i in cassette["interactions"] for c in i["response"]["json"]
            if c["candle_date_time_utc"].startswith(str(DAY))}


def fetch(sleeps, **kwargs) -> pa.Table:
    return fetch_candles(MARKET, DAY, session=replay.replay_session(), sleep=sleeps.append, **kwargs)


def test_a_day_is_every_candle_once_sorted_across_pages(http, cassette, sleeps):
    replay.add_cassette(http, cassette)

    table = fetch(sleeps)

    assert table.schema == CANDLE_SCHEMA
    times = table.column("candle_date_time_utc").to_pylist()
    assert len(times) == 1440 - len(NO_TRADE) == len(recorded_day(cassette))
    assert times == sorted(set(times))
    assert times[0] == dt.datetime(2024, 12, 26, 0, 0) and times[-1] == dt.datetime(2024, 12, 26, 23, 59)
    assert {t.strftime("%H:%M") for t in times}.isdisjoint(NO_TRADE)
    kst = table.column("candle_date_time_kst").to_pylist()
    assert all(k - u == dt.timedelta(hours=9) for k, u in zip(kst, times, strict=True))
    assert set(table.column("market").to_pylist()) == {MARKET} and set(table.column("unit").to_pylist()) == {1}
    # Eight pages, each asked with `to` moved back to the previous page's oldest candle.
    asked = [c.request.params["to"] for c in http.calls]
    assert asked == [i["request"]["query"]["to"] for i in cassette["interactions"]]
    assert len(asked) == 8
    # The last page asks only for the 37 minutes left (00:00-00:36); one is missing (00:12), so Upbit's answer
    # reaches one candle into the day before, which is not kept.
    assert [c.request.params["count"] for c in http.calls] == ["200"] * 7 + ["37"]
    assert cassette["interactions"][-1]["response"]["json"][-1]["candle_date_time_utc"] == "2024-12-25T23:59:00"
    # The fifth page said `Remaining-Req: ...; sec=0`: one pause of a second before the sixth.
    assert sleeps == [1.0]


def test_values_are_upbits_exactly_with_int64_millisecond_timestamps(http, cassette, sleeps):
    replay.add_cassette(http, cassette)
    table = fetch(sleeps)
    recorded = recorded_day(cassette)

    rows = table.to_pylist()
    for row in rows:
        sent = recorded[row["candle_date_time_utc"].isoformat()]
        assert row["timestamp"] == sent["timestamp"]
        for name in ("opening_price", "high_price", "low_price", "trade_price",
                     "candle_acc_trade_price", "candle_acc_trade_volume"):
            assert row[name] == float(sent[name])
            assert isinstance(row[name], float)
    assert table.schema.field("timestamp").type == pa.int64()
    stamps = table.column("timestamp").to_pylist()
    assert min(stamps) > 2**31  # would not fit the INT the seed's Hive DDL declared
    # The last trade of each candle falls within its minute: milliseconds, not seconds or microseconds.
    for row in rows:
        start_ms = int(row["candle_date_time_utc"].replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
        assert start_ms <= row["timestamp"] < start_ms + 60_000


def test_the_table_survives_a_parquet_round_trip_exactly(http, cassette, sleeps, tmp_path):
    replay.add_cassette(http, cassette)
    table = fetch(sleeps)

    pq.write_table(table, tmp_path / "candles.parquet")
    back = pq.read_table(tmp_path / "candles.parquet")

    assert back.schema == CANDLE_SCHEMA
    assert back.equals(table)
    parquet_type = pq.ParquetFile(tmp_path / "candles.parquet").schema.column(7)
    assert (parquet_type.name, parquet_type.physical_type) == ("timestamp", "INT64")


def test_throttled_page_is_retried(http, cassette, sleeps):
    first = cassette["interactions"][0]["request"]["query"]
    http.get(MINUTE_CANDLES_URL, status=429, body='{"error":{"name":"too_many_requests","message":"Too many '
             'API requests."}}', content_type="application/json",
             headers={"Remaining-Req": "group=candles; min=1800; sec=0"},
             match=[replay_matcher(first)])
    replay.add_cassette(http, cassette)

    table = fetch(sleeps)

    assert table.num_rows == 1440 - len(NO_TRADE)
    statuses = [c.response.status_code for c in http.calls if c.request.params["to"] == first["to"]]
    assert statuses == [429, 200]
    assert sleeps == [1.0, 1.0]  # the backoff after the 429, then the sec=0 pause of the fifth page


def test_retry_after_is_honoured(http, cassette, sleeps):
    first = cassette["interactions"][0]["request"]["query"]
    http.get(MINUTE_CANDLES_URL, status=429, body="Too many API requests.", headers={"Retry-After": "3"},
             match=[replay_matcher(first)])
    replay.add_cassette(http, cassette)

    fetch(sleeps)

    assert sleeps[0] == 3.0


def test_server_errors_outlasting_the_retries_are_unavailable(http, sleeps):
    http.get(MINUTE_CANDLES_URL, status=503, body="<html>503 Service Temporarily Unavailable</html>")

    with pytest.raises(MarketDataUnavailable, match=r"KRW-BTC.*2024-12-27T00:00:00Z.*HTTP 503"):
        fetch(sleeps, tries=4)
    assert len(http.calls) == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_a_blocked_client_is_not_hammered(http, sleeps):
    http.get(MINUTE_CANDLES_URL, status=418, body='{"error":{"name":"blocked","message":"IP blocked for 60s"}}')

    with pytest.raises(MarketDataUnavailable, match="blocked"):
        fetch(sleeps)
    assert len(http.calls) == 1 and sleeps == []


def test_an_unknown_market_is_a_final_error(http, sleeps):
    http.get(MINUTE_CANDLES_URL, status=404, body='{"error":{"name":"404","message":"Code not found"}}',
             content_type="application/json")

    with pytest.raises(MarketDataError, match="Code not found") as raised:
        fetch_candles("KRW-NOPE", DAY, session=replay.replay_session(), sleep=sleeps.append)
    assert not isinstance(raised.value, MarketDataUnavailable)
    assert len(http.calls) == 1


def test_a_candle_repeated_across_pages_is_kept_once(http, cassette, sleeps):
    # A server that reads `to` as inclusive repeats each page's oldest candle at the top of the next page.
    recorded = sorted({c["candle_date_time_utc"]: c for i in cassette["interactions"]
                       for c in i["response"]["json"]}.values(), key=lambda c: c["candle_date_time_utc"])
    served = []

    def inclusive_to(request):
        to = request.params["to"].rstrip("Z")
        page = [c for c in recorded if c["candle_date_time_utc"] <= to][-int(request.params["count"]):][::-1]
        served.extend(c["candle_date_time_utc"] for c in page)
        return 200, {"Remaining-Req": "group=candles; min=1800; sec=9"}, json.dumps(page)

    http.add_callback("GET", MINUTE_CANDLES_URL, callback=inclusive_to, content_type="application/json")

    table = fetch(sleeps)

    assert len(served) > len(set(served))  # the pages did overlap
    times = [t.isoformat() for t in table.column("candle_date_time_utc").to_pylist()]
    assert times == sorted(recorded_day(cassette))  # every candle of the day, once, in order


def test_a_day_without_trades_is_empty(http, sleeps):
    http.get(MINUTE_CANDLES_URL, status=200, body="[]", content_type="application/json",
             headers={"Remaining-Req": "group=candles; min=1800; sec=9"})

    table = fetch(sleeps)

    assert table.num_rows == 0 and table.schema == CANDLE_SCHEMA


@pytest.mark.parametrize(("header", "sec"), [
    ("group=candles; min=1800; sec=9", 9),
    ("group=default; min=1800; sec=0", 0),
    ("group=candles;sec=3", 3),
    (None, None),
    ("garbage", None),
])
def test_remaining_req_header(header, sec):
    assert remaining_requests(header) == sec


def test_the_cassette_is_in_upbits_documented_shape():
    cassette = json.loads(CASSETTE.read_text())
    for interaction in cassette["interactions"]:
        query = interaction["request"]["query"]
        assert set(query) == {"market", "to", "count"} and int(query["count"]) <= 200
        page = interaction["response"]["json"]
        assert len(page) <= 200
        assert [c["candle_date_time_utc"] for c in page] == sorted((c["candle_date_time_utc"] for c in page),
                                                                   reverse=True)  # newest first
        assert all(c["candle_date_time_utc"] < query["to"].rstrip("Z") for c in page)  # `to` is exclusive
        assert set(page[0]) == {f.name for f in CANDLE_SCHEMA}


def replay_matcher(query: dict):
    from responses import matchers

    return matchers.query_param_matcher(query)
