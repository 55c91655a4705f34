"""One Deequ pass over a table's rows: its suite, its anomaly checks and its column profile, per day.

Each rule becomes its own Deequ ``Check`` (named by the rule's description, at the rule's level), so every
result maps back to exactly one rule. Rules that compare rows (uniqueness, foreign keys) are checked on flag
columns derived beforehand (``rules``), so every analyzer the checks, the watched metrics (``anomaly``) and
the profile (``profile``) need is scan-shareable: Deequ computes its state with aggregate functions.

The pass is Deequ's own scan-sharing (``AnalysisRunner``'s single aggregation over the data), with the day
as a grouping: a run over several days (a single-run backfill) reads them once, aggregates every analyzer
per day in one Spark job, and then, day by day and in order, turns each day's aggregates into Deequ's metrics
(``metricFromAggregationResult``, as Deequ does), evaluates that day's checks on them (``Check.evaluate``,
anomaly checks included: a day is compared with the days before it, stored by the same run) and stores its
watched metrics. So each day gets exactly the results a run of that day alone would give. A rule on the
partition's day has a check per day (its bounds are in the constraint), but one analyzer, comparing each row
with the day it is grouped in, is aggregated for all of them: the work per row does not grow with the days.
For the failed rules, a few failing rows each are fetched in one more pass, with each rule's own predicate
(``Rule.violation``): bad data is read twice, good data once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stockmart_assets.lib.day import WHOLE, Day, Scope
from stockmart_assets.lib.deequ.anomaly import History, Watch
from stockmart_assets.lib.deequ.jvm import names
from stockmart_assets.lib.deequ.results import ConstraintResult, SuiteResult
from stockmart_assets.lib.deequ.rules import ERROR, Rule
from stockmart_assets.lib.deequ.samples import SAMPLE_SIZE, sample_rows
from stockmart_assets.lib.deequ.spark import prepare_pydeequ
from stockmart_assets.lib.deequ.suites import Suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_RULE, _RANK = "__rule", "__rank"
DAY_COLUMN = "__day"
_WHOLE_STAGE = "spark.sql.codegen.wholeStage"
# A pass that reads no more rows than this evaluates Spark's expressions as they are (``interpreted``): on a few
# thousand rows, compiling each plan's generated code costs more than running it, most of all in a fresh JVM.
# Past some tens of thousands of rows the compiled code wins, and wins more as the rows grow. Such a pass is also
# planned once, not stage by stage (adaptive execution re-plans after each shuffle and broadcast to size the
# next stages: on a few thousand rows there is nothing to size), and shuffles into one partition.
INTERPRETED_MAX_ROWS = 20_000
_FEW_ROWS = {_WHOLE_STAGE: "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN",
             "spark.sql.adaptive.enabled": "false", "spark.sql.shuffle.partitions": "1"}


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
    interpreted: bool = False,
) -> Iterator[TableScan]:
    """Verify ``df`` (``table``'s rows of ``scopes``: one day, consecutive days, or ``[WHOLE]``), one result per
    scope, in the scopes' order (see the module).

    Rules that check the partition's day are skipped for the whole table; ``references`` rules are checked
    against ``parents`` (table name -> frame) and skipped for a parent table it does not hold. ``day_column``
    puts a row in its day when ``scopes`` holds several. An empty scope yields ``rows == 0`` and Deequ's
    failures on empty data (the caller decides what an empty partition means); its metrics are not stored.
    ``interpreted``: Spark evaluates the pass's expressions without generating code, and plans it without
    adaptive execution, for a pass over few rows (``INTERPRETED_MAX_ROWS``); the results are the same either way.
    """
    prepare_pydeequ()
    from pydeequ.analyzers import Size
    from pyspark.sql import functions as F

    from stockmart_assets.lib.deequ.integrity import with_orphan_flags
    from stockmart_assets.lib.deequ.profile import profile_analyzers

    if watch is not None and not all(isinstance(s, Day) for s in scopes):
        raise ValueError("anomaly checks compare days: give days")
    several = len(scopes) > 1
    if several and (day_column is None or not all(isinstance(s, Day) for s in scopes)):
        raise ValueError("several scopes must be days, with the column that dates each row")
    rules = [rule for rule in (suite.rules if suite else ())
             if (isinstance(scopes[0], Day) or not rule.needs_partition)
             and (rule.parent is None or rule.parent[0] in (parents or {}))]
    failed_samples: dict[tuple[str, str], tuple[dict, ...]] = {}
    outcomes = []
    with session_conf(spark, _FEW_ROWS if interpreted else {}):  # the whole pass, its counts included
        checked = with_orphan_flags(df, [rule for rule in rules if rule.parent], parents or {})
        group: tuple[str, ...] = ()
        if several:
            checked = checked.withColumn(DAY_COLUMN, F.to_date(F.col(f"`{day_column}`")))
            group = (DAY_COLUMN,)
        for rule in rules:
            for name, sql in rule.derived_columns(group).items():
                if name not in checked.columns:
                    checked = checked.selectExpr("*", f"{sql} AS `{name}`")

        pass_ = _Pass(spark, checked, table, rules, watch)
        plans = [pass_.plan(scope) for scope in scopes]
        extra = [a._set_jvm(pass_.jvm)._analyzer_jvm
                 for a in [Size(), *(profile_analyzers(df.schema) if profile else [])]]
        history = History(watch, spark, table) if watch is not None else None
        extra += history.analyzers if history else []
        aggregated = pass_.aggregate(plans, extra, grouped=several)
        for plan in plans:  # in order: a day's anomaly check reads the metrics the days before it stored
            if history is not None:
                plan.anomaly_checks, plan.baselines = history.checks_of(plan.scope)
            outcome = pass_.evaluate(plan, aggregated(plan.scope))
            outcomes.append(outcome)
            if history is not None and outcome.rows:
                history.save(outcome.verification, plan.scope)
        failing = [(o.plan.scope, rule) for o in outcomes if o.rows for rule in o.failed_rules
                   if _resolves(checked, rule, o.plan.scope)]
        if failing:
            failed_samples = _failing_rows(checked, df.columns, failing, grouped=several)
    for outcome in outcomes:
        yield outcome.scan(df.schema, suite, watch, profile, failed_samples)


@contextmanager
def session_conf(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """``settings`` on the session's SQL conf for the block, then back as they were."""
    conf = spark.conf
    before = {key: conf.get(key, None) for key in settings}
    for key, value in settings.items():
        conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                conf.unset(key)
            else:
                conf.set(key, value)


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


@dataclass
class _Plan:
    """What one scope's verification evaluates: its rules' checks (rule, JVM check), and its anomaly checks
    with the results of watched metrics without history (stored as the baseline), known only once the days
    before it are stored."""

    scope: Scope
    rule_checks: list[tuple[Rule, Any]]
    anomaly_checks: list[Any] = field(default_factory=list)
    baselines: list[ConstraintResult] = field(default_factory=list)


@dataclass
class _Outcome:
    plan: _Plan
    verification: Any  # Deequ's VerificationResult (JVM)
    metrics: dict[tuple[str, str], float]
    records: list[dict[str, str]]
    rows: int
    failed_rules: list[Rule]
    table: str
    rules: list[Rule]

    def scan(self, schema, suite: Suite | None, watch: Watch | None, profile: bool,
             samples: dict[tuple[str, str], tuple[dict, ...]]) -> TableScan:
        from stockmart_assets.lib.deequ.profile import profile_rows

        scope, table = self.plan.scope, self.table
        watched = watch.checks if watch else set()
        suite_result = None
        if suite is not None:
            by_check = {rule.description: rule for rule in self.rules}
            order = {rule.description: i for i, rule in enumerate(self.rules)}
            mine = [r for r in self.records if r["check"] not in watched]
            results = sorted((ConstraintResult(table, scope.key, rule=by_check[r["check"]],
                                               failing_rows=samples.get((scope.key, r["check"]), ()), **r)
                              for r in mine), key=lambda r: order[r.check])
            suite_result = SuiteResult(table, scope.key, tuple(results), rows=self.rows)
        anomalies = None
        if watch is not None:
            checked = [ConstraintResult(table, scope.key, **r) for r in self.records if r["check"] in watched]
            anomalies = SuiteResult(table, scope.key, watch.order(checked + self.plan.baselines), rows=self.rows)
        return TableScan(scope, self.rows, suite_result, anomalies,
                         tuple(profile_rows(schema, table, self.metrics)) if profile else ())


class _Pass:
    """The checks of a table's scopes, their analyzers' aggregation in one Spark job, and each scope's
    evaluation on its own aggregates (Deequ's AnalysisRunner and VerificationSuite, with the day as a group)."""

    def __init__(self, spark: SparkSession, checked: DataFrame, table: str, rules: list[Rule], watch: Watch | None):
        self.spark, self.jvm, self.checked, self.table, self.rules, self.watch = (
            spark, names(spark._jvm), checked, table, rules, watch)
        self._shared = {rule.description: self._check(rule, None) for rule in rules if not rule.needs_partition}
        self._none = self.jvm.scala.Option.apply(None)
        results = self.jvm.com.amazon.deequ.VerificationResult  # Deequ's defaults: every analyzer, every check
        self._all_metrics = getattr(results, "successMetricsAsDataFrame$default$3")()
        self._all_checks = getattr(results, "checkResultsAsJson$default$2")()
        self._own_days: dict[str, Any] = {}
        self.aggregated = 0  # how many analyzers the last aggregation computed

    def _check(self, rule: Rule, day: Day | None, day_column: str | None = None) -> Any:
        from pydeequ.checks import Check, CheckLevel

        level = CheckLevel.Error if rule.level == ERROR else CheckLevel.Warning
        return rule.add_to(Check(self.spark, level, rule.description), day, day_column)._Check

    def _own_day_analyzer(self, rule: Rule) -> Any:
        """The analyzer of ``rule`` (on the partition's day) checking each row against the day it is grouped in."""
        if rule.description not in self._own_days:
            [analyzer] = self.jvm.scala.collection.JavaConverters.setAsJavaSet(
                self._check(rule, None, DAY_COLUMN).requiredAnalyzers()).toArray()
            self._own_days[rule.description] = analyzer
        return self._own_days[rule.description]

    def plan(self, scope: Scope) -> _Plan:
        day = scope if isinstance(scope, Day) else None
        return _Plan(scope, [(rule, self._check(rule, day) if rule.needs_partition else self._shared[rule.description])
                             for rule in self.rules])

    def aggregate(self, plans: list[_Plan], extra: list[Any], grouped: bool):
        """Aggregate every analyzer any scope needs in one Spark job (per day when ``grouped``); returns the
        function that gives a scope's metrics, Deequ's (JVM) analyzer -> metric map."""
        jvm = self.jvm
        as_java = jvm.scala.collection.JavaConverters.setAsJavaSet
        ordered = jvm.java.util.LinkedHashSet()  # Deequ's analyzers are case classes: equal ones merge
        for analyzer in extra:
            ordered.add(analyzer)
        # A rule on the partition's day has a check per day, whose analyzer holds the day's bounds: aggregated as
        # they are, N days would put N analyzers on every row. Grouped by day, one analyzer comparing each row
        # with its group's day aggregates the same state for every day, and each day's own analyzer turns its
        # group's into that day's metric (``own_day``), as if it had been aggregated itself.
        own_day: dict[str, list[tuple[Any, Any]]] = {}  # scope key -> (the day's analyzer, the one aggregated)
        added: set[int] = set()  # the checks shared by every scope, added once
        for plan in plans:
            for rule, check in plan.rule_checks:
                if grouped and rule.needs_partition:
                    shared = self._own_day_analyzer(rule)
                    ordered.add(shared)
                    own_day.setdefault(plan.scope.key, []).extend(
                        (analyzer, shared) for analyzer in as_java(check.requiredAnalyzers()).toArray())
                elif id(check) not in added:
                    added.add(id(check))
                    ordered.addAll(as_java(check.requiredAnalyzers()))
        schema = self.checked._jdf.schema()
        analyzers, failures = [], []  # failures: (analyzer, its failure metric)
        shareable = None
        for analyzer in ordered.toArray():
            if shareable is None:  # Deequ's classes come from the session's jars, not the JVM's class path
                shareable = jvm.java.lang.Class.forName("com.amazon.deequ.analyzers.ScanShareableAnalyzer", True,
                                                        analyzer.getClass().getClassLoader())
            problem = jvm.com.amazon.deequ.analyzers.Preconditions.findFirstFailing(schema, analyzer.preconditions())
            if problem.isDefined():  # as Deequ does: the analyzer's metric is the precondition's failure
                failures.append((analyzer, analyzer.toFailureMetric(problem.get())))
            elif not shareable.isInstance(analyzer):
                raise ValueError(f"{analyzer.toString()} is not scan-shareable: it would need its own pass")
            else:
                analyzers.append(analyzer)
        self.aggregated = len(analyzers)
        columns, offsets = jvm.java.util.ArrayList(), []  # kept in the JVM: one call per analyzer, not per column
        for analyzer in analyzers:
            offsets.append(columns.size())
            columns.addAll(jvm.scala.collection.JavaConverters.seqAsJavaList(analyzer.aggregationFunctions()))
        to_seq = jvm.scala.collection.JavaConverters.asScalaBuffer
        # Where each day's analyzer finds its aggregates: the aggregated one's (the same state). A rule on the
        # partition's day is a Compliance with no column preconditions, so it is always aggregated.
        own_offset = {id(shared): next(offset for a, offset in zip(analyzers, offsets) if a.equals(shared))
                      for shared in self._own_days.values()}

        def aggregated(frame: DataFrame, group: bool) -> list:
            """The aggregates' rows: one per day (the day first), or one for the whole frame."""
            target = frame._jdf.groupBy(to_seq([frame[DAY_COLUMN]._jc]).toSeq()) if group else frame._jdf
            job = target.agg(columns.get(0), to_seq(columns.subList(1, columns.size())).toSeq())
            # Deequ's stateful aggregates make the stage's generated code too large for Janino: whole-stage
            # code generation fails on every job and Spark falls back to the operators' own code. Going there
            # directly saves the failed compile (most of the job's time on a small day).
            with session_conf(self.spark, {_WHOLE_STAGE: "false"}):
                return list(job.collectAsList())

        rows: dict[str, tuple[Any, int]] = {}  # scope key -> (its aggregates' row, where they start in it)
        empty = ""  # the row of no rows, computed once if a day has none
        if columns.size() and grouped:
            rows = {row.get(0).toString(): (row, 1) for row in aggregated(self.checked, True)}
        elif columns.size():
            [row] = aggregated(self.checked, False)
            rows = {plans[0].scope.key: (row, 0)}

        def metrics_of(scope: Scope) -> Any:
            """The scope's metrics, a Java map (analyzer -> metric): built in the JVM, entry by entry, since a
            Python dict keyed by JVM objects asks the JVM for each key's hash and equality."""
            if columns.size() and scope.key not in rows:  # a day without rows: Deequ's metrics of empty data
                if empty not in rows:
                    [row] = aggregated(self.checked.limit(0), False)
                    rows[empty] = (row, 0)
                rows[scope.key] = rows[empty]
            computed = self.jvm.java.util.HashMap()
            for analyzer, metric in failures:
                computed.put(analyzer, metric)
            if columns.size():
                row, base = rows[scope.key]
                for analyzer, offset in zip(analyzers, offsets):
                    computed.put(analyzer, self._metric(analyzer, row, base + offset))
            for analyzer, shared in own_day.get(scope.key, ()):  # Deequ's metric of the day's own analyzer
                row, base = rows[scope.key]
                computed.put(analyzer, self._metric(analyzer, row, base + own_offset[id(shared)]))
            return computed

        return metrics_of

    def _metric(self, analyzer: Any, row: Any, offset: int) -> Any:
        from py4j.protocol import Py4JJavaError

        try:
            return analyzer.metricFromAggregationResult(row, offset, self._none, self._none)
        except Py4JJavaError as error:  # as Deequ does: a metric that cannot be computed is a failure metric
            return analyzer.toFailureMetric(error.java_exception)

    def evaluate(self, plan: _Plan, computed: Any) -> _Outcome:
        """Deequ's verification of ``plan``'s scope on its metrics (``computed``, a Java map), as
        VerificationSuite makes it."""
        from pyspark.sql import DataFrame

        jvm, deequ = self.jvm, self.jvm.com.amazon.deequ
        context = deequ.analyzers.runners.AnalyzerContext(jvm.PythonUtils.toScalaMap(computed))
        results, status = jvm.java.util.HashMap(), deequ.checks.CheckStatus.Success()
        for check in [*(c for _, c in plan.rule_checks), *plan.anomaly_checks]:
            result = check.evaluate(context)
            results.put(check, result)
            if (checked := result.status()).id() > status.id():  # the worst status, as Deequ reports it
                status = checked
        verification = deequ.VerificationResult(status, jvm.PythonUtils.toScalaMap(results), context.metricMap())
        # As a frame, not JSON: Deequ's JSON writer refuses the NaN ratios of an empty column's type histogram.
        frame = deequ.VerificationResult.successMetricsAsDataFrame(self.spark._jsparkSession, verification,
                                                                   self._all_metrics)
        metrics = {(m["instance"], m["name"]): m["value"] for m in DataFrame(frame, self.spark).collect()}
        rows = int(metrics.get(("*", "Size"), 0))
        records = _check_records(json.loads(deequ.VerificationResult.checkResultsAsJson(verification,
                                                                                          self._all_checks)))
        by_check = {rule.description: rule for rule in self.rules}
        watched = self.watch.checks if self.watch else set()
        failed = [by_check[r["check"]] for r in records
                  if r["check"] not in watched and r["constraint_status"] != "Success"]
        return _Outcome(plan, verification, metrics, records, rows, failed, self.table, self.rules)


def check_results(spark: SparkSession, verification: Any) -> list[dict[str, str]]:
    """Deequ's check results (VerificationResult.checkResultsAsJson), one dict per constraint."""
    from pydeequ.verification import VerificationResult

    return _check_records(VerificationResult.checkResultsAsJson(spark, verification))


def _check_records(records: list[dict]) -> list[dict[str, str]]:
    fields = ("check", "check_level", "check_status", "constraint", "constraint_status", "constraint_message")
    return [{key: record[key] for key in fields} for record in records]


def _resolves(checked: DataFrame, rule: Rule, scope: Scope) -> bool:
    """Whether ``rule``'s failing-row predicate can be evaluated on the frame (a rule on a column the frame
    lacks has failed on Deequ's precondition, whose message says so: there are no rows to show)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    try:
        checked.select(F.expr(rule.violation(scope if isinstance(scope, Day) else None))).schema
    except AnalysisException:
        return False
    return True


def _failing_rows(
    checked: DataFrame, columns: list[str], failed: list[tuple[Scope, Rule]], grouped: bool
) -> dict[tuple[str, str], tuple[dict, ...]]:
    """Up to SAMPLE_SIZE rows breaking each (scope, rule) of ``failed``, by (scope key, rule description), in
    one pass over the data (the first rows in the columns' order, so a sample does not depend on the read)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cols = [F.col(f"`{c}`") for c in columns]

    def broken(scope: Scope, rule: Rule) -> Any:
        day = scope if isinstance(scope, Day) else None
        violation = F.coalesce(F.expr(rule.violation(day)), F.lit(False))
        return violation & (F.col(DAY_COLUMN) == F.lit(day.date)) if grouped else violation

    flags = F.array(*[F.when(broken(scope, rule), F.lit(i)) for i, (scope, rule) in enumerate(failed)])
    per_rule = (
        checked.select(*cols, F.filter(flags, lambda i: i.isNotNull()).alias(_RULE))
        .select(*cols, F.explode(_RULE).alias(_RULE))
        .withColumn(_RANK, F.row_number().over(Window.partitionBy(_RULE).orderBy(*cols)))
        .where(F.col(_RANK) <= SAMPLE_SIZE)
    )
    samples: dict[tuple[str, str], list[dict]] = {(s.key, r.description): [] for s, r in failed}
    for row in sample_rows(per_rule.orderBy(_RULE, _RANK).drop(_RANK), limit=None):
        scope, rule = failed[row.pop(_RULE)]
        samples[(scope.key, rule.description)].append(row)
    return {key: tuple(rows) for key, rows in samples.items()}
