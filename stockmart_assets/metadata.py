"""What an asset page shows: row count, column schema and a preview, the same way for every table.

A partitioned asset records its numbers on each day's own materialization
(``context.add_asset_metadata(..., partition_key=day)``): Dagster copies a run's output metadata onto every
partition the run covers, so a single-run backfill's output metadata would show the range's numbers on each
day. Output metadata of a partitioned asset therefore carries only what is true of every day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from stockmart_assets.lib.day import Day, Days, rows_by_day
from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.mysql.ddl import mysql_type

if TYPE_CHECKING:
    import pyarrow as pa

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


def preview(data: pa.Table, columns: list[str] | None = None, limit: int = PREVIEW_ROWS) -> dg.MetadataValue:
    rows = (data.select(columns) if columns else data).slice(0, limit).to_pandas()
    return dg.MetadataValue.md(rows.to_markdown(index=False) if len(rows) else "(no rows)")


def rows_metadata(data: pa.Table, columns: list[str] | None = None) -> dict:
    """Row count and preview of ``data`` (one day's rows, or an unpartitioned table)."""
    return {"dagster/row_count": data.num_rows, "preview": preview(data, columns)}


def table_metadata(table: LandingTable, data: pa.Table) -> dict:
    return {**rows_metadata(data, table.column_names), "dagster/column_schema": table_schema(table)}


def run_days(context: dg.AssetExecutionContext) -> Days:
    """The days this run materializes: one, or a single-run backfill's range."""
    return Days.of(context.partition_keys)


def add_day_metadata(context: dg.AssetExecutionContext, per_day: dict[Day, dict]) -> None:
    """Record each day's own numbers on that day's materialization."""
    for day, metadata in per_day.items():
        context.add_asset_metadata(metadata, partition_key=day.key)


def record_rows_by_day(context: dg.AssetExecutionContext, rows: pa.Table, day_column: str,
                       metadata=rows_metadata) -> None:
    """Each day's row count and preview of ``rows`` (the run's output), on that day's materialization."""
    add_day_metadata(context, {day: metadata(day_rows)
                               for day, day_rows in rows_by_day(rows, day_column, run_days(context)).items()})
