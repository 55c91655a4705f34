"""Change capture from the throwaway MariaDB's real row-based binlog: what changed, on which days, and what
was stockmart's own load."""

import datetime as dt

import pyarrow as pa
import pytest

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.lib.day import Days
from stockmart_assets.lib.landing.contract import TRADE
from stockmart_assets.lib.mysql import binlog
from stockmart_assets.lib.mysql.load import replace_partition
from stockmart_assets_tests.conftest import mysql_connect

pytestmark = pytest.mark.mysql
D26, D27, D28 = dt.date(2024, 12, 26), dt.date(2024, 12, 27), dt.date(2024, 12, 28)


@pytest.fixture
def db(mysql_url):
    """The schema with a budget, two customers and two stocks, written as the trading service would."""
    mysql = MySQLResource(url=mysql_url)
    mysql.create_tables()
    with mysql_connect(mysql_url) as con, con.cursor() as cur:
        cur.execute("INSERT INTO budget VALUES (100001, 5000000), (100013, 7000000)")
        cur.execute("INSERT INTO customer VALUES (1, '김민수', '남', 32, 100001), (2, '이영희', '여', 27, 100013)")
        cur.execute("INSERT INTO stocks VALUES (1, 'apple', 'AAPL'), (2, 'amazon', 'AMZN')")
    return mysql


def now(mysql) -> binlog.Position:
    with mysql.connect() as con, con.cursor() as cur:
        return binlog.current(cur)


def changes_since(mysql, start, **kw) -> binlog.Changes:
    params = mysql.connection_params()
    return binlog.read(params, params["database"], start, **kw)


def service(mysql, *statements):
    """The trading service commits ``statements`` as one transaction."""
    with mysql.connect() as con, con.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        con.commit()


def trades(ids, day: dt.date) -> pa.Table:
    return pa.table({"order_id": pa.array(ids, pa.int64()), "customer_id": pa.array([1] * len(ids), pa.int64()),
                     "stock_id": pa.array([2] * len(ids), pa.int64()), "trade_type": ["매수"] * len(ids),
                     "quantity": pa.array([5] * len(ids), pa.int64()),
                     "order_datetime": pa.array([dt.datetime.combine(day, dt.time(10))] * len(ids),
                                                pa.timestamp("us"))})


def test_the_server_is_set_up_for_change_capture(db):
    with db.connect() as con, con.cursor() as cur:
        assert binlog.problems(cur) == []
        assert now(db).file in binlog.available(cur)


def test_changes_map_to_their_days_and_stockmart_loads_are_left_out(db):
    start = now(db)
    with db.connect() as con:  # stockmart's own load of Dec 26
        replace_partition(con, TRADE, trades([101, 102, 103], D26), Days.of([D26]))
    service(db, "INSERT INTO trade VALUES (900, 2, 1, '매도', 4, '2024-12-27 16:00:00')")
    service(db, "UPDATE trade SET order_datetime = '2024-12-28 09:00:00' WHERE order_id = 102",  # moves a day
            "DELETE FROM trade WHERE order_id = 103")
    service(db, "UPDATE customer SET age = 33 WHERE customer_id = 1")
    changes = changes_since(db, start)
    assert changes.own_transactions == 1
    assert changes.days == {"trade": {D26, D27, D28}}
    assert changes.tables == {"customer"} and changes.refresh == {}
    assert dict(changes.events) == {("trade", "insert"): 1, ("trade", "update"): 1, ("trade", "delete"): 1,
                                    ("customer", "update"): 1}
    assert changes.complete and changes.end == now(db)
    nothing = changes_since(db, changes.end)
    assert (nothing.days, nothing.tables, nothing.own_transactions, nothing.end) == ({}, set(), 0, changes.end)


def test_a_full_batch_stops_at_a_commit_and_the_next_read_goes_on_from_there(db):
    start = now(db)
    service(db, *(f"INSERT INTO trade VALUES ({i}, 1, 1, '매수', 1, '2024-12-26 10:00:00')" for i in (1, 2, 3)))
    service(db, *(f"INSERT INTO trade VALUES ({i}, 1, 1, '매수', 1, '2024-12-27 10:00:00')" for i in (4, 5, 6)))
    first = changes_since(db, start, max_rows=2)
    assert (first.complete, first.days, sum(first.events.values())) == (False, {"trade": {D26}}, 3), \
        "a transaction is never split, however small the batch"
    second = changes_since(db, first.end, max_rows=2)
    assert second.days == {"trade": {D27}} and second.end == now(db)


def test_rotation_truncate_and_a_statement_over_many_days(db, mysql_root):
    start = now(db)
    service(db, "INSERT INTO trade VALUES (1, 1, 1, '매수', 1, '2024-12-26 10:00:00')")
    with mysql_root() as con, con.cursor() as cur:
        cur.execute("FLUSH BINARY LOGS")
    service(db, *(f"INSERT INTO trade VALUES ({10 + d}, 1, 1, '매수', 1, '2024-11-{d:02d} 10:00:00')"
                  for d in range(1, 31)))
    service(db, "UPDATE trade SET quantity = quantity + 1 WHERE order_datetime < '2024-12-01'")  # 30 days at once
    changes = changes_since(db, start)
    assert changes.end.file != start.file, "read across the rotation"
    assert changes.days["trade"] == {D26} | {dt.date(2024, 11, d) for d in range(1, 31)}
    assert changes.events[("trade", "update")] == 30

    service(db, "TRUNCATE TABLE trade")
    truncated = changes_since(db, changes.end)
    assert list(truncated.refresh) == ["trade"] and "TRUNCATE" in truncated.refresh["trade"].upper()
