"""Anomaly detection of a partition's metrics against the previous partitions, history kept on disk.

Deequ stores each partition's watched metrics in a FileSystemMetricsRepository (one JSON file) under a
ResultKey whose date is the partition's day and whose tags name the table and partition, so the history
survives restarts and several tables can share a file. A partition is compared with the latest earlier
partition of the same table (RelativeRateOfChangeStrategy): a tenfold jump or drop in row count is flagged, the
day-to-day swing of a healthy feed (±20%) is not. Anomalies are warnings: they never fail the gate.

The checks join the pass that verifies the table's suite (``runner.scan_table``): the watched metrics are
aggregated with the suite's, and only the watched metrics are stored, so the file grows by a few numbers a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.deequ.jvm import names
from stockmart_assets.lib.deequ.results import ConstraintResult, SuiteResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class AnomalyMetric:
    """A metric watched for sudden changes; accepted change is new/previous in [max_decrease, max_increase]."""

    analyzer: str  # a pydeequ.analyzers class taking (column) or nothing: "Size", "Mean", ...
    column: str | None = None
    max_rate_increase: float = 2.0
    max_rate_decrease: float = 0.5

    @property
    def description(self) -> str:
        what = "row count" if self.analyzer == "Size" else f"{self.analyzer.lower()} of {self.column}"
        return (f"{what} changes by at most x{self.max_rate_increase:g} / x{self.max_rate_decrease:g} "
                "from the previous partition")

    def analyzer_jvm(self, spark: SparkSession) -> Any:
        import pydeequ.analyzers as analyzers

        return getattr(analyzers, self.analyzer)(*([self.column] if self.column else []))._set_jvm(
            names(spark._jvm))._analyzer_jvm


ROW_COUNT = AnomalyMetric("Size")
ANOMALY_METRICS: dict[str, tuple[AnomalyMetric, ...]] = {
    "trade": (ROW_COUNT, AnomalyMetric("Mean", "quantity")),
    "stock_price": (ROW_COUNT,),
}


@dataclass(frozen=True)
class Watch:
    """Which metrics of a table to compare with its history, and where the history is kept."""

    repository: str
    metrics: tuple[AnomalyMetric, ...] = (ROW_COUNT,)

    @classmethod
    def of(cls, table: str, repository: str) -> Watch:
        return cls(repository, ANOMALY_METRICS.get(table, (ROW_COUNT,)))

    def order(self, results: list[ConstraintResult]) -> tuple[ConstraintResult, ...]:
        rank = {metric.description: i for i, metric in enumerate(self.metrics)}
        return tuple(sorted(results, key=lambda r: rank[r.check]))

    @property
    def checks(self) -> set[str]:
        return {metric.description for metric in self.metrics}


class History:
    """A table's watched metrics in Deequ's repository, for one pass: the repository, the analyzers and the
    strategies are made once and used for each of the pass's days (each of them is several JVM calls)."""

    def __init__(self, watch: Watch, spark: SparkSession, table: str):
        from pydeequ.anomaly_detection import RelativeRateOfChangeStrategy
        from pydeequ.scala_utils import to_scala_map, to_scala_seq

        jvm = names(spark._jvm)
        self.watch, self.spark, self.table = watch, spark, table
        self.repository = jvm.com.amazon.deequ.repository.fs.FileSystemMetricsRepository(
            spark._jsparkSession, watch.repository)
        self.this_table = to_scala_map(spark, {"table": table})
        self.analyzers = [metric.analyzer_jvm(spark) for metric in watch.metrics]  # the pass computes these
        self._only = [to_scala_seq(jvm, [analyzer]) for analyzer in self.analyzers]  # for forAnalyzers
        self._strategies = [RelativeRateOfChangeStrategy(m.max_rate_decrease, m.max_rate_increase)._set_jvm(jvm)
                            ._anomaly_jvm for m in watch.metrics]
        self._warning, self._none = jvm.com.amazon.deequ.checks.CheckLevel.Warning(), jvm.scala.Option.apply(None)
        self.jvm = jvm

    def checks_of(self, day: Day) -> tuple[list[Any], list[ConstraintResult]]:
        """Deequ's anomaly checks of ``day`` (built as VerificationRunBuilder.addAnomalyCheck builds them) and
        the results of metrics that have no history yet (stored as the baseline; they pass)."""
        earlier = day.epoch_millis - 1  # Deequ's "before" bound is inclusive: only earlier partitions
        checks, baselines = [], []
        for metric, analyzer, only, strategy in zip(self.watch.metrics, self.analyzers, self._only, self._strategies):
            history = self.repository.load().withTagValues(self.this_table).before(earlier).forAnalyzers(only).get()
            if history.isEmpty():
                # Deequ would fail the check: "There have to be previous results in the MetricsRepository!!"
                baselines.append(ConstraintResult(
                    self.table, day.key, check=metric.description, check_level="Warning", check_status="Success",
                    constraint="", constraint_status="Success",
                    constraint_message=f"no earlier partition of {self.table} in the repository: "
                                       "stored as the baseline",
                ))
                continue
            # Deequ's AnomalyCheckConfig limits the history to this table's earlier partitions (other tables
            # share the file; an older partition may be re-run).
            config = self.jvm.com.amazon.deequ.AnomalyCheckConfig(
                self._warning, metric.description, self.this_table, self._none, self.jvm.scala.Some(earlier))
            checks.append(self.jvm.com.amazon.deequ.VerificationRunBuilderHelper.getAnomalyCheck(
                self.repository, strategy, analyzer, config))
        return checks, baselines

    def save(self, verification: Any, day: Day) -> None:
        """Store the day's watched metrics (only those) from Deequ's VerificationResult, replacing a re-run's."""
        from pydeequ.scala_utils import to_scala_map

        jvm, computed = self.jvm, verification.metrics()
        watched = jvm.java.util.HashMap()  # a Python dict keyed by JVM objects would ask the JVM to hash each key
        for analyzer in self.analyzers:
            value = computed.get(analyzer)
            if value.isDefined():
                watched.put(analyzer, value.get())
        context = jvm.com.amazon.deequ.analyzers.runners.AnalyzerContext(jvm.PythonUtils.toScalaMap(watched))
        key = jvm.com.amazon.deequ.repository.ResultKey(
            day.epoch_millis, to_scala_map(self.spark, {"table": self.table, "partition": day.key}))
        self.repository.save(key, context)


def detect_anomalies(
    spark: SparkSession,
    df: DataFrame,
    table: str,
    day: Day,
    repository_path: str,
    metrics: tuple[AnomalyMetric, ...] | None = None,
) -> SuiteResult:
    """Compute ``metrics`` on one partition, compare them with earlier partitions, store them (one scan).

    The first partition of a table has no history: its metrics are stored and its checks pass.
    Re-running a partition replaces its stored metrics and compares only with earlier partitions.
    """
    from stockmart_assets.lib.deequ.runner import scan_table

    watch = Watch.of(table, repository_path) if metrics is None else Watch(repository_path, metrics)
    [scan] = scan_table(spark, df, table, [day], watch=watch)
    return scan.anomalies
