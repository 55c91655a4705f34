"""DuckDB for scratch work (validating landing files, writing load files, shaping mart rows), in bounded memory.

Every stage moves a day's rows through DuckDB, never holding them whole in Python. DuckDB keeps its working
set under ``memory_limit`` and spills the rest to a temporary folder of its own, removed afterwards, so a day
larger than memory still goes through; ``STOCKMART_SCRATCH_MEMORY`` sets the limit (DuckDB's syntax, e.g.
"2GB").
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

DEFAULT_MEMORY = "1GB"


def memory_limit() -> str:
    """DuckDB's memory_limit for stockmart's connections (``STOCKMART_SCRATCH_MEMORY``, else 1GB)."""
    return os.getenv("STOCKMART_SCRATCH_MEMORY") or DEFAULT_MEMORY


@contextmanager
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with a memory limit and its own spill folder (see the module)."""
    import duckdb

    spill = tempfile.mkdtemp(prefix="stockmart-scratch-")
    try:
        con = duckdb.connect(config={"memory_limit": memory_limit(), "temp_directory": spill})
        try:
            con.execute("SET TimeZone = 'UTC'").fetchall()
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
