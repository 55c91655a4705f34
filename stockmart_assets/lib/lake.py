"""The parquet lake: every source's rows as they arrived, one folder per day.

Layout: ``<base>/<source>/<table>/date=YYYY-MM-DD/data.parquet`` (an unpartitioned table: ``.../data.parquet``),
so any day can be rebuilt without asking the source again. ``base`` is a local folder (LOCAL) or an object-store
URL such as ``gs://bucket/lake`` (PROD; universal-pathlib + gcsfs). A local file is written under a temporary
name and renamed into place; an object store publishes an object whole when its upload completes. Either way a
crash leaves the previous file, never half of a new one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from stockmart_assets.lib.day import Day, Scope

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds


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


def _replace(path, write: Callable[[BinaryIO], None]) -> None:
    """Replace the file at ``path`` with what ``write`` writes to a binary file, all at once (see the module
    docstring): written next to it under a temporary name and renamed, or uploaded whole."""
    if not _is_local(path):
        with path.open("wb") as f:  # the object appears, or is replaced, only when the upload completes
            write(f)
        return
    local = Path(path.path)
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(f".{local.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, local)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(table: pa.Table, path) -> None:
    """Replace the parquet file at ``path`` with ``table``, all at once."""
    import pyarrow.parquet as pq

    _replace(path, lambda f: pq.write_table(table, f))


def read_parquet(path) -> pa.Table:
    import pyarrow.parquet as pq

    if _is_local(path):
        return pq.read_table(path.path)
    with path.open("rb") as f:
        return pq.read_table(f)


def publish(staged: Path, path) -> None:
    """Put a parquet file written elsewhere (a stage's scratch folder) at ``path``, all at once."""
    def copy(target: BinaryIO) -> None:
        with open(staged, "rb") as source:
            shutil.copyfileobj(source, target, 1 << 24)

    _replace(path, copy)


@dataclass(frozen=True)
class LakeDays:
    """A table's rows of some days (or the whole table, ``WHOLE``): one parquet file each, read lazily.

    What passes between the raw and the MySQL stage: the files, never the rows, so a day of any size moves
    through in bounded memory (DuckDB and pyarrow stream the files).
    """

    files: Mapping[Scope, Any]  # a local Path, or a UPath of an object store
    staging: Path | None = None  # the scratch folder the files were written in, when not yet in the lake

    def dataset(self, scope: Scope | None = None) -> ds.Dataset:
        """The rows of one scope, or of all of them, as a pyarrow dataset (nothing read yet)."""
        import pyarrow.dataset as ds

        paths = [self.files[scope]] if scope is not None else list(self.files.values())
        if all(_is_local(p) for p in paths):
            return ds.dataset([str(getattr(p, "path", p)) for p in paths], format="parquet")
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        return ds.dataset([p.path for p in paths], format="parquet", filesystem=PyFileSystem(FSSpecHandler(paths[0].fs)))

    def rows(self, scope: Scope | None = None) -> int:
        return self.dataset(scope).count_rows()  # from the files' footers

    def discard_staging(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
