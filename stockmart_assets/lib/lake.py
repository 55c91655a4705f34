"""The parquet lake: every source's rows as they arrived, one folder per day.

Layout: ``<base>/<source>/<table>/date=YYYY-MM-DD/data.parquet`` (an unpartitioned table: ``.../data.parquet``),
so any day can be rebuilt without asking the source again. ``base`` is a local folder (LOCAL) or an object-store
URL such as ``gs://bucket/lake`` (PROD; universal-pathlib + gcsfs). A local file is written under a temporary
name and renamed into place; an object store publishes an object whole when its upload completes. Either way a
crash leaves the previous file, never half of a new one.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from stockmart_assets.lib.day import Day

if TYPE_CHECKING:
    import pyarrow as pa


def lake_root(base: str):
    """The lake's root as a path: a local ``Path``-like, or a ``gs://`` (any fsspec URL) path."""
    from upath import UPath

    return UPath(base)


def lake_file(base: str, folder: str, day: Day | None = None):
    """Where a table (``day`` None) or one day of it lives in the lake."""
    root = lake_root(base) / folder
    return (root / f"date={day.key}" if day else root) / "data.parquet"


def _is_local(path) -> bool:
    return getattr(path, "protocol", "") in ("", "file", "local")


def write_atomic(table: pa.Table, path) -> None:
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


def read_parquet(path) -> pa.Table:
    import pyarrow.parquet as pq

    if _is_local(path):
        return pq.read_table(path.path)
    with path.open("rb") as f:
        return pq.read_table(f)
