#!/usr/bin/env bash
# Installs what stockmart needs on a fresh Debian machine with Python 3.11 and Java 17: Debian's MariaDB server
# (when missing), a virtualenv with the pinned packages, and the Maven jars Spark needs. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ] && [ -z "${STOCKMART_MYSQL_URL:-}" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client
fi

python=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
if [ -f stockmart_assets/quality/jars.py ]; then
  .venv/bin/python -m stockmart_assets.quality.jars >/dev/null
fi
