"""Deequ's column profile of a frame: completeness, approximate distinct count, data type, numeric statistics.

The metrics of Deequ's ColumnProfiler, computed by Deequ's analyzers in one scan (``AnalysisRunner``): the
profiler itself makes two to three passes (generic statistics, numeric statistics, histograms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stockmart_assets.lib.deequ.spark import prepare_pydeequ

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


_INTEGRAL = ("tinyint", "smallint", "int", "bigint")
_FRACTIONAL = ("float", "double", "decimal")


def profile_columns(spark: SparkSession, df: DataFrame, table: str) -> list[dict[str, Any]]:
    """Deequ's column profile, in one scan (see the module). ``data_type`` is decided as
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
