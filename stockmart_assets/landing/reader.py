"""Read landing files into typed Arrow tables, or fail naming the file, line and column.

DuckDB's CSV reader does the parsing: it is typed, streaming and fast, and with ``store_rejects`` it reports
every row it could not convert (with its line and column) instead of stopping at the first. On top of that we
check what DuckDB cannot know: the header (Korean or English, in the contract's order), required values,
field lengths, duplicate keys, and numbers that DuckDB's cast would round (``1.5`` into a BIGINT is 2, ``0.125``
into a DECIMAL(18,2) is 0.13): numeric columns are read as text and must be exact. Nothing is dropped or altered
silently: any problem in a file fails the whole read.

Line numbers are physical lines of the file, as an editor shows them: blank lines count, and a value may not
span lines (a quoted line break is refused), so every reported line is the line to open.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

from stockmart_assets.landing.contract import LandingTable

MAX_REPORTED_PROBLEMS = 20
SOURCE_FILE = "_source_file"
SOURCE_LINE = "_source_line"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class LandingFileError(ValueError):
    """A landing file breaks the contract. ``problems`` lists each bad spot (file, line, column)."""

    def __init__(self, problems: list[Problem], total: int | None = None):
        self.problems = problems
        total = total if total is not None else len(problems)
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_REPORTED_PROBLEMS])
        more = f"\n  ... and {total - MAX_REPORTED_PROBLEMS} more" if total > MAX_REPORTED_PROBLEMS else ""
        super().__init__(f"{total} problem(s) in landing files:\n{shown}{more}")


def landing_files(table: LandingTable, landing_dir: Path) -> list[Path]:
    files = sorted({p for pattern in table.globs for p in Path(landing_dir).glob(pattern) if p.is_file()})
    if not files:
        raise FileNotFoundError(
            f"no {table.name} file in landing folder {landing_dir} (looked for {', '.join(table.globs)})"
        )
    return files


def _labels(table: LandingTable, header: bool = True) -> list[str]:
    """One label per field of a line, as problems name them: the header as the service writes it (``header``)
    or the canonical names DuckDB reports data rows with; '(index)' for an unnamed index column."""
    return (["(index)"] if table.index_column else []) + [c.header if header else c.name for c in table.columns]


def _label(labels: list[str], index: int) -> str:
    return labels[index] if index < len(labels) else f"(extra field {index + 1})"


def _encoding_hint(raw: bytes) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "; the file is UTF-16 (Excel's 'Unicode text'): save it as 'CSV UTF-8'"
    try:
        raw.decode("cp949")
    except UnicodeDecodeError:
        return ""
    return "; it reads as CP949/EUC-KR (Excel's 'CSV' on Korean Windows): save it as 'CSV UTF-8'"


def _field_at(table: LandingTable, line: str) -> str:
    """The header label of the field that ``line`` (the start of a header line) ends in."""
    return _label(_labels(table), max(len(next(csv.reader([line]), [""])) - 1, 0))


def check_header(table: LandingTable, path: Path) -> None:
    """The first line must name the contract's columns, in order, in Korean or in English."""
    with open(path, "rb") as f:
        first = f.readline()
    expected = ([""] if table.index_column else []) + [c.header for c in table.columns]
    if not first.strip():
        raise LandingFileError([Problem(str(path), 1, _labels(table)[0],
                                        f"file is empty: expected the header line {','.join(expected)}")])
    # A file with classic Mac line ends (CR only) is one long "line" to readline: the header is its first part.
    first = first.removeprefix(codecs.BOM_UTF8).split(b"\r")[0].removesuffix(b"\n")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as e:
        column = _field_at(table, first[:e.start].decode("utf-8", "replace"))
        raise LandingFileError([Problem(
            str(path), 1, column,
            f"header is not UTF-8 (byte {e.start + 1} of the line is {first[e.start]:#04x}){_encoding_hint(first)}",
        )]) from None
    found = next(csv.reader(io.StringIO(text)))
    accepted = ([("",)] if table.index_column else []) + [c.accepted_headers for c in table.columns]
    problems = []
    for i, names in enumerate(accepted):
        got = found[i].strip() if i < len(found) else None
        if got is None:
            problems.append(Problem(str(path), 1, names[0] or "(index)", "column missing from header"))
        elif got not in names:
            problems.append(
                Problem(str(path), 1, got or "(empty)", f"expected column {i + 1} to be "
                        + " or ".join(repr(n) for n in names) + f"; header must be {','.join(expected)}")
            )
    for extra in found[len(accepted):]:
        problems.append(Problem(str(path), 1, extra, "unexpected extra column in header"))
    if problems:
        raise LandingFileError(problems)


