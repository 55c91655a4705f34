"""1-minute candles of Upbit KRW markets for one UTC day, from the public REST API (no key needed).

``GET https://api.upbit.com/v1/candles/minutes/1?market=KRW-BTC&to=<ISO 8601 UTC>&count=200`` returns at most
200 candles strictly before ``to``, newest first; a day (up to 1440 candles: a candle exists only for a minute
with trades) takes several pages, each asked with ``to`` moved back to the oldest candle received and a
``count`` no larger than the minutes left of the day. Candles outside the day are dropped, repeats kept once.

Rate limit: every answer carries ``Remaining-Req: group=candles; min=1800; sec=N``; at ``sec=0`` the client
waits a second before the next request. HTTP 429 (too many requests), 5xx and network errors are retried with
backoff; 418 means Upbit has blocked this address for a while, so it is not retried here.

``timestamp`` is the epoch time in milliseconds of the candle's last trade: it needs 64 bits (a 32-bit INT
truncates it) and stays int64 from the JSON to the Arrow table and its Parquet file.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable

import pyarrow as pa
import requests

from stockmart_assets.lib.market.errors import MarketDataError, MarketDataUnavailable
from stockmart_assets.lib.market.retry import call_with_retries

API = "https://api.upbit.com"
MINUTE_CANDLES_URL = f"{API}/v1/candles/minutes/1"
PAGE_SIZE = 200  # the API's maximum count
MAX_PAGES = 20  # a day needs 8 at most; more means the API stopped moving back
RATE_LIMIT_PAUSE = 1.0  # seconds: Upbit's limits are per second
ONE_MINUTE = dt.timedelta(minutes=1)

CANDLE_SCHEMA = pa.schema([
    pa.field("market", pa.string(), nullable=False),
    # Wall-clock times as Upbit sends them ("2024-12-26T00:00:00"), without a timezone.
    pa.field("candle_date_time_utc", pa.timestamp("us"), nullable=False),
    pa.field("candle_date_time_kst", pa.timestamp("us"), nullable=False),
    pa.field("opening_price", pa.float64()),
    pa.field("high_price", pa.float64()),
    pa.field("low_price", pa.float64()),
    pa.field("trade_price", pa.float64()),
    pa.field("timestamp", pa.int64(), nullable=False),
    pa.field("candle_acc_trade_price", pa.float64()),
    pa.field("candle_acc_trade_volume", pa.float64()),
    pa.field("unit", pa.int32(), nullable=False),
])
_FLOATS = [f.name for f in CANDLE_SCHEMA if f.type == pa.float64()]

log = logging.getLogger(__name__)


def fetch_candles(
    market: str,
    day: dt.date,
    *,
    session: requests.Session | None = None,
    tries: int = 4,
    base_delay: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 10.0,
) -> pa.Table:
    """Every 1-minute candle of ``market`` (e.g. ``KRW-BTC``) whose ``candle_date_time_utc`` falls on ``day``,
    each once, oldest first, with ``CANDLE_SCHEMA``. A day with no trade gives an empty table.

    Raises ``MarketDataUnavailable`` when Upbit keeps throttling or failing after ``tries`` attempts of a
    page, or has blocked the client (418); ``MarketDataError`` when it rejects the request (unknown market).
    """
    day_start = dt.datetime(day.year, day.month, day.day)
    day_end = day_start + dt.timedelta(days=1)
    http = session or requests.Session()
    candles: dict[str, dict] = {}
    try:
        to, pause = day_end, False
        for _ in range(MAX_PAGES):
            if pause:
                sleep(RATE_LIMIT_PAUSE)
            # Never ask for more minutes than are left of the day: the last page stays (mostly) on the day.
            count = min(PAGE_SIZE, math.ceil((to - day_start) / ONE_MINUTE))
            page, remaining = _get_page(http, market, to, count, tries=tries, base_delay=base_delay, sleep=sleep,
                                        timeout=timeout)
            pause = remaining == 0
            for candle in page:
                _check(candle, market)
                key = candle["candle_date_time_utc"]
                if day_start <= _parse_time(key) < day_end:
                    kept = candles.get(key)
                    if kept is None or candle["timestamp"] >= kept["timestamp"]:
                        candles[key] = candle  # a page may repeat a candle; keep its latest state
            if len(page) < count:
                break  # nothing older to ask for
            oldest = min(_parse_time(c["candle_date_time_utc"]) for c in page)
            if oldest <= day_start:
                break
            if oldest >= to:
                raise MarketDataError(f"Upbit {market}: the page before {to:%Y-%m-%dT%H:%M:%SZ} did not go back "
                                      f"in time (oldest candle {oldest:%Y-%m-%dT%H:%M:%S})")
            to = oldest
        else:
            raise MarketDataError(f"Upbit {market}: {day} not covered after {MAX_PAGES} pages")
    finally:
        if session is None:
            http.close()
    rows = [candles[k] for k in sorted(candles)]
    log.info("Upbit %s %s: %d candles", market, day, len(rows))
    return _to_table(rows)


def _get_page(
    http: requests.Session, market: str, to: dt.datetime, count: int, *, tries: int, base_delay: float,
    sleep: Callable[[float], None], timeout: float,
) -> tuple[list[dict], int | None]:
    """One page (newest first) and the requests left this second per ``Remaining-Req``."""
    params = {"market": market, "to": to.strftime("%Y-%m-%dT%H:%M:%SZ"), "count": count}
    what = f"Upbit {market} candles before {params['to']}"

    def attempt() -> requests.Response:
        try:
            response = http.get(MINUTE_CANDLES_URL, params=params, headers={"Accept": "application/json"},
                                timeout=timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise MarketDataUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise MarketDataUnavailable(f"{what}: HTTP {response.status_code} {response.text[:200]}",
                                        retry_after=_retry_after(response))
        return response

    response = call_with_retries(attempt, what=what, tries=tries, base_delay=base_delay, sleep=sleep)
    if response.status_code == 418:
        raise MarketDataUnavailable(f"{what}: Upbit has blocked this client for a while (HTTP 418): "
                                    f"{response.text[:300]}")
    if response.status_code >= 400:
        raise MarketDataError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    page = response.json()
    if not isinstance(page, list):
        raise MarketDataError(f"{what}: expected a JSON list of candles, got {str(page)[:200]}")
    return page, remaining_requests(response.headers.get("Remaining-Req"))


def remaining_requests(header: str | None) -> int | None:
    """``sec`` of ``Remaining-Req: group=candles; min=1800; sec=9`` (None if absent or unreadable)."""
    if not header:
        return None
    fields = dict(part.strip().partition("=")[::2] for part in header.split(";"))
    try:
        return int(fields["sec"])
    except (KeyError, ValueError):
        return None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _check(candle: dict, market: str) -> None:
    if candle.get("market") != market or candle.get("unit") != 1:
        raise MarketDataError(f"Upbit sent a candle of {candle.get('market')!r} unit {candle.get('unit')!r} "
                              f"when asked for {market!r} 1-minute candles: {candle}")


def _to_table(rows: list[dict]) -> pa.Table:
    columns = {
        "market": [r["market"] for r in rows],
        "candle_date_time_utc": [_parse_time(r["candle_date_time_utc"]) for r in rows],
        "candle_date_time_kst": [_parse_time(r["candle_date_time_kst"]) for r in rows],
        # JSON numbers: whole-won prices may come as integers; every price and amount is a float64 here.
        **{name: [None if r[name] is None else float(r[name]) for r in rows] for name in _FLOATS},
        "timestamp": [int(r["timestamp"]) for r in rows],
        "unit": [int(r["unit"]) for r in rows],
    }
    return pa.Table.from_pydict({f.name: columns[f.name] for f in CANDLE_SCHEMA}, schema=CANDLE_SCHEMA)
