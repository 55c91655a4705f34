"""The embedded mart: dagster-duckdb's IO manager, made atomic, and a resource for in-warehouse SQL.

dagster-duckdb deletes a partition and then inserts it as two autocommitted statements: a crash between them
loses the partition. Here the client's connection wraps delete and insert in one transaction, and the type
handler writes into tables created from the mart's declared schema (not inferred from the first frame).

DuckDB lets one process at a time open a database file (the next gets "Could not set lock on file"), and
dagster-duckdb answers that by retrying blind for ~100 s. Every connection here first takes an OS lock on
``<database>.lock``, so concurrent runs and steps queue for the file instead of colliding. The
``mart_warehouse`` pool (``instance.py``) keeps Dagster from starting two mart steps at once; this lock is what
makes it exact, also where the pool is not enforced (an ephemeral instance; Dagster's SQLite storage, whose
slot claim is not atomic) and for the quality checks, which write their results outside the pool.
"""

import datetime as dt
import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb import DuckDBIOManager, DuckDBResource
from dagster_duckdb.io_manager import DuckDbClient

from stockmart_assets.mart.tables import MART_TABLES, MartTable

if TYPE_CHECKING:
    import pyarrow as pa


_held: dict[str, int] = {}  # lock file -> depth, for this process (flock would block a second open of our own)
_held_guard = threading.RLock()


@contextmanager
def writer_lock(database: str) -> Iterator[None]:
    """Hold ``<database>.lock`` exclusively (waiting for another process to release it); re-entrant."""
    if database in ("", ":memory:") or database.startswith(("md:", "motherduck:")):
        yield
        return
    path = os.path.abspath(database) + ".lock"
    with _held_guard:
        if path in _held:
            _held[path] += 1
            try:
                yield
            finally:
                _held[path] -= 1
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _held[path] = 1
            try:
                yield
            finally:
                del _held[path]
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _table_exists(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table]).fetchall()[0][0])


class AtomicDuckDbClient(DuckDbClient):
    """One transaction per IO manager call: schema, delete of the partition and insert commit together."""

    @staticmethod
    @contextmanager
    def connect(context, table_slice):
        with writer_lock(context.resource_config["database"]), DuckDbClient.connect(context, table_slice) as con:
            con.execute("BEGIN TRANSACTION").fetchall()
            try:
                yield con
                con.execute("COMMIT").fetchall()
            except BaseException:
                con.execute("ROLLBACK").fetchall()
                raise

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        """What DbIOManager shows as an output's "Query": true of each partition, not of the run's range."""
        return _select(table_slice, each_partition=True)

    @staticmethod
    def delete_table_slice(context, table_slice: TableSlice, connection) -> None:
        # Inside a transaction a failed statement aborts it: look before deleting instead of catching.
        if _table_exists(connection, table_slice.schema, table_slice.table):
            connection.execute(_delete_statement(table_slice)).fetchall()


def _select(table_slice: TableSlice, each_partition: bool = False) -> str:
    cols = ", ".join(table_slice.columns) if table_slice.columns else "*"
    where = (" AND ".join(f"{d.partition_expr} = DATE '{{partition}}'" for d in table_slice.partition_dimensions)
             if each_partition and table_slice.partition_dimensions else _slice_where(table_slice))
    return f'SELECT {cols} FROM "{table_slice.schema}"."{table_slice.table}" WHERE {where}'


def _slice_where(table_slice: TableSlice) -> str:
    clauses = []
    for dim in table_slice.partition_dimensions:
        start, end = dim.partitions  # a TimeWindow: compare dates as dates (no timestamp-literal casts)
        clauses.append(f"{dim.partition_expr} >= DATE '{start.date().isoformat()}' "
                       f"AND {dim.partition_expr} < DATE '{end.date().isoformat()}'")
    return " AND ".join(clauses) or "TRUE"


def _delete_statement(table_slice: TableSlice) -> str:
    return f'DELETE FROM "{table_slice.schema}"."{table_slice.table}" WHERE {_slice_where(table_slice)}'


class ArrowMartTypeHandler(DbTypeHandler["pa.Table"]):
    """Writes Arrow tables into the mart table of the same name, created from its declared schema."""

    def handle_output(self, context: dg.OutputContext, table_slice: TableSlice, obj: "pa.Table", connection):
        spec = MART_TABLES[table_slice.table]
        target = f'"{table_slice.schema}"."{table_slice.table}"'
        connection.execute(spec.duckdb_ddl(target)).fetchall()
        connection.register("_mart_rows", obj.select(spec.column_names))
        connection.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _mart_rows").fetchall()
        connection.unregister("_mart_rows")
        # A partitioned asset records each day's rows itself: a range's count would land on every day.
        return {"storage": "duckdb"} if table_slice.partition_dimensions else {
            "dagster/row_count": obj.num_rows, "storage": "duckdb"}

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection) -> "pa.Table":
        return connection.sql(_select(table_slice)).to_arrow_table()

    @property
    def supported_types(self):
        import pyarrow as pa

        return [pa.Table]


