"""Write the recorded responses in ``fixtures/``: deterministic, offline, in the APIs' documented formats.

Nothing here calls Yahoo or Upbit. The responses are built from the formats the clients parse:

- Yahoo's v8 chart API (``/v8/finance/chart/<SYMBOL>``), the JSON that yfinance reads: ``chart.result[0]`` with
  ``meta`` (timezone, trading periods, ...), a ``timestamp`` array of bar starts (epoch seconds) and
  ``indicators.quote[0]`` with ``open/high/low/close/volume`` arrays (``null`` where Yahoo has no bar).
  The first four and last two bars of each day are real bars copied from the seed export (landing format),
  so a test can compare lines byte for byte; the bars between are a seeded random walk at float32 precision,
  like Yahoo's. One minute (16:49 UTC) is missing from the seed on 2024-12-26: AAPL's response carries it as
  a ``null`` bar, MSFT's lacks it (and has 16:46 as ``null``), the two shapes Yahoo uses for a gap.
- Upbit's ``GET /v1/candles/minutes/1`` (newest first, ``to`` exclusive, ``count`` <= 200), recorded as a
  cassette: one entry per page with the request's query, the status, the ``Remaining-Req`` header and the
  JSON body (compact, whole-won prices as integers like Upbit's documented example, so the client must not
  assume float literals). Candles exist only for minutes with trades, so three minutes of the day have none.

Run from the repository root: ``python -m stockmart_assets_tests.market.make_fixtures``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).parent / "market_fixtures"
DAY = dt.date(2024, 12, 26)  # a Thursday, full NYSE session 14:30-21:00 UTC (09:30-16:00 EST)
UTC = dt.timezone.utc

# (Datetime, Close, High, Low, Open, Volume) exactly as in the seed's stock/<TICKER>_data.csv.
SEED_BARS = {
    "AAPL": {
        "first": [
            ("14:30", "258.9790954589844", "259.19000244140625", "258.1000061035156", "258.9790954589844", 1052265),
            ("14:31", "259.3900146484375", "259.6499938964844", "258.8450012207031", "258.889892578125", 299504),
            ("14:32", "259.7449951171875", "259.8500061035156", "259.3500061035156", "259.4200134277344", 285118),
            ("14:33", "259.7650146484375", "259.7744140625", "259.6300048828125", "259.7200012207031", 270998),
        ],
        "last": [
            ("20:58", "259.1300048828125", "259.2200012207031", "259.1099853515625", "259.1199951171875", 208611),
            ("20:59", "259.1000061035156", "259.2149963378906", "259.010009765625", "259.1300048828125", 390385),
        ],
        "null_minutes": ["16:49"],
        "omitted_minutes": [],
        "meta": {"exchangeName": "NMS", "fullExchangeName": "NasdaqGS", "firstTradeDate": 345479400,
                 "longName": "Apple Inc.", "shortName": "Apple Inc.", "regularMarketPrice": 255.59,
                 "fiftyTwoWeekHigh": 260.1, "fiftyTwoWeekLow": 164.08, "regularMarketDayHigh": 258.7,
                 "regularMarketDayLow": 253.06, "regularMarketVolume": 42355321, "chartPreviousClose": 258.2},
    },
    "MSFT": {
        "first": [
            ("14:30", "439.1199951171875", "439.6000061035156", "438.44000244140625", "439.0799865722656", 331809),
            ("14:31", "439.9638977050781", "440.25", "438.95001220703125", "439.1199951171875", 84820),
            ("14:32", "440.63751220703125", "440.9200134277344", "439.80999755859375", "439.82000732421875", 56701),
            ("14:33", "439.8399963378906", "440.5350036621094", "439.6499938964844", "440.5350036621094", 50303),
        ],
        "last": [
            ("20:58", "438.2099914550781", "438.5400085449219", "438.19000244140625", "438.44000244140625", 97799),
            ("20:59", "438.1199951171875", "438.409912109375", "438.0799865722656", "438.239990234375", 234121),
        ],
        "null_minutes": ["16:46"],
        "omitted_minutes": ["16:49"],
        "meta": {"exchangeName": "NMS", "fullExchangeName": "NasdaqGS", "firstTradeDate": 511108200,
                 "longName": "Microsoft Corporation", "shortName": "Microsoft Corporation",
                 "regularMarketPrice": 430.53, "fiftyTwoWeekHigh": 468.35, "fiftyTwoWeekLow": 366.5,
                 "regularMarketDayHigh": 435.22, "regularMarketDayLow": 426.35, "regularMarketVolume": 18117661,
                 "chartPreviousClose": 439.33},
    },
}


def _epoch(day: dt.date, hhmm: str) -> int:
    h, m = map(int, hhmm.split(":"))
    return int(dt.datetime(day.year, day.month, day.day, h, m, tzinfo=UTC).timestamp())


def _f32(x: float) -> float:
    """Yahoo's prices are float32 values sent as doubles (258.979 -> 258.9790954589844)."""
    return float(np.float32(round(x, 4)))


