"""Debian's MariaDB server, found on the machine or installed (as root, through apt) when missing."""

import os
import shutil
import subprocess
from pathlib import Path


class LocalServerError(RuntimeError):
    pass


def binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
        )
        if found:
            return found
    return None


def install_mariadb_if_missing() -> None:
    """Install Debian's mariadb-server when no server binary is on the machine and we may (root + apt)."""
    if binary("mariadbd", "mysqld"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise LocalServerError(
            "no MariaDB/MySQL server on this machine: install Debian's mariadb-server "
            "(sudo apt-get install mariadb-server) or point STOCKMART_MYSQL_URL at a server"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "mariadb-server", "mariadb-client"],
        check=True, env=env,
    )
