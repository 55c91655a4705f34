"""The market-data fixtures (``support/market.py``): no network, recorded responses, a throwaway yfinance cache."""

from stockmart_assets_tests.support.market import http, no_network, sleeps, yfinance_cache  # noqa: F401
