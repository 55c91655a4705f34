#!/usr/bin/env bash
# Sets up, writes sample landing files and materializes every asset and partition on the embedded defaults:
# a throwaway MariaDB under .stockmart/ (or STOCKMART_MYSQL_URL), the parquet lake on disk. No cloud account.
set -euo pipefail
cd "$(dirname "$0")/.."
STOCKMART_SKIP_BROWSER=1 scripts/setup.sh  # Chromium is only for the UI test
exec .venv/bin/stockmart run "$@"