def _is_number(typ: str) -> bool:
    return typ in ("BIGINT", "INTEGER") or typ.startswith("DECIMAL")


def _columns_arg(table: LandingTable, numbers_as_text: bool = False) -> str:
    """DuckDB's ``columns`` argument. ``numbers_as_text``: read numeric columns as VARCHAR, to check them
    exactly before the cast (DuckDB's own cast rounds '1.5' to 2)."""
    cols = ([("_index", "BIGINT")] if table.index_column else []) + [
        (c.name, "VARCHAR" if numbers_as_text and _is_number(c.type) else c.type) for c in table.columns]
    return "{" + ", ".join(f"'{name}': '{typ}'" for name, typ in cols) + "}"


def read_landing(
    table: LandingTable,
    landing_dir: Path | str,
    partitions: list[str] | None = None,
    con: "duckdb.DuckDBPyConnection | None" = None,
) -> pa.Table:
    """Validate every file of ``table`` and return its rows (of the given daily partitions, if any).

    Returned columns: the contract's canonical names, then ``_source_file`` and ``_source_line`` so a later
    failure (a broken foreign key in MySQL, say) can still point at the line that caused it.
    """
    import duckdb

    files = landing_files(table, Path(landing_dir))
    for f in files:
        check_header(table, f)
    con = con or duckdb.connect()
    con.execute("SET TimeZone = 'UTC'").fetchall()
    options = [
        "header = true", "auto_detect = false", "delim = ','", "quote = '\"'", "escape = '\"'",
        f"columns = {_columns_arg(table, numbers_as_text=True)}", "store_rejects = true",
        "rejects_table = 'landing_rejects'", "rejects_scan = 'landing_scans'",
    ]
    if table.timestamp_format:
        options.append(f"timestampformat = '{table.timestamp_format}'")
    for i, f in enumerate(files):
        # One scan per file: row_number() over a plain scan follows file order, which gives each row its
        # record number; _number_lines turns that into the file's line.
        verb = "CREATE OR REPLACE TEMP TABLE landing AS" if i == 0 else "INSERT INTO landing"
        con.execute(
            f"{verb} SELECT *{_number_casts(table)}, ?::VARCHAR AS filename, "
            f"row_number() OVER () + 1 AS _source_line FROM read_csv(?, {', '.join(options)})",
            [str(f), str(f)],
        ).fetchall()
        _number_lines(con, table, f)
        _raise_on_rejects(con, table)
    _raise_on_inexact_numbers(con, table)
    _raise_on_rule_breaks(con, table)

    ts_expr = _partition_date_expr(table)
    where = ""
    params: list = []
    if partitions is not None:
        if ts_expr is None:
            raise ValueError(f"{table.name} is not partitioned")
        dates = [dt.date.fromisoformat(p) for p in partitions]
        where = f"WHERE {ts_expr} IN (SELECT unnest(?::DATE[]))"
        params = [dates]
    select = ", ".join(_output_expr(c.name, c.type) for c in table.columns)
    order = ", ".join(table.key)
    return con.sql(
        f"SELECT {select}, filename AS {SOURCE_FILE}, _source_line AS {SOURCE_LINE} FROM landing {where} "
        f"ORDER BY {order}",
        params=params or None,
    ).to_arrow_table()


