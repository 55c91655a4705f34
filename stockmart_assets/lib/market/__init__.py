"""Market-data clients: 1-minute bars from Yahoo (through yfinance) and 1-minute candles from Upbit.

Plain Python, no Dagster: the assets call these functions and decide what a failure means for a partition.
``MarketDataUnavailable`` is the one error that says "the source did not deliver, try again later".
"""

from stockmart_assets.lib.market.errors import MarketDataError, MarketDataUnavailable

__all__ = ["MarketDataError", "MarketDataUnavailable"]
