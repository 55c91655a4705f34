"""Errors of the market-data clients, split by what the caller should do about them."""

from __future__ import annotations


class MarketDataError(Exception):
    """The source answered, and the answer is final: a bad market code, a malformed request. Do not retry."""


class MarketDataUnavailable(MarketDataError):
    """The source did not deliver data that should exist: an empty answer on a trading day, throttling, a server
    or network error that outlasted the client's own retries. Retryable: a later run may well succeed.

    ``retry_after`` (seconds) is the source's own hint (an HTTP Retry-After header), when it gave one.
    """

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
