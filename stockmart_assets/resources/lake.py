"""The parquet lake: every source's validated raw rows, one folder per day.

Layout: ``<base>/<source>/<table>/date=YYYY-MM-DD/data.parquet`` (unpartitioned tables: ``.../data.parquet``),
so any partition can be rebuilt without asking the source again. ``base_dir`` is a local folder (LOCAL) or an
object-store URL such as ``gs://bucket/lake`` (PROD; universal-pathlib + gcsfs). A local file is written under a
temporary name and renamed into place; an object store publishes an object whole when its upload completes.
Either way a crash leaves the previous file, never half of a new one.
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

    def _folder(self, context: dg.OutputContext | dg.InputContext):
        meta = context.definition_metadata or {}
        rel = meta.get("lake_path") or "/".join(context.asset_key.path)
        return lake_root(self.base_dir) / str(rel)

    def handle_output(self, context: dg.OutputContext, obj: pa.Table) -> None:
        folder = self._folder(context)
        if not context.has_asset_partitions:
            write_atomic(obj, folder / "data.parquet")
            return
        import pyarrow as pa
        import pyarrow.compute as pc

        table = TABLES[context.asset_key.path[-1]]
        days = pc.cast(obj[table.partition_column], pa.date32())
        for key in context.asset_partition_keys:
            day = obj.filter(pc.equal(days, pa.scalar(dt.date.fromisoformat(key), pa.date32())))
            write_atomic(day, folder / f"date={key}" / "data.parquet")
        context.add_output_metadata({"lake_folder": dg.MetadataValue.path(str(folder))})

    def load_input(self, context: dg.InputContext) -> pa.Table:
        import pyarrow as pa

        folder = self._folder(context.upstream_output)
        if not context.has_asset_partitions:
            return read_parquet(folder / "data.parquet")
        parts = [read_parquet(folder / f"date={k}" / "data.parquet") for k in context.asset_partition_keys]
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def lake_root(base_dir: str):
    """The lake's root as a path: a local ``Path``-like, or a ``gs://`` (any fsspec URL) path."""
    from upath import UPath

    return UPath(base_dir)


def _is_local(path) -> bool:
    return getattr(path, "protocol", "") in ("", "file", "local")


def write_atomic(table: "pa.Table", path) -> None:
    """Replace the parquet file at ``path`` all at once (see the module docstring)."""
    import pyarrow.parquet as pq

    if not _is_local(path):
        with path.open("wb") as f:  # the object appears, or is replaced, only when the upload completes
            pq.write_table(table, f)
        return
    local = Path(path.path)
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(f".{local.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, local)
    finally:
        tmp.unlink(missing_ok=True)


def read_parquet(path) -> "pa.Table":
    import pyarrow.parquet as pq

    if _is_local(path):
        return pq.read_table(path.path)
    with path.open("rb") as f:
        return pq.read_table(f)
