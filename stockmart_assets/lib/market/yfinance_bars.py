"""1-minute US stock bars from Yahoo through ``yfinance``, in the columns of ``stock/<TICKER>_data.csv``.

yfinance does not raise when Yahoo throttles it or the network is down: it logs an error and returns an empty
frame, which is indistinguishable from "no trading". So the exchange calendar decides what an empty answer
means: on an NYSE trading day it is a failure (``MarketDataUnavailable``, retried here a few times, then left to
the caller's retry policy); on a holiday or weekend there is nothing to fetch and no request is made.

yfinance keeps process-wide state: one shared HTTP session (passing ``session=`` replaces it) and an in-memory
cache of responses for past date ranges. The cache is cleared before each attempt, or a retry would be served
the very empty answer it is retrying.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pandas as pd

from stockmart_assets.lib.landing.contract import STOCK_PRICE
from stockmart_assets.lib.market.errors import MarketDataUnavailable
from stockmart_assets.lib.market.retry import call_with_retries
from stockmart_assets.lib.market.sessions import EXCHANGE, trading_session

DEFAULT_TICKERS = ("AAPL", "AMZN", "GOOGL", "META", "MSFT")
# Company as the service's export writes it; any other ticker is its own company name.
COMPANIES = {"AAPL": "Apple", "AMZN": "Amazon", "GOOGL": "Google", "META": "Meta", "MSFT": "Microsoft"}

# The landing file's columns, in order, as the contract names them in the file (yfinance's own names).
BAR_COLUMNS = [c.header for c in STOCK_PRICE.columns]
_DTYPES = {"TIMESTAMPTZ": "datetime64[ns, UTC]", "DOUBLE": "float64", "BIGINT": "int64", "VARCHAR": "object"}
BAR_DTYPES = {c.header: _DTYPES[c.type] for c in STOCK_PRICE.columns}
TS, COMPANY, TICKER = (STOCK_PRICE.column(n).header for n in ("ts", "company", "ticker"))
PRICE_COLUMNS = [c for c in BAR_COLUMNS if c not in (TS, COMPANY, TICKER)]  # Close High Low Open Volume

INTRADAY_WINDOW_DAYS = 30  # Yahoo serves 1-minute bars for the last 30 days only

log = logging.getLogger(__name__)


def empty_bars() -> pd.DataFrame:
    """A frame with the landing columns and types and no row: the valid content of a non-trading day."""
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in BAR_DTYPES.items()})


def company_name(ticker: str) -> str:
    return COMPANIES.get(ticker, ticker)


def fetch_bars(
    tickers: Sequence[str],
    day: dt.date,
    *,
    session=None,
    tries: int = 3,
    base_delay: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    now: dt.datetime | None = None,
) -> pd.DataFrame:
    """The regular-session 1-minute bars of ``day`` (a UTC date) for each ticker, in the landing format.

    Columns: Datetime (UTC, tz-aware: the bar's start), Close, High, Low, Open, Volume, Company, ticker; rows
    sorted by ticker (in the order given) then time. On a day the NYSE is closed the frame is empty and no
    request is made. ``session`` (a ``curl_cffi`` or ``requests`` Session) is handed to yfinance; None keeps
    yfinance's own. Raises ``MarketDataUnavailable`` when Yahoo has no bar for a ticker on a trading day after
    ``tries`` attempts, or when the session has not closed yet (its bars would be incomplete).
    """
    hours = trading_session(day)
    if not tickers:
        return empty_bars()
    if hours is None:
        log.info("%s: %s is closed on %s, no bars to fetch", ", ".join(tickers), EXCHANGE, day)
        return empty_bars()
    session_open, session_close = hours
    now = pd.Timestamp(now or dt.datetime.now(dt.timezone.utc))
    if now < session_close:
        raise MarketDataUnavailable(
            f"the {EXCHANGE} session of {day} closes at {session_close} (UTC); its bars are not complete yet"
        )
    frames = []
    for ticker in tickers:
        frames.append(call_with_retries(
            lambda ticker=ticker: _fetch_ticker(ticker, day, session_open, session_close, session, now),
            what=f"Yahoo 1m bars {ticker} {day}", tries=tries, base_delay=base_delay, sleep=sleep,
        ))
    return pd.concat(frames, ignore_index=True)


def _fetch_ticker(
    ticker: str, day: dt.date, session_open: pd.Timestamp, session_close: pd.Timestamp, session, now: pd.Timestamp
) -> pd.DataFrame:
    """One attempt: ask yfinance for the session's bars; raise ``MarketDataUnavailable`` if none come back."""
    import yfinance as yf
    from yfinance.exceptions import YFException

    _forget_cached_responses()
    failure = None
    with _yfinance_errors(ticker) as said:
        try:
            history = yf.Ticker(ticker, session=session).history(
                interval="1m", start=session_open.to_pydatetime(), end=session_close.to_pydatetime(),
                prepost=False, auto_adjust=False, actions=False, timeout=30,
            )
        except (YFException, OSError, *_transport_errors()) as exc:  # throttled (YFRateLimitError), offline
            history, failure = None, f"{type(exc).__name__}: {exc}"
    bars = _to_landing(history, ticker, session_open, session_close) if history is not None else empty_bars()
    if bars.empty:
        reason = failure or (said[-1] if said else "an empty answer")
        hint = ""
        if (now.date() - day).days > INTRADAY_WINDOW_DAYS:
            hint = f" (Yahoo serves 1-minute bars for the last {INTRADAY_WINDOW_DAYS} days only)"
        raise MarketDataUnavailable(
            f"Yahoo's 1-minute bars of {ticker} for {day} are unavailable: {day} is an {EXCHANGE} trading day "
            f"({session_open:%H:%M}-{session_close:%H:%M} UTC) but no bar came back{hint}; "
            f"yfinance said: {reason}"
        )
    return bars


def _to_landing(
    history: pd.DataFrame, ticker: str, session_open: pd.Timestamp, session_close: pd.Timestamp
) -> pd.DataFrame:
    if history.empty:
        return empty_bars()
    index = history.index if history.index.tz is not None else history.index.tz_localize("UTC")
    bars = pd.DataFrame({TS: index.tz_convert("UTC")})
    for column in PRICE_COLUMNS:
        bars[column] = history[column].to_numpy()
    bars[COMPANY] = company_name(ticker)
    bars[TICKER] = ticker
    in_session = (bars[TS] >= session_open) & (bars[TS] < session_close)
    return bars.loc[in_session].astype(BAR_DTYPES).sort_values(TS).reset_index(drop=True)


def _forget_cached_responses() -> None:
    """Empty yfinance's in-memory cache of responses (it keeps answers for past date ranges, empty ones too)."""
    from yfinance.data import YfData

    cache_clear = getattr(YfData.cache_get, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def _transport_errors() -> tuple[type[BaseException], ...]:
    import requests

    errors: list[type[BaseException]] = [requests.exceptions.RequestException]
    try:
        from curl_cffi.requests.exceptions import RequestException as CurlRequestException
    except ImportError:  # yfinance falls back to requests without curl_cffi
        pass
    else:
        errors.append(CurlRequestException)
    return tuple(errors)


class _Collect(logging.Handler):
    def __init__(self, ticker: str):
        super().__init__(logging.ERROR)
        self.ticker = ticker
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if self.ticker in message:
            self.messages.append(message)


@contextmanager
def _yfinance_errors(ticker: str) -> Iterator[list[str]]:
    """What yfinance logs as an error about ``ticker`` meanwhile (it logs instead of raising)."""
    handler = _Collect(ticker)
    logger = logging.getLogger("yfinance")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
