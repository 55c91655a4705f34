"""The throwaway MariaDB that LOCAL runs start by themselves."""

import pytest

from stockmart_assets.lib.mysql.local_server import LocalMariaDB
from stockmart_assets_tests.conftest import mysql_connect

pytestmark = pytest.mark.mysql


def test_local_server_starts_once_is_reused_and_stops(tmp_path, mysql_server):
    server = LocalMariaDB(tmp_path / "mariadb")
    url = server.ensure()
    pid = server.running_pid()
    assert url.startswith("mysql://stockmart:") and "@127.0.0.1:" in url
    assert server.ensure() == url and server.running_pid() == pid
    assert oct((tmp_path / "mariadb" / "password").stat().st_mode & 0o777) == "0o600"
    with mysql_connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT @@local_infile, @@character_set_server, @@bind_address, @@tmpdir")
        # Its own tmpdir: server-side cursors (Spark's JDBC reads) spool there, and a shared /tmp gets swept.
        assert cur.fetchone() == (1, "utf8mb4", "127.0.0.1", str((tmp_path / "mariadb" / "tmp").resolve()))
    assert server.stop()
    assert server.running_pid() is None
    assert server.ensure() == url, "a restart keeps the port and the credentials"
    server.stop()


def test_a_folder_too_deep_for_a_unix_socket_still_gets_a_server(tmp_path, mysql_server):
    """A clone deep in a tree: the socket's path would not fit sun_path, so it moves to a short temp name."""
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 5) / "mariadb"
    server = LocalMariaDB(deep)
    assert len(str(deep / "mysqld.sock")) > 107 and len(str(server.socket)) <= 107
    other = tmp_path.joinpath(*["another-rather-long-folder-name"] * 5) / "mariadb"
    assert LocalMariaDB(deep).socket == server.socket != LocalMariaDB(other).socket
    url = server.ensure()
    try:
        with mysql_connect(url) as con, con.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        assert server.stop()


def test_a_folder_with_spaces_and_hangul_gets_a_server(tmp_path, mysql_server):
    """STOCKMART_HOME may be any folder a user has ("My Data", a Korean name): the installer gets none of it wrong."""
    server = LocalMariaDB(tmp_path / "내 폴더 (it's mine)" / "mariadb")
    url = server.ensure()
    try:
        with mysql_connect(url) as con, con.cursor() as cur:
            cur.execute("SELECT @@datadir")
            assert "내 폴더 (it's mine)" in cur.fetchone()[0]
    finally:
        server.stop()


def test_a_server_that_answered_is_not_logged_into_again_before_each_connection(tmp_path, mysql_server):
    """Every connection a run opens asks for the URL first: a server this process has seen answer is not
    logged into again (a connection costs one login, not two), and a restarted one is asked once more."""
    server = LocalMariaDB(tmp_path / "mariadb")

    def logins() -> int:  # the server's count of connection attempts, this query's own included
        with server.root() as con, con.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Connections'")
            return int(cur.fetchone()[1])

    try:
        for _ in range(2):  # a server started here, then the same one restarted
            server.ensure()
            before = logins()
            for _ in range(5):
                server.ensure()
            assert logins() - before == 2, "asked once, besides the count's own query"
            before = logins()
            for _ in range(5):
                server.ensure()
            assert logins() - before == 1, "not asked again"
            server.stop()
    finally:
        server.stop()


def test_connections_to_the_throwaway_server_build_no_tls_context(mysql_server, mysql_root):
    """The throwaway server runs without TLS, so its clients do not prepare any: pymysql's default ("preferred")
    builds a TLS context for every connection, which costs more than the login itself. A server given by its
    URL keeps pymysql's default."""
    from stockmart_assets.defs.mysql.resources import MySQLResource
    from stockmart_assets_tests.conftest import LOCAL_SERVERS

    server = LOCAL_SERVERS[mysql_server]
    with server.root() as con, con.cursor() as cur:
        cur.execute("SELECT @@have_ssl")
        assert cur.fetchone()[0] == "DISABLED"
        assert not con.ssl
    with MySQLResource(local_server_dir=str(server.base)).connect() as con, con.cursor() as cur:
        cur.execute("SELECT 1")
        assert not con.ssl and not hasattr(con, "ctx")
    with MySQLResource(url=mysql_server).connect() as con:
        assert con.ssl and con.ctx is not None
