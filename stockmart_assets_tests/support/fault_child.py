"""The process that test_fault_kill_loop kills: one real run of a partition write, with its phases on disk.

    python -m stockmart_assets_tests.support.fault_child mysql LANDING WORK DAY MARKERS   # raw/trade + mysql/trade
    python -m stockmart_assets_tests.support.fault_child mart DATABASE DAY VERSION ROWS MARKERS  # mart/trade's day

The run is the production path (Dagster materializing the real assets through the real IO managers). The
only addition is observation: when the write's transaction begins and when it has committed, a marker file
holding ``time.monotonic()`` (one clock for every process on the machine) appears in MARKERS, and one when
the bulk write inside it starts (LOAD DATA; the mart's INSERT), so the killer can aim at the transaction and
tell afterwards where each kill landed. The observers call straight through: nothing is stalled or replaced.
"""

import datetime as dt
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

BEGIN, BULK, COMMITTED, DONE = "begin", "bulk", "committed", "done"  # markers, in the order a run writes them
MART_DAY_COLUMNS = ("trade_date", "order_id", "customer_id", "stock_id", "ticker", "trade_type", "quantity",
                    "order_datetime")
TICKERS = ("AAPL", "AMZN", "GOOGL", "META", "MSFT")


def mark(markers: Path, phase: str) -> None:
    """Publish a phase with its time: written aside, then renamed, so the marker never appears half-written."""
    tmp = markers / f".{phase}.tmp"
    tmp.write_text(repr(time.monotonic()))
    os.replace(tmp, markers / phase)


def marked_at(markers: Path, phase: str) -> float | None:
    path = markers / phase
    return float(path.read_text()) if path.exists() else None


def mart_day_rows(day: dt.date, version: int, rows: int):
    """One day of mart.trade, deterministic in (day, version); two versions of a day share keys, not values."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng([version, day.toordinal()])
    stock = rng.integers(1, len(TICKERS) + 1, rows)
    minutes = np.sort(rng.integers(8 * 60, 18 * 60, rows))
    return pa.table({
        "trade_date": pa.array(np.full(rows, np.datetime64(day, "D"))),
        "order_id": pa.array(np.arange(rows, dtype=np.int64) + day.toordinal() * 10_000_000),
        "customer_id": pa.array(rng.integers(1, 5_001, rows)),
        "stock_id": pa.array(stock),
        "ticker": pa.DictionaryArray.from_arrays(pa.array(stock - 1, pa.int32()), TICKERS).cast(pa.string()),
        "trade_type": pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 2, rows), pa.int32()),
                                                     ["매도", "매수"]).cast(pa.string()),
        "quantity": pa.array(rng.integers(1, 1001, rows)),
        "order_datetime": pa.array(np.datetime64(day, "us") + minutes.astype("timedelta64[m]")),
    })


def run_mysql(landing: Path, work: Path, day: str, markers: Path) -> None:
    """Materialize raw/trade and mysql/trade for ``day``, marking the load's BEGIN, LOAD DATA and COMMIT."""
    import pymysql

    from stockmart_assets_tests.support.pipeline import materialize

    Connection, Cursor = pymysql.connections.Connection, pymysql.cursors.Cursor
    begin, commit, execute = Connection.begin, Connection.commit, Cursor.execute

    def observed_begin(con):
        mark(markers, BEGIN)
        return begin(con)

    def observed_execute(cur, query, args=None):
        if query.lstrip().startswith("LOAD DATA"):
            mark(markers, BULK)
        return execute(cur, query, args)

    def observed_commit(con):
        commit(con)
        if (markers / BEGIN).exists():  # the DDL's commit before the load is not the load's commit
            mark(markers, COMMITTED)

    Connection.begin, Connection.commit, Cursor.execute = observed_begin, observed_commit, observed_execute
    materialize(landing, work, [["raw", "trade"], ["mysql", "trade"]], day)


def mart_trade_asset(day_rows):
    """A stand-in for mart/trade with the same key, partitions and IO manager; ``day_rows(day)`` is its output."""
    import dagster as dg

    from stockmart_assets.partitions import daily_partitions

    @dg.asset(key=["mart", "trade"], partitions_def=daily_partitions, io_manager_key="mart_io_manager")
    def trade(context: dg.AssetExecutionContext):
        return day_rows(dt.date.fromisoformat(context.partition_key))

    return trade


class _Observed:
    """A DuckDB connection that marks when the bulk INSERT of a replace starts, and otherwise passes through."""

    def __init__(self, con, markers: Path):
        self._con, self._markers = con, markers

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, *args, **kwargs):
        if sql.startswith("INSERT INTO"):
            mark(self._markers, BULK)  # the day's DELETE is done, its INSERT starts
        return self._con.execute(sql, *args, **kwargs)


def write_mart_day(database: str, day: str, version: int, rows: int, markers: Path | None = None) -> None:
    """Replace ``day`` of mart.trade in ``database`` with version ``version`` through the mart's IO manager."""
    import dagster as dg

    from stockmart_assets.defs.mart.io_manager import MartIOManager
    from stockmart_assets.defs.mart.resources import DuckDBMart
    from stockmart_assets.lib.warehouse.duckdb import DuckDBWarehouse

    if markers is not None:
        transaction = DuckDBWarehouse._transaction

        @contextmanager
        def observed_transaction(self):
            mark(markers, BEGIN)
            with transaction(self) as con:
                yield _Observed(con, markers)
            mark(markers, COMMITTED)  # COMMIT has returned; the connection closes next

        DuckDBWarehouse._transaction = observed_transaction
    dg.materialize([mart_trade_asset(lambda d: mart_day_rows(d, version, rows))], partition_key=day,
                   resources={"mart_io_manager": MartIOManager(warehouse=DuckDBMart(database=database))})


def main(argv: list[str]) -> None:
    kind, *args = argv
    markers = Path(args[-1])
    if kind == "mysql":
        landing, work, day = args[:3]
        run_mysql(Path(landing), Path(work), day, markers)
    elif kind == "mart":
        database, day, version, rows = args[:4]
        write_mart_day(database, day, int(version), int(rows), markers)
    else:
        raise SystemExit(f"unknown kind {kind!r}: mysql or mart")
    mark(markers, DONE)


if __name__ == "__main__":
    main(sys.argv[1:])
