"""Deequ's column profiler over seed trades."""

from __future__ import annotations

import statistics

import pytest

from stockmart_assets_tests.support.quality_frames import SCHEMAS, SEED_ROWS, make_frame
from stockmart_assets.lib.deequ.profile import profile_columns

pytestmark = pytest.mark.spark


def test_profile_reports_completeness_distinct_type_and_numeric_stats(spark):
    rows = SEED_ROWS["trade"] + [(106, 9, 2, None, 25, "2024-12-26 23:59:00")]
    df = make_frame(spark, "trade", rows)

    profile = {p["column"]: p for p in profile_columns(spark, df, "trade")}

    assert list(profile) == df.columns
    quantities = [row[4] for row in rows]
    quantity = profile["quantity"]
    assert quantity["table"] == "trade"
    assert (quantity["completeness"], quantity["data_type"], quantity["spark_type"]) == (1.0, "Fractional", "double")
    assert quantity["approx_distinct"] == len(set(quantities))
    assert quantity["mean"] == pytest.approx(statistics.mean(quantities))
    assert quantity["stddev"] == pytest.approx(statistics.pstdev(quantities))
    assert (quantity["min"], quantity["max"]) == (min(quantities), max(quantities))

    trade_type = profile["trade_type"]
    assert trade_type["completeness"] == pytest.approx(5 / 6)
    assert (trade_type["data_type"], trade_type["approx_distinct"]) == ("String", 2)
    assert trade_type["mean"] is trade_type["stddev"] is trade_type["min"] is trade_type["max"] is None
    assert profile["order_datetime"]["spark_type"] == "timestamp"


def test_an_empty_frame_has_no_statistics(spark):
    profile = {p["column"]: p for p in profile_columns(spark, make_frame(spark, "trade", []), "trade")}

    assert list(profile) == [name for name, _ in SCHEMAS["trade"]]
    assert {(p["completeness"], p["mean"], p["min"]) for p in profile.values()} == {(None, None, None)}
    assert profile["quantity"]["data_type"] == "Fractional"  # from the schema, as Deequ's profiler does


@pytest.mark.parametrize("values", [
    ["2024-12-26 09:15:00", "0001-01-01 00:00:00", "9999-12-31 23:59:59", None],
    [None, None],
    [],
], ids=["values", "all-null", "empty"])
def test_dates_and_timestamps_get_the_type_deequs_data_type_analyzer_infers(spark, values):
    """The profile decides a date's or timestamp's type without running Deequ's DataType over it: the type
    must be the one that analyzer infers, run here on the same column."""
    from pydeequ.analyzers import AnalysisRunner, AnalyzerContext, DataType

    from stockmart_assets.lib.deequ.profile import _inferred_type

    texts = spark.createDataFrame([(v,) for v in values], "v string")
    df = texts.selectExpr("CAST(v AS TIMESTAMP) AS ts", "CAST(CAST(v AS TIMESTAMP) AS DATE) AS day")
    profile = {p["column"]: p["data_type"] for p in profile_columns(spark, df, "t")}
    for column in ("ts", "day"):
        result = AnalysisRunner(spark).onData(df).addAnalyzer(DataType(column)).run()
        deequ = {m["name"]: m["value"] for m in AnalyzerContext.successMetricsAsDataFrame(spark, result).collect()}
        assert profile[column] == _inferred_type(deequ), (column, deequ)
    assert profile["ts"] == ("String" if any(values) else "Unknown")
