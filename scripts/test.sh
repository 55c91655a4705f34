#!/usr/bin/env bash
# Sets up and runs the tests: real MariaDB (started by the test session on a loopback port, throwaway data
# dir), real Spark and Deequ, DuckDB. Extra arguments go to pytest, e.g. `scripts/test.sh -m "not slow"`.
# Test files run in parallel, one pytest worker per core up to four (each worker starts its own MariaDB and
# Spark); STOCKMART_TEST_WORKERS sets the number, 0 runs them all in this process.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
workers=${STOCKMART_TEST_WORKERS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
