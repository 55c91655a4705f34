#!/usr/bin/env bash
# Installs what stockmart needs on a fresh Debian machine with Python 3.11 and Java 17: Debian's MariaDB server
# (when missing), a virtualenv with the pinned packages, and the Maven jars Spark needs. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: MariaDB (unless a server is given) and, for the UI test, Chromium (Playwright drives this
# browser; it never downloads one of its own).
packages=()
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ] && [ -z "${STOCKMART_MYSQL_URL:-}" ]; then
  packages+=(mariadb-server mariadb-client)
fi
if [ "${STOCKMART_SKIP_BROWSER:-}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  packages+=(chromium)
fi
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

python=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
if [ -f stockmart_assets/quality/jars.py ]; then
  .venv/bin/python -m stockmart_assets.quality.jars >/dev/null
fi
