"""MySQL: the connection to the operational database (a server's URL, or the throwaway local MariaDB).

pymysql is imported on first use: definitions load without it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import dagster as dg


if TYPE_CHECKING:
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
            from stockmart_assets.lib.mysql.local_server import LocalMariaDB

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
            # The throwaway server has no TLS (``LocalMariaDB``): pymysql's default would still build a TLS
            # context for every connection, which costs more than the login itself. A server's URL keeps it.
            ssl_disabled=True if not self.url else None,
        )
        try:
            yield con
        finally:
            con.close()

    def create_tables(self) -> None:
        from stockmart_assets.lib.mysql import ddl

        with self.connect() as con, con.cursor() as cur:
            ddl.create_all(cur)
            con.commit()
