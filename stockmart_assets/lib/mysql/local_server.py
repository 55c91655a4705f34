"""A throwaway MariaDB (or MySQL) server for LOCAL runs and tests, with its data under a folder we own.

So that `stockmart run`, `dagster dev` and the tests need no database set up by hand: the first caller
initialises a data directory, starts ``mariadbd`` on a free loopback port and creates the ``stockmart`` user
and database; later callers (other processes too: a file lock serialises them) reuse the running server.
The password is generated per data directory and kept there (mode 0600), never in code or git.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pymysql

from stockmart_assets.lib.mysql.install import LocalServerError, binary

DATABASE = "stockmart"
USER = "stockmart"


def _alive(pid: int) -> bool:
    """True while the process runs. A server we started ourselves turns into a zombie when it exits (nobody
    else waits for it): reap it, and count zombies as gone."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SUN_PATH_MAX = 107  # a unix socket's path, in bytes, must fit sockaddr_un.sun_path (108 with its NUL)


def socket_path(base: Path) -> Path:
    """The server's unix socket: in its folder when the path fits ``sun_path``, else a short name in the
    system's temp folder, unique to the folder (a repository cloned deep in a tree still gets a server)."""
    inside = base / "mysqld.sock"
    if len(os.fsencode(inside)) <= SUN_PATH_MAX:
        return inside
    digest = hashlib.sha1(os.fsencode(base)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"stockmart-{digest}.sock"


# Data folder -> (pid, port, password) of the server that last answered its user's login in this process.
_ANSWERED: dict[Path, tuple[int, int | None, str | None]] = {}


class LocalMariaDB:
    """One server per data directory. ``ensure()`` is idempotent and returns the connection URL."""

    def __init__(self, base_dir: Path | str):
        self.base = Path(base_dir).resolve()
        self.datadir = self.base / "data"
        self.socket = socket_path(self.base)
        self.pidfile = self.base / "mysqld.pid"
        self.log = self.base / "error.log"

    # -- state kept in the folder -------------------------------------------------------------------------
    def _read(self, name: str) -> str | None:
        p = self.base / name
        return p.read_text().strip() if p.exists() else None

    def _write(self, name: str, value: str, mode: int = 0o644) -> None:
        p = self.base / name
        tmp = p.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        os.replace(tmp, p)

    @property
    def port(self) -> int | None:
        value = self._read("port")
        return int(value) if value else None

    @property
    def url(self) -> str:
        return f"mysql://{USER}:{self._read('password')}@127.0.0.1:{self.port}/{DATABASE}"

    @contextmanager
    def _lock(self):
        self.base.mkdir(parents=True, exist_ok=True)
        with open(self.base / ".lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def running_pid(self) -> int | None:
        pid = self._read("mysqld.pid")
        return int(pid) if pid and pid.isdigit() and _alive(int(pid)) else None

    def root(self, **kw) -> pymysql.Connection:
        """A connection as root over the server's socket: administration (grants, global settings, the binlog)."""
        return pymysql.connect(unix_socket=str(self.socket), user="root", charset="utf8mb4", ssl_disabled=True, **kw)

    def ensure(self, timeout_s: float = 60.0) -> str:
        """The server's URL, once it runs and answers; started (and set up, the first time) when it does not.

        Every connection a run opens asks for the URL first. A server process that has answered its user's
        login in this process is not asked again while its pid stays alive and its port and password stay as
        they were: a connection costs a login, and asking first would double it.
        """
        with self._lock():
            pid = self.running_pid()
            state = (pid, self.port, self._read("password"))
            if pid and (_ANSWERED.get(self.base) == state or self._answers()):
                _ANSWERED[self.base] = state
                return self.url
            self._start(timeout_s)
            return self.url

    def _answers(self) -> bool:
        try:
            pymysql.connect(
                host="127.0.0.1", port=self.port, user=USER, password=self._read("password") or "",
                database=DATABASE, connect_timeout=2, ssl_disabled=True,
            ).close()
            return True
        except pymysql.MySQLError:
            return False

    def _start(self, timeout_s: float) -> None:
        server = binary("mariadbd", "mysqld")
        if not server:
            raise LocalServerError(
                "no MariaDB/MySQL server binary found (mariadbd/mysqld): run `stockmart mysql install` "
                "or apt-get install mariadb-server, or set STOCKMART_MYSQL_URL"
            )
        if not (self.datadir / "mysql").exists():
            self._initialise()
        port = self.port
        if port is None or not self._port_free(port):
            port = _free_port()
            self._write("port", str(port))
        # Its own temporary directory: a server-side cursor (Connector/J's useCursorFetch) spools the result
        # into a temporary table there, and a shared /tmp gets swept by other programs under it.
        tmpdir = self.base / "tmp"
        tmpdir.mkdir(parents=True, exist_ok=True)
        args = [
            server, "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}", f"--tmpdir={tmpdir}",
            f"--pid-file={self.pidfile}", f"--log-error={self.log}", f"--port={port}",
            # Loopback only, and no TLS (its clients connect without: a TLS context costs more than a login).
            "--bind-address=127.0.0.1", "--skip-ssl", "--skip-name-resolve", "--local-infile=1",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
            "--innodb-buffer-pool-size=512M", "--innodb-log-file-size=256M", "--max-allowed-packet=256M",
            # The row-based binlog change capture reads (lib/mysql/binlog.py), kept for a week.
            "--server-id=1", "--log-bin=mariadb-bin", "--binlog-format=ROW", "--binlog-row-image=FULL",
            "--binlog-row-metadata=FULL", "--binlog-expire-logs-seconds=604800",
        ]
        if os.geteuid() == 0:
            args.append("--user=root")
        # A new session: the server outlives the command that started it (dagster dev, the next run) and
        # ignores the terminal's Ctrl-C. `stockmart mysql stop` ends it.
        with open(self.base / "stdout.log", "ab") as out:
            subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                self.root(connect_timeout=1).close()
                break
            except pymysql.MySQLError:
                time.sleep(0.2)
        else:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else "(no log)"
            raise LocalServerError(f"MariaDB did not start within {timeout_s:.0f}s; {self.log}:\n{tail}")
        self._provision()

    @staticmethod
    def _port_free(port: int) -> bool:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is free
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False

    def _initialise(self) -> None:
        install_db = binary("mariadb-install-db", "mysql_install_db")
        if not install_db:
            raise LocalServerError("mariadb-install-db not found: install Debian's mariadb-server")
        self.datadir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="stockmart-mariadb-") as tmp:
            datadir = self.datadir
            if any(c.isspace() for c in str(datadir)):
                # The installer's shell script splits its --datadir at spaces (its chown fails): it is given a
                # link to the folder from a path without any.
                datadir = Path(tmp) / "data"
                datadir.symlink_to(self.datadir, target_is_directory=True)
            args = [install_db, "--no-defaults", f"--datadir={datadir}", "--skip-test-db",
                    "--auth-root-authentication-method=socket"]
            if os.geteuid() == 0:
                args.append("--user=root")
            done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode:
            raise LocalServerError(f"mariadb-install-db failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")

    def _provision(self) -> None:
        password = self._read("password")
        if not password:
            password = secrets.token_urlsafe(18)
            self._write("password", password, mode=0o600)
        with self.root(autocommit=True) as con, con.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            cur.execute(f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
            cur.execute(f"ALTER USER '{USER}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
            cur.execute(f"GRANT ALL PRIVILEGES ON {DATABASE}.* TO '{USER}'@'127.0.0.1'")
            cur.execute(f"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '{USER}'@'127.0.0.1'")

    def stop(self, timeout_s: float = 30.0) -> bool:
        with self._lock():
            pid = self.running_pid()
            if not pid:
                return False
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if not _alive(pid):
                    return True
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
            return True
