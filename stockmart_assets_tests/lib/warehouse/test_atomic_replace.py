"""A partition replace in the mart is all or nothing, even when the process is killed in the middle of it."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import duckdb
import pyarrow as pa
import pytest

from stockmart_assets.lib.day import Days
from stockmart_assets.lib.warehouse.duckdb import DuckDBWarehouse
from stockmart_assets.lib.warehouse.tables import ORDERS_PER_DAY

pytestmark = pytest.mark.slow
DAY = dt.date(2024, 12, 27)

CHILD = """
import datetime as dt, pathlib, sys, time
from contextlib import closing, contextmanager
import pyarrow as pa
from stockmart_assets.lib.day import Days
from stockmart_assets.lib.warehouse.tables import ORDERS_PER_DAY

warehouse, marker = sys.argv[1], sys.argv[2]
rows = pa.table({"trade_date": pa.array([dt.date(2024, 12, 27)] * 1000, pa.date32()),
                 "total_orders": pa.array(range(1000), pa.int64())})


class Stall:
    # Passes every call through, but stalls forever on the statement that would publish the new rows.
    def __init__(self, inner, trigger):
        self.inner, self.trigger = inner, trigger

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name not in ("execute", "query"):
            return attr
        def call(sql, *args, **kwargs):
            if self.trigger in sql:
                pathlib.Path(marker).write_text("stalled")
                time.sleep(600)
            return attr(sql, *args, **kwargs)
        return call


if warehouse.startswith("http"):
    from stockmart_assets.lib.warehouse.bigquery import BigQueryWarehouse as Base, emulator_client
    project = sys.argv[3]
    trigger, args = "BEGIN TRANSACTION", (project, "mart", lambda: closing(emulator_client(project, warehouse)))
else:
    from stockmart_assets.lib.warehouse.duckdb import DuckDBWarehouse as Base
    trigger, args = "INSERT INTO", (warehouse,)


class Stalling(Base):
    @contextmanager
    def _connect(self):
        with super()._connect() as con:
            yield Stall(con, trigger)

    @contextmanager
    def _client(self):
        with super()._client() as client:
            yield Stall(client, trigger)


Stalling(*args).replace(ORDERS_PER_DAY, Days.of(["2024-12-27"]), rows=rows)
"""


def kill_midway(args, marker):
    """Run the child until it stalls inside the replace (after DuckDB's DELETE; before BigQuery's script)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], start_new_session=True)
    deadline = time.monotonic() + 120
    while not (os.path.exists(marker) and open(marker).read() == "stalled"):
        assert child.poll() is None, "the child ended before reaching the replace"
        assert time.monotonic() < deadline, "the child never reached the replace"
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def previous_rows():
    return pa.table({"trade_date": pa.array([DAY] * 3, pa.date32()), "total_orders": pa.array([7, 8, 9], pa.int64())})


def test_kill_9_during_a_duckdb_partition_replace_keeps_the_previous_partition(tmp_path):
    db = str(tmp_path / "warehouse.duckdb")
    DuckDBWarehouse(db).replace(ORDERS_PER_DAY, Days.of([DAY]), rows=previous_rows())
    # The child stalls on its INSERT: its DELETE of the day has already run inside the open transaction.
    kill_midway([db, str(tmp_path / "marker")], tmp_path / "marker")
    with duckdb.connect(db) as con:  # opening replays the WAL: only committed work survives
        rows = con.execute("SELECT total_orders FROM mart.orders_per_day ORDER BY 1").fetchall()
    assert rows == [(7,), (8,), (9,)]


@pytest.mark.mysql  # shares the slow, server-backed group
def test_kill_9_during_a_bigquery_partition_replace_keeps_the_previous_partition(tmp_path, bigquery_emulator):
    from stockmart_assets.defs.mart.resources import BigQueryMart

    w = BigQueryMart(project=bigquery_emulator.project, api_endpoint=bigquery_emulator.endpoint).get()
    w.replace(ORDERS_PER_DAY, Days.of([DAY]), rows=previous_rows())
    kill_midway([bigquery_emulator.endpoint, str(tmp_path / "marker"), bigquery_emulator.project],
                tmp_path / "marker")
    assert w.query(f"SELECT total_orders FROM `{bigquery_emulator.project}.mart.orders_per_day` ORDER BY 1") == [
        (7,), (8,), (9,)]
    client = bigquery_emulator.client()
    staged = [t for t in client.list_tables(f"{bigquery_emulator.project}.mart") if t.table_id.startswith("_stage_")]
    assert staged and all(client.get_table(t).expires for t in staged), "a crash leaves only an expiring stage"


from stockmart_assets_tests.support.bigquery_emulator import bigquery_emulator  # noqa: E402,F401  (fixture)


def test_duckdb_mart_io_manager_replaces_and_reads_back_one_day(tmp_path):
    import dagster as dg

    from stockmart_assets.defs.mart.io_manager import MartIOManager
    from stockmart_assets.defs.mart.resources import DuckDBMart

    parts = dg.DailyPartitionsDefinition(start_date="2024-12-01")
    counts = {"2024-12-26": 2, "2024-12-27": 3}

    @dg.asset(key=["mart", "orders_per_day"], partitions_def=parts, io_manager_key="mart_io_manager")
    def orders(context):
        day = dt.date.fromisoformat(context.partition_key)
        return pa.table({"trade_date": pa.array([day], pa.date32()),
                         "total_orders": pa.array([counts[context.partition_key]], pa.int64())})

    @dg.asset(partitions_def=parts, ins={"rows": dg.AssetIn(key=["mart", "orders_per_day"])})
    def read_back(rows) -> None:
        assert rows.to_pylist() == [{"trade_date": dt.date(2024, 12, 27), "total_orders": 3}]

    resources = {"mart_io_manager": MartIOManager(warehouse=DuckDBMart(database=str(tmp_path / "w.duckdb")))}
    for day in counts:
        assert dg.materialize([orders], partition_key=day, resources=resources).success
    counts["2024-12-27"] = 3  # a re-run of one day replaces only that day
    assert dg.materialize([orders], partition_key="2024-12-27", resources=resources).success
    assert dg.materialize([orders, read_back], selection=[read_back], partition_key="2024-12-27",
                          resources=resources).success
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert con.execute("SELECT * FROM mart.orders_per_day ORDER BY 1").fetchall() == [
            (dt.date(2024, 12, 26), 2), (dt.date(2024, 12, 27), 3)]
