"""The binlog sensor against real MariaDB (binlog on), real runs (Spark + Deequ, DuckDB): commits the trading
service makes in MySQL reach the mart, equal to a rebuild from MySQL; stockmart's own loads request nothing."""

import os
import time

import dagster as dg
import duckdb
import pytest

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.defs.orchestration.mysql_changes import mysql_binlog
from stockmart_assets_tests.conftest import mysql_connect
from stockmart_assets_tests.defs.orchestration.test_orchestration import tick
from stockmart_assets_tests.support.pipeline import DAYS, DIMENSIONS, FACTS, pipeline, run_request  # noqa: F401

pytestmark = [pytest.mark.mysql, pytest.mark.spark, pytest.mark.slow]
MART = ["customer", "trade", "daily_buys", "orders_per_day", "top_ticker_by_age_sex", "buys_by_age_group"]


def tables(path: str) -> dict[str, list]:
    with duckdb.connect(path, read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM mart.{t} ORDER BY ALL").fetchall() for t in MART}


def test_commits_in_mysql_reach_the_mart_and_stockmart_loads_request_nothing(pipeline, tmp_path, monkeypatch):
    url = os.environ["STOCKMART_MYSQL_URL"]
    mysql = MySQLResource(url=url)
    instance = dg.DagsterInstance.ephemeral()
    assert pipeline(DIMENSIONS).success
    requests, cursor = tick(mysql_binlog, instance, None, mysql=mysql)
    assert requests == [] and cursor, "the first tick starts reading at the binlog's end"
    assert pipeline(FACTS, DAYS).success
    requests, cursor = tick(mysql_binlog, instance, cursor, mysql=mysql)
    assert requests == [], "stockmart's own loads are not changes to refresh"
    assert tick(mysql_binlog, instance, cursor, mysql=mysql) == ([], cursor)

    with mysql_connect(url) as con, con.cursor() as cur:  # the trading service, in MySQL itself
        cur.execute("INSERT INTO trade VALUES (900, 2, 3, '매수', 4, '2024-12-27 16:00:00')")
        cur.execute("UPDATE trade SET order_datetime = '2024-12-28 10:00:00' WHERE order_id = 102")  # 26 -> 28
        cur.execute("UPDATE customer SET age = 55 WHERE customer_id = 2")
    requests, cursor = tick(mysql_binlog, instance, cursor, mysql=mysql)
    assert [(r.job_name, r.partition_key_range) for r in requests] == [
        ("refresh_dimensions_from_mysql", None),
        ("refresh_from_mysql", dg.PartitionKeyRange("2024-12-26", "2024-12-28"))]
    assert all(r.tags["stockmart/trigger"] == "binlog" and r.run_key for r in requests)
    for request in requests:
        assert run_request(request, pipeline.instance).success, request.job_name
    assert tick(mysql_binlog, instance, cursor, mysql=mysql)[0] == [], "the refresh runs write no MySQL rows"

    # The mart now equals a rebuild from MySQL: the same jobs over every day, into a new warehouse.
    changed = tables(pipeline.warehouse)
    monkeypatch.setenv("STOCKMART_HOME", str(tmp_path / "rebuild"))
    for request in (dg.RunRequest(job_name="refresh_dimensions_from_mysql"),
                    dg.RunRequest(job_name="refresh_from_mysql", tags={"dagster/asset_partition_range_start": DAYS[0],
                                                                       "dagster/asset_partition_range_end": DAYS[-1]})):
        assert run_request(request, pipeline.instance).success
    assert changed == tables(str(tmp_path / "rebuild" / "warehouse.duckdb"))
    with mysql_connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT order_id, customer_id, stock_id, trade_type, quantity, order_datetime FROM trade")
        in_mysql = sorted(cur.fetchall())
    with duckdb.connect(pipeline.warehouse, read_only=True) as con:
        assert con.execute("SELECT order_id, customer_id, stock_id, trade_type, quantity, order_datetime "
                           "FROM mart.trade ORDER BY ALL").fetchall() == in_mysql
        assert con.execute("SELECT age FROM mart.customer WHERE customer_id = 2").fetchall() == [(55,)]


def test_a_purged_cursor_refreshes_everything_once_and_a_misconfigured_server_is_named(mysql_url, mysql_root):
    mysql = MySQLResource(url=mysql_url)
    mysql.create_tables()
    instance = dg.DagsterInstance.ephemeral()
    _, cursor = tick(mysql_binlog, instance, None, mysql=mysql)
    with mysql_root() as con, con.cursor() as cur:  # the server purges the binlog the cursor is in
        cur.execute("FLUSH BINARY LOGS")
        cur.execute("SHOW MASTER STATUS")
        newest = cur.fetchone()[0]
        deadline = time.monotonic() + 60
        while True:
            # PURGE skips (with a warning) a file a reader still has open: another test's sensor on this server,
            # or a killed dump thread that has not exited yet. Kill the readers and try again.
            cur.execute("SELECT id FROM information_schema.processlist WHERE command = 'Binlog Dump'")
            for (reader,) in cur.fetchall():
                cur.execute(f"KILL {reader}")
            cur.execute(f"PURGE BINARY LOGS TO '{newest}'")
            cur.execute("SHOW BINARY LOGS")
            if cursor.rpartition(":")[0] not in [row[0] for row in cur.fetchall()]:
                break
            assert time.monotonic() < deadline, "the server would not purge the cursor's binlog"
            time.sleep(0.5)
    with mysql_connect(mysql_url) as con, con.cursor() as cur:
        cur.execute("INSERT INTO budget VALUES (1, 1)")
    requests, after = tick(mysql_binlog, instance, cursor, mysql=mysql)
    assert sorted(r.job_name for r in requests) == [
        "refresh_dimensions_from_mysql", "refresh_from_mysql", "refresh_stock_price_from_mysql"]
    assert all(r.partition_key_range for r in requests if r.job_name != "refresh_dimensions_from_mysql"), \
        "every day of each fact table"
    assert tick(mysql_binlog, instance, after, mysql=mysql)[0] == [], "once: reading resumes at the new end"

    with mysql_root() as con, con.cursor() as cur:
        cur.execute("SET GLOBAL binlog_row_metadata = 'MINIMAL'")
        try:
            result = mysql_binlog(dg.build_sensor_context(instance=instance, cursor=after, resources={"mysql": mysql}))
        finally:
            cur.execute("SET GLOBAL binlog_row_metadata = 'FULL'")
    assert not result.run_requests and result.cursor is None, "nothing requested, the cursor stays"
    assert "binlog_row_metadata=MINIMAL (needs FULL)" in result.skip_reason.skip_message
