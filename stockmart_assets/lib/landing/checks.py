"""The checks a typed parse alone does not make: rejected rows, inexact numbers, required values, field
lengths and duplicate keys, each reported at its file, line and column."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.landing.header import label, labels
from stockmart_assets.lib.landing.lines import longest_field
from stockmart_assets.lib.landing.problems import MAX_REPORTED_PROBLEMS, LandingFileError, Problem

if TYPE_CHECKING:
    import duckdb


def is_number(typ: str) -> bool:
    return typ in ("BIGINT", "INTEGER") or typ.startswith("DECIMAL")


def raise_on_rejects(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    # DuckDB may reject a line once per surplus field ("Found: 7", "Found: 8", ...): one problem per line and kind,
    # with the last (the whole count).
    distinct = ("SELECT DISTINCT ON (s.file_path, e.line, e.error_type) s.file_path, e.line, e.column_name, "
                "e.error_type, e.error_message, e.csv_line FROM landing_rejects e JOIN landing_scans s "
                "USING (scan_id, file_id) ORDER BY s.file_path, e.line, e.error_type, e.column_idx DESC")
    total = con.execute(f"SELECT count(*) FROM ({distinct})").fetchall()[0][0]
    if not total:
        return
    rows = con.execute(f"SELECT * FROM ({distinct}) ORDER BY 1, 2 LIMIT {MAX_REPORTED_PROBLEMS}").fetchall()
    problems = []
    for f, line, col, kind, msg, _ in rows:
        message = f"{kind.lower()}: {msg.strip() or kind}"
        if col is None and kind == "TOO MANY COLUMNS":
            col = label(labels(table, header=False), len(labels(table)))
        elif col is None and kind == "LINE SIZE OVER MAXIMUM":
            col, length = longest_field(table, f, int(line))
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


def number_casts(table: LandingTable) -> str:
    """The scan's casts of the numeric columns (read as text), each with its text kept aside (``_bad_<column>``)
    where it is refused: not a plain number (DuckDB's cast would also take '1e3', '0x10', '1_000'), more decimal
    places than the type keeps (it would round 1.5 into a BIGINT to 2), or out of range. '5.0' is the whole
    number 5 (pandas writes integers so when a column has a gap)."""
    numeric = [c for c in table.columns if is_number(c.type)]
    if not numeric:
        return ""
    casts = ", ".join(f"TRY_CAST({c.name} AS {c.type}) AS {c.name}" for c in numeric)
    bad = "".join(f", CASE WHEN {c.name} IS NOT NULL AND (NOT regexp_full_match({c.name}, "
                  f"'{_number_patterns(c.type)[1]}') OR TRY_CAST({c.name} AS {c.type}) IS NULL) "
                  f"THEN {c.name} END AS _bad_{c.name}" for c in numeric)
    return f" REPLACE ({casts}){bad}"


def raise_on_inexact_numbers(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    """Fail on the numeric values the scan refused to cast (see ``_number_casts``)."""
    checks = []
    for c in (c for c in table.columns if is_number(c.type)):
        number, exact = _number_patterns(c.type)
        text = f"_bad_{c.name}"
        checks.append(
            f"SELECT filename, _source_line, '{c.name}', 'cast: could not convert \"' || left({text}, 40) || "
            f"'\" to {c.type}: ' || CASE WHEN NOT regexp_full_match({text}, '{number}') THEN 'not a number' "
            f"WHEN NOT regexp_full_match({text}, '{exact}') THEN 'it has more decimal places than "
            f"{c.type} keeps (it would be rounded)' ELSE 'out of range' END FROM landing WHERE {text} IS NOT NULL"
        )
    _raise_found(con, checks)


def _raise_found(con: duckdb.DuckDBPyConnection, checks: list[str]) -> None:
    """Run queries of (file, line, column, message) and fail with what they found, first lines first."""
    union = " UNION ALL ".join(f"({q})" for q in checks)
    total = con.execute(f"SELECT count(*) FROM ({union})").fetchall()[0][0]
    if total:
        rows = con.execute(f"SELECT * FROM ({union}) ORDER BY 1, 2, 3 LIMIT {MAX_REPORTED_PROBLEMS}").fetchall()
        raise LandingFileError([Problem(f, int(line), col, msg) for f, line, col, msg in rows], total)


def raise_on_rule_breaks(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    """Required values, finite numbers, field lengths and duplicate keys: what a typed parse alone does not
    catch."""
    checks: list[str] = []
    for c in table.columns:
        if c.required or c.name in table.key:
            checks.append(
                f"SELECT filename, _source_line, '{c.name}', 'value is required' FROM landing "
                f"WHERE {c.name} IS NULL"
            )
        if c.type in ("DOUBLE", "FLOAT", "REAL"):
            # DuckDB reads 'nan', 'inf' and 'infinity' as numbers; MySQL has no such DOUBLE, and no price is one.
            checks.append(
                f"SELECT filename, _source_line, '{c.name}', 'value ' || {c.name} || ' is not a finite number' "
                f"FROM landing WHERE NOT isfinite({c.name})"
            )
        if c.max_length:
            checks.append(
                f"SELECT filename, _source_line, '{c.name}', "
                f"'value is ' || length({c.name}) || ' characters long; at most {c.max_length} allowed' "
                f"FROM landing WHERE length({c.name}) > {c.max_length}"
            )
    key = ", ".join(table.key)
    key_label = ", ".join(table.key)
    # Counting distinct keys is one hash aggregation; the window that names each duplicate and its first
    # occurrence sorts every key, so it runs only where there is a duplicate (or a missing key) to name.
    rows, keys = con.execute(f"SELECT count(*), count(DISTINCT ({key})) FROM landing").fetchall()[0]
    if rows != keys:
        checks.append(
            f"SELECT filename, _source_line, '{key_label}', 'duplicate key (' || concat_ws(', ', {key}) || "
            f"') also on ' || first_file || ' line ' || first_line FROM ("
            f"SELECT *, first_value(filename) OVER w AS first_file, first_value(_source_line) OVER w AS first_line, "
            f"row_number() OVER w AS n FROM landing WINDOW w AS (PARTITION BY {key} ORDER BY filename, _source_line)"
            f") WHERE n > 1"
        )
    _raise_found(con, checks)