def partition_dates(table: LandingTable, landing_dir: Path | str) -> list[str]:
    """The daily partitions the landing files touch (the dates the run/sensor should materialize)."""
    ts_expr = _partition_date_expr(table)
    assert ts_expr is not None, f"{table.name} is not partitioned"
    import duckdb

    files = landing_files(table, Path(landing_dir))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'").fetchall()
    fmt = f", timestampformat = '{table.timestamp_format}'" if table.timestamp_format else ""
    rows = con.execute(
        f"SELECT DISTINCT {ts_expr} AS d FROM read_csv(?, header = true, auto_detect = false, "
        f"columns = {_columns_arg(table)}, ignore_errors = true{fmt}) WHERE {table.partition_column} IS NOT NULL "
        "ORDER BY d",
        [[str(f) for f in files]],
    ).fetchall()
    return [r[0].isoformat() for r in rows]


def _partition_date_expr(table: LandingTable) -> str | None:
    # Trades are stamped in the service's local time (already local: the date is the partition); price bars
    # carry a UTC offset and belong to their UTC date.
    if table.partition_column is None:
        return None
    return f"CAST({table.partition_column} AS DATE)"


def _output_expr(name: str, typ: str) -> str:
    # MySQL has no time zone type: bars are stored as naive UTC DATETIMEs.
    if typ == "TIMESTAMPTZ":
        return f"CAST({name} AT TIME ZONE 'UTC' AS TIMESTAMP) AS {name}"
    return name


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
    labels = _labels(table, header=False)
    starts, problems, end = [], [], 0
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f, _csv_field_limit(path.stat().st_size):
        reader = csv.reader(f)
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row:  # a blank line holds no record (DuckDB skips it too)
                continue
            if end > start:
                where = next((i for i, v in enumerate(row) if "\n" in v or "\r" in v), len(row) - 1)
                problems.append(Problem(str(path), start, _label(labels, where),
                                        f"the record runs over lines {start}-{end} (a line break inside quotes, "
                                        "or a quote that is never closed): a value must stay on its line"))
            starts.append(start)
    return starts[1:], problems  # the first record is the header


def _number_lines(con: duckdb.DuckDBPyConnection, table: LandingTable, path: Path) -> None:
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


def _longest_field(table: LandingTable, path: str, line: int) -> tuple[str, int]:
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
    return _label(_labels(table, header=False), longest), len(fields[longest])


