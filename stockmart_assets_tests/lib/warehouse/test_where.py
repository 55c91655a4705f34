"""A key's rows over a run's days are replaced in one write, and nothing outside the key and the days is touched
(the quality tables' results and profiles of a single-run backfill, in the embedded mart)."""

import datetime as dt

import pyarrow as pa

from stockmart_assets.lib.day import Day, Days
from stockmart_assets.lib.warehouse.duckdb import DuckDBWarehouse
from stockmart_assets.lib.warehouse.tables import COLUMN_PROFILES
from stockmart_assets.lib.warehouse.where import Match

NOV = [dt.date(2024, 11, d) for d in (1, 2, 3, 4)]


def profiles(rows: list[tuple[str, dt.date | None, str]]) -> pa.Table:
    return pa.Table.from_pylist([{"table_name": t, "partition_date": d, "run_time": dt.datetime(2024, 12, 1),
                                  "column_name": c} for t, d, c in rows], schema=COLUMN_PROFILES.arrow_schema)


def stored(warehouse: DuckDBWarehouse) -> list[tuple]:
    return sorted(warehouse.query('SELECT table_name, partition_date, column_name FROM mart.column_profiles'),
                  key=str)


def test_a_match_over_days_replaces_that_key_on_those_days_only(tmp_path):
    warehouse = DuckDBWarehouse(str(tmp_path / "warehouse.duckdb"))
    before = [("trade", day, "old") for day in NOV] + [("stock_price", NOV[1], "old"), ("budget", None, "old")]
    warehouse.replace(COLUMN_PROFILES, Match.of(table_name="trade", partition_date=None), rows=profiles(before))

    # Days 2 and 3 of trade: day 2 gets new rows, day 3 (a day that found no rows) keeps none.
    days = Days(Day(NOV[1]), Day(NOV[2]))
    kept = warehouse.replace(COLUMN_PROFILES, Match.of(table_name="trade", partition_date=days),
                             rows=profiles([("trade", NOV[1], "new")]))

    assert kept == 1
    assert stored(warehouse) == sorted([
        ("trade", NOV[0], "old"), ("trade", NOV[1], "new"), ("trade", NOV[3], "old"),
        ("stock_price", NOV[1], "old"), ("budget", None, "old")], key=str)
