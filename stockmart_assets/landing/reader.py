"""Read landing files into typed Arrow tables, or fail naming the file, line and column.

DuckDB's CSV reader does the parsing: it is typed, streaming and fast, and with ``store_rejects`` it reports
every row it could not convert (with its line and column) instead of stopping at the first. On top of that we
check what DuckDB cannot know: the header (Korean or English, in the contract's order), required values,
field lengths and duplicate keys. Nothing is dropped silently: any problem in a file fails the whole read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
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


def check_header(table: LandingTable, path: Path) -> None:
    """The first line must name the contract's columns, in order, in Korean or in English."""
    with open(path, "rb") as f:
        first = f.readline()
    if not first.strip():
        raise LandingFileError([Problem(str(path), 1, None, "file is empty: expected a header line")])
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LandingFileError(
            [Problem(str(path), 1, None, f"header is not UTF-8 (byte {e.start}): {e.reason}")]
        ) from None
    text = text.removeprefix(codecs.BOM_UTF8.decode("utf-8"))
    found = next(csv.reader(io.StringIO(text)))
    expected = ([""] if table.index_column else []) + [c.header for c in table.columns]
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


def _columns_arg(table: LandingTable) -> str:
    cols = ([("_index", "BIGINT")] if table.index_column else []) + [(c.name, c.type) for c in table.columns]
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
        f"columns = {_columns_arg(table)}", "store_rejects = true",
        "rejects_table = 'landing_rejects'", "rejects_scan = 'landing_scans'",
    ]
    if table.timestamp_format:
        options.append(f"timestampformat = '{table.timestamp_format}'")
    for i, f in enumerate(files):
        # One scan per file: row_number() over a plain scan follows file order, which gives each row its line
        # (header = line 1; a quoted field spanning lines would shift the count, and the contract has none).
        verb = "CREATE OR REPLACE TEMP TABLE landing AS" if i == 0 else "INSERT INTO landing"
        con.execute(
            f"{verb} SELECT *, ?::VARCHAR AS filename, row_number() OVER () + 1 AS _source_line "
            f"FROM read_csv(?, {', '.join(options)})",
            [str(f), str(f)],
        ).fetchall()
        _raise_on_rejects(con)
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


def _raise_on_rejects(con: duckdb.DuckDBPyConnection) -> None:
    total = con.execute("SELECT count(*) FROM landing_rejects").fetchall()[0][0]
    if not total:
        return
    rows = con.execute(
        "SELECT s.file_path, e.line, e.column_name, e.error_type, e.error_message, e.csv_line "
        "FROM landing_rejects e JOIN landing_scans s USING (scan_id, file_id) "
        f"ORDER BY s.file_path, e.line LIMIT {MAX_REPORTED_PROBLEMS}"
    ).fetchall()
    problems = [
        Problem(f, int(line), col, f"{kind.lower()}: {msg.strip() or kind}")
        for f, line, col, kind, msg, _ in rows
    ]
    raise LandingFileError(problems, total)


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
    union = " UNION ALL ".join(f"({q})" for q in checks)
    total = con.execute(f"SELECT count(*) FROM ({union})").fetchall()[0][0]
    if total:
        rows = con.execute(f"SELECT * FROM ({union}) ORDER BY 1, 2 LIMIT {MAX_REPORTED_PROBLEMS}").fetchall()
        raise LandingFileError([Problem(f, int(line), col, msg) for f, line, col, msg in rows], total)

