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
            spark._jvm)._analyzer_jvm


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

    def checks_of(self, spark: SparkSession, table: str, day: Day) -> tuple[list[Any], list[ConstraintResult]]:
        """Deequ's anomaly checks of ``day`` (built as VerificationRunBuilder.addAnomalyCheck builds them) and
        the results of metrics that have no history yet (stored as the baseline; they pass). The caller
        computes every watched metric (``analyzer_jvm``), checked or not, to store it."""
        from pydeequ.anomaly_detection import RelativeRateOfChangeStrategy
        from pydeequ.repository import FileSystemMetricsRepository
        from pydeequ.scala_utils import to_scala_map, to_scala_seq

        jvm = spark._jvm
        repository = FileSystemMetricsRepository(spark, self.repository).repository
        this_table = to_scala_map(spark, {"table": table})
        earlier = day.epoch_millis - 1  # Deequ's "before" bound is inclusive: only earlier partitions
        checks, baselines = [], []
        for metric in self.metrics:
            analyzer = metric.analyzer_jvm(spark)
            history = repository.load().withTagValues(this_table).before(earlier).forAnalyzers(
                to_scala_seq(jvm, [analyzer])).get()
            if history.isEmpty():
                # Deequ would fail the check: "There have to be previous results in the MetricsRepository!!"
                baselines.append(ConstraintResult(
                    table, day.key, check=metric.description, check_level="Warning", check_status="Success",
                    constraint="", constraint_status="Success",
                    constraint_message=f"no earlier partition of {table} in the repository: stored as the baseline",
                ))
                continue
            strategy = RelativeRateOfChangeStrategy(metric.max_rate_decrease, metric.max_rate_increase)._set_jvm(jvm)
            # Deequ's AnomalyCheckConfig limits the history to this table's earlier partitions (other tables
            # share the file; an older partition may be re-run).
            config = jvm.com.amazon.deequ.AnomalyCheckConfig(
                jvm.com.amazon.deequ.checks.CheckLevel.Warning(), metric.description, this_table,
                jvm.scala.Option.apply(None), jvm.scala.Some(earlier),
            )
            checks.append(jvm.com.amazon.deequ.VerificationRunBuilderHelper.getAnomalyCheck(
                repository, strategy._anomaly_jvm, analyzer, config))
        return checks, baselines

    def save(self, spark: SparkSession, verification: Any, table: str, day: Day) -> None:
        """Store the day's watched metrics (only those) from Deequ's VerificationResult, replacing a re-run's."""
        from pydeequ.repository import FileSystemMetricsRepository, ResultKey
        from pydeequ.scala_utils import to_scala_map

        computed = verification.metrics()
        watched = {}
        for metric in self.metrics:
            analyzer = metric.analyzer_jvm(spark)
            value = computed.get(analyzer)
            if value.isDefined():
                watched[analyzer] = value.get()
        context = spark._jvm.com.amazon.deequ.analyzers.runners.AnalyzerContext(to_scala_map(spark, watched))
        key = ResultKey(spark, day.epoch_millis, {"table": table, "partition": day.key})
        FileSystemMetricsRepository(spark, self.repository).repository.save(key.resultKey, context)

    def order(self, results: list[ConstraintResult]) -> tuple[ConstraintResult, ...]:
        rank = {metric.description: i for i, metric in enumerate(self.metrics)}
        return tuple(sorted(results, key=lambda r: rank[r.check]))

    @property
    def checks(self) -> set[str]:
        return {metric.description for metric in self.metrics}


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
