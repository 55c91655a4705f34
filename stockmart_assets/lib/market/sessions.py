"""When the US stock market trades: NYSE sessions (holidays, weekends, early closes) from ``exchange_calendars``.

The calendar is maintained upstream (XNYS), so a new holiday or a one-off closure comes with a package update,
not with an edit here. Building the calendar takes a fraction of a second: it is built once per process.
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd

EXCHANGE = "XNYS"


@functools.lru_cache(maxsize=4)
def _calendar(start_year: int | None = None):
    import exchange_calendars as xcals

    if start_year is None:
        return xcals.get_calendar(EXCHANGE)  # its default span: 20 years back, 1 year ahead
    return xcals.get_calendar(EXCHANGE, start=f"{start_year}-01-01")


def _calendar_for(day: dt.date):
    cal = _calendar()
    if day < cal.first_session.date():
        cal = _calendar(day.year)
    if day > cal.last_session.date():
        raise ValueError(f"{day} is beyond the {EXCHANGE} calendar's last known session {cal.last_session.date()}")
    return cal


def trading_session(day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The regular session of ``day`` as (open, close) in UTC, or None when the exchange is closed that day.

    A US session (09:30-16:00 New York, or 13:00 on an early close) always falls inside one UTC day.
    """
    cal = _calendar_for(day)
    label = pd.Timestamp(day)
    if not cal.is_session(label):
        return None
    return cal.session_open(label), cal.session_close(label)
