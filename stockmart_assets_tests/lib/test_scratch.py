"""The process's scratch DuckDB: one database, a connection of its own per use, its spill folder removed at exit."""

import subprocess
import sys

import pyarrow as pa
import pytest

from stockmart_assets.lib.scratch import scratch


def test_each_use_has_its_own_connection_to_one_database_in_utc():
    with scratch() as first:
        first.register("data", pa.table({"a": [1, 2]}))
        first.execute("CREATE TEMP TABLE landing AS SELECT * FROM data").fetchall()
        first.execute("SET TimeZone = 'Asia/Seoul'").fetchall()
        spill = first.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    with scratch() as second:
        # One database per process: the same spill folder (a database made per use has one of its own).
        assert second.execute("SELECT current_setting('temp_directory')").fetchall()[0][0] == spill
        for name in ("data", "landing"):
            with pytest.raises(Exception, match="does not exist"):
                second.execute(f"SELECT * FROM {name}")
        assert second.execute("SELECT current_setting('TimeZone')").fetchall()[0][0] in ("UTC", "Etc/UTC")
        second.register("data", pa.table({"b": ["x"]}))  # the name is free again, in this connection
        assert second.execute("SELECT * FROM data").fetchall() == [("x",)]


def test_the_memory_limit_follows_the_environment(monkeypatch):
    monkeypatch.setenv("STOCKMART_SCRATCH_MEMORY", "300MB")
    with scratch() as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "286.1 MiB"
    monkeypatch.setenv("STOCKMART_SCRATCH_MEMORY", "200MB")
    with scratch() as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "190.7 MiB"


def test_the_spill_folder_goes_with_the_process(tmp_path):
    """Past its limit DuckDB spills into the process's own folder (a distinct count over 8M values in 64 MB
    would fail without), which is removed when the process ends."""
    code = (
        "import os\n"
        "os.environ['STOCKMART_SCRATCH_MEMORY'] = '64MB'\n"
        "from stockmart_assets.lib import scratch as s\n"
        "with s.scratch() as con:\n"
        "    n = con.execute('SELECT count(DISTINCT x) FROM (SELECT (i * 7919) % 20000000 AS x, repeat(\\'y\\', 20) AS pad '\n"
        "                    'FROM range(8000000) t(i))').fetchall()[0][0]\n"
        "    spill = con.execute(\"SELECT current_setting('temp_directory')\").fetchall()[0][0]\n"
        "    print(spill, n, os.path.isdir(spill), flush=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    spill, distinct, existed = out
    assert distinct == "8000000" and existed == "True"
    assert "stockmart-scratch-" in spill
    assert not __import__("os").path.exists(spill), "removed at exit"
