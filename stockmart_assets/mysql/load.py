"""The one bulk path into MySQL: LOAD DATA LOCAL INFILE inside a single transaction.

A partition is replaced by deleting its rows and loading the new ones in one transaction, so a re-run gives
the same table and a crash (of our process, of the connection) leaves the previous rows. A dimension table
(unpartitioned) is loaded into a temporary staging table and merged by primary key: it cannot simply be
emptied, because trades reference its rows.

With LOCAL, MySQL and MariaDB treat every error as a warning and skip the row (the server cannot stop the
client's upload midway). So after each load we compare the loaded row count and the warnings; any skipped or
altered row rolls the transaction back, and the error names the landing file and line it came from.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from urllib.parse import quote

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pymysql

from stockmart_assets.landing.contract import LandingTable
from stockmart_assets.landing.reader import SOURCE_FILE, SOURCE_LINE

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DataLoadError(RuntimeError):
    """Rows that MySQL refused; the transaction was rolled back and the table is as it was."""


@dataclass(frozen=True)
class LoadResult:
    table: str
    rows_loaded: int
    rows_deleted: int


def _q(name: str) -> str:
    if not _IDENT.match(name):  # every identifier comes from the contract; guard anyway
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f"`{name}`"


def _write_load_file(data: pa.Table, table: LandingTable, path: str) -> None:
    # Strings are always quoted and NULL is the bare word NULL: MySQL then tells NULL, '' and 'NULL' apart.
    # ESCAPED BY '' on the MySQL side means backslashes in names arrive untouched.
    strings = [c.name for c in table.columns if c.type == "VARCHAR"]
    force = f", FORCE_QUOTE ({', '.join(strings)})" if strings else ""
    con = duckdb.connect()
    con.register("data", data)
    cols = ", ".join(c.name for c in table.columns)
    con.execute(
        f"COPY (SELECT {cols} FROM data) TO '{path}' "
        f"(FORMAT csv, HEADER false, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULLSTR 'NULL'{force})"
    ).fetchall()
    con.close()


def _load_data(cur, path: str, target: str, table: LandingTable) -> int:
    cols = ", ".join(_q(c.name) for c in table.columns)
    cur.execute(
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {_q(target)} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
        f"({cols})",
        (path,),
    )
    return cur.rowcount


def _warnings(cur) -> list[str]:
    cur.execute("SHOW WARNINGS LIMIT 20")
    return [f"{level} {code}: {msg}" for level, code, msg in cur.fetchall()]


def replace_partition(
    con: pymysql.Connection, table: LandingTable, data: pa.Table, start: dt.datetime, end: dt.datetime
) -> LoadResult:
    """Make the rows of ``table`` with start <= partition_column < end exactly ``data``, atomically.

    Rows already loaded are never replaced by nothing: a day that has no landing rows (its export has not
    arrived, or came header-only) while MySQL holds rows for it is refused, and the day stays as it was.
    """
    assert table.partition_column, f"{table.name} is not partitioned"
    col = table.partition_column
    if data.num_rows:
        lo, hi = pc.min(data[col]).as_py(), pc.max(data[col]).as_py()
        if lo < start or hi >= end:
            raise DataLoadError(f"{table.name}: rows from {lo} to {hi} fall outside the partition [{start}, {end})")
    with tempfile.TemporaryDirectory(prefix="stockmart-load-") as tmp:
        path = os.path.join(tmp, f"{table.name}.csv")
        _write_load_file(data, table, path)
        with con.cursor() as cur:
            try:
                con.begin()
                deleted = cur.execute(
                    f"DELETE FROM {_q(table.name)} WHERE {_q(col)} >= %s AND {_q(col)} < %s", (start, end)
                )
                if deleted and not data.num_rows:
                    raise DataLoadError(
                        f"{table.name}: the landing files hold no rows for [{start}, {end}), but MySQL holds "
                        f"{deleted} row(s) loaded earlier: refusing to empty it (has the export for these days "
                        "arrived?). To really empty it, delete the rows in MySQL.")
                loaded = _load_data(cur, path, table.name, table) if data.num_rows else 0
                _check_complete(con, cur, table, data, loaded)
                con.commit()
            except pymysql.err.IntegrityError as e:
                con.rollback()
                raise DataLoadError(_explain_integrity(con, table, data, e)) from e
            except BaseException:
                con.rollback()
                raise
    return LoadResult(table.name, loaded, deleted)


def merge_table(con: pymysql.Connection, table: LandingTable, data: pa.Table) -> LoadResult:
    """Make ``table`` hold exactly ``data``: upsert by primary key, delete rows that are gone, atomically.

    Deleting a row that others still reference (a customer with trades) fails the whole merge.
    """
    stage = f"_stage_{table.name}"
    key = [_q(k) for k in table.key]
    cols = [_q(c.name) for c in table.columns]
    updates = ", ".join(f"{c} = VALUES({c})" for c in cols if c not in key) or f"{key[0]} = {key[0]}"
    on = " AND ".join(f"t.{k} = s.{k}" for k in key)
    with tempfile.TemporaryDirectory(prefix="stockmart-load-") as tmp:
        path = os.path.join(tmp, f"{table.name}.csv")
        _write_load_file(data, table, path)
        with con.cursor() as cur:
            try:
                cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {_q(stage)}")
                # LIKE copies columns and keys but not foreign keys: the stage accepts the rows as they are.
                cur.execute(f"CREATE TEMPORARY TABLE {_q(stage)} LIKE {_q(table.name)}")
                con.begin()
                loaded = _load_data(cur, path, stage, table) if data.num_rows else 0
                _check_complete(con, cur, table, data, loaded)
                deleted = cur.execute(
                    f"DELETE t FROM {_q(table.name)} t LEFT JOIN {_q(stage)} s ON {on} WHERE s.{key[0]} IS NULL"
                )
                cur.execute(
                    f"INSERT INTO {_q(table.name)} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {_q(stage)} "
                    f"ON DUPLICATE KEY UPDATE {updates}"
                )
                con.commit()
            except pymysql.err.IntegrityError as e:
                con.rollback()
                raise DataLoadError(_explain_integrity(con, table, data, e)) from e
            except BaseException:
                con.rollback()
                raise
            finally:
                cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {_q(stage)}")
    return LoadResult(table.name, loaded, deleted)


def _check_complete(con, cur, table: LandingTable, data: pa.Table, loaded: int) -> None:
    warnings = _warnings(cur)
    if loaded == data.num_rows and not warnings:
        return
    detail = _explain_skips(con, table, data)
    raise DataLoadError(
        f"mysql.{table.name}: {data.num_rows - loaded} of {data.num_rows} rows were refused or altered; "
        "the transaction was rolled back and the table is unchanged.\n"
        + "\n".join(f"  - {w}" for w in warnings)
        + (("\n" + detail) if detail else "")
    )


def _explain_integrity(con, table: LandingTable, data: pa.Table, error: Exception) -> str:
    code = error.args[0] if error.args else None
    if code == 1451:  # a row to delete is still referenced
        return (f"mysql.{table.name}: rows missing from the new export are still referenced by other tables "
                f"({error.args[1]}); the table is unchanged")
    detail = _explain_skips(con, table, data)
    return f"mysql.{table.name}: {error.args[-1]}; the table is unchanged" + (("\n" + detail) if detail else "")


def _explain_skips(con, table: LandingTable, data: pa.Table) -> str:
    """Point at the landing lines whose foreign keys have no parent row in MySQL."""
    if SOURCE_FILE not in data.column_names:
        return ""
    lines = []
    db = duckdb.connect()
    db.register("data", data)
    with con.cursor() as cur:
        for column, parent, parent_column in table.parents:
            cur.execute(f"SELECT {_q(parent_column)} FROM {_q(parent)}")
            db.register("parent_keys", pa.table({"k": pa.array([r[0] for r in cur.fetchall()],
                                                                type=data[column].type)}))
            rows = db.execute(
                f"SELECT {SOURCE_FILE}, {SOURCE_LINE}, {column} FROM data WHERE {column} IS NOT NULL "
                f"AND {column} NOT IN (SELECT k FROM parent_keys) ORDER BY 1, 2 LIMIT 10"
            ).fetchall()
            lines += [f"  - {f}, line {line}, column '{column}': {value} has no row in {parent}.{parent_column}"
                      for f, line, value in rows]
    return "\n".join(lines)


def read_rows(params: dict, table: LandingTable, start: dt.datetime | None = None,
              end: dt.datetime | None = None) -> pa.Table:
    """A table (or one partition window of it) out of MySQL, as Arrow in the contract's types, ordered by key.

    connectorx reads the result straight into Arrow (in Rust): 0.6 s for a million trades, where pymysql
    decoding row by row took 9.7 s (BENCHMARKS.md). ``params`` are ``MySQLResource.connection_params()``.
    """
    import connectorx as cx

    cols = [c.name for c in table.columns]
    sql = f"SELECT {', '.join(_q(c) for c in cols)} FROM {_q(table.name)}"
    if start is not None:  # datetimes of our own partition window, not text from outside: safe to inline
        sql += (f" WHERE {_q(table.partition_column)} >= '{start:%Y-%m-%d %H:%M:%S}'"
                f" AND {_q(table.partition_column)} < '{end:%Y-%m-%d %H:%M:%S}'")
    sql += f" ORDER BY {', '.join(_q(k) for k in table.key)}"
    url = (f"mysql://{quote(params['user'], safe='')}:{quote(params['password'], safe='')}"
           f"@{params['host']}:{params['port']}/{quote(params['database'], safe='')}")
    schema = arrow_schema(table)
    data = cx.read_sql(url, sql, return_type="arrow")
    if data.num_rows == 0:
        return schema.empty_table()
    return pa.Table.from_arrays([data.column(c).cast(schema.field(c).type) for c in cols], schema=schema)


def arrow_schema(table: LandingTable) -> pa.Schema:
    types = {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "VARCHAR": pa.string(),
             "TIMESTAMP": pa.timestamp("us"), "TIMESTAMPTZ": pa.timestamp("us")}
    fields = []
    for c in table.columns:
        if c.type.startswith("DECIMAL"):
            p, s = map(int, re.findall(r"\d+", c.type))
            fields.append(pa.field(c.name, pa.decimal128(p, s)))
        else:
            fields.append(pa.field(c.name, types[c.type]))
    return pa.schema(fields)

