#!/usr/bin/env bash
# Sets up and runs the tests: real MariaDB (started by the test session on a loopback port, throwaway data
# dir), real Spark and Deequ, DuckDB. Extra arguments go to pytest, e.g. `scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
