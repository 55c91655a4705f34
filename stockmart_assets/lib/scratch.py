"""DuckDB for scratch work (validating landing files, writing load files, shaping mart rows), in bounded memory.

Every stage moves a day's rows through DuckDB, never holding them whole in Python. DuckDB keeps its working
set under ``memory_limit`` and spills the rest to a temporary folder of its own, removed when the process
ends, so a day larger than memory still goes through; ``STOCKMART_SCRATCH_MEMORY`` sets the limit (DuckDB's
syntax, e.g. "2GB").

A process has one scratch database, and each use gets a connection of its own to it: what a use registers or
creates is its own and goes with its connection, and the limit bounds all the uses of the process together.
Making a DuckDB database costs more than most uses (a run has dozens, most of them on a few rows).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

DEFAULT_MEMORY = "1GB"

_database: tuple[tuple[int, str], duckdb.DuckDBPyConnection] | None = None  # ((pid, memory limit), database)
_replaced: list[duckdb.DuckDBPyConnection] = []  # never closed here: a forked child must not close its parent's
_lock = threading.Lock()


def memory_limit() -> str:
    """DuckDB's memory_limit for stockmart's connections (``STOCKMART_SCRATCH_MEMORY``, else 1GB)."""
    return os.getenv("STOCKMART_SCRATCH_MEMORY") or DEFAULT_MEMORY


def _shared() -> duckdb.DuckDBPyConnection:
    """The process's scratch database, made on first use; a new one in a forked child, or for a new limit."""
    global _database
    import duckdb

    made_for = (os.getpid(), memory_limit())
    with _lock:
        if _database is None or _database[0] != made_for:
            if _database is not None:
                _replaced.append(_database[1])
            spill = tempfile.mkdtemp(prefix="stockmart-scratch-")
            atexit.register(_remove, spill, os.getpid())
            _database = made_for, duckdb.connect(config={"memory_limit": made_for[1], "temp_directory": spill})
        return _database[1]


def _remove(spill: str, owner: int) -> None:
    if os.getpid() == owner:  # not a forked child's exit
        shutil.rmtree(spill, ignore_errors=True)


@contextmanager
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the process's scratch database, in UTC, closed after the block (see the module)."""
    con = _shared().cursor()
    try:
        con.execute("SET TimeZone = 'UTC'").fetchall()
        yield con
    finally:
        con.close()
