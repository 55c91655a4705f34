"""How each kind of rule is checked: its Deequ constraint, its failing-row predicate, its description.

One entry per kind (``KINDS``); ``rules.Rule`` names one. Predicates are SQL that Spark and DuckDB both read
(column names are quoted for Spark, and DuckDB's reader is given them transpiled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from stockmart_assets.lib.deequ.rules import Rule

# Derived column some rules check (Deequ analyzers take a column name, not an expression).
MISSING_SHARE_COLUMN = "__missing_share"


def flag_column(rule: Rule) -> str:
    """The derived boolean column that is true on a row breaking a ``unique`` or ``references`` rule."""
    return f"__{rule.kind}__{'__'.join(rule.columns)}"


@dataclass(frozen=True)
class Kind:
    describe: Callable[[Rule], str]
    add_to: Callable[[Any, Rule, tuple[str, str] | None], Any]
    violation: Callable[[Rule, tuple[str, str] | None], str]
    needs_partition: bool = False
    # Columns the runner derives first; ``group``: columns that split the frame into independent parts (the
    # day, when one frame holds several days), so a row is compared only with rows of its own part.
    derived: Callable[[Rule, tuple[str, ...]], dict[str, str]] | None = None


def q(column: str) -> str:
    """Quote a column name for Spark SQL."""
    return f"`{column}`"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _literal(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _integral(rule: Rule) -> str:
    c = q(rule.column)
    return f"{c} IS NULL OR {c} = floor({c})"


def _between(rule: Rule) -> str:
    c, low, high = q(rule.column), _number(rule.low), _number(rule.high)
    below, above = ("<", ">") if rule.inclusive else ("<=", ">=")
    return f"{c} {below} {low} OR {c} {above} {high}"


def _within(rule: Rule) -> str:
    low, high = rule.other
    return f"{q(rule.column)} BETWEEN {q(low)} AND {q(high)}"


def _in_day(rule: Rule, window: tuple[str, str]) -> str:
    c = q(rule.column)
    return f"{c} IS NULL OR ({c} >= {window[0]} AND {c} < {window[1]})"


def _missing_share(rule: Rule, group: tuple[str, ...] = ()) -> dict[str, str]:
    nulls = " + ".join(f"CAST({q(c)} IS NULL AS INT)" for c in rule.columns)
    return {MISSING_SHARE_COLUMN: f"({nulls}) / {len(rule.columns)}.0"}


def _set(check: Any, scala_check: Any) -> Any:
    """Adopt a constraint added through py4j directly (for Deequ calls pydeequ does not wrap)."""
    check._Check = scala_check
    return check


def _duplicated(rule: Rule, group: tuple[str, ...] = ()) -> dict[str, str]:
    # Deequ's semantics: a key is unique when it occurs once among the rows whose key is not all NULL.
    keys = ", ".join(q(c) for c in (*group, *rule.columns))
    not_null = " OR ".join(f"{q(c)} IS NOT NULL" for c in rule.columns)
    return {flag_column(rule): f"({not_null}) AND count(1) OVER (PARTITION BY {keys}) > 1"}


def _flag_is_clear(check: Any, rule: Rule) -> Any:
    """Deequ's compliance of 'the derived flag is not set' must be 1.0."""
    return check.satisfies(f"NOT coalesce({q(flag_column(rule))}, false)", rule.description)


def _numeric_range(check: Any, rule: Rule) -> Any:
    # Deequ's isContainedIn(column, lower, upper, includeLower, includeUpper): pydeequ only wraps the
    # string-set overload, so this one is called through py4j.
    none = check._jvm.scala.Option.apply(None)
    return _set(check, check._Check.isContainedIn(
        rule.column, float(rule.low), float(rule.high), rule.inclusive, rule.inclusive, none, none))


def _not(condition: str) -> str:
    return f"NOT coalesce({condition}, false)"


KINDS: dict[str, Kind] = {
    "complete": Kind(
        describe=lambda r: f"{r.column} is complete",
        add_to=lambda check, r, w: check.isComplete(r.column),
        violation=lambda r, w: f"{q(r.column)} IS NULL",
    ),
    "unique": Kind(
        describe=lambda r: f"{r.column if len(r.columns) == 1 else '(' + ', '.join(r.columns) + ')'} is unique",
        derived=_duplicated,
        add_to=lambda check, r, w: _flag_is_clear(check, r),
        violation=lambda r, w: f"coalesce({q(flag_column(r))}, false)",
    ),
    "references": Kind(
        describe=lambda r: f"{r.column} references {r.other[0]}",
        add_to=lambda check, r, w: _flag_is_clear(check, r),
        violation=lambda r, w: f"coalesce({q(flag_column(r))}, false)",
    ),
    "integral": Kind(
        describe=lambda r: f"{r.column} is integral",
        add_to=lambda check, r, w: check.satisfies(_integral(r), r.description),
        violation=lambda r, w: _not(_integral(r)),
    ),
    "non_negative": Kind(
        describe=lambda r: f"{r.column} is non-negative",
        add_to=lambda check, r, w: check.isNonNegative(r.column),
        violation=lambda r, w: f"{q(r.column)} < 0",
    ),
    "positive": Kind(
        describe=lambda r: f"{r.column} is positive",
        add_to=lambda check, r, w: check.isPositive(r.column),
        violation=lambda r, w: f"{q(r.column)} <= 0",
    ),
    "between": Kind(
        describe=lambda r: (
            f"{r.column} is between {_number(r.low)} and {_number(r.high)} "
            f"({'inclusive' if r.inclusive else 'exclusive'})"
        ),
        add_to=lambda check, r, w: _numeric_range(check, r),
        violation=lambda r, w: _between(r),
    ),
    "below": Kind(
        describe=lambda r: f"{r.column} is below {int(r.high):,}" if float(r.high).is_integer()
        else f"{r.column} is below {r.high}",
        add_to=lambda check, r, w: check.hasMax(r.column, lambda maximum, high=r.high: maximum < high),
        violation=lambda r, w: f"{q(r.column)} >= {_number(r.high)}",
    ),
    "in": Kind(
        describe=lambda r: f"{r.column} is one of {', '.join(r.values)}",
        add_to=lambda check, r, w: check.isContainedIn(r.column, list(r.values)),
        violation=lambda r, w: (
            f"{q(r.column)} IS NOT NULL AND {q(r.column)} NOT IN "
            f"({', '.join(_literal(v) for v in r.values)})"
        ),
    ),
    "ge": Kind(
        describe=lambda r: f"{r.column} >= {r.other}",
        add_to=lambda check, r, w: check.isGreaterThanOrEqualTo(r.column, r.other),
        violation=lambda r, w: _not(f"{q(r.column)} >= {q(r.other)}"),
    ),
    "within": Kind(
        describe=lambda r: f"{r.column} is within [{r.other[0]}, {r.other[1]}]",
        add_to=lambda check, r, w: check.satisfies(_within(r), r.description),
        violation=lambda r, w: _not(_within(r)),
    ),
    "in_partition_day": Kind(
        describe=lambda r: f"{r.column} is inside the partition's day",
        add_to=lambda check, r, w: check.satisfies(_in_day(r, w), r.description),
        violation=lambda r, w: _not(_in_day(r, w)),
        needs_partition=True,
    ),
    "missing_share": Kind(
        describe=lambda r: f"share of missing cells is below {r.high:.0%}",
        derived=_missing_share,
        add_to=lambda check, r, w: check.hasMean(
            MISSING_SHARE_COLUMN, lambda share, high=r.high: share < high),
        violation=lambda r, w: f"{q(MISSING_SHARE_COLUMN)} > 0",
    ),
}
