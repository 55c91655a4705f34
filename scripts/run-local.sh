#!/usr/bin/env bash
# Sets up, then loads the landing folder on the embedded defaults: a throwaway MariaDB under .stockmart/ (or
# STOCKMART_MYSQL_URL), the parquet lake on disk, the DuckDB mart. No cloud account. Arguments go to
# `stockmart run` (`--sample` writes generated landing files first, into an empty landing folder only).
set -euo pipefail
cd "$(dirname "$0")/.."
STOCKMART_SKIP_BROWSER=1 scripts/setup.sh  # Chromium is only for the UI test
exec .venv/bin/stockmart run "$@"
