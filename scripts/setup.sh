#!/usr/bin/env bash
# Installs what stockmart needs on a fresh Debian machine with Python 3.11 and Java 17: Debian's MariaDB server
# (when missing), a virtualenv with the pinned packages, and the Maven jars Spark needs. Safe to re-run: what is
# in place is not installed again. The installers' own output goes to .venv/setup.log (shown if one fails).
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p .venv
log=.venv/setup.log
: >"$log"
quietly() {  # run a step with its output in the log; on failure show the log's end and stop
  if ! "$@" >>"$log" 2>&1; then
    echo "setup: '$*' failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

# Debian packages: MariaDB (unless a server is given) and, for the UI test, Chromium with a CJK font (Playwright
# drives this browser, it never downloads one of its own; without the font Korean text renders as empty boxes).
packages=()
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ] && [ -z "${STOCKMART_MYSQL_URL:-}" ]; then
  packages+=(mariadb-server mariadb-client)
fi
if [ "${STOCKMART_SKIP_BROWSER:-}" != 1 ]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || packages+=(fonts-noto-cjk)
fi
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${packages[*]}"
  quietly $sudo apt-get update -qq
  quietly $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

# Python packages, pinned in pyproject.toml: installed again only when it changed.
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || quietly "$python" -m venv .venv
stamp=.venv/.stockmart-installed
wanted="$(.venv/bin/python --version) $(sha1sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || [ ! -x .venv/bin/stockmart ]; then
  echo "setup: installing the Python packages into .venv (a few minutes the first time)"
  quietly .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  quietly .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
  echo "$wanted" >"$stamp"
fi

# Deequ and MySQL Connector/J from Maven Central into ~/.m2 (a second run downloads nothing).
quietly .venv/bin/python -m stockmart_assets.lib.deequ.jars
# The Spark driver's classes, archived once for this Java and pyspark: every later Spark start maps them.
if ! .venv/bin/python -m stockmart_assets.lib.deequ.class_archive --check; then
  echo "setup: archiving the Spark driver's classes (about half a minute, once)"
  quietly .venv/bin/python -m stockmart_assets.lib.deequ.class_archive
fi
echo "setup: ready (.venv, Spark jars in ~/.m2, Spark's class archive in .venv; installer output in $log)"
