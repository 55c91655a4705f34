"""Which rows of a mart table a replace or a read covers, written once for both warehouses.

A run's days (``Days``: the partition column between its first and last day), a whole unpartitioned table
(``WHOLE``), or the rows matching a key (``Match``: the quality tables, replaced per table, run's days and
suite).
Values reach the SQL text only as DATE literals of validated days and as plain identifiers: nothing from a
file's contents.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from stockmart_assets.lib.day import WHOLE, Day, Days, Whole
from stockmart_assets.lib.warehouse.tables import MartTable

_PLAIN = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclass(frozen=True)
class Match:
    """Rows whose columns equal these values (None: IS NULL; ``Days``: a date within them)."""

    values: tuple[tuple[str, object], ...]

    @classmethod
    def of(cls, **values) -> Match:
        return cls(tuple(values.items()))


Where = Days | Whole | Match


def literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, Day):
        return value.sql
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return Day(value).sql
    if isinstance(value, str) and _PLAIN.match(value):
        return f"'{value}'"
    raise ValueError(f"not a day or a plain name: {value!r}")


def where_sql(table: MartTable, where: Where, quote: Callable[[str], str]) -> str:
    """``where`` as a SQL condition on ``table``; ``quote`` quotes a column in the warehouse's dialect."""
    if where is WHOLE:
        return "TRUE"
    if isinstance(where, Days):
        if not table.partition_column:
            raise ValueError(f"{table.name} has no days: it is not partitioned")
        return _within(quote(table.partition_column), where)
    return " AND ".join(f"{quote(c)} IS NULL" if v is None else _within(quote(c), v) if isinstance(v, Days)
                        else f"{quote(c)} = {literal(v)}" for c, v in where.values)


def _within(column: str, days: Days) -> str:
    return f"{column} >= {days.first.sql} AND {column} <= {days.last.sql}"
