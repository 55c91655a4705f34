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

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stockmart_assets.lib.day import WHOLE, Day, Days, Scope
from stockmart_assets.lib.landing.checks import (
    is_number, number_casts, raise_on_inexact_numbers, raise_on_rejects, raise_on_rule_breaks)
from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.landing.header import check_header
from stockmart_assets.lib.landing.lines import number_lines
from stockmart_assets.lib.landing.problems import LandingFileError, Problem
from stockmart_assets.lib.scratch import scratch

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

SOURCE_FILE = "_source_file"
SOURCE_LINE = "_source_line"


def landing_files(table: LandingTable, landing_dir: Path) -> list[Path]:
    """The table's landing files. A fact table may have none (a landing folder of trades without price bars):
    its days then have no rows, as with a header-only file. A dimension export must be there."""
    files = sorted({p for pattern in table.globs for p in Path(landing_dir).glob(pattern) if p.is_file()})
    if not files and table.partition_column is None:
        raise LandingFileError([Problem(
            str(Path(landing_dir) / table.globs[0]), 1, None,
            f"no {table.name} file in the landing folder (looked for {', '.join(table.globs)}); the dimension "
            "exports (budget.csv, customer.csv, stocks.csv) load together")])
    return files



def columns_arg(table: LandingTable, numbers_as_text: bool = False) -> str:
    """DuckDB's ``columns`` argument. ``numbers_as_text``: read numeric columns as VARCHAR, to check them
    exactly before the cast (DuckDB's own cast rounds '1.5' to 2)."""
    cols = ([("_index", "BIGINT")] if table.index_column else []) + [
        (c.name, "VARCHAR" if numbers_as_text and is_number(c.type) else c.type) for c in table.columns]
    return "{" + ", ".join(f"'{name}': '{typ}'" for name, typ in cols) + "}"


def validate_landing(table: LandingTable, landing_dir: Path | str, con: duckdb.DuckDBPyConnection,
                     files: list[Path] | None = None) -> None:
    """Validate every file of ``table`` (or only ``files``) into ``con``'s temporary table ``landing``, or raise
    ``LandingFileError`` naming each problem's file, line and column (see the module)."""
    files = landing_files(table, Path(landing_dir)) if files is None else files
    con.execute("SET TimeZone = 'UTC'; SET preserve_insertion_order = true").fetchall()
    if not files:
        columns = ", ".join(f'"{c.name}" {c.type}' for c in table.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE landing ({columns}, filename VARCHAR, _source_line BIGINT)")
        return
    problems = []  # every file's header first: a user fixing them learns of all at once
    for f in files:
        try:
            check_header(table, f)
        except LandingFileError as e:
            problems += e.problems
    if problems:
        raise LandingFileError(problems)
    # (preserve_insertion_order, set above: the table's row ids then follow each file's order, see below.)
    options = [
        "header = true", "auto_detect = false", "delim = ','", "quote = '\"'", "escape = '\"'",
        f"columns = {columns_arg(table, numbers_as_text=True)}", "store_rejects = true",
        "rejects_table = 'landing_rejects'", "rejects_scan = 'landing_scans'",
    ]
    if table.timestamp_format:
        options.append(f"timestampformat = '{table.timestamp_format}'")
    first = 0  # the row id of the file's first record
    for i, f in enumerate(files):
        # One scan per file. DuckDB appends the scan's rows in the file's order (it preserves insertion order),
        # so a row's id, counted from the file's first, is its record's number, which number_lines turns into
        # the file's line. Numbering the records in the scan itself (a window over it) costs a second pass.
        verb = "CREATE OR REPLACE TEMP TABLE landing AS" if i == 0 else "INSERT INTO landing"
        con.execute(
            f"{verb} SELECT *{number_casts(table)}, ?::VARCHAR AS filename, "
            f"NULL::BIGINT AS _source_line FROM read_csv(?, {', '.join(options)})",
            [str(f), str(f)],
        ).fetchall()
        con.execute("UPDATE landing SET _source_line = rowid - $first + 2 WHERE rowid >= $first",
                    {"first": first}).fetchall()
        first = con.execute("SELECT count(*) FROM landing").fetchall()[0][0]
        number_lines(con, table, f)
        raise_on_rejects(con, table)
    raise_on_inexact_numbers(con, table)
    raise_on_rule_breaks(con, table)


def landing_rows_sql(table: LandingTable, days: Days | None = None) -> str:
    """The validated rows (of ``days``, if given) in the contract's names and types, ordered by key, then
    ``_source_file`` and ``_source_line``. Days are validated: their DATE literals are safe to inline."""
    where = ""
    if days is not None:
        if table.partition_column is None:
            raise ValueError(f"{table.name} is not partitioned")
        where = f"WHERE {_partition_date_expr(table)} IN ({', '.join(d.sql for d in days)})"
    select = ", ".join(_output_expr(c.name, c.type) for c in table.columns)
    return (f"SELECT {select}, filename AS {SOURCE_FILE}, _source_line AS {SOURCE_LINE} FROM landing {where} "
            f"ORDER BY {', '.join(table.key)}")


def read_landing(
    table: LandingTable,
    landing_dir: Path | str,
    days: Days | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """Validate every file of ``table`` and return its rows (of ``days``, if given), as one Arrow table.

    Returned columns: the contract's canonical names, then ``_source_file`` and ``_source_line`` so a later
    failure (a broken foreign key in MySQL, say) can still point at the line that caused it.
    """
    with (nullcontext(con) if con is not None else scratch()) as con:
        validate_landing(table, landing_dir, con)
        return con.sql(landing_rows_sql(table, days)).to_arrow_table()


@dataclass(frozen=True)
class LandedDay:
    """One day of a table (or the whole table), written to a parquet file of its own."""

    path: Path
    rows: int
    files: tuple[str, ...]  # the landing files its rows came from
    preview: pa.Table  # its first rows


def write_landing(table: LandingTable, landing_dir: Path | str, days: Days | None, folder: Path,
                  preview_rows: int = 10) -> dict[Scope, LandedDay]:
    """Validate every file of ``table`` and write its rows, one parquet file per day of ``days`` (the whole
    table if None) under ``folder``, in bounded memory: DuckDB streams each day from its validated copy
    (which spills to disk when large) into the file."""
    out: dict[Scope, LandedDay] = {}
    with scratch() as con:
        validate_landing(table, landing_dir, con)
        for scope in (list(days) if days is not None else [WHOLE]):
            sql = landing_rows_sql(table, Days(scope, scope) if isinstance(scope, Day) else None)
            path = folder / (scope.key or "whole") / "data.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY ({sql}) TO '{_sql_text(str(path))}' (FORMAT parquet, COMPRESSION zstd)").fetchall()
            count, files = con.execute(
                f"SELECT count(*), coalesce(list(DISTINCT {SOURCE_FILE} ORDER BY {SOURCE_FILE}), []) "
                f"FROM read_parquet('{_sql_text(str(path))}')").fetchall()[0]
            preview = con.sql(f"SELECT * FROM read_parquet('{_sql_text(str(path))}') LIMIT {int(preview_rows)}")
            out[scope] = LandedDay(path, count, tuple(files), preview.to_arrow_table())
    return out


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


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
