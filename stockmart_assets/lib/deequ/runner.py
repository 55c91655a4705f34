"""Run a suite through Deequ's VerificationSuite, and profile columns with Deequ's analyzers.

Each rule becomes its own Deequ ``Check`` (named by the rule's description, at the rule's level), so every
result maps back to exactly one rule. Deequ computes all of them in one scan of the data: rules that compare
rows (uniqueness, foreign keys) are checked on flag columns derived beforehand (``rules``), so a frame read
from MySQL is read once and need not be persisted. For the failed rules, a few failing rows each are fetched
in one more pass, with each rule's own predicate (``Rule.violation``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from stockmart_assets.lib.day import WHOLE, Day, Scope
from stockmart_assets.lib.deequ.results import ConstraintResult, SuiteResult
from stockmart_assets.lib.deequ.rules import ERROR, Rule
from stockmart_assets.lib.deequ.samples import SAMPLE_SIZE, sample_rows
from stockmart_assets.lib.deequ.spark import prepare_pydeequ
from stockmart_assets.lib.deequ.suites import Suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_RULE, _RANK = "__rule", "__rank"


def run_suite(
    spark: SparkSession,
    df: DataFrame,
    suite: Suite,
    scope: Scope = WHOLE,
    parents: Mapping[str, DataFrame] | None = None,
) -> SuiteResult:
    """Verify ``df`` (one day of ``suite.table``, or the whole table) against ``suite``, in one scan.

    Rules that check the partition's day are skipped for the whole table; ``references`` rules are
    checked against ``parents`` (table name -> frame) and skipped for a parent table it does not hold.
    An empty frame yields ``rows == 0`` and Deequ's failures on empty data (the caller decides what an
    empty partition means).
    """
    prepare_pydeequ()
    from pydeequ.analyzers import Size
    from pydeequ.checks import Check, CheckLevel
    from pydeequ.verification import VerificationResult, VerificationSuite

    from stockmart_assets.lib.deequ.integrity import with_orphan_flags

    parents = parents or {}
    day = scope if isinstance(scope, Day) else None
    partition = scope.key
    rules = [rule for rule in suite.rules if (day is not None or not rule.needs_partition)
             and (rule.parent is None or rule.parent[0] in parents)]
    checked = with_orphan_flags(df, [rule for rule in rules if rule.parent], parents)
    for rule in rules:
        for name, sql in rule.derived_columns().items():
            if name not in checked.columns:
                checked = checked.selectExpr("*", f"{sql} AS `{name}`")

    builder = VerificationSuite(spark).onData(checked)
    for rule in rules:
        level = CheckLevel.Error if rule.level == ERROR else CheckLevel.Warning
        builder = builder.addCheck(rule.add_to(Check(spark, level, rule.description), day))
    size = Size()._set_jvm(spark._jvm)._analyzer_jvm
    builder._VerificationRunBuilder = builder._VerificationRunBuilder.addRequiredAnalyzer(size)
    verification = builder.run()

    metrics = VerificationResult.successMetricsAsJson(spark, verification)
    rows = next((int(m["value"]) for m in metrics if m["entity"] == "Dataset" and m["name"] == "Size"), None)
    by_check = {rule.description: rule for rule in rules}
    records = check_results(spark, verification)
    failed = [by_check[r["check"]] for r in records if r["constraint_status"] != "Success"]
    samples = _failing_rows(checked, df.columns, failed, day) if failed and rows else {}
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
