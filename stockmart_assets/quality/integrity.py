"""Referential integrity: child rows whose foreign key has no parent row.

A plain Spark left anti-join. Deequ 2.1's Scala API has ``com.amazon.deequ.comparison.ReferentialIntegrity
.subsetCheck``, but it only returns the matched ratio and pydeequ 1.7 does not wrap it (its DQDL
``ReferentialIntegrity`` rule needs the dqdl jar, which is not on Maven Central), and the anti-join gives
the count and the offending rows in one definition. A NULL foreign key is not an orphan: completeness
rules catch those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stockmart_assets.quality.samples import sample_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


BROADCAST_MAX_KEYS = 2_000_000


def orphans(
    spark: SparkSession, child_df: DataFrame, column: str, parent_df: DataFrame, parent_column: str
) -> tuple[int, list[dict[str, Any]]]:
    """Count the rows of ``child_df`` whose ``column`` matches no ``parent_df.parent_column``; sample ≤ 5.

    ``spark`` is not needed by the anti-join; it keeps the signature of the other quality entry points.
    """
    from pyspark.sql import functions as F

    parents = parent_df.select(F.col(f"`{parent_column}`").alias("__parent_key")).distinct()
    # A JDBC source has no size estimate, so Spark would shuffle every child row to join: broadcast the parent
    # keys when they are few (customers, stocks), which turns the check into one pass over the children.
    if parents.count() <= BROADCAST_MAX_KEYS:
        parents = F.broadcast(parents)
    missing = (
        child_df.where(F.col(f"`{column}`").isNotNull())
        .join(parents, F.col(f"`{column}`") == F.col("__parent_key"), "left_anti")
        .cache()
    )
    try:
        count = missing.count()
        sample = sample_rows(missing) if count else []
    finally:
        missing.unpersist()
    return count, sample
