"""A few rows of a DataFrame as plain dicts, for check metadata.

Timestamps are rendered by Spark in the session time zone (as stored), not converted by pyspark to the
Python process's local zone, so a sample shows the value the rule saw.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SAMPLE_SIZE = 5


def sample_rows(df: DataFrame, limit: int | None = SAMPLE_SIZE) -> list[dict[str, Any]]:
    """Up to ``limit`` rows (all rows if None: the caller has bounded them)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType, TimestampType

    columns = [
        F.col(f"`{f.name}`").cast("string").alias(f.name)
        if isinstance(f.dataType, (TimestampType, TimestampNTZType)) else F.col(f"`{f.name}`")
        for f in df.schema.fields
    ]
    rendered = df.select(*columns)
    if limit is not None:
        rendered = rendered.limit(limit)
    return [row.asDict(recursive=True) for row in rendered.collect()]


def jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failing-row samples as JSON-friendly dicts for check metadata: dates in ISO form, decimals (DECIMAL
    columns) and anything else JSON has no type for as their exact text."""
    return [{k: _jsonable(v) for k, v in r.items()} for r in rows]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
