"""Anomaly detection of a partition's row count and mean quantity, with history on disk."""

from __future__ import annotations

import pytest

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.deequ.anomaly import detect_anomalies
from stockmart_assets.lib.deequ.spark import get_spark, stop_spark

pytestmark = pytest.mark.spark

ROW_COUNT = "row count changes by at most x2 / x0.5 from the previous partition"
MEAN_QUANTITY = "mean of quantity changes by at most x2 / x0.5 from the previous partition"


def trades(spark, rows: int, quantity: int = 30):
    return spark.range(rows).selectExpr("id AS order_id", f"{quantity} + id % 5 AS quantity")


def statuses(result) -> dict[str, str]:
    return {r.check: r.constraint_status for r in result.results}


def test_tenfold_jump_is_flagged_normal_variation_is_not_and_history_survives_restart(spark, tmp_path):
    path = str(tmp_path / "metrics.json")

    first = detect_anomalies(spark, trades(spark, 100), "trade", Day.of("2024-12-26"), path)
    assert statuses(first) == {ROW_COUNT: "Success", MEAN_QUANTITY: "Success"}
    assert "stored as the baseline" in first.result(ROW_COUNT).constraint_message

    for partition, rows in (("2024-12-27", 120), ("2024-12-28", 96), ("2024-12-29", 115)):  # ±20%
        normal = detect_anomalies(spark, trades(spark, rows), "trade", Day.of(partition), path)
        assert statuses(normal) == {ROW_COUNT: "Success", MEAN_QUANTITY: "Success"}, partition
        assert normal.result(ROW_COUNT).constraint == "AnomalyConstraint(Size(None))"

    # Another table in the same file is compared only with itself.
    other = detect_anomalies(spark, trades(spark, 5000), "stock_price", Day.of("2024-12-29"), path)
    assert "stored as the baseline" in other.result(ROW_COUNT).constraint_message

    gateway_jvm = spark.sparkContext._gateway.proc
    stop_spark()
    assert gateway_jvm.poll() is not None, "stop_spark() left the JVM running"
    restarted = get_spark()

    jump = detect_anomalies(restarted, trades(restarted, 1150), "trade", Day.of("2024-12-30"), path)
    assert statuses(jump) == {ROW_COUNT: "Failure", MEAN_QUANTITY: "Success"}
    flagged = jump.result(ROW_COUNT)
    assert (flagged.check_level, flagged.check_status) == ("Warning", "Warning")
    assert flagged.constraint_message == "Value: 1150.0 does not meet the constraint requirement!"
    assert jump.passed  # anomalies warn, they do not fail the gate

    # Re-running an older partition compares it with the partitions before it, not after.
    rerun = detect_anomalies(restarted, trades(restarted, 120), "trade", Day.of("2024-12-27"), path)
    assert statuses(rerun) == {ROW_COUNT: "Success", MEAN_QUANTITY: "Success"}


def test_mean_quantity_jump_is_flagged(spark, tmp_path):
    path = str(tmp_path / "metrics.json")
    detect_anomalies(spark, trades(spark, 100, quantity=30), "trade", Day.of("2024-12-26"), path)

    result = detect_anomalies(spark, trades(spark, 100, quantity=300), "trade", Day.of("2024-12-27"), path)

    assert statuses(result) == {ROW_COUNT: "Success", MEAN_QUANTITY: "Failure"}
