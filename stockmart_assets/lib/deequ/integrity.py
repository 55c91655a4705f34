"""Referential integrity: flag the child rows whose foreign key has no parent row.

Each ``references`` rule gets a boolean column, true on an orphan, from a left join with the parent's distinct
keys; Deequ then checks that the flag is never set, in the same scan as the rest of the suite. Deequ 2.1's
Scala API has ``com.amazon.deequ.comparison.ReferentialIntegrity.subsetCheck``, but it makes its own passes,
returns only the matched ratio, and pydeequ 1.7 does not wrap it (its DQDL ``ReferentialIntegrity`` rule needs
the dqdl jar, which is not on Maven Central). A NULL foreign key is not an orphan: completeness rules catch
those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from stockmart_assets.lib.deequ.kinds import flag_column
from stockmart_assets.lib.deequ.rules import Rule

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BROADCAST_MAX_KEYS = 2_000_000


def with_orphan_flags(df: DataFrame, rules: Iterable[Rule], parents: Mapping[str, DataFrame]) -> DataFrame:
    """``df`` plus one flag column per ``references`` rule (``rules.flag_column``), rows neither added nor lost.

    A JDBC source has no size estimate, so Spark would shuffle every child row to join: the parent's keys are
    broadcast to a hash join when they are few (customers, stocks), which keeps the check inside the suite's
    one scan. The parent's row count bounds its keys and is cheap (the resource keeps parent tables
    persisted). An ``isin`` set of the keys would be evaluated row by row, which is slower than the join.
    """
    from pyspark.sql import functions as F

    for rule in rules:
        parent_table, parent_column = rule.parent
        parent = parents[parent_table]
        child = F.col(f"`{rule.column}`")
        key = f"__parent__{rule.column}"
        keys = parent.select(F.col(f"`{parent_column}`").alias(key)).distinct()
        if parent.count() <= BROADCAST_MAX_KEYS:
            keys = F.broadcast(keys)
        df = (df.join(keys, child == F.col(key), "left")
              .withColumn(flag_column(rule), child.isNotNull() & F.col(key).isNull())
              .drop(key))
    return df
