"""Deequ's column profile of a frame: completeness, approximate distinct count, data type, numeric statistics.

The metrics of Deequ's ColumnProfiler, computed by Deequ's analyzers (the profiler itself makes two to three
passes: generic statistics, numeric statistics, histograms). The analyzers join the pass that verifies the
table's suite (``runner.scan_table``), so profiling costs no read of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


_INTEGRAL = ("tinyint", "smallint", "int", "bigint")
_FRACTIONAL = ("float", "double", "decimal")
# Deequ's DataType casts a value to its text; a date's or a timestamp's text ("2024-12-26 09:00:00") never
# reads as a number or a boolean, so Deequ calls every such value String. That follows from the schema and the
# column's completeness: a regular expression per row and column (the pass's most expensive analyzer) buys
# nothing there.
_TEMPORAL = ("date", "timestamp")


def profile_analyzers(schema: StructType) -> list:
    """The pydeequ analyzers of every column's profile: Completeness and ApproxCountDistinct, then Mean,
    StandardDeviation, Minimum and Maximum for numbers, Deequ's DataType inference for text (dates and
    timestamps need none: see ``_TEMPORAL``)."""
    from pydeequ.analyzers import (ApproxCountDistinct, Completeness, DataType, Maximum, Mean, Minimum,
                                   StandardDeviation)

    analyzers = []
    for field in schema.fields:
        kind = field.dataType.simpleString()
        analyzers += [Completeness(field.name), ApproxCountDistinct(field.name)]
        if _numeric_kind(kind):
            analyzers += [a(field.name) for a in (Mean, StandardDeviation, Minimum, Maximum)]
        elif not kind.startswith(_TEMPORAL):
            analyzers.append(DataType(field.name))
    return analyzers


def profile_rows(schema: StructType, table: str, metrics: Mapping[tuple[str, str], float]) -> list[dict[str, Any]]:
    """One profile row per column from the pass's metrics ((instance, name) -> value). ``data_type`` is
    decided as the profiler does: from the schema for numeric columns (Integral, Fractional), by Deequ's
    ``DataType`` inference for text, and as that inference would for dates and timestamps (String when the
    column has a value, else Unknown); ``spark_type`` is the frame's. A
    metric Deequ could not compute (every statistic of an empty frame, the mean of a column of NULLs) is None.
    """
    rows = []
    for field in schema.fields:
        column, kind = field.name, field.dataType.simpleString()
        got = {name: value for (instance, name), value in metrics.items() if instance == column}
        rows.append({
            "table": table,
            "column": column,
            "completeness": got.get("Completeness"),
            "approx_distinct": got.get("ApproxCountDistinct"),
            "data_type": _numeric_kind(kind) or (_temporal_type(got) if kind.startswith(_TEMPORAL)
                                                 else _inferred_type(got)),
            "spark_type": kind,
            "mean": got.get("Mean"),
            "stddev": got.get("StandardDeviation"),
            "min": got.get("Minimum"),
            "max": got.get("Maximum"),
        })
    return rows


def profile_columns(spark: SparkSession, df: DataFrame, table: str) -> list[dict[str, Any]]:
    """``df``'s column profile in one scan, on its own (a table's check step profiles within its suite's pass)."""
    from stockmart_assets.lib.day import WHOLE
    from stockmart_assets.lib.deequ.runner import scan_table

    [scan] = scan_table(spark, df, table, [WHOLE], profile=True)
    return list(scan.profile)


def _numeric_kind(spark_type: str) -> str | None:
    if spark_type.startswith(_INTEGRAL):
        return "Integral"
    if spark_type.startswith(_FRACTIONAL):
        return "Fractional"
    return None


def _temporal_type(metrics: dict[str, float]) -> str:
    """What Deequ's DataType infers for a date or timestamp column (see ``_TEMPORAL``)."""
    return "String" if (metrics.get("Completeness") or 0) > 0 else "Unknown"


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
