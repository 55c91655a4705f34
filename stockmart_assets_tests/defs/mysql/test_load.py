"""raw → mysql through the real assets and IO managers, on a real MariaDB."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from stockmart_assets_tests.conftest import mysql_connect, table_state
from stockmart_assets_tests.support.pipeline import LOAD_DIMENSIONS, LOAD_FACTS, load_all, materialize

pytestmark = pytest.mark.mysql
DATES = ["2024-12-26", "2024-12-27", "2024-12-28"]


def query(url, sql, args=()):
    with mysql_connect(url) as con, con.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def test_seed_sample_loads_with_counts_keys_and_korean_text(seed_landing, tmp_path, mysql_url):
    load_all(seed_landing, tmp_path, DATES)
    assert {k: v[0] for k, v in table_state(mysql_url).items()} == {
        "budget": 4, "customer": 4, "stocks": 5, "trade": 5, "stock_price": 3}
    assert query(mysql_url, "SELECT name, sex FROM customer ORDER BY customer_id LIMIT 2") == (
        ("김민수", "남"), ("이영희", "여"))
    assert query(mysql_url, "SELECT order_id, trade_type, order_datetime FROM trade WHERE order_id = 104") == (
        (104, "매도", dt.datetime(2024, 12, 27, 14, 22)),)
    assert query(mysql_url, "SELECT ts, open, volume FROM stock_price ORDER BY ts LIMIT 1") == (
        (dt.datetime(2024, 12, 26, 14, 30), 258.9790954589844, 1052265),)


def test_tables_have_the_business_models_keys(seed_landing, tmp_path, mysql_url):
    load_all(seed_landing, tmp_path, DATES[:1])
    pks = query(mysql_url, "SELECT table_name, group_concat(column_name ORDER BY ordinal_position) "
                "FROM information_schema.key_column_usage WHERE table_schema = DATABASE() "
                "AND constraint_name = 'PRIMARY' GROUP BY table_name ORDER BY table_name")
    assert dict(pks) == {"budget": "budget_id", "customer": "customer_id", "stock_price": "ticker,ts",
                         "stocks": "stock_id", "trade": "order_id",
                         "_stockmart_loads": "load_id"}  # stockmart's own loads, for change capture
    assert query(mysql_url, "SELECT table_name, first_day, last_day FROM _stockmart_loads "
                 "WHERE table_name = 'trade'") == (("trade", dt.date(2024, 12, 26), dt.date(2024, 12, 26)),)
    fks = query(mysql_url, "SELECT table_name, column_name, referenced_table_name, referenced_column_name "
                "FROM information_schema.key_column_usage WHERE table_schema = DATABASE() "
                "AND referenced_table_name IS NOT NULL ORDER BY 1, 2")
    assert fks == (("customer", "budget_id", "budget", "budget_id"),
                   ("trade", "customer_id", "customer", "customer_id"),
                   ("trade", "stock_id", "stocks", "stock_id"))
    types = dict(query(mysql_url, "SELECT concat(table_name, '.', column_name), column_type FROM "
                       "information_schema.columns WHERE table_schema = DATABASE()"))
    assert types["trade.order_datetime"] == "datetime" and types["stock_price.close"] == "double"
    assert query(mysql_url, "SELECT DISTINCT character_set_name FROM information_schema.columns "
                 "WHERE table_schema = DATABASE() AND character_set_name IS NOT NULL") == (("utf8mb4",),)


def test_rematerializing_a_partition_three_times_gives_identical_tables(seed_landing, tmp_path, mysql_url):
    load_all(seed_landing, tmp_path, DATES)
    before = table_state(mysql_url)
    for _ in range(3):
        materialize(seed_landing, tmp_path, LOAD_FACTS, "2024-12-27")
        materialize(seed_landing, tmp_path, LOAD_DIMENSIONS)
        assert table_state(mysql_url) == before


def test_a_changed_export_replaces_only_its_partition(seed_landing, tmp_path, mysql_url):
    load_all(seed_landing, tmp_path, DATES)
    trade = (seed_landing / "trade.csv").read_text(encoding="utf-8")
    (seed_landing / "trade.csv").write_text(trade.replace("103,2,1,매수,50,", "103,2,1,매수,55,"), encoding="utf-8")
    materialize(seed_landing, tmp_path, LOAD_FACTS, "2024-12-27")
    assert query(mysql_url, "SELECT order_id, quantity FROM trade ORDER BY order_id") == (
        (101, 30), (102, 10), (103, 55), (104, 15), (105, 70))


@pytest.mark.parametrize("bad_line, column", [
    ("106,1,2,매수,x,2024-12-27 10:00", "quantity"),
    ("106,1,2,매수,3,2024-12-32 10:00", "order_datetime"),
    ("103,1,2,매수,3,2024-12-27 10:00", "order_id"),
])
def test_malformed_landing_file_fails_and_leaves_tables_as_they_were(seed_landing, tmp_path, mysql_url,
                                                                     bad_line, column):
    load_all(seed_landing, tmp_path, DATES)
    before = table_state(mysql_url)
    with open(seed_landing / "trade.csv", "a", encoding="utf-8") as f:
        f.write("\n" + bad_line)
    result = materialize(seed_landing, tmp_path, LOAD_FACTS, "2024-12-27", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "trade.csv, line 7" in failure and f"column '{column}'" in failure, failure
    assert table_state(mysql_url) == before


def test_broken_foreign_key_is_rolled_back_and_points_at_the_line(seed_landing, tmp_path, mysql_url):
    load_all(seed_landing, tmp_path, DATES)
    before = table_state(mysql_url)
    with open(seed_landing / "trade.csv", "a", encoding="utf-8") as f:
        f.write("\n106,99,2,매수,1,2024-12-27 11:00")
    result = materialize(seed_landing, tmp_path, LOAD_FACTS, "2024-12-27", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "trade.csv, line 7, column 'customer_id': 99 has no row in customer" in failure, failure
    assert table_state(mysql_url) == before


def test_an_order_moved_to_a_day_not_loaded_again_is_named_with_the_day_that_holds_it(seed_landing, tmp_path,
                                                                                        mysql_url):
    """Order 104 was loaded on 2024-12-27; its corrected row says 2024-12-28. Loading 2024-12-28 alone would
    give MySQL the key twice: refused, naming the landing line and the day MySQL holds the order on."""
    load_all(seed_landing, tmp_path, DATES)
    before = table_state(mysql_url)
    trades = (seed_landing / "trade.csv").read_text(encoding="utf-8")
    (seed_landing / "trade.csv").write_text(trades.replace("2024-12-27 14:22", "2024-12-28 14:22"), encoding="utf-8")
    result = materialize(seed_landing, tmp_path, LOAD_FACTS, "2024-12-28", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert ("trade.csv, line 5, column 'order_id': 104 is already in mysql.trade on 2024-12-27, a day this run "
            "does not load") in failure, failure
    assert table_state(mysql_url) == before
    # Loading both days moves it.
    assert materialize(seed_landing, tmp_path, LOAD_FACTS, "2024-12-27").success
    assert materialize(seed_landing, tmp_path, LOAD_FACTS, "2024-12-28").success
    assert query(mysql_url, "SELECT DATE(order_datetime) FROM trade WHERE order_id = 104") == (
        (dt.date(2024, 12, 28),),)


def test_removing_a_referenced_customer_is_refused(seed_landing, tmp_path, mysql_url):
    load_all(seed_landing, tmp_path, DATES)
    before = table_state(mysql_url)
    customers = (seed_landing / "customer.csv").read_text(encoding="utf-8").splitlines()
    (seed_landing / "customer.csv").write_text("\n".join(customers[:-1]), encoding="utf-8")
    result = materialize(seed_landing, tmp_path, LOAD_DIMENSIONS, raise_on_error=False)
    assert not result.success
    assert table_state(mysql_url) == before


def test_a_day_missing_from_the_landing_files_does_not_empty_its_loaded_rows(seed_landing, tmp_path, mysql_url):
    """The daily schedule may run before the day's export lands (or it lands header-only): keep what is loaded."""
    load_all(seed_landing, tmp_path, DATES)
    before = table_state(mysql_url)
    trades = (seed_landing / "trade.csv").read_text(encoding="utf-8").splitlines()
    (seed_landing / "trade.csv").write_text("\n".join(t for t in trades if "2024-12-27" not in t), encoding="utf-8")
    result = materialize(seed_landing, tmp_path, [["raw", "trade"], ["mysql", "trade"]], "2024-12-27",
                         raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "the landing files hold no rows for [2024-12-27 00:00:00, 2024-12-28 00:00:00)" in failure, failure
    assert "2 row(s) loaded earlier" in failure, failure
    assert table_state(mysql_url) == before
    # A day that never had rows (a weekend, a holiday) still loads as an empty, successful partition.
    assert materialize(seed_landing, tmp_path, [["raw", "trade"], ["mysql", "trade"]], "2024-12-29").success


KILL_CHILD = """
import datetime as dt, sys
import pyarrow as pa
from stockmart_assets.lib.day import Days
from stockmart_assets.lib.landing.contract import TRADE
from stockmart_assets.lib.mysql.load import replace_partition
from stockmart_assets.defs.mysql.resources import MySQLResource
n = 400_000
data = pa.table({"order_id": pa.array(range(10_000, 10_000 + n), pa.int64()),
                 "customer_id": pa.array([1] * n, pa.int64()), "stock_id": pa.array([2] * n, pa.int64()),
                 "trade_type": pa.array(["매수"] * n), "quantity": pa.array([7] * n, pa.int64()),
                 "order_datetime": pa.array([dt.datetime(2024, 12, 27, 12)] * n, pa.timestamp("us"))})
with MySQLResource(url=sys.argv[1]).connect() as con:
    replace_partition(con, TRADE, data, Days.of(["2024-12-27"]))
"""


@pytest.mark.slow
def test_kill_9_during_the_load_leaves_the_previous_partition(seed_landing, tmp_path, mysql_url):
    load_all(seed_landing, tmp_path, DATES)
    before = table_state(mysql_url)
    child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, mysql_url], start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        busy = query(mysql_url, "SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'LOAD DATA%%'")
        if busy[0][0]:
            break
        time.sleep(0.02)
    assert child.poll() is None, "the load finished before it could be killed: make it bigger"
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    for _ in range(300):  # the server notices the dead connection and rolls its transaction back
        if not query(mysql_url, "SELECT count(*) FROM information_schema.processlist WHERE id <> CONNECTION_ID()")[0][0]:
            break
        time.sleep(0.1)
    assert table_state(mysql_url) == before


