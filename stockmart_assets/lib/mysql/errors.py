"""What MySQL refused in a load, explained at the landing file and line each refused row came from.

With LOCAL, MySQL and MariaDB treat every error as a warning and skip the row, so a load is checked after the
fact: the loaded count and the warnings. A foreign key without its parent is named by the file and line of the
orphan row (the rows carry them from the reader).
"""

from __future__ import annotations

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
    detail = _explain_skips(con, table, data)
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
