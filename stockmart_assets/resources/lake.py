"""The parquet lake: every source's validated raw rows, one folder per day.

Layout: ``<base>/<source>/<table>/date=YYYY-MM-DD/data.parquet`` (unpartitioned tables: ``.../data.parquet``),
so any partition can be rebuilt without asking the source again. Each file is written under a temporary name
and renamed into place: a crash leaves the previous file, never half of a new one.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    import pyarrow as pa

from stockmart_assets.landing.contract import TABLES


class LakeIOManager(dg.ConfigurableIOManager):
    """Stores Arrow tables as parquet under ``base_dir``; the asset's ``lake_path`` metadata names the folder."""

    base_dir: str

    def _folder(self, context: dg.OutputContext | dg.InputContext) -> Path:
        meta = context.definition_metadata or {}
        rel = meta.get("lake_path") or "/".join(context.asset_key.path)
        return Path(self.base_dir) / str(rel)

    def handle_output(self, context: dg.OutputContext, obj: pa.Table) -> None:
        folder = self._folder(context)
        if not context.has_asset_partitions:
            _write_atomic(obj, folder / "data.parquet")
            return
        import pyarrow as pa
        import pyarrow.compute as pc

        table = TABLES[context.asset_key.path[-1]]
        days = pc.cast(obj[table.partition_column], pa.date32())
        for key in context.asset_partition_keys:
            day = obj.filter(pc.equal(days, pa.scalar(dt.date.fromisoformat(key), pa.date32())))
            _write_atomic(day, folder / f"date={key}" / "data.parquet")
        context.add_output_metadata({"lake_folder": dg.MetadataValue.path(str(folder))})

    def load_input(self, context: dg.InputContext) -> pa.Table:
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = self._folder(context.upstream_output)
        if not context.has_asset_partitions:
            return pq.read_table(folder / "data.parquet")
        parts = [pq.read_table(folder / f"date={k}" / "data.parquet") for k in context.asset_partition_keys]
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def _write_atomic(table: pa.Table, path: Path) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
