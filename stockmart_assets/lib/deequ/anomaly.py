"""Anomaly detection of a partition's metrics against the previous partitions, history kept on disk.

Deequ stores each run's metrics in a FileSystemMetricsRepository (one JSON file) under a ResultKey whose
date is the partition's day and whose tags name the table and partition, so the history survives restarts
and several tables can share a file. A partition is compared with the latest earlier partition of the same
table (RelativeRateOfChangeStrategy): a tenfold jump or drop in row count is flagged, the day-to-day swing
of a healthy feed (±20%) is not. Anomalies are warnings: they never fail the gate.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.deequ.results import ConstraintResult, SuiteResult
from stockmart_assets.lib.deequ.runner import check_results
from stockmart_assets.lib.deequ.spark import prepare_pydeequ

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


ROW_COUNT = AnomalyMetric("Size")
ANOMALY_METRICS: dict[str, tuple[AnomalyMetric, ...]] = {
    "trade": (ROW_COUNT, AnomalyMetric("Mean", "quantity")),
    "stock_price": (ROW_COUNT,),
}


def detect_anomalies(
    spark: SparkSession,
    df: DataFrame,
    table: str,
    day: Day,
    repository_path: str,
    metrics: tuple[AnomalyMetric, ...] | None = None,
) -> SuiteResult:
    """Compute ``metrics`` on one partition, compare them with earlier partitions, store them.

    The first partition of a table has no history: its metrics are stored and its checks pass.
    Re-running a partition replaces its stored metrics and compares only with earlier partitions.
    """
    prepare_pydeequ()
    import pydeequ.analyzers as analyzers
    from pydeequ.anomaly_detection import RelativeRateOfChangeStrategy
    from pydeequ.repository import FileSystemMetricsRepository, ResultKey
    from pydeequ.scala_utils import to_scala_map, to_scala_seq
    from pydeequ.verification import VerificationSuite

    metrics = ANOMALY_METRICS.get(table, (ROW_COUNT,)) if metrics is None else metrics
    jvm = spark._jvm
    repository = FileSystemMetricsRepository(spark, repository_path)
    partition, millis = day.key, day.epoch_millis
    this_table = to_scala_map(spark, {"table": table})
    earlier = millis - 1  # Deequ's "before" bound is inclusive

    builder = VerificationSuite(spark).onData(df).useRepository(repository)
    builder = builder.saveOrAppendResult(ResultKey(spark, millis, {"table": table, "partition": partition}))
    baselines = []
    for metric in metrics:
        analyzer = getattr(analyzers, metric.analyzer)(*([metric.column] if metric.column else []))._set_jvm(jvm)
        history = repository.repository.load().withTagValues(this_table).before(earlier).forAnalyzers(
            to_scala_seq(jvm, [analyzer._analyzer_jvm])).get()
        if history.isEmpty():
            # Deequ would fail the check: "There have to be previous results in the MetricsRepository!!"
            builder._VerificationRunBuilder = builder._VerificationRunBuilder.addRequiredAnalyzer(
                analyzer._analyzer_jvm)
            baselines.append(ConstraintResult(
                table, partition, check=metric.description, check_level="Warning", check_status="Success",
                constraint="", constraint_status="Success",
                constraint_message=f"no earlier partition of {table} in the repository: stored as the baseline",
            ))
            continue
        strategy = RelativeRateOfChangeStrategy(metric.max_rate_decrease, metric.max_rate_increase)._set_jvm(jvm)
        # pydeequ's addAnomalyCheck refuses a config; Deequ's AnomalyCheckConfig limits the history to this
        # table's earlier partitions (other tables share the file; an older partition may be re-run).
        config = jvm.com.amazon.deequ.AnomalyCheckConfig(
            jvm.com.amazon.deequ.checks.CheckLevel.Warning(), metric.description, this_table,
            jvm.scala.Option.apply(None), jvm.scala.Some(earlier),
        )
        builder._VerificationRunBuilder = builder._VerificationRunBuilder.addAnomalyCheck(
            strategy._anomaly_jvm, analyzer._analyzer_jvm, jvm.scala.Some(config))

    checked = [ConstraintResult(table, partition, **r) for r in check_results(spark, builder.run())]
    order = {metric.description: i for i, metric in enumerate(metrics)}
    return SuiteResult(table, partition, tuple(sorted(checked + baselines, key=lambda r: order[r.check])))