def test_the_lake_also_lives_in_an_object_store(seed_landing):
    """PROD keeps the lake in GCS (gs://...): the same IO manager through fsspec, here on its memory store."""
    import dagster as dg
    import fsspec

    from stockmart_assets.defs.raw.assets import raw_assets
    from stockmart_assets.defs.raw.resources import LakeIOManager, LandingResource

    result = dg.materialize([a for a in raw_assets if a.key.path[-1] == "trade"], partition_key="2024-12-27",
                            resources={"landing": LandingResource(path=str(seed_landing)),
                                       "lake_io_manager": LakeIOManager(base_dir="memory://lake")})
    assert result.success
    fs = fsspec.filesystem("memory")
    assert fs.ls("/lake/landing/trade", detail=False) == ["/lake/landing/trade/date=2024-12-27"]
    import pyarrow.parquet as pq

    with fs.open("/lake/landing/trade/date=2024-12-27/data.parquet", "rb") as f:
        assert pq.read_table(f)["order_id"].to_pylist() == [103, 104]


def test_rows_stream_out_of_mysql_in_bounded_batches(seed_landing, tmp_path, mysql_url):
    """What the mart reads: record batches of at most the batch size, in the contract's types, nothing else."""
    from stockmart_assets.defs.mysql.resources import MySQLResource
    from stockmart_assets.lib.day import Days
    from stockmart_assets.lib.landing.contract import TRADE
    from stockmart_assets.lib.mysql.read import arrow_schema, read_rows, stream_rows

    load_all(seed_landing, tmp_path, DATES)
    params = MySQLResource(url=mysql_url).connection_params()
    reader = stream_rows(params, TRADE, Days.of(DATES[1:]), batch_rows=1)
    batches = list(reader)
    assert [b.num_rows for b in batches] == [1, 1, 1] and reader.schema == arrow_schema(TRADE)
    assert [r["order_id"] for b in batches for r in b.to_pylist()] == [103, 104, 105]
    assert read_rows(params, TRADE).num_rows == 5
    assert list(stream_rows(params, TRADE, Days.of(["2024-12-29"]))) == []


def test_rows_are_counted_no_further_than_asked(seed_landing, tmp_path, mysql_url):
    """The check step's question "does this pass read more than N rows?", asked of MySQL with a bound."""
    import pymysql

    from stockmart_assets.defs.mysql.resources import MySQLResource
    from stockmart_assets.lib.day import Days
    from stockmart_assets.lib.landing.contract import CUSTOMER, TRADE
    from stockmart_assets.lib.mysql.read import count_at_most

    load_all(seed_landing, tmp_path, DATES)
    con = pymysql.connect(**MySQLResource(url=mysql_url).connection_params())
    try:
        assert count_at_most(con, TRADE, None, 100) == 5
        assert count_at_most(con, TRADE, None, 3) == 3
        assert count_at_most(con, TRADE, Days.of(DATES[1:]), 100) == 3
        assert count_at_most(con, TRADE, Days.of(["2024-12-29"]), 100) == 0
        assert count_at_most(con, CUSTOMER, None, 100) == query(mysql_url, "SELECT COUNT(*) FROM customer")[0][0]
    finally:
        con.close()
