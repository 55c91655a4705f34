"""Loads of neighbouring days of one table at the same time, on a real MariaDB, never deadlock: a sensor's runs
and a backfill's load neighbouring days in parallel processes."""

import threading
import time

import pyarrow as pa
import pytest

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.lib.day import Days
from stockmart_assets.lib.landing.contract import TRADE
from stockmart_assets.lib.mysql.ddl import create_all
from stockmart_assets.lib.mysql.errors import DataLoadError
from stockmart_assets.lib.mysql.load import replace_partition
from stockmart_assets_tests.conftest import mysql_connect

pytestmark = pytest.mark.mysql


FIRST_ID = {"2026-03-02": 1000, "2026-03-03": 2000}  # a day's order ids are its own, in every load


def _trades(day: str, stock_id: int, n: int) -> pa.Table:
    return pa.table({
        "order_id": pa.array(range(FIRST_ID[day], FIRST_ID[day] + n), pa.int64()),
        "customer_id": pa.array([None] * n, pa.int64()),
        "stock_id": pa.array([stock_id] * n, pa.int64()),
        "trade_type": pa.array(["매수"] * n, pa.string()),
        "quantity": pa.array([1] * n, pa.int64()),
        "order_datetime": pa.array([f"{day} 10:{i % 60:02d}:00" for i in range(n)]).cast(pa.timestamp("us")),
    })


def _waiting(root) -> int:
    """How many transactions wait for a row lock right now (seeing other sessions' transactions takes root)."""
    with root() as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'")
        return cur.fetchone()[0]


def _until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        # InnoDB refreshes what information_schema.innodb_trx shows only once it has gone unread for 0.1 s:
        # polled more often, it never shows the transaction that started waiting.
        time.sleep(0.15)


@pytest.mark.parametrize("loaded_before", [False, True], ids=["first-load", "reload"])
@pytest.mark.parametrize("earlier_day_first", [True, False], ids=["earlier-stalls", "later-stalls"])
def test_loads_of_neighbouring_days_never_deadlock(mysql_url, mysql_root, earlier_day_first, loaded_before):
    """One day's load stalls after its DELETE, in the middle of its rows (a foreign key check waits on a stock
    row another session holds). The neighbouring day loads meanwhile, then the stalled one goes on: both commit.

    Under REPEATABLE READ the stalled load's range DELETE locks the gap its rows go into, which the other day's
    rows go into as well: the other load waits for it, then the stalled one waits for the other (deadlock)."""
    with mysql_connect(mysql_url) as con, con.cursor() as cur:
        create_all(cur)
        cur.execute("INSERT INTO stocks (stock_id, company, ticker) VALUES (1, 'A', 'AAA'), (2, 'B', 'BBB')")
    if loaded_before:  # a reload: each DELETE finds its day's rows
        with MySQLResource(url=mysql_url).connect() as con:
            for day in FIRST_ID:
                replace_partition(con, TRADE, _trades(day, 2, 3), Days.of([day]))
    stalled_day, other_day = ("2026-03-02", "2026-03-03") if earlier_day_first else ("2026-03-03", "2026-03-02")
    errors: list[BaseException] = []

    def load(day: str, stock_id: int) -> None:
        try:
            with MySQLResource(url=mysql_url).connect() as con:
                replace_partition(con, TRADE, _trades(day, stock_id, 50), Days.of([day]))
        except BaseException as e:  # noqa: BLE001 - reported by the test thread
            errors.append(e)

    stalled = threading.Thread(target=load, args=(stalled_day, 1))
    other = threading.Thread(target=load, args=(other_day, 2))
    with mysql_connect(mysql_url) as holder:
        try:
            holder.begin()
            holder.cursor().execute("SELECT * FROM stocks WHERE stock_id = 1 FOR UPDATE")
            stalled.start()
            _until(lambda: _waiting(mysql_root) == 1 or errors, "the first load never reached the held stock row")
            other.start()
            # It may wait: a day's range DELETE reads, and keeps locked, the first row past the range's end.
            _until(lambda: not other.is_alive() or _waiting(mysql_root) == 2, "the other load neither ended nor waited")
        finally:
            holder.rollback()
    stalled.join(timeout=60)
    other.join(timeout=60)
    assert not errors, errors
    assert not stalled.is_alive() and not other.is_alive()
    with mysql_connect(mysql_url) as con, con.cursor() as cur:
        cur.execute("SELECT CAST(order_datetime AS DATE), count(*) FROM trade GROUP BY 1 ORDER BY 1")
        assert [(str(d), n) for d, n in cur.fetchall()] == [("2026-03-02", 50), ("2026-03-03", 50)]


def test_a_day_of_a_range_without_rows_is_emptied_only_when_named(mysql_url):
    """A range's load replaces each day; a day the load has no rows for, while MySQL holds rows on it, is refused
    (the whole range stays as it was) unless it is among the days the caller allows to become empty."""
    with mysql_connect(mysql_url) as con, con.cursor() as cur:
        create_all(cur)
        cur.execute("INSERT INTO stocks (stock_id, company, ticker) VALUES (1, 'A', 'AAA')")
    days = Days.of(list(FIRST_ID))
    with MySQLResource(url=mysql_url).connect() as con:
        replace_partition(con, TRADE, pa.concat_tables([_trades(day, 1, 3) for day in FIRST_ID]), days)
        later_only = _trades("2026-03-03", 1, 4)
        with pytest.raises(DataLoadError, match=r"no rows for \[2026-03-02 00:00:00, 2026-03-03 00:00:00\), "
                                                r"where MySQL holds 3 row\(s\) loaded earlier"):
            replace_partition(con, TRADE, later_only, days)
        assert _per_day(mysql_url) == [("2026-03-02", 3), ("2026-03-03", 3)], "the refused load changed nothing"
        replace_partition(con, TRADE, later_only, days, may_empty=["2026-03-02"])
        assert _per_day(mysql_url) == [("2026-03-03", 4)]


def _per_day(url: str) -> list[tuple[str, int]]:
    with mysql_connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT DATE(order_datetime), count(*) FROM trade GROUP BY 1 ORDER BY 1")
        return [(str(d), n) for d, n in cur.fetchall()]