class MartDuckDBIOManager(DuckDBIOManager):
    """dagster-duckdb's IO manager for the mart: Arrow tables, declared schemas, atomic partition replace."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [ArrowMartTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        return DbIOManager(db_client=AtomicDuckDbClient(), database=self.database, schema=self.schema_,
                           type_handlers=self.type_handlers(), io_manager_name="MartDuckDBIOManager")


class DuckDBWarehouse(dg.ConfigurableResource):
    """Runs the mart's analytics SQL inside DuckDB; replaces one day of a table in one transaction."""

    database: str
    schema_name: str = "mart"
    dialect: str = "duckdb"

    @contextmanager
    def _connect(self) -> Iterator:
        with writer_lock(self.database), DuckDBResource(database=self.database).get_connection() as con:
            yield con

    def replace_day(self, table: MartTable, day: str, select_sql: str) -> int:
        target = f'"{self.schema_name}"."{table.name}"'
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION").fetchall()
            try:
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema_name}"').fetchall()
                con.execute(table.duckdb_ddl(target)).fetchall()
                con.execute(f"DELETE FROM {target} WHERE {table.partition_column} = ?::DATE", [day]).fetchall()
                con.execute(f"INSERT INTO {target} BY NAME {select_sql}").fetchall()
                rows = con.execute(f"SELECT count(*) FROM {target} WHERE {table.partition_column} = ?::DATE",
                                   [day]).fetchall()[0][0]
                con.execute("COMMIT").fetchall()
            except BaseException:
                con.execute("ROLLBACK").fetchall()
                raise
        return rows

    def replace_rows(self, table: MartTable, key: dict, rows: "pa.Table") -> None:
        """Replace the rows of ``table`` matching ``key`` (column -> value, None = IS NULL) with ``rows``."""
        target = f'"{self.schema_name}"."{table.name}"'
        where = " AND ".join(f'"{c}" IS NULL' if v is None else f'"{c}" = ?' for c, v in key.items())
        params = [v for v in key.values() if v is not None]
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION").fetchall()
            try:
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema_name}"').fetchall()
                con.execute(table.duckdb_ddl(target)).fetchall()
                con.execute(f"DELETE FROM {target} WHERE {where}", params).fetchall()
                con.register("_rows", rows)
                con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _rows").fetchall()
                con.execute("COMMIT").fetchall()
            except BaseException:
                con.execute("ROLLBACK").fetchall()
                raise

    def verification_summary(self, table: str, partition: str | None) -> tuple[dt.datetime | None, int, int]:
        """(oldest run time, constraints, error-level failures) of the latest suite run on table [partition]."""
        target = f'"{self.schema_name}"."verification_results"'
        with self._connect() as con:
            if not _table_exists(con, self.schema_name, "verification_results"):
                return None, 0, 0
            day = "partition_date IS NULL" if partition is None else "partition_date = ?::DATE"
            return tuple(con.execute(
                f"SELECT min(run_time), count(*), count(*) FILTER (WHERE check_level = 'Error' "
                f"AND constraint_status <> 'Success') FROM {target} WHERE table_name = ? AND suite = ? AND {day}",
                [table, "deequ_suite", *([partition] if partition else [])]).fetchall()[0])

    def table_sizes(self, tables: list[MartTable]) -> list[tuple[str, int, int | None]]:
        """(table, rows, days) of each of ``tables`` that exists; days is None for an unpartitioned table."""
        sizes = []
        with self._connect() as con:
            for table in tables:
                if not _table_exists(con, self.schema_name, table.name):
                    continue
                days = f'count(DISTINCT "{table.partition_column}")' if table.partition_column else "NULL"
                rows, n_days = con.execute(
                    f'SELECT count(*), {days} FROM "{self.schema_name}"."{table.name}"').fetchall()[0]
                sizes.append((table.name, rows, n_days))
        return sizes

    def read_days(self, table: MartTable, days: list[str]) -> "pa.Table":
        """The rows of ``table`` on ``days``, as Arrow."""
        target = f'"{self.schema_name}"."{table.name}"'
        with self._connect() as con:
            return con.sql(f"SELECT * FROM {target} WHERE {table.partition_column} IN (SELECT unnest(?::DATE[]))",
                           params=[days]).to_arrow_table()

    def query(self, sql: str) -> list[tuple]:
        with self._connect() as con:
            return con.execute(sql).fetchall()