def _trading_period(start: int, end: int) -> dict:
    return {"timezone": "EST", "start": start, "end": end, "gmtoffset": -18000}


def _meta(symbol: str, granularity: str, rng: str, extra: dict, day: dt.date) -> dict:
    """Yahoo's chart meta as sent the evening after ``day`` (the next day is the current trading period)."""
    nxt = day + dt.timedelta(days=1)
    meta = {
        "currency": "USD", "symbol": symbol, "exchangeName": extra["exchangeName"],
        "fullExchangeName": extra["fullExchangeName"], "instrumentType": "EQUITY",
        "firstTradeDate": extra["firstTradeDate"], "regularMarketTime": _epoch(nxt, "21:00") + 1,
        "hasPrePostMarketData": True, "gmtoffset": -18000, "timezone": "EST",
        "exchangeTimezoneName": "America/New_York",
    }
    meta.update({k: extra[k] for k in ("regularMarketPrice", "fiftyTwoWeekHigh", "fiftyTwoWeekLow",
                                       "regularMarketDayHigh", "regularMarketDayLow", "regularMarketVolume",
                                       "longName", "shortName", "chartPreviousClose")})
    meta.update({
        "priceHint": 2,
        "currentTradingPeriod": {
            "pre": _trading_period(_epoch(nxt, "09:00"), _epoch(nxt, "14:30")),
            "regular": _trading_period(_epoch(nxt, "14:30"), _epoch(nxt, "21:00")),
            "post": _trading_period(_epoch(nxt, "21:00"), _epoch(nxt, "21:00") + 4 * 3600),
        },
    })
    if granularity == "1m":
        meta["tradingPeriods"] = [[_trading_period(_epoch(day, "14:30"), _epoch(day, "21:00"))]]
    meta.update({"dataGranularity": granularity, "range": rng,
                 "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]})
    return meta


def yahoo_minute_chart(symbol: str, seed: int) -> dict:
    spec = SEED_BARS[symbol]
    rng = np.random.default_rng(seed)
    minutes = [(dt.datetime(2000, 1, 1, 14, 30) + dt.timedelta(minutes=i)).strftime("%H:%M") for i in range(390)]
    fixed = {row[0]: row for row in spec["first"] + spec["last"]}
    # A random walk from the last real opening bar to the first real closing bar (a Brownian bridge).
    start, end = float(spec["first"][-1][1]), float(spec["last"][0][4])
    n = len(minutes) - len(fixed)
    steps = rng.normal(0, 0.0004 * start, n).cumsum()
    walk = start + steps - np.linspace(0, 1, n) * (steps[-1] - (end - start))
    quote: dict[str, list] = {"open": [], "high": [], "low": [], "close": [], "volume": []}
    timestamps, prev_close, k = [], start, 0
    for i, hhmm in enumerate(minutes):
        if hhmm in spec["omitted_minutes"]:
            k += 1
            continue
        timestamps.append(_epoch(DAY, hhmm))
        if hhmm in spec["null_minutes"]:
            for values in quote.values():
                values.append(None)
            k += 1
            continue
        if hhmm in fixed:
            _, c, h, lo, o, v = fixed[hhmm]
            o, h, lo, c, v = float(o), float(h), float(lo), float(c), v
        else:
            c = walk[k]
            k += 1
            o = prev_close + rng.normal(0, 0.0001 * start)
            h = max(o, c) + abs(rng.normal(0, 0.0002 * start))
            lo = min(o, c) - abs(rng.normal(0, 0.0002 * start))
            u = abs(i - 195) / 195  # volume is U-shaped over the session
            v = int(rng.lognormal(np.log(60_000 + 200_000 * u ** 4), 0.4))
            o, h, lo, c = _f32(o), _f32(h), _f32(lo), _f32(c)
        prev_close = c
        quote["open"].append(o)
        quote["high"].append(h)
        quote["low"].append(lo)
        quote["close"].append(c)
        quote["volume"].append(v)
    return {"chart": {"result": [{
        "meta": _meta(symbol, "1m", "", spec["meta"], DAY),
        "timestamp": timestamps,
        "indicators": {"quote": [quote]},
    }], "error": None}}


def yahoo_timezone_probe(symbol: str) -> dict:
    """What yfinance asks first (``range=1d&interval=1d``) to learn the exchange's timezone."""
    spec = SEED_BARS[symbol]
    price = spec["meta"]["regularMarketPrice"]
    nxt = DAY + dt.timedelta(days=1)
    return {"chart": {"result": [{
        "meta": _meta(symbol, "1d", "1d", spec["meta"], DAY),
        "timestamp": [_epoch(nxt, "14:30")],
        "indicators": {
            "quote": [{"open": [spec["meta"]["chartPreviousClose"]], "high": [spec["meta"]["regularMarketDayHigh"]],
                       "low": [spec["meta"]["regularMarketDayLow"]], "close": [price],
                       "volume": [spec["meta"]["regularMarketVolume"]]}],
            "adjclose": [{"adjclose": [price]}],
        },
    }], "error": None}}


def yahoo_empty_chart(symbol: str) -> dict:
    """Yahoo's answer when it has no bar for the range: meta, no ``timestamp``, an empty quote."""
    meta = _meta(symbol, "1m", "", SEED_BARS[symbol]["meta"], DAY)
    return {"chart": {"result": [{"meta": meta, "indicators": {"quote": [{}]}}], "error": None}}


def yahoo_window_error() -> dict:
    """HTTP 422: Yahoo serves 1-minute bars for the last 30 days only."""
    p1, p2 = _epoch(DAY, "14:30"), _epoch(DAY, "21:00")
    return {"chart": {"result": None, "error": {
        "code": "Unprocessable Entity",
        "description": f"1m data not available for startTime={p1} and endTime={p2}. "
                       "The requested range must be within the last 30 days."}}}


# --- Upbit --------------------------------------------------------------------------------------------------

UPBIT_URL = "https://api.upbit.com/v1/candles/minutes/1"
UPBIT_MARKET = "KRW-BTC"
UPBIT_PAGE = 200
# No trade, no candle (Upbit documents this). 00:12 makes the last page reach one candle into the day before.
UPBIT_NO_TRADE_MINUTES = {"00:12", "03:17", "03:18", "19:42"}


def upbit_candles(day: dt.date, seed: int) -> list[dict]:
    """Every candle of ``day`` and of the evening before (what the last page reaches into), oldest first."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(day.year, day.month, day.day) - dt.timedelta(hours=4)
    n = 28 * 60
    price = 146_300_000.0
    candles = []
    for i in range(n):
        t = start + dt.timedelta(minutes=i)
        price_moves = np.round(price * (1 + rng.normal(-0.000012, 0.0006, 4)) / 1000) * 1000  # tick: 1000 KRW
        o, c = price_moves[0], price_moves[3]
        h, lo = max(price_moves.max(), o, c), min(price_moves.min(), o, c)
        price = c
        volume = float(np.round(rng.lognormal(np.log(1.2), 0.9), 8))
        if t.date() == day and t.strftime("%H:%M") in UPBIT_NO_TRADE_MINUTES:
            continue
        avg = (o + h + lo + c) / 4
        candles.append({
            "market": UPBIT_MARKET,
            "candle_date_time_utc": t.strftime("%Y-%m-%dT%H:%M:%S"),
            "candle_date_time_kst": (t + dt.timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S"),
            # whole-won prices are written as integers, as in Upbit's documented example
            "opening_price": int(o), "high_price": int(h), "low_price": int(lo), "trade_price": int(c),
            # the last trade of the minute, epoch milliseconds (beyond 32-bit INT)
            "timestamp": int(t.replace(tzinfo=UTC).timestamp() * 1000) + int(rng.integers(20_000, 60_000)),
            "candle_acc_trade_price": round(volume * avg, 5),  # as in the documented example
            "candle_acc_trade_volume": volume,
            "unit": 1,
        })
    return candles


def upbit_cassette(day: dt.date, seed: int) -> dict:
    """The pages a client walking back from the next midnight gets, served with the documented semantics:
    the newest ``count`` candles strictly before ``to``, newest first; the next ``to`` is the oldest candle,
    and ``count`` is at most 200 and at most the minutes left between ``to`` and the day's start."""
    candles = upbit_candles(day, seed)
    to = dt.datetime(day.year, day.month, day.day) + dt.timedelta(days=1)
    day_start = to - dt.timedelta(days=1)
    interactions = []
    remaining = iter([4, 3, 2, 1, 0, 9, 8, 7, 6, 5])  # sec=0 on the fifth page: the client must pause
    while True:
        count = min(UPBIT_PAGE, int((to - day_start).total_seconds() // 60))  # as the client asks
        before = [c for c in candles if dt.datetime.fromisoformat(c["candle_date_time_utc"]) < to]
        page = list(reversed(before[-count:]))
        interactions.append({
            "request": {"method": "GET", "url": UPBIT_URL,
                        "query": {"market": UPBIT_MARKET, "to": to.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                  "count": str(count)}},
            "response": {"status": 200,
                         "headers": {"Content-Type": "application/json;charset=UTF-8",
                                     "Remaining-Req": f"group=candles; min=1800; sec={next(remaining)}"},
                         "json": page},
        })
        oldest = dt.datetime.fromisoformat(page[-1]["candle_date_time_utc"])
        if oldest <= day_start:
            break
        to = oldest
    return {"description": f"Upbit 1-minute candles of {UPBIT_MARKET} for the UTC day {day}, page by page",
            "interactions": interactions}


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    files = {
        f"yahoo_chart_AAPL_{DAY}_1m.json": yahoo_minute_chart("AAPL", seed=1),
        f"yahoo_chart_MSFT_{DAY}_1m.json": yahoo_minute_chart("MSFT", seed=2),
        "yahoo_chart_AAPL_1d.json": yahoo_timezone_probe("AAPL"),
        "yahoo_chart_MSFT_1d.json": yahoo_timezone_probe("MSFT"),
        "yahoo_chart_AAPL_empty.json": yahoo_empty_chart("AAPL"),
        "yahoo_chart_error_1m_window.json": yahoo_window_error(),
        f"upbit_{UPBIT_MARKET}_{DAY}.json": upbit_cassette(DAY, seed=3),
    }
    for name, content in files.items():
        # Yahoo's own bodies are compact; keep ours so too, one response per file.
        (FIXTURES / name).write_text(json.dumps(content, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"{name}: {(FIXTURES / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
