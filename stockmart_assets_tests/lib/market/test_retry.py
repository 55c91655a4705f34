"""The clients' retry helper: exponential backoff, the server's Retry-After, and nothing but retryable errors."""

from __future__ import annotations

import pytest

from stockmart_assets.lib.market.errors import MarketDataUnavailable
from stockmart_assets.lib.market.retry import backoff_delays, call_with_retries


def test_backoff_is_exponential_and_capped():
    assert backoff_delays(5, 2.0, 10.0) == [2.0, 4.0, 8.0, 10.0]
    assert backoff_delays(1, 2.0, 10.0) == []


def test_retry_honours_the_servers_hint_and_gives_up_after_the_last_try():
    waits, calls = [], []

    def flaky():
        calls.append(1)
        raise MarketDataUnavailable("busy", retry_after=7.0 if len(calls) == 1 else None)

    with pytest.raises(MarketDataUnavailable, match="busy"):
        call_with_retries(flaky, what="test", tries=3, base_delay=1.0, sleep=waits.append)
    assert len(calls) == 3
    assert waits == [7.0, 2.0]


def test_other_errors_are_not_retried():
    calls = []

    def broken():
        calls.append(1)
        raise KeyError("format changed")

    with pytest.raises(KeyError):
        call_with_retries(broken, what="test", tries=3, sleep=lambda s: None)
    assert len(calls) == 1
