"""The one bulk path into MySQL: LOAD DATA LOCAL INFILE inside a single transaction.

A partition is replaced by deleting its rows and loading the new ones in one transaction, so a re-run gives
the same table and a crash (of our process, of the connection) leaves the previous rows. A dimension table
(unpartitioned) is loaded into a temporary staging table and merged by primary key: it cannot simply be
emptied, because trades reference its rows.

With LOCAL, MySQL and MariaDB treat every error as a warning and skip the row (the server cannot stop the
client's upload midway). So after each load we compare the loaded row count and the warnings; any skipped or
altered row rolls the transaction back, and the error names the landing file and line it came from.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from typing import TYPE_CHECKING

import pymysql

from stockmart_assets.lib.day import Day, Days
from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.mysql.ddl import q, record_load
from stockmart_assets.lib.mysql.errors import DataLoadError, check_complete, count_rows, explain_integrity
from stockmart_assets.lib.scratch import scratch

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

    Rows = pa.Table | ds.Dataset  # an Arrow table, or files DuckDB streams (the lake's days)



# A run's tag naming the days (comma-separated keys) its loads may empty: see ``replace_partition``.
EMPTY_DAYS_TAG = "stockmart/empty_days"


@dataclass(frozen=True)
class LoadResult:
    table: str
    rows_loaded: int
    rows_deleted: int


def _write_load_file(data: Rows, table: LandingTable, path: str) -> None:
    # Strings are always quoted and NULL is the bare word NULL: MySQL then tells NULL, '' and 'NULL' apart.
    # ESCAPED BY '' on the MySQL side means backslashes in names arrive untouched. DuckDB streams the rows.
    strings = [c.name for c in table.columns if c.type == "VARCHAR"]
    force = f", FORCE_QUOTE ({', '.join(strings)})" if strings else ""
    cols = ", ".join(c.name for c in table.columns)
    with scratch() as con:
        con.register("data", data)
        con.execute(
            f"COPY (SELECT {cols} FROM data) TO '{path}' "
            f"(FORMAT csv, HEADER false, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULLSTR 'NULL'{force})"
        ).fetchall()


def _bounds(data: Rows, column: str) -> tuple:
    """(rows, min, max, the dates that have rows) of ``column``, in one streaming pass."""
    with scratch() as con:
        con.register("data", data)
        return con.execute(f"SELECT count(*), min({q(column)}), max({q(column)}), "
                           f"coalesce(list(DISTINCT CAST({q(column)} AS DATE)), []) FROM data").fetchall()[0]


def _load_data(cur, path: str, target: str, table: LandingTable) -> int:
    cols = ", ".join(q(c.name) for c in table.columns)
    cur.execute(
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {q(target)} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
        f"({cols})",
        (path,),
    )
    return cur.rowcount


@contextmanager
def _load_transaction(con: pymysql.Connection, cur, table: LandingTable, data: Rows, days: Days | None = None):
    """One transaction for a load: it commits with stockmart's mark (``record_load``) or rolls back, an
    integrity error explained with the landing file and line it came from."""
    try:
        # READ COMMITTED: a partition's range DELETE locks rows, not gaps. Under REPEATABLE READ it also locks
        # the gap past its range, where a neighbouring day's rows go: two such days loading at once (a sensor's
        # runs, a backfill's) each wait for the other's gap, a deadlock. Loads may still wait for each other
        # (a DELETE keeps the first row past its range locked), but never in a circle.
        cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        con.begin()
        yield
        record_load(cur, table.name, *((days.first.date, days.last.date) if days else ()))
        con.commit()
    except pymysql.err.IntegrityError as e:
        con.rollback()
        raise DataLoadError(explain_integrity(con, table, data, e)) from e
    except BaseException:
        con.rollback()
        raise


def replace_partition(con: pymysql.Connection, table: LandingTable, data: Rows, days: Days,
                      may_empty: Iterable[Day] = ()) -> LoadResult:
    """Make the rows of ``table`` on ``days`` (its partition column's date) exactly ``data``, atomically.

    Rows already loaded are never replaced by nothing: a day that has no landing rows (its export has not
    arrived, or came header-only) while MySQL holds rows for it is refused, and the days stay as they were,
    unless the day is one of ``may_empty`` (a day its landing files no longer hold, emptied on request).
    """
    assert table.partition_column, f"{table.name} is not partitioned"
    col, start, end = table.partition_column, days.start, days.end
    rows, lo, hi, dates = _bounds(data, col)
    if rows:
        if lo < start or hi >= end:
            raise DataLoadError(f"{table.name}: rows from {lo} to {hi} fall outside the partition [{start}, {end})")
    allowed = {Day.of(d) for d in may_empty}
    have = set(dates)
    empty = [day for day in days if day.date not in have and day not in allowed]
    with tempfile.TemporaryDirectory(prefix="stockmart-load-") as tmp:
        path = os.path.join(tmp, f"{table.name}.csv")
        _write_load_file(data, table, path)
        with con.cursor() as cur, _load_transaction(con, cur, table, data, days):
            _refuse_to_empty(cur, table, empty)
            deleted = cur.execute(
                f"DELETE FROM {q(table.name)} WHERE {q(col)} >= %s AND {q(col)} < %s", (start, end)
            )
            loaded = _load_data(cur, path, table.name, table) if rows else 0
            check_complete(con, cur, table, data, loaded, rows)
    return LoadResult(table.name, loaded, deleted)


def _refuse_to_empty(cur, table: LandingTable, days: list[Day]) -> None:
    """Fail if MySQL holds rows on any of ``days`` (days the load has no rows for)."""
    col = q(table.partition_column)
    held = []
    for day in days:
        cur.execute(f"SELECT count(*) FROM {q(table.name)} WHERE {col} >= %s AND {col} < %s", (day.start, day.end))
        if count := cur.fetchone()[0]:
            held.append(f"[{day.start}, {day.end}), where MySQL holds {count} row(s) loaded earlier")
    if held:
        raise DataLoadError(
            f"{table.name}: the landing files hold no rows for " + "; ".join(held) + ": refusing to empty "
            "it (has the export for these days arrived?). To empty a day on purpose (its landing file was removed, "
            f"or its dates corrected), run `stockmart run --empty-days-without-files`, or launch the run with the "
            f"tag {EMPTY_DAYS_TAG}=<day>,<day>.")


def merge_table(con: pymysql.Connection, table: LandingTable, data: Rows) -> LoadResult:
    """Make ``table`` hold exactly ``data``: upsert by primary key, delete rows that are gone, atomically.

    Deleting a row that others still reference (a customer with trades) fails the whole merge.
    """
    stage = f"_stage_{table.name}"
    key = [q(k) for k in table.key]
    cols = [q(c.name) for c in table.columns]
    updates = ", ".join(f"{c} = VALUES({c})" for c in cols if c not in key) or f"{key[0]} = {key[0]}"
    on = " AND ".join(f"t.{k} = s.{k}" for k in key)
    with tempfile.TemporaryDirectory(prefix="stockmart-load-") as tmp:
        path = os.path.join(tmp, f"{table.name}.csv")
        _write_load_file(data, table, path)
        rows = count_rows(data)
        with con.cursor() as cur:
            try:
                cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {q(stage)}")
                # LIKE copies columns and keys but not foreign keys: the stage accepts the rows as they are.
                cur.execute(f"CREATE TEMPORARY TABLE {q(stage)} LIKE {q(table.name)}")
                with _load_transaction(con, cur, table, data):
                    loaded = _load_data(cur, path, stage, table) if rows else 0
                    check_complete(con, cur, table, data, loaded, rows)
                    deleted = cur.execute(
                        f"DELETE t FROM {q(table.name)} t LEFT JOIN {q(stage)} s ON {on} WHERE s.{key[0]} IS NULL"
                    )
                    cur.execute(
                        f"INSERT INTO {q(table.name)} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {q(stage)} "
                        f"ON DUPLICATE KEY UPDATE {updates}"
                    )
            finally:
                cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {q(stage)}")
    return LoadResult(table.name, loaded, deleted)
