"""Run a suite through Deequ's VerificationSuite, and profile columns with Deequ's analyzers.

Each rule becomes its own Deequ ``Check`` (named by the rule's description, at the rule's level), so every
result maps back to exactly one rule. Deequ computes all of them in one scan of the data: rules that compare
rows (uniqueness, foreign keys) are checked on flag columns derived beforehand (``rules``), so a frame read
from MySQL is read once and need not be persisted. For the failed rules, a few failing rows each are fetched
in one more pass, with each rule's own predicate (``Rule.violation``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from stockmart_assets.quality.rules import ERROR, Rule
from stockmart_assets.quality.samples import SAMPLE_SIZE, sample_rows
from stockmart_assets.quality.spark import prepare_pydeequ
from stockmart_assets.quality.suites import Suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_RULE, _RANK = "__rule", "__rank"


@dataclass(frozen=True)
class ConstraintResult:
    """One row of Deequ's check results, with the table, partition, rule and failing rows it concerns."""

    table: str
    partition: str | None
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


def run_suite(
    spark: SparkSession,
    df: DataFrame,
    suite: Suite,
    partition: str | None = None,
    parents: Mapping[str, DataFrame] | None = None,
) -> SuiteResult:
    """Verify ``df`` (one partition of ``suite.table``, or the whole table) against ``suite``, in one scan.

    Rules that check the partition's day are skipped when ``partition`` is None; ``references`` rules are
    checked against ``parents`` (table name -> frame) and skipped for a parent table it does not hold.
    An empty frame yields ``rows == 0`` and Deequ's failures on empty data (the caller decides what an
    empty partition means).
    """
    prepare_pydeequ()
    from pydeequ.analyzers import Size
    from pydeequ.checks import Check, CheckLevel
    from pydeequ.verification import VerificationResult, VerificationSuite

    from stockmart_assets.quality.integrity import with_orphan_flags

    parents = parents or {}
    rules = [rule for rule in suite.rules if (partition is not None or not rule.needs_partition)
             and (rule.parent is None or rule.parent[0] in parents)]
    checked = with_orphan_flags(df, [rule for rule in rules if rule.parent], parents)
    for rule in rules:
        for name, sql in rule.derived_columns().items():
            if name not in checked.columns:
                checked = checked.selectExpr("*", f"{sql} AS `{name}`")

    builder = VerificationSuite(spark).onData(checked)
    for rule in rules:
        level = CheckLevel.Error if rule.level == ERROR else CheckLevel.Warning
        builder = builder.addCheck(rule.add_to(Check(spark, level, rule.description), partition))
    size = Size()._set_jvm(spark._jvm)._analyzer_jvm
    builder._VerificationRunBuilder = builder._VerificationRunBuilder.addRequiredAnalyzer(size)
    verification = builder.run()

    metrics = VerificationResult.successMetricsAsJson(spark, verification)
    rows = next((int(m["value"]) for m in metrics if m["entity"] == "Dataset" and m["name"] == "Size"), None)
    by_check = {rule.description: rule for rule in rules}
    records = check_results(spark, verification)
    failed = [by_check[r["check"]] for r in records if r["constraint_status"] != "Success"]
    samples = _failing_rows(checked, df.columns, failed, partition) if failed and rows else {}
    results = [
        ConstraintResult(suite.table, partition, rule=by_check[r["check"]],
                         failing_rows=samples.get(r["check"], ()), **r)
        for r in records
    ]
    order = {rule.description: i for i, rule in enumerate(rules)}
    results.sort(key=lambda r: order[r.check])
    return SuiteResult(suite.table, partition, tuple(results), rows=rows)


def check_results(spark: SparkSession, verification: Any) -> list[dict[str, str]]:
    """Deequ's check results (VerificationResult.checkResultsAsJson), one dict per constraint."""
    from pydeequ.verification import VerificationResult

    fields = ("check", "check_level", "check_status", "constraint", "constraint_status", "constraint_message")
    records = VerificationResult.checkResultsAsJson(spark, verification)
    return [{key: record[key] for key in fields} for record in records]


