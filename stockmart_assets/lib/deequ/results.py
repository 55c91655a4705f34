"""A suite's outcome: Deequ's check results, one per rule, with the table, the day and the failing rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stockmart_assets.lib.deequ.rules import Rule


@dataclass(frozen=True)
class ConstraintResult:
    """One row of Deequ's check results, with the table, partition, rule and failing rows it concerns."""

    table: str
    partition: str | None  # the day's key; None for a whole table
    check: str
    check_level: str  # Deequ's: "Error" | "Warning"
    check_status: str  # "Success" | "Warning" | "Error"
    constraint: str
    constraint_status: str  # "Success" | "Failure"
    constraint_message: str
    rule: Rule | None = None  # None for anomaly checks
    failing_rows: tuple[dict[str, Any], ...] = ()

    @property
    def failed(self) -> bool:
        return self.constraint_status != "Success"

    def as_record(self) -> dict[str, Any]:
        """The result in the shape of Deequ's checkResultsAsDataFrame, plus table, partition and samples."""
        return {
            "table": self.table,
            "partition": self.partition,
            "check": self.check,
            "check_level": self.check_level,
            "check_status": self.check_status,
            "constraint": self.constraint,
            "constraint_status": self.constraint_status,
            "constraint_message": self.constraint_message,
            "failing_rows": list(self.failing_rows),
        }


@dataclass(frozen=True)
class SuiteResult:
    table: str
    partition: str | None
    results: tuple[ConstraintResult, ...] = field(default_factory=tuple)
    rows: int | None = None  # rows verified (Deequ's Size), when the run measured it

    @property
    def passed(self) -> bool:
        """No error-level constraint failed (warnings do not block)."""
        return not any(r.failed and r.check_level == "Error" for r in self.results)

    @property
    def failures(self) -> list[ConstraintResult]:
        return [r for r in self.results if r.failed]

    def result(self, check: str) -> ConstraintResult:
        for result in self.results:
            if result.check == check:
                return result
        raise KeyError(f"no result for check {check!r} of {self.table}")

    def records(self) -> list[dict[str, Any]]:
        return [r.as_record() for r in self.results]
