"""What is in the landing folder, cheaply: each file's version (mtime, size) and the days a file touches.

The landing sensor compares versions with its cursor on every tick, so the scan is one ``scandir`` per folder
and a stat per file; only new or changed files are opened, all in one DuckDB query per table.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from stockmart_assets.lib.landing.contract import TABLES, LandingTable


def file_versions(landing_dir: Path | str) -> dict[str, tuple[str, str]]:
    """relative path -> (table name, "mtime_ns:size") for every file the contract's globs match.

    One ``scandir`` per folder the globs name and one stat per file: on 10,000 files this is several times
    cheaper than ``Path.glob`` + ``relpath`` + ``is_file`` (two stats a file), and it runs on every tick.
    Matching is ``Path.glob``'s, as the reader's (``landing.reader.landing_files``): case-sensitive, one
    folder level, a wildcard matches a leading dot too.
    """
    root = str(landing_dir)
    by_folder: dict[str, list[tuple[str, str]]] = {}
    for table in TABLES.values():
        for pattern in table.globs:
            folder, _, name = pattern.rpartition("/")
            if any(c in folder for c in "*?["):
                raise ValueError(f"{table.name}: landing glob {pattern!r} has a wildcard in its folder")
            by_folder.setdefault(folder, []).append((name, table.name))
    found: dict[str, tuple[str, str]] = {}
    for folder, patterns in by_folder.items():
        try:
            entries = os.scandir(os.path.join(root, folder) if folder else root)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                table = next((t for name, t in patterns if fnmatch.fnmatchcase(entry.name, name)), None)
                if table is None or not entry.is_file():
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:  # removed while we looked
                    continue
                found[f"{folder}/{entry.name}" if folder else entry.name] = (table, f"{st.st_mtime_ns}:{st.st_size}")
    return found


def version_bytes(version: str) -> int:
    """The size in bytes a file's version (``file_versions``) records."""
    return int(version.rpartition(":")[2])


def unmatched_csv_files(landing_dir: Path | str, versions: dict[str, tuple[str, str]],
                        max_depth: int = 3) -> list[str]:
    """CSV files in the landing folder (down to ``max_depth`` folders, hidden ones skipped) that no landing
    name matches (``Trade.csv``, ``trades 2024.csv``, ``stocks/AAPL_data.csv``, ``trade/2024-12/26.csv``): not
    read, so worth a word to whoever put them there."""
    root = str(landing_dir)
    found = []
    for folder, dirs, names in os.walk(root):
        depth = 0 if folder == root else os.path.relpath(folder, root).count(os.sep) + 1
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < max_depth else []
        for name in sorted(names):
            path = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if name.lower().endswith(".csv") and path not in versions:
                found.append(path)
    return found


def days_touched(table: LandingTable, landing_dir: Path | str, files: list[str]) -> dict[str, list[str]]:
    """Daily partition keys each file touches (by its partition column; unreadable values are skipped here:
    the run itself reports them with file, line and column)."""
    import duckdb

    from stockmart_assets.lib.landing.reader import columns_arg

    if not files:
        return {}
    root = Path(landing_dir)
    fmt = f", timestampformat = '{table.timestamp_format}'" if table.timestamp_format else ""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'").fetchall()
    rows = con.execute(
        f"SELECT filename, list(DISTINCT CAST({table.partition_column} AS DATE) ORDER BY 1) FROM read_csv(?, "
        f"header = true, auto_detect = false, columns = {columns_arg(table)}, ignore_errors = true, "
        f"filename = true{fmt}) WHERE {table.partition_column} IS NOT NULL GROUP BY filename",
        [[str(root / f) for f in files]],
    ).fetchall()
    by_path = {os.path.relpath(path, root): [d.isoformat() for d in days] for path, days in rows}
    return {f: by_path.get(f, []) for f in files}


def version_digest(versions: Iterable[tuple[str, str]]) -> str:
    """One short digest of (relative path, version) pairs, whatever their order; the empty set has one too."""
    return hashlib.sha1(json.dumps(sorted(versions)).encode()).hexdigest()[:16]


def partition_versions(versions: dict[str, tuple[str, str]],
                       days_by_file: dict[str, list[str]]) -> dict[tuple[str, str | None], str]:
    """(table, day) -> digest of the files holding the table's rows of that day; (table, None) for a table
    without partitions. ``versions`` is ``file_versions()``; ``days_by_file`` has ``days_touched()`` of every
    file of a partitioned table."""
    files: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    for path, (table, version) in versions.items():
        if TABLES[table].partition_column is None:
            files.setdefault((table, None), []).append((path, version))
            continue
        for day in days_by_file.get(path, []):
            files.setdefault((table, day), []).append((path, version))
    return {key: version_digest(pairs) for key, pairs in files.items()}
