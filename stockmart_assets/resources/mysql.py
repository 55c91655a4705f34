"""MySQL: the connection resource and the IO manager that does every storage move into it.

pymysql, pyarrow and the load code are imported on first use: definitions load without them.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import dagster as dg

from stockmart_assets.landing.contract import TABLES

if TYPE_CHECKING:
    import pyarrow as pa
    import pymysql


class MySQLResource(dg.ConfigurableResource):
    """Connections to the operational database.

    Give ``url`` (``mysql://user:password@host:port/database``, from ``STOCKMART_MYSQL_URL`` through
    ``dg.EnvVar``), or ``local_server_dir`` for a throwaway MariaDB that is started on first use.
    """

    url: str | None = None
    local_server_dir: str | None = None
    connect_timeout_s: int = 10

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        if self.local_server_dir:
            from stockmart_assets.mysql.local_server import LocalMariaDB

            return LocalMariaDB(self.local_server_dir).ensure()
        raise dg.DagsterInvariantViolationError("MySQLResource needs url or local_server_dir")

    def connection_params(self) -> dict:
        u = urlparse(self.resolved_url())
        if u.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
            raise ValueError(f"STOCKMART_MYSQL_URL must start with mysql://, got scheme {u.scheme!r}")
        return {
            "host": u.hostname or "127.0.0.1",
            "port": u.port or 3306,
            "user": unquote(u.username or ""),
            "password": unquote(u.password or ""),
            "database": u.path.lstrip("/") or "stockmart",
        }

    @contextmanager
    def connect(self) -> Iterator["pymysql.Connection"]:
        import pymysql

        con = pymysql.connect(
            **self.connection_params(), charset="utf8mb4", local_infile=True, autocommit=False,
            connect_timeout=self.connect_timeout_s,
        )
        try:
            yield con
        finally:
            con.close()

    def create_tables(self) -> None:
        from stockmart_assets.mysql import ddl

        with self.connect() as con, con.cursor() as cur:
            ddl.create_all(cur)
            con.commit()


def partition_window(keys: list[str]) -> tuple[dt.datetime, dt.datetime]:
    """Daily keys (a contiguous run of dates) as the half-open datetime range they cover."""
    days = sorted(dt.date.fromisoformat(k) for k in keys)
    start = dt.datetime.combine(days[0], dt.time())
    return start, dt.datetime.combine(days[-1], dt.time()) + dt.timedelta(days=1)


class MySQLIOManager(dg.ConfigurableIOManager):
    """Writes an asset's Arrow table to the MySQL table named by the last part of its key.

    Partitioned tables: the partition's rows are replaced in one transaction (delete, then LOAD DATA).
    Unpartitioned tables: staged and merged by primary key in one transaction.
    """

    mysql: dg.ResourceDependency[MySQLResource]

    def handle_output(self, context: dg.OutputContext, obj: "pa.Table") -> None:
        from stockmart_assets.mysql import load

        table = TABLES[context.asset_key.path[-1]]
        self.mysql.create_tables()
        try:
            with self.mysql.connect() as con:
                if context.has_asset_partitions:
                    start, end = partition_window(context.asset_partition_keys)
                    result = load.replace_partition(con, table, obj, start, end)
                else:
                    result = load.merge_table(con, table, obj)
        except load.DataLoadError as e:
            # Bad data is not fixed by retrying: fail now, with the rows named.
            raise dg.Failure(description=str(e), allow_retries=False) from e
        # Row counts and previews are the asset's, per partition; a range's totals would land on every day.
        context.add_output_metadata({"mysql_table": table.name} if context.has_asset_partitions else
                                    {"mysql_table": table.name, "rows_replaced": result.rows_deleted})

    def load_input(self, context: dg.InputContext) -> "pa.Table":
        from stockmart_assets.mysql import load

        table = TABLES[context.upstream_output.asset_key.path[-1]]
        if context.has_asset_partitions:
            return load.read_rows(self.mysql.connection_params(), table,
                                  *partition_window(context.asset_partition_keys))
        return load.read_rows(self.mysql.connection_params(), table)
