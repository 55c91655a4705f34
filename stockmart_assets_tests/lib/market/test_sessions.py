"""NYSE sessions from the maintained exchange calendar: holidays, weekends, early closes, daylight saving."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from stockmart_assets.lib.market.sessions import trading_session


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize(("day", "expected"), [
    (dt.date(2024, 12, 26), (utc("2024-12-26 14:30"), utc("2024-12-26 21:00"))),  # winter: EST
    (dt.date(2024, 7, 2), (utc("2024-07-02 13:30"), utc("2024-07-02 20:00"))),  # summer: EDT
    (dt.date(2024, 12, 24), (utc("2024-12-24 14:30"), utc("2024-12-24 18:00"))),  # early close, 13:00 EST
    (dt.date(2024, 7, 3), (utc("2024-07-03 13:30"), utc("2024-07-03 17:00"))),  # early close, 13:00 EDT
    (dt.date(2024, 12, 25), None),  # Christmas
    (dt.date(2024, 12, 28), None),  # Saturday
    (dt.date(2025, 1, 9), None),  # national day of mourning (President Carter): a one-off closure
])
def test_trading_session(day, expected):
    assert trading_session(day) == expected


def test_an_old_day_is_still_known():
    assert trading_session(dt.date(2001, 9, 11)) is None  # markets closed after the attacks
    assert trading_session(dt.date(2001, 9, 17)) == (utc("2001-09-17 13:30"), utc("2001-09-17 20:00"))
