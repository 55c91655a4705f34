"""The embedded mart: a DuckDB file, every write one transaction behind the warehouse's file lock.

Its connections keep their working set under the scratch limit (``lib.scratch``) and spill the rest next to
the file, so a day of any size is written in bounded memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from stockmart_assets.lib.warehouse.lock import writer_lock
from stockmart_assets.lib.warehouse.tables import MartTable
from stockmart_assets.lib.warehouse.where import Where, where_sql

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


# database -> the connection a session of this thread holds open (``DuckDBWarehouse.session``)
_sessions = threading.local()


class DuckDBWarehouse:
    dialect = "duckdb"

    def __init__(self, database: str, schema: str = "mart"):
        self.database, self.schema = database, schema

    @contextmanager
    def session(self) -> Iterator[None]:
        """One connection (and one hold of the file's lock) for every call in the block, made by this thread:
        opening a DuckDB database costs more than most of the mart's queries do, and a step makes several."""
        open_here = _open_sessions()
        if self.database in open_here:
            yield
            return
        with self._open() as con:
            open_here[self.database] = con
            try:
                yield
            finally:
                del open_here[self.database]

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if (con := _open_sessions().get(self.database)) is not None:
            yield con
            return
        with self._open() as con:
            yield con

    @contextmanager
    def _open(self) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb

        from stockmart_assets.lib.scratch import memory_limit

        with writer_lock(self.database), duckdb.connect(self.database, config={"memory_limit": memory_limit()}) as con:
            yield con

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION").fetchall()
            try:
                yield con
                con.execute("COMMIT").fetchall()
            except BaseException:
                con.execute("ROLLBACK").fetchall()
                raise

    def qualified(self, table: str) -> str:
        return f'"{self.schema}"."{table}"'

    def quote(self, column: str) -> str:
        return f'"{column}"'

    def exists(self, table: str) -> bool:
        with self._connect() as con:
            return _exists(con, self.schema, table)

    def replace(self, table: MartTable, where: Where, rows: pa.Table | pa.RecordBatchReader | None = None,
                select_sql: str | None = None) -> int:
        target, condition = self.qualified(table.name), where_sql(table, where, self.quote)
        with self._transaction() as con:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"').fetchall()
            con.execute(table.duckdb_ddl(target)).fetchall()
            con.execute(f"DELETE FROM {target} WHERE {condition}").fetchall()
            if rows is not None:
                con.register("_mart_rows", rows)  # a table, or a stream DuckDB reads batch by batch
                select_sql = f"SELECT {', '.join(self.quote(c) for c in table.column_names)} FROM _mart_rows"
            con.execute(f"INSERT INTO {target} BY NAME {select_sql}").fetchall()
            return con.execute(f"SELECT count(*) FROM {target} WHERE {condition}").fetchall()[0][0]

    def read(self, table: MartTable, where: Where, limit: int | None = None) -> pa.Table:
        columns = ", ".join(self.quote(c) for c in table.column_names)
        with self._connect() as con:
            if not _exists(con, self.schema, table.name):
                return table.arrow_schema.empty_table()
            return con.sql(f"SELECT {columns} FROM {self.qualified(table.name)} "
                           f"WHERE {where_sql(table, where, self.quote)}"
                           + (f" LIMIT {int(limit)}" if limit is not None else "")).to_arrow_table()

    def query(self, sql: str) -> list[tuple]:
        with self._connect() as con:
            return con.execute(sql).fetchall()

    def define_view(self, name: str, select_sql: str) -> None:
        with self._connect() as con:
            con.execute(f"CREATE OR REPLACE VIEW {self.qualified(name)} AS {select_sql}").fetchall()

    def define_window_function(self, name: str, select_sql: str) -> None:
        with self._connect() as con:  # a table macro: DuckDB's table-valued function
            con.execute(f"CREATE OR REPLACE MACRO {self.qualified(name)}(first_day, last_day) AS TABLE "
                        f"{select_sql}").fetchall()


def _open_sessions() -> dict[str, duckdb.DuckDBPyConnection]:
    if not hasattr(_sessions, "open"):
        _sessions.open = {}
    return _sessions.open


def _exists(con, schema: str, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND "
                            "table_name = ?", [schema, table]).fetchall()[0][0])
