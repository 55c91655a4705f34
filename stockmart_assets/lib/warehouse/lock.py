"""One DuckDB writer at a time, across processes: an OS lock on ``<database>.lock`` taken before connecting.

DuckDB lets one process at a time open a database file (the next one gets "Could not set lock on file"), and
dagster-duckdb answers that by retrying blind for about 100 s. Here every connection first takes this lock, so
concurrent runs and steps queue for the file instead of colliding. The ``mart_warehouse`` pool
(``stockmart_assets.instance``) keeps Dagster from starting two mart steps at once; this lock is what makes it
exact, also where the pool is not enforced (an ephemeral instance; Dagster's SQLite storage, whose slot claim
is not atomic) and for the quality checks, which write their results outside the pool.
"""

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_held: dict[str, int] = {}  # lock file -> depth, for this process (flock would block a second open of our own)
_held_guard = threading.RLock()


@contextmanager
def writer_lock(database: str) -> Iterator[None]:
    """Hold ``<database>.lock`` exclusively (waiting for another process to release it); re-entrant."""
    if database in ("", ":memory:") or database.startswith(("md:", "motherduck:")):
        yield
        return
    path = os.path.abspath(database) + ".lock"
    with _held_guard:
        if path in _held:
            _held[path] += 1
            try:
                yield
            finally:
                _held[path] -= 1
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _held[path] = 1
            try:
                yield
            finally:
                del _held[path]
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
