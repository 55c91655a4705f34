#!/usr/bin/env bash
# Installs the local BigQuery API emulator that the tests run the mart's BigQuery path against:
# PyPI local-bigquery (needs Python 3.13) in a virtualenv of its own (.venv-bq, never the project's .venv),
# with DuckDB 1.5.5 and the DuckDB extensions it loads (ducklake, icu, spatial) taken from their PyPI packages
# and copied into a HOME dedicated to the emulator (.venv-bq/home/.duckdb/extensions/v1.5.5/<platform>/),
# because DuckDB would otherwise try to download them from its own extension site. Safe to re-run: it does
# nothing when everything is already in place.
#
#   STOCKMART_BQ_EMULATOR_VENV  where the virtualenv goes (default: <repo>/.venv-bq)
#   STOCKMART_BQ_PYTHON         a Python 3.13 interpreter to build it with (default: searched, see below)
#
# Python 3.13 is looked for as $STOCKMART_BQ_PYTHON, python3.13 on PATH, pyenv's versions/3.13.*, and uv's
# managed interpreters (`uv python find 3.13`). Debian 12 ships no python3.13 package and the interpreter
# downloads of pyenv and uv come from outside the package registries, so when none is found this fails
# with a message instead of trying to fetch one.
set -euo pipefail
cd "$(dirname "$0")/.."

DUCKDB_VERSION=1.5.5
PACKAGES=(
  "local-bigquery==0.3.2"
  "duckdb==${DUCKDB_VERSION}"
  "duckdb-extension-ducklake==${DUCKDB_VERSION}"
  "duckdb-extension-icu==${DUCKDB_VERSION}"
  "duckdb-extension-spatial==${DUCKDB_VERSION}"
)
EXTENSIONS=(ducklake icu spatial)

venv=${STOCKMART_BQ_EMULATOR_VENV:-$PWD/.venv-bq}
emulator_home="$venv/home"
stamp="$venv/.stockmart-emulator-installed"
wanted="${PACKAGES[*]}"

installed() {
  [ -x "$venv/bin/local-bigquery" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] || return 1
  local dir
  dir=$(cat "$venv/.stockmart-extension-dir" 2>/dev/null) || return 1
  for ext in "${EXTENSIONS[@]}"; do [ -f "$dir/$ext.duckdb_extension" ] || return 1; done
}

if installed; then
  echo "BigQuery emulator already installed in $venv"
  exit 0
fi

is_python313() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; }

find_python313() {
  local candidate
  for candidate in "${STOCKMART_BQ_PYTHON:-}" "$(command -v python3.13 2>/dev/null || true)" \
      /root/.pyenv/versions/3.13.0/bin/python3.13 \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.13*/bin/python3.13 \
      /usr/local/bin/python3.13 /usr/bin/python3.13; do
    if is_python313 "$candidate"; then echo "$candidate"; return 0; fi
  done
  if command -v uv >/dev/null 2>&1; then
    candidate=$(uv python find --no-python-downloads 3.13 2>/dev/null || true)
    if is_python313 "$candidate"; then echo "$candidate"; return 0; fi
  fi
  return 1
}

mkdir -p "$venv"
# One installer at a time (parallel test sessions may call this together).
exec 9>"$venv/.install.lock"
command -v flock >/dev/null 2>&1 && flock 9
if installed; then
  echo "BigQuery emulator already installed in $venv"
  exit 0
fi

if ! is_python313 "$venv/bin/python"; then
  if ! python=$(find_python313); then
    cat >&2 <<'EOF'
install-bigquery-emulator: no Python 3.13 interpreter found.
The emulator (PyPI local-bigquery 0.3.2) requires Python >=3.13,<3.14. Looked for $STOCKMART_BQ_PYTHON,
python3.13 on PATH, ~/.pyenv/versions/3.13*/bin/python3.13 and `uv python find 3.13`.
Debian 12 has no python3.13 package; install one (e.g. `pyenv install 3.13`) where python.org is reachable,
then re-run this script, or set STOCKMART_BQ_PYTHON=/path/to/python3.13.
EOF
    exit 1
  fi
  echo "Creating the emulator's virtualenv $venv with $python"
  rm -rf "$venv/bin" "$venv/lib" "$venv/lib64" "$venv/include" "$venv/pyvenv.cfg"
  # Python 3.13's venv also writes a .gitignore of '*' into it, so git never sees the folder.
  "$python" -m venv "$venv"
fi

echo "Installing ${PACKAGES[*]} into $venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "${PACKAGES[@]}"

# DuckDB looks for extensions in $HOME/.duckdb/extensions/v<version>/<platform>/; the emulator runs with
# HOME=$emulator_home, so the user's own ~/.duckdb is never read or written.
platform=$("$venv/bin/python" -c "import duckdb; print(duckdb.execute('PRAGMA platform').fetchone()[0])")
ext_dir="$emulator_home/.duckdb/extensions/v${DUCKDB_VERSION}/${platform}"
mkdir -p "$ext_dir"
site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
for ext in "${EXTENSIONS[@]}"; do
  src=$(ls "$site"/duckdb_extension_"$ext"/extensions/v"$DUCKDB_VERSION"/"$ext".duckdb_extension 2>/dev/null | head -n1 || true)
  if [ -z "$src" ]; then
    echo "install-bigquery-emulator: $ext.duckdb_extension not found in duckdb-extension-$ext" >&2
    exit 1
  fi
  cp -f "$src" "$ext_dir/"
done

# Check that DuckDB loads every extension from there, with no network.
HOME="$emulator_home" "$venv/bin/python" - "${EXTENSIONS[@]}" <<'EOF'
import sys

import duckdb

con = duckdb.connect(config={"autoinstall_known_extensions": False})
for name in sys.argv[1:]:
    con.execute(f"LOAD {name}")
assert duckdb.__version__ == "1.5.5", duckdb.__version__
EOF
"$venv/bin/local-bigquery" --help >/dev/null

echo "$ext_dir" >"$venv/.stockmart-extension-dir"
echo "$wanted" >"$stamp"
echo "BigQuery emulator installed: $venv/bin/local-bigquery (HOME=$emulator_home)"
