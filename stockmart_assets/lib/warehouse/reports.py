"""What the gate and the CLI read from any warehouse, written once over ``Warehouse``."""

from __future__ import annotations

import datetime as dt

from typing import TYPE_CHECKING

from stockmart_assets.lib.day import Day, Days, Scope
from stockmart_assets.lib.warehouse.protocol import Warehouse
from stockmart_assets.lib.warehouse.tables import VERIFICATION_RESULTS, MartTable
from stockmart_assets.lib.warehouse.where import Match, where_sql

if TYPE_CHECKING:
    import pyarrow as pa

SUITE = "deequ_suite"  # the blocking suite, whose verifications the gate reads


def verification_summary(w: Warehouse, table: str, scope: Scope) -> tuple[dt.datetime | None, int, int]:
    """(run time, constraints, error-level failures) of the latest ``deequ_suite`` verification of ``table`` in
    ``scope`` (a day, or the whole dimension table); no verification: (None, 0, 0)."""
    if not w.exists(VERIFICATION_RESULTS.name):
        return None, 0, 0
    q = w.quote
    key = Match.of(table_name=table, suite=SUITE, partition_date=scope if isinstance(scope, Day) else None)
    failed = f"CASE WHEN {q('check_level')} = 'Error' AND {q('constraint_status')} <> 'Success' THEN 1 ELSE 0 END"
    [(checked_at, constraints, failures)] = w.query(
        f"SELECT MIN({q('run_time')}), COUNT(*), SUM({failed}) FROM {w.qualified(VERIFICATION_RESULTS.name)} "
        f"WHERE {where_sql(VERIFICATION_RESULTS, key, q)}")
    return checked_at, constraints, int(failures or 0)


def table_sizes(w: Warehouse, tables: list[MartTable]) -> list[tuple[str, int, int | None]]:
    """(table, rows, days) of each of ``tables`` that exists; days is None for an unpartitioned table."""
    sizes = []
    for table in tables:
        if not w.exists(table.name):
            continue
        days = f"COUNT(DISTINCT {w.quote(table.partition_column)})" if table.partition_column else "NULL"
        [(rows, n_days)] = w.query(f"SELECT COUNT(*), {days} FROM {w.qualified(table.name)}")
        sizes.append((table.name, rows, n_days))
    return sizes


def day_summaries(w: Warehouse, table: MartTable, days: Days, preview_rows: int) -> dict[Day, tuple[int, pa.Table]]:
    """Each day's row count and first rows in ``table`` (partitioned by day), in two queries whatever the
    number of days: what each day's materialization shows, read from the warehouse after the write."""
    import pyarrow as pa

    q, source = w.quote, w.qualified(table.name)
    day, where = q(table.partition_column), where_sql(table, days, q)
    counts = dict(w.query(f"SELECT {day}, COUNT(*) FROM {source} WHERE {where} GROUP BY {day}"))
    cols = ", ".join(q(c) for c in table.column_names)
    order = ", ".join(q(c) for c in table.column_names[:3])
    first = w.query(f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {day} ORDER BY {order}) "
                    f"AS {q('_n')} FROM {source} WHERE {where}) AS ranked WHERE {q('_n')} <= {int(preview_rows)}")
    by_day: dict[dt.date, list[dict]] = {}
    for row in first:
        record = dict(zip(table.column_names, row))
        by_day.setdefault(record[table.partition_column], []).append(record)
    return {d: (counts.get(d.date, 0), pa.Table.from_pylist(sorted(by_day.get(d.date, []), key=_order(table)),
                                                             schema=table.arrow_schema)) for d in days}


def day_sums(w: Warehouse, table: MartTable, days: Days, column: str) -> dict[Day, int]:
    """Each day's sum of ``column`` in ``table`` (0 on a day without rows): a per-day number the UI charts."""
    q, day = w.quote, w.quote(table.partition_column)
    sums = dict(w.query(f"SELECT {day}, SUM({q(column)}) FROM {w.qualified(table.name)} "
                        f"WHERE {where_sql(table, days, q)} GROUP BY {day}"))
    return {d: int(sums.get(d.date) or 0) for d in days}


def head(w: Warehouse, table: MartTable, order_by: list[str], rows: int) -> tuple[int, pa.Table]:
    """The row count and the first ``rows`` rows of ``table`` (or view) in ``order_by`` order."""
    import pyarrow as pa

    q, source = w.quote, w.qualified(table.name)
    [(count,)] = w.query(f"SELECT COUNT(*) FROM {source}")
    cols = ", ".join(q(c) for c in table.column_names)
    first = w.query(f"SELECT {cols} FROM {source} ORDER BY {', '.join(order_by)} LIMIT {int(rows)}")
    return count, pa.Table.from_pylist([dict(zip(table.column_names, r)) for r in first], schema=table.arrow_schema)


def _order(table: MartTable):
    names = table.column_names[:3]
    return lambda record: tuple((record[n] is None, record[n]) for n in names)
