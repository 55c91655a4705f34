"""The market stage's resource: what to fetch, and the seams a test replays recorded answers through."""

import datetime as dt
import time

import dagster as dg
from pydantic import Field


class MarketResource(dg.ConfigurableResource):
    """What to fetch from the market-data sources. The HTTP session, the clock and the pause between retries are
    methods, so a test can subclass the resource to replay recorded responses without waiting."""

    # The service's listed tickers (lib.market.yfinance_bars.DEFAULT_TICKERS, which imports pandas: repeated here
    # to keep it out of definition load time; a test pins the two together).
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
