"""Retry a call with exponential backoff; the sleep is injectable so tests run instantly and can count waits.

A dozen lines rather than a dependency: ``backoff`` (in the environment only through gql) cannot take a sleep
function, and the Dagster layer adds its own RetryPolicy on top, so the clients only need a few quick tries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from stockmart_assets.lib.market.errors import MarketDataUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)


def backoff_delays(tries: int, base_delay: float, max_delay: float) -> list[float]:
    """The waits between ``tries`` attempts: base, 2*base, 4*base, ... capped at ``max_delay``."""
    return [min(max_delay, base_delay * 2**i) for i in range(max(tries - 1, 0))]


def call_with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    tries: int = 3,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it returns, retrying ``MarketDataUnavailable``; the last failure propagates as is.

    A ``retry_after`` on the error (the server's Retry-After) replaces the backoff delay, capped at ``max_delay``.
    """
    if tries < 1:
        raise ValueError(f"tries must be at least 1, got {tries}")
    delays = backoff_delays(tries, base_delay, max_delay)
    for attempt in range(1, tries + 1):
        try:
            return fn()
        except MarketDataUnavailable as exc:
            if attempt == tries:
                raise
            delay = delays[attempt - 1] if exc.retry_after is None else min(exc.retry_after, max_delay)
            log.warning("%s: attempt %d/%d failed (%s); retrying in %.1fs", what, attempt, tries, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")
