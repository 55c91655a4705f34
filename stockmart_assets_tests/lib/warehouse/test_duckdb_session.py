"""A warehouse session: one DuckDB connection for the calls a thread makes in the block, and the file let go
when it ends."""

import subprocess
import sys
import threading

import duckdb
import pytest

from stockmart_assets.lib.day import WHOLE
from stockmart_assets.lib.warehouse.duckdb import DuckDBWarehouse
from stockmart_assets.lib.warehouse.tables import MART_TABLES


def _temporary_tables(warehouse: DuckDBWarehouse) -> list[tuple]:
    return warehouse.query("SELECT table_name FROM duckdb_tables() WHERE temporary")


def test_a_session_keeps_one_connection_for_its_thread_and_lets_the_file_go_when_it_ends(tmp_path):
    path = str(tmp_path / "w.duckdb")
    warehouse = DuckDBWarehouse(path)
    stocks = MART_TABLES["stocks"]
    with warehouse.session():
        warehouse.query("CREATE TEMP TABLE here AS SELECT 1 AS x")  # a temporary table lives in its connection
        assert warehouse.query("SELECT x FROM here") == [(1,)]
        with DuckDBWarehouse(path).session():  # another object, a nested block: the same connection
            assert warehouse.query("SELECT x FROM here") == [(1,)]
        assert warehouse.replace(stocks, WHOLE, select_sql="SELECT 1 AS stock_id, 'AAPL' AS ticker") == 1
        with pytest.raises(duckdb.Error):  # a failed write is rolled back; the connection goes on
            warehouse.replace(stocks, WHOLE, select_sql="SELECT 2 AS stock_id, error('refused') AS ticker")
        assert warehouse.query("SELECT stock_id, ticker FROM mart.stocks") == [(1, "AAPL")]
        assert warehouse.query("SELECT x FROM here") == [(1,)]
        elsewhere: list = []
        thread = threading.Thread(target=lambda: elsewhere.append(_temporary_tables(warehouse)), daemon=True)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive() and not elsewhere, "another thread waits for the warehouse, as another process does"
    thread.join(timeout=60)
    assert elsewhere == [[]], "then it uses a connection of its own"
    assert _temporary_tables(warehouse) == [], "after the block, every call opens a connection of its own again"
    subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({path!r}).close()"], check=True,
                   timeout=60)  # the file is free for another process
