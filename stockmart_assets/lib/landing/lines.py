"""Line numbers as an editor shows them: blank lines count, and a value may not span lines.

DuckDB numbers records, not lines; where a file has blank lines (or quoted line breaks) the true line of each
record is found here, and a record that spans lines is refused at its first line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.landing.header import label, labels
from stockmart_assets.lib.landing.problems import LandingFileError, Problem

if TYPE_CHECKING:
    import duckdb


def _line_count(path: Path) -> int:
    """Lines of a file as an editor counts them (a last line without a final newline counts)."""
    lines, last = 0, b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last not in (b"", b"\n"))


@contextmanager
def _csv_field_limit(size: int) -> Iterator[None]:
    """Let the csv module read fields of any length up to ``size`` (it refuses those over 128 KiB)."""
    limit = csv.field_size_limit(max(size + 1, csv.field_size_limit()))
    try:
        yield
    finally:
        csv.field_size_limit(limit)


def _record_lines(table: LandingTable, path: Path) -> tuple[list[int], list[Problem]]:
    """The line each data record starts on, and a problem for each record that spans lines."""
    names = labels(table, header=False)
    starts, problems, end = [], [], 0
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f, _csv_field_limit(path.stat().st_size):
        reader = csv.reader(f)
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row:  # a blank line holds no record (DuckDB skips it too)
                continue
            if end > start:
                where = next((i for i, v in enumerate(row) if "\n" in v or "\r" in v), len(row) - 1)
                problems.append(Problem(str(path), start, label(names, where),
                                        f"the record runs over lines {start}-{end} (a line break inside quotes, "
                                        "or a quote that is never closed): a value must stay on its line"))
            starts.append(start)
    return starts[1:], problems  # the first record is the header


def number_lines(con: duckdb.DuckDBPyConnection, table: LandingTable, path: Path) -> None:
    """Make ``_source_line`` the file's line. DuckDB skips blank lines, so its record number is the line only
    when the file has one record per line; counting newlines (cheap) says whether it does. If not, the file
    is walked once with Python's csv module, which knows the line every record starts on."""
    rows = con.execute("SELECT count(*) FROM landing WHERE filename = ?", [str(path)]).fetchall()[0][0]
    rejected = con.execute("SELECT count(DISTINCT line) FROM landing_rejects").fetchall()[0][0]
    if _line_count(path) == 1 + rows + rejected:
        return
    starts, problems = _record_lines(table, path)
    if problems:  # DuckDB's line numbers drift after such a record: report it alone, at its true line
        raise LandingFileError(problems)
    if rejected or len(starts) != rows:  # DuckDB's rejects carry the file's lines already
        return
    import pyarrow as pa

    con.register("record_lines", pa.table({"record": range(2, rows + 2), "line": starts}))
    con.execute("UPDATE landing SET _source_line = record_lines.line FROM record_lines "
                "WHERE landing.filename = ? AND landing._source_line = record_lines.record", [str(path)]).fetchall()
    con.unregister("record_lines")


def longest_field(table: LandingTable, path: str, line: int) -> tuple[str, int]:
    """The column holding the longest value of a line DuckDB refused as too long, and its length."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if number == line:
                break
        else:
            return "(unknown)", 0
    with _csv_field_limit(len(raw)):
        fields = next(csv.reader([raw.decode("utf-8", "replace").rstrip("\r\n")]), [""])
    longest = max(range(len(fields)), key=lambda i: len(fields[i]))
    return label(labels(table, header=False), longest), len(fields[longest])