def _raise_on_rejects(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    total = con.execute("SELECT count(*) FROM landing_rejects").fetchall()[0][0]
    if not total:
        return
    rows = con.execute(
        "SELECT s.file_path, e.line, e.column_name, e.error_type, e.error_message, e.csv_line "
        "FROM landing_rejects e JOIN landing_scans s USING (scan_id, file_id) "
        f"ORDER BY s.file_path, e.line LIMIT {MAX_REPORTED_PROBLEMS}"
    ).fetchall()
    problems = []
    for f, line, col, kind, msg, _ in rows:
        message = f"{kind.lower()}: {msg.strip() or kind}"
        if col is None and kind == "TOO MANY COLUMNS":
            col = _label(_labels(table, header=False), len(_labels(table)))
        elif col is None and kind == "LINE SIZE OVER MAXIMUM":
            col, length = _longest_field(table, f, int(line))
            max_length = next((c.max_length for c in table.columns if c.name == col), None)
            message += f" The longest value is in this column: {length:,} characters" + (
                f" (at most {max_length} allowed)" if max_length else "")
        problems.append(Problem(f, int(line), col, message))
    raise LandingFileError(problems, total)


def _number_patterns(typ: str) -> tuple[str, str]:
    """(any plain decimal number, a number this type holds exactly) as regular expressions."""
    number = r"\s*[+-]?[0-9]+(\.[0-9]*)?\s*"
    scale = int(re.findall(r"\d+", typ)[1]) if typ.startswith("DECIMAL") else 0
    return number, r"\s*[+-]?[0-9]+(\.[0-9]{0,%d}0*)?\s*" % scale


def _number_casts(table: LandingTable) -> str:
    """The scan's casts of the numeric columns (read as text), each with its text kept aside (``_bad_<column>``)
    where it is refused: not a plain number (DuckDB's cast would also take '1e3', '0x10', '1_000'), more decimal
    places than the type keeps (it would round 1.5 into a BIGINT to 2), or out of range. '5.0' is the whole
    number 5 (pandas writes integers so when a column has a gap)."""
    numeric = [c for c in table.columns if _is_number(c.type)]
    if not numeric:
        return ""
    casts = ", ".join(f"TRY_CAST({c.name} AS {c.type}) AS {c.name}" for c in numeric)
    bad = "".join(f", CASE WHEN {c.name} IS NOT NULL AND (NOT regexp_full_match({c.name}, "
                  f"'{_number_patterns(c.type)[1]}') OR TRY_CAST({c.name} AS {c.type}) IS NULL) "
                  f"THEN {c.name} END AS _bad_{c.name}" for c in numeric)
    return f" REPLACE ({casts}){bad}"


def _raise_on_inexact_numbers(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    """Fail on the numeric values the scan refused to cast (see ``_number_casts``)."""
    checks = []
    for c in (c for c in table.columns if _is_number(c.type)):
        number, exact = _number_patterns(c.type)
        text = f"_bad_{c.name}"
        checks.append(
            f"SELECT filename, _source_line, '{c.name}', 'cast: could not convert \"' || left({text}, 40) || "
            f"'\" to {c.type}: ' || CASE WHEN NOT regexp_full_match({text}, '{number}') THEN 'not a number' "
            f"WHEN NOT regexp_full_match({text}, '{exact}') THEN 'it has more decimal places than "
            f"{c.type} keeps (it would be rounded)' ELSE 'out of range' END FROM landing WHERE {text} IS NOT NULL"
        )
    if checks:
        _raise_found(con, checks)


def _raise_found(con: duckdb.DuckDBPyConnection, checks: list[str]) -> None:
    """Run queries of (file, line, column, message) and fail with what they found, first lines first."""
    union = " UNION ALL ".join(f"({q})" for q in checks)
    total = con.execute(f"SELECT count(*) FROM ({union})").fetchall()[0][0]
    if total:
        rows = con.execute(f"SELECT * FROM ({union}) ORDER BY 1, 2 LIMIT {MAX_REPORTED_PROBLEMS}").fetchall()
        raise LandingFileError([Problem(f, int(line), col, msg) for f, line, col, msg in rows], total)


def _raise_on_rule_breaks(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    """Required values, field lengths and duplicate keys: what a typed parse alone does not catch."""
    checks: list[str] = []
    for c in table.columns:
        if c.required or c.name in table.key:
            checks.append(
                f"SELECT filename, _source_line, '{c.name}', 'value is required' FROM landing "
                f"WHERE {c.name} IS NULL"
            )
        if c.max_length:
            checks.append(
                f"SELECT filename, _source_line, '{c.name}', "
                f"'value is ' || length({c.name}) || ' characters long; at most {c.max_length} allowed' "
                f"FROM landing WHERE length({c.name}) > {c.max_length}"
            )
    key = ", ".join(table.key)
    key_label = ", ".join(table.key)
    checks.append(
        f"SELECT filename, _source_line, '{key_label}', 'duplicate key (' || concat_ws(', ', {key}) || "
        f"') also on ' || first_file || ' line ' || first_line FROM ("
        f"SELECT *, first_value(filename) OVER w AS first_file, first_value(_source_line) OVER w AS first_line, "
        f"row_number() OVER w AS n FROM landing WINDOW w AS (PARTITION BY {key} ORDER BY filename, _source_line)"
        f") WHERE n > 1"
    )
    _raise_found(con, checks)

