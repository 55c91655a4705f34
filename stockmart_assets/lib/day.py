"""The one day type: a daily partition key, validated once, with what each system needs of it.

A key is exactly ``YYYY-MM-DD``: anything else is refused here, before it can reach a path or a query. A run
covers one day or, as a single-run backfill, a range of consecutive days (``Days``). An unpartitioned table is
``WHOLE``: the explicit stand-in where a day would go, so "no day" is never an empty string or a bare None.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

_KEY = re.compile(r"\d{4}-\d{2}-\d{2}")
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, order=True)
class Day:
    date: dt.date

    @classmethod
    def of(cls, key: str | dt.date | Day) -> Day:
        if isinstance(key, Day):
            return key
        if isinstance(key, dt.date) and not isinstance(key, dt.datetime):
            return cls(key)
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(f"not a daily partition key (YYYY-MM-DD): {key!r}")
        return cls(dt.date.fromisoformat(key))

    @property
    def key(self) -> str:
        return self.date.isoformat()

    def __str__(self) -> str:
        return self.key

    @property
    def start(self) -> dt.datetime:
        """Midnight, naive: the wall-clock start of the day (local time for trades, UTC for bars)."""
        return dt.datetime.combine(self.date, dt.time())

    @property
    def end(self) -> dt.datetime:
        return self.start + ONE_DAY

    @property
    def sql(self) -> str:
        """A DATE literal (the key is validated: nothing else reaches the SQL text)."""
        return f"DATE '{self.key}'"

    @property
    def epoch_millis(self) -> int:
        """Midnight UTC in epoch milliseconds (Deequ's ResultKey date)."""
        return int(dt.datetime.combine(self.date, dt.time(), dt.timezone.utc).timestamp() * 1000)

    def next(self) -> Day:
        return Day(self.date + ONE_DAY)


@dataclass(frozen=True)
class Days:
    """The consecutive days one run covers: a single day, or a single-run backfill's range."""

    first: Day
    last: Day

    @classmethod
    def of(cls, keys: Iterable[str | dt.date | Day]) -> Days:
        days = sorted({Day.of(k) for k in keys})
        if not days:
            raise ValueError("no day given")
        if (days[-1].date - days[0].date).days != len(days) - 1:
            raise ValueError(f"not consecutive days: {', '.join(d.key for d in days)}")
        return cls(days[0], days[-1])

    def __iter__(self) -> Iterator[Day]:
        day = self.first
        while day <= self.last:
            yield day
            day = day.next()

    def __len__(self) -> int:
        return (self.last.date - self.first.date).days + 1

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self]

    @property
    def start(self) -> dt.datetime:
        return self.first.start

    @property
    def end(self) -> dt.datetime:
        return self.last.end

    def __str__(self) -> str:
        return self.first.key if self.first == self.last else f"{self.first.key}..{self.last.key}"


class Whole:
    """An unpartitioned table, where a day would otherwise go."""

    key = None

    def __repr__(self) -> str:
        return "WHOLE"

    def __str__(self) -> str:
        return "whole table"


WHOLE = Whole()
Scope = Day | Whole  # what one check, profile or load covers


def rows_by_day(rows: pa.Table, column: str, days: Days) -> dict[Day, pa.Table]:
    """The rows of each of ``days``, by ``column`` (a DATE, or a timestamp's calendar date as stored)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    day_of_row = pc.cast(rows[column], pa.date32())
    return {day: rows.filter(pc.equal(day_of_row, pa.scalar(day.date, pa.date32()))) for day in days}
