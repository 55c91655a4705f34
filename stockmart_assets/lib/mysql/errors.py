"""What MySQL refused in a load, explained at the landing file and line each refused row came from.

With LOCAL, MySQL and MariaDB treat every error as a warning and skip the row, so a load is checked after the
fact: the loaded count and the warnings. A foreign key without its parent is named by the file and line of the
orphan row (the rows carry them from the reader).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pyarrow as pa

from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.landing.reader import SOURCE_FILE, SOURCE_LINE
from stockmart_assets.lib.mysql.ddl import q
from stockmart_assets.lib.scratch import scratch

if TYPE_CHECKING:
    import pyarrow.dataset as ds


class DataLoadError(RuntimeError):
    """Rows that MySQL refused; the transaction was rolled back and the table is as it was."""


def _warnings(cur) -> list[str]:
    cur.execute("SHOW WARNINGS LIMIT 20")
    return [f"{level} {code}: {msg}" for level, code, msg in cur.fetchall()]


def count_rows(data: pa.Table | ds.Dataset) -> int:
    return data.num_rows if isinstance(data, pa.Table) else data.count_rows()


def check_complete(con, cur, table: LandingTable, data: pa.Table | ds.Dataset, loaded: int, rows: int) -> None:
    """Refuse a load that skipped or altered any of ``data``'s ``rows`` (see the module)."""
    warnings = _warnings(cur)
    if loaded == rows and not warnings:
        return
    detail = "\n".join(d for d in (_explain_skips(con, table, data), _explain_duplicates(con, table, data, warnings))
                       if d)
    raise DataLoadError(
        f"mysql.{table.name}: {rows - loaded} of {rows} rows were refused or altered; "
        "the transaction was rolled back and the table is unchanged.\n"
        + "\n".join(f"  - {w}" for w in warnings)
        + (("\n" + detail) if detail else "")
    )


def explain_integrity(con, table: LandingTable, data: pa.Table | ds.Dataset, error: Exception) -> str:
    code = error.args[0] if error.args else None
    if code == 1451:  # a row to delete is still referenced
        return (f"mysql.{table.name}: rows missing from the new export are still referenced by other tables "
                f"({error.args[1]}); the table is unchanged")
    detail = _explain_skips(con, table, data)
    return f"mysql.{table.name}: {error.args[-1]}; the table is unchanged" + (("\n" + detail) if detail else "")


# MariaDB: Duplicate entry '105' for key 'PRIMARY'; MySQL 8: ... for key 'trade.PRIMARY'.
_DUPLICATE = re.compile(r"Duplicate entry '(.*)' for key '(?:[^']*\.)?PRIMARY'")


def _explain_duplicates(con, table: LandingTable, data: pa.Table | ds.Dataset, warnings: list[str]) -> str:
    """Point at the landing lines whose key MySQL holds on a day the load does not replace (a row that moved
    to another day: its old day still holds it). Only for a one-column key, which the warning quotes whole."""
    keys = [m.group(1) for w in warnings if (m := _DUPLICATE.search(w))]
    if not keys or len(table.key) != 1 or not table.partition_column or SOURCE_FILE not in data.schema.names:
        return ""
    key, day = table.key[0], table.partition_column
    with con.cursor() as cur:
        marks = ", ".join(["%s"] * len(keys))
        cur.execute(f"SELECT {q(key)}, {q(day)} FROM {q(table.name)} WHERE {q(key)} IN ({marks})", keys)
        held = {str(k): when for k, when in cur.fetchall()}
    if not held:
        return ""
    with scratch() as db:
        db.register("data", data)
        db.register("held", pa.table({"k": pa.array(list(held), type=pa.string())}))
        rows = db.execute(f"SELECT {SOURCE_FILE}, {SOURCE_LINE}, CAST({key} AS VARCHAR) FROM data "
                          f"WHERE CAST({key} AS VARCHAR) IN (SELECT k FROM held) ORDER BY 1, 2 LIMIT 10").fetchall()
    return "\n".join(
        f"  - {f}, line {line}, column '{key}': {value} is already in mysql.{table.name} on {held[value]:%Y-%m-%d}, "
        "a day this run does not load (did the row move to another day? That day keeps it until it is loaded "
        "again or the row is deleted there)" for f, line, value in rows)


def _explain_skips(con, table: LandingTable, data: pa.Table | ds.Dataset) -> str:
    """Point at the landing lines whose foreign keys have no parent row in MySQL."""
    if SOURCE_FILE not in data.schema.names:
        return ""
    lines = []
    with scratch() as db, con.cursor() as cur:
        db.register("data", data)
        for column, parent, parent_column in table.parents:
            cur.execute(f"SELECT {q(parent_column)} FROM {q(parent)}")
            db.register("parent_keys", pa.table({"k": pa.array([r[0] for r in cur.fetchall()],
                                                                type=data.schema.field(column).type)}))
            rows = db.execute(
                f"SELECT {SOURCE_FILE}, {SOURCE_LINE}, {column} FROM data WHERE {column} IS NOT NULL "
                f"AND {column} NOT IN (SELECT k FROM parent_keys) ORDER BY 1, 2 LIMIT 10"
            ).fetchall()
            lines += [f"  - {f}, line {line}, column '{column}': {value} has no row in {parent}.{parent_column}"
                      for f, line, value in rows]
    return "\n".join(lines)
