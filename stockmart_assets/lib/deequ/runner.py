"""One Deequ pass over a table's rows: its suite, its anomaly checks and its column profile, per day.

Each rule becomes its own Deequ ``Check`` (named by the rule's description, at the rule's level), so every
result maps back to exactly one rule. Rules that compare rows (uniqueness, foreign keys) are checked on flag
columns derived beforehand (``rules``), so Deequ computes every constraint, the watched metrics (``anomaly``)
and the profile's analyzers (``profile``) in one scan of the data. For the failed rules, a few failing rows
each are fetched in one more pass, with each rule's own predicate (``Rule.violation``).

A run over several days (a single-run backfill) reads them once: the flags are derived over the whole range
(a key is compared only with rows of its own day), the result is persisted sorted by day, and each day is
verified on its own slice of it, in order (a day's anomaly check compares with the days before it, stored by
the same run). So each day gets exactly the results a run of that day alone would give.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stockmart_assets.lib.day import WHOLE, Day, Scope
from stockmart_assets.lib.deequ.anomaly import Watch
from stockmart_assets.lib.deequ.results import ConstraintResult, SuiteResult
from stockmart_assets.lib.deequ.rules import ERROR, Rule
from stockmart_assets.lib.deequ.samples import SAMPLE_SIZE, sample_rows
from stockmart_assets.lib.deequ.spark import prepare_pydeequ
from stockmart_assets.lib.deequ.suites import Suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_RULE, _RANK = "__rule", "__rank"
DAY_COLUMN = "__day"


@dataclass(frozen=True)
class TableScan:
    """What one pass computed for one scope of a table."""

    scope: Scope
    rows: int
    suite: SuiteResult | None = None  # when a suite was given
    anomalies: SuiteResult | None = None  # when a watch was given
    profile: tuple[dict[str, Any], ...] = ()  # when asked for


def scan_table(
    spark: SparkSession,
    df: DataFrame,
    table: str,
    scopes: Sequence[Scope],
    *,
    suite: Suite | None = None,
    parents: Mapping[str, DataFrame] | None = None,
    watch: Watch | None = None,
    profile: bool = False,
    day_column: str | None = None,
) -> Iterator[TableScan]:
    """Verify ``df`` (``table``'s rows of ``scopes``: one day, consecutive days, or ``[WHOLE]``), one result per
    scope, in the scopes' order (see the module).

    Rules that check the partition's day are skipped for the whole table; ``references`` rules are checked
    against ``parents`` (table name -> frame) and skipped for a parent table it does not hold. ``day_column``
    puts a row in its day when ``scopes`` holds several. An empty scope yields ``rows == 0`` and Deequ's
    failures on empty data (the caller decides what an empty partition means); its metrics are not stored.
    """
    prepare_pydeequ()
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from stockmart_assets.lib.deequ.integrity import with_orphan_flags

    if watch is not None and not all(isinstance(s, Day) for s in scopes):
        raise ValueError("anomaly checks compare days: give days")
    several = len(scopes) > 1
    if several and (day_column is None or not all(isinstance(s, Day) for s in scopes)):
        raise ValueError("several scopes must be days, with the column that dates each row")
    rules = [rule for rule in (suite.rules if suite else ())
             if (isinstance(scopes[0], Day) or not rule.needs_partition)
             and (rule.parent is None or rule.parent[0] in (parents or {}))]
    checked = with_orphan_flags(df, [rule for rule in rules if rule.parent], parents or {})
    group: tuple[str, ...] = ()
    if several:
        checked = checked.withColumn(DAY_COLUMN, F.to_date(F.col(f"`{day_column}`")))
        group = (DAY_COLUMN,)
    for rule in rules:
        for name, sql in rule.derived_columns(group).items():
            if name not in checked.columns:
                checked = checked.selectExpr("*", f"{sql} AS `{name}`")
    if several:  # sorted by day, each day's rows fill their own cached batches, which the day's filter prunes to
        checked = checked.sortWithinPartitions(DAY_COLUMN).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        for scope in scopes:
            data = checked.where(F.col(DAY_COLUMN) == F.lit(scope.date)) if several else checked
            yield _scan(spark, data, df, table, scope, rules, suite, watch, profile)
    finally:
        if several:
            checked.unpersist()


def run_suite(
    spark: SparkSession,
    df: DataFrame,
    suite: Suite,
    scope: Scope = WHOLE,
    parents: Mapping[str, DataFrame] | None = None,
) -> SuiteResult:
    """Verify ``df`` (one day of ``suite.table``, or the whole table) against ``suite``, in one scan."""
    [scan] = scan_table(spark, df, suite.table, [scope], suite=suite, parents=parents)
    return scan.suite


def _scan(spark: SparkSession, data: DataFrame, df: DataFrame, table: str, scope: Scope, rules: list[Rule],
          suite: Suite | None, watch: Watch | None, profile: bool) -> TableScan:
    """One VerificationSuite run over ``data`` (the scope's rows with the derived columns)."""
    from pydeequ.analyzers import Size
    from pydeequ.checks import Check, CheckLevel
    from pydeequ.verification import VerificationResult, VerificationSuite

    from stockmart_assets.lib.deequ.profile import profile_analyzers, profile_rows

    day = scope if isinstance(scope, Day) else None
    builder = VerificationSuite(spark).onData(data)
    for rule in rules:
        level = CheckLevel.Error if rule.level == ERROR else CheckLevel.Warning
        builder = builder.addCheck(rule.add_to(Check(spark, level, rule.description), day))
    baselines = watch.add_checks(spark, builder, table, day) if watch else []
    for analyzer in [Size(), *(profile_analyzers(df.schema) if profile else [])]:
        builder._VerificationRunBuilder = builder._VerificationRunBuilder.addRequiredAnalyzer(
            analyzer._set_jvm(spark._jvm)._analyzer_jvm)
    verification = builder.run()

    # As a frame, not JSON: Deequ's JSON writer refuses the NaN ratios of an empty column's type histogram.
    metrics = {(m["instance"], m["name"]): m["value"]
               for m in VerificationResult.successMetricsAsDataFrame(spark, verification).collect()}
    rows = int(metrics.get(("*", "Size"), 0))
    records = check_results(spark, verification)
    watched = watch.checks if watch else set()
    suite_result = None
    if suite is not None:
        by_check = {rule.description: rule for rule in rules}
        mine = [r for r in records if r["check"] not in watched]
        failed = [by_check[r["check"]] for r in mine if r["constraint_status"] != "Success"]
        samples = _failing_rows(data, df.columns, failed, day) if failed and rows else {}
        order = {rule.description: i for i, rule in enumerate(rules)}
        results = sorted((ConstraintResult(table, scope.key, rule=by_check[r["check"]],
                                           failing_rows=samples.get(r["check"], ()), **r) for r in mine),
                         key=lambda r: order[r.check])
        suite_result = SuiteResult(table, scope.key, tuple(results), rows=rows)
    anomalies = None
    if watch is not None:
        checked = [ConstraintResult(table, scope.key, **r) for r in records if r["check"] in watched]
        anomalies = SuiteResult(table, scope.key, watch.order(checked + baselines), rows=rows)
        if rows:
            watch.save(spark, verification, table, day)
    return TableScan(scope, rows, suite_result, anomalies,
                     tuple(profile_rows(df.schema, table, metrics)) if profile else ())


def check_results(spark: SparkSession, verification: Any) -> list[dict[str, str]]:
    """Deequ's check results (VerificationResult.checkResultsAsJson), one dict per constraint."""
    from pydeequ.verification import VerificationResult

    fields = ("check", "check_level", "check_status", "constraint", "constraint_status", "constraint_message")
    records = VerificationResult.checkResultsAsJson(spark, verification)
    return [{key: record[key] for key in fields} for record in records]


def _failing_rows(
    checked: DataFrame, columns: list[str], rules: list[Rule], day: Day | None
) -> dict[str, tuple[dict, ...]]:
    """Up to SAMPLE_SIZE rows breaking each of ``rules``, by rule description, in one pass over the data."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cols = [F.col(f"`{c}`") for c in columns]
    broken = F.array(*[
        F.when(F.coalesce(F.expr(rule.violation(day)), F.lit(False)), F.lit(i)) for i, rule in enumerate(rules)
    ])
    per_rule = (
        checked.select(*cols, F.filter(broken, lambda i: i.isNotNull()).alias(_RULE))
        .select(*cols, F.explode(_RULE).alias(_RULE))
        .withColumn(_RANK, F.row_number().over(Window.partitionBy(_RULE).orderBy(F.lit(0))))
        .where(F.col(_RANK) <= SAMPLE_SIZE)
    )
    samples: dict[str, list[dict]] = {rule.description: [] for rule in rules}
    for row in sample_rows(per_rule.drop(_RANK), limit=None):
        samples[rules[row.pop(_RULE)].description].append(row)
    return {description: tuple(rows) for description, rows in samples.items()}
