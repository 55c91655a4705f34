"""What an asset page shows: row count, column schema and a preview, the same way for every table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    import pyarrow as pa

from stockmart_assets.landing.contract import LandingTable
from stockmart_assets.mysql.ddl import mysql_type

PREVIEW_ROWS = 10


def table_schema(table: LandingTable) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, mysql_type(c), description=f"landing header: {c.header}",
                       constraints=dg.TableColumnConstraints(nullable=not (c.required or c.name in table.key),
                                                             unique=table.key == (c.name,)))
        for c in table.columns
    ])


def table_metadata(table: LandingTable, data: pa.Table) -> dict:
    preview = data.select(table.column_names).slice(0, PREVIEW_ROWS).to_pandas()
    return {
        "dagster/row_count": data.num_rows,
        "dagster/column_schema": table_schema(table),
        "preview": dg.MetadataValue.md(preview.to_markdown(index=False) if len(preview) else "(no rows)"),
    }