def _failing_rows(
    checked: DataFrame, columns: list[str], rules: list[Rule], partition: str | None
) -> dict[str, tuple[dict, ...]]:
    """Up to SAMPLE_SIZE rows breaking each of ``rules``, by rule description, in one pass over the data."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cols = [F.col(f"`{c}`") for c in columns]
    broken = F.array(*[
        F.when(F.coalesce(F.expr(rule.violation(partition)), F.lit(False)), F.lit(i)) for i, rule in enumerate(rules)
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


_INTEGRAL = ("tinyint", "smallint", "int", "bigint")
_FRACTIONAL = ("float", "double", "decimal")


def profile_columns(spark: SparkSession, df: DataFrame, table: str) -> list[dict[str, Any]]:
    """Deequ's column profile: completeness, approximate distinct count, data type, numeric statistics.

    The metrics of Deequ's ColumnProfiler, computed by Deequ's analyzers in one scan (``AnalysisRunner``):
    the profiler itself makes two to three passes (generic statistics, numeric statistics, histograms) and
    took 10-18 s on a million trades where one pass takes ~2 s (BENCHMARKS.md). ``data_type`` is decided as
    the profiler does: from the schema for numeric columns (Integral, Fractional), by Deequ's ``DataType``
    inference for the others (it calls timestamps String); ``spark_type`` is the frame's. ``mean``,
    ``stddev``, ``min`` and ``max`` are given for numeric columns, None for the others, and for every column
    of an empty frame (Deequ has no value for them).
    """
    prepare_pydeequ()
    from pydeequ.analyzers import (AnalysisRunner, AnalyzerContext, ApproxCountDistinct, Completeness,
                                   DataType, Maximum, Mean, Minimum, Size, StandardDeviation)

    kinds = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    numeric = {c: _numeric_kind(t) for c, t in kinds.items() if _numeric_kind(t)}
    builder = AnalysisRunner(spark).onData(df).addAnalyzer(Size())
    for column in df.columns:
        builder = builder.addAnalyzer(Completeness(column)).addAnalyzer(ApproxCountDistinct(column))
        analyzers = (Mean, StandardDeviation, Minimum, Maximum) if column in numeric else (DataType,)
        for analyzer in analyzers:
            builder = builder.addAnalyzer(analyzer(column))
    metrics: dict[str, dict[str, float]] = {}
    # As a frame, not JSON: Deequ's JSON writer refuses the NaN ratios of an empty column's type histogram.
    for m in AnalyzerContext.successMetricsAsDataFrame(spark, builder.run()).collect():
        metrics.setdefault(m["instance"], {})[m["name"]] = m["value"]

    rows = []
    for column in df.columns:
        got = metrics.get(column, {})
        rows.append({
            "table": table,
            "column": column,
            "completeness": got.get("Completeness"),
            "approx_distinct": got.get("ApproxCountDistinct"),
            "data_type": numeric.get(column) or _inferred_type(got),
            "spark_type": kinds[column],
            "mean": got.get("Mean"),
            "stddev": got.get("StandardDeviation"),
            "min": got.get("Minimum"),
            "max": got.get("Maximum"),
        })
    return rows


def _numeric_kind(spark_type: str) -> str | None:
    if spark_type.startswith(_INTEGRAL):
        return "Integral"
    if spark_type.startswith(_FRACTIONAL):
        return "Fractional"
    return None


def _inferred_type(metrics: dict[str, float]) -> str:
    """Deequ's DataTypeHistogram.determineType over the DataType analyzer's counts (NULLs count as Unknown)."""
    seen = {kind for kind in ("String", "Boolean", "Fractional", "Integral")
            if metrics.get(f"Histogram.abs.{kind}", 0) > 0}
    if not seen:
        return "Unknown"
    if "String" in seen or ("Boolean" in seen and len(seen) > 1):
        return "String"
    for kind in ("Boolean", "Fractional", "Integral"):
        if kind in seen:
            return kind
    return "Unknown"
