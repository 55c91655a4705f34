"""What a rule is: one business rule, turned into one Deequ constraint and one failing-row predicate.

A ``Rule`` is plain data (``Rule("age", "between", low=18, high=150, inclusive=False)``). Its ``kind`` names
an entry of ``KINDS``, which says, once per kind, which Deequ ``Check`` call enforces it and which Spark SQL
predicate picks the rows that break it. Both follow Deequ's own null handling: a value rule (``in``,
``between``, ``integral``...) lets NULL through, ``complete`` is the rule that catches it, and a
column-against-column comparison (``ge``, ``within``) counts a NULL on either side as a failure.

Two kinds compare rows with other rows, and are checked on a flag column the runner derives first, so that
Deequ still verifies the whole suite in one scan of the data:
- ``unique``: a window counts each key's rows. Deequ's own Uniqueness analyzer is a grouping analyzer, which
  Deequ runs as a second pass over the data: for a frame read from MySQL that means persisting the partition
  or reading it twice.
- ``references``: a left join with the parent table's keys (broadcast when small) marks orphaned foreign keys.

Nothing here imports pydeequ: ``add_to`` receives a ``pydeequ.checks.Check`` and calls its methods. The same
rules check the market data in DuckDB (``lib.market.checks``): a violation predicate is plain SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.deequ.kinds import KINDS, q

ERROR = "error"
WARNING = "warning"
LEVELS = (ERROR, WARNING)

@dataclass(frozen=True)
class Rule:
    """One constraint on a table. ``column`` is a tuple for compound keys and whole-row rules."""

    column: str | tuple[str, ...]
    kind: str
    low: float | None = None
    high: float | None = None
    inclusive: bool = True
    values: tuple[str, ...] = ()
    other: str | tuple[str, ...] | None = None  # column(s) compared in ge / within; (table, column) referenced
    level: str = ERROR
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}; known: {', '.join(KINDS)}")
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {self.level!r}")
        if not self.description:
            object.__setattr__(self, "description", KINDS[self.kind].describe(self))

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if isinstance(self.column, str) else tuple(self.column)

    @property
    def needs_partition(self) -> bool:
        return KINDS[self.kind].needs_partition

    def violation(self, day: Day | None = None) -> str:
        """SQL expression (Spark's, which DuckDB reads too) true on a row that breaks this rule (may use a
        window); ``day``: the partition's, for rules on it."""
        return KINDS[self.kind].violation(self, _day_window(day) if self.needs_partition else None)

    def add_to(self, check: Any, day: Day | None = None, day_column: str | None = None) -> Any:
        """Add this rule's Deequ constraint to a ``pydeequ.checks.Check``; returns the check. A rule on the
        partition's day checks ``day``, or with ``day_column`` each row against the day that column gives it
        (a frame of several days, checked per day: see ``runner``)."""
        window = None
        if self.needs_partition:
            window = _own_day_window(day_column) if day_column else _day_window(day)
        return KINDS[self.kind].add_to(check, self, window)

    def derived_columns(self, group: tuple[str, ...] = ()) -> dict[str, str]:
        """Columns (name -> SQL) the frame needs before Deequ can check this rule; ``group``: columns that
        split the frame into parts checked on their own (the day, for a frame holding several days)."""
        return KINDS[self.kind].derived(self, group) if KINDS[self.kind].derived else {}

    @property
    def parent(self) -> tuple[str, str] | None:
        """(parent table, parent column) of a ``references`` rule; the runner joins it in."""
        return tuple(self.other) if self.kind == "references" else None


def _day_window(day: Day | None) -> tuple[str, str]:
    """[D 00:00, D+1 00:00) as timestamp literals (SQL)."""
    if day is None:
        raise ValueError("this rule checks a partition's day: pass the day")
    return f"TIMESTAMP '{day.start:%Y-%m-%d %H:%M:%S}'", f"TIMESTAMP '{day.end:%Y-%m-%d %H:%M:%S}'"


def _own_day_window(day_column: str) -> tuple[str, str]:
    """[D 00:00, D+1 00:00) of the date D in ``day_column`` (Spark SQL)."""
    return f"CAST({q(day_column)} AS TIMESTAMP)", f"CAST(date_add({q(day_column)}, 1) AS TIMESTAMP)"
