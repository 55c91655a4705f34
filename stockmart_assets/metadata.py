"""What an asset page shows: row count, column schema and a preview, the same way for every table.

A partitioned asset records its numbers on each partition's own materialization
(``context.add_asset_metadata(..., partition_key=day)``), so a single-run backfill of many days shows each
day's rows, not the range's: Dagster copies a run's output metadata onto every partition the run covers.
Output metadata of a partitioned asset therefore carries only what is true of every partition.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    import pyarrow as pa

from stockmart_assets.landing.contract import LandingTable
from stockmart_assets.mysql.ddl import mysql_type

PREVIEW_ROWS = 10
# On raw/* materializations: the digest of the landing files (path, mtime:size) the partition was read from.
LANDING_VERSION = "landing_version"


def table_schema(table: LandingTable) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, mysql_type(c), description=f"landing header: {c.header}",
                       constraints=dg.TableColumnConstraints(nullable=not (c.required or c.name in table.key),
                                                             unique=table.key == (c.name,)))
        for c in table.columns
    ])


def preview(data: pa.Table, columns: list[str] | None = None) -> dg.MetadataValue:
    rows = (data.select(columns) if columns else data).slice(0, PREVIEW_ROWS).to_pandas()
    return dg.MetadataValue.md(rows.to_markdown(index=False) if len(rows) else "(no rows)")


def rows_metadata(data: pa.Table, columns: list[str] | None = None) -> dict:
    """Row count and preview of ``data`` (one partition's rows, or an unpartitioned table)."""
    return {"dagster/row_count": data.num_rows, "preview": preview(data, columns)}


def table_metadata(table: LandingTable, data: pa.Table) -> dict:
    return {**rows_metadata(data, table.column_names), "dagster/column_schema": table_schema(table)}


def day_slices(data: pa.Table, day_column: str, days: list[str]) -> dict[str, pa.Table]:
    """The rows of each day in ``days`` (a DATE column, or a timestamp's calendar date)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    day_of_row = pc.cast(data[day_column], pa.date32())
    return {day: data.filter(pc.equal(day_of_row, pa.scalar(dt.date.fromisoformat(day), pa.date32())))
            for day in days}


def add_partition_metadata(context: dg.AssetExecutionContext, per_day: dict[str, dict]) -> None:
    """Record each day's own numbers on that day's materialization."""
    for day, metadata in per_day.items():
        context.add_asset_metadata(metadata, partition_key=day)
