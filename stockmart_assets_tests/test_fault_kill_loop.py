"""kill -9 at random points of a partition write: every kill leaves the previous good state, a re-run converges.

For MySQL (raw/trade + mysql/trade: the day's DELETE and LOAD DATA LOCAL in one transaction) and for the DuckDB
mart (MartDuckDBIOManager's replace of a day), a child process runs the real write of one day
(``fault_child.py``) and its whole process group is killed with SIGKILL at points drawn from a seeded RNG.
The draw covers the run from its start to the end of its commit, weighted to the transaction: a few points
anywhere before it, most inside it (timed from the child's BEGIN marker, with the phase lengths measured by an
unkilled run first), one around the commit and one just after it. Each run writes the version of the day
that the store does not hold, so after every kill the data must be exactly the state before the run (the
kill interrupted it) or exactly the run's complete new state (the kill came after the commit), never a mix;
the other day(s) and tables stay as they were; the next run is not blocked. A final run converges to the
expected state, computed without the killed runs (a clean load for MySQL, the rows themselves for the mart).

STOCKMART_FAULT_SEED replays a draw (the seed is in every assertion message); STOCKMART_FAULT_KILLS sets
the number of kills per store (at least 10).
"""

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pymysql
import pytest

from stockmart_assets.lib.landing.generator import generate
from stockmart_assets_tests.conftest import mysql_connect, table_state
from stockmart_assets_tests.support.fault_child import (
    BEGIN, BULK, COMMITTED, DONE, MART_DAY_COLUMNS, mart_day_rows, marked_at, write_mart_day)
from stockmart_assets_tests.support.pipeline import LOAD_DIMENSIONS, materialize

pytestmark = pytest.mark.slow

SEED = int(os.getenv("STOCKMART_FAULT_SEED", "20241227"))
KILLS = max(10, int(os.getenv("STOCKMART_FAULT_KILLS", "11")))
MIN_INTERRUPTED = 7  # kills that must land inside the transaction and find the old state: else this proves nothing
DAY, OTHER_DAYS = "2024-12-27", ("2024-12-26", "2024-12-28")
OLD, NEW = 1, 2  # the two versions of DAY; each run writes the one the store does not hold
MYSQL_TRADES_PER_DAY = 100_000  # DELETE + LOAD of a day: about 1.5 s on 2 cores
MART_ROWS, MART_OTHER_ROWS = 1_000_000, 100_000  # the mart replace of a day: about 0.5 s
REPO = Path(__file__).resolve().parents[1]
CHILD_TIMEOUT_S = 120
POLL_S = 0.002
POST_COMMIT_S = 0.02  # DuckDB checkpoints the committed WAL when the connection closes, some 20-40 ms later


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: a fraction of the way to BEGIN (anchor "start"), of the transaction (BEGIN), or of the
    moments right after the commit returned (COMMITTED: POST_COMMIT_S, before DuckDB's checkpoint on close)."""

    anchor: str  # "start" or the fault_child marker the offset counts from
    fraction: float

    def offset(self, to_begin: float, transaction: float) -> float:
        return self.fraction * {"start": to_begin, BEGIN: transaction, COMMITTED: POST_COMMIT_S}[self.anchor]

    def __str__(self) -> str:
        return {"start": f"{self.fraction:.0%} of the way to BEGIN",
                BEGIN: f"{self.fraction:.0%} of the transaction",
                COMMITTED: f"{self.fraction * POST_COMMIT_S * 1000:.0f}ms after COMMIT"}[self.anchor]


def draw_kill_points(rng: random.Random, kills: int) -> list[KillPoint]:
    """Points across [start of run, end of commit], most of them inside the transaction.

    About a sixth anywhere before BEGIN; one in the last quarter of the transaction or just past its end (the
    commit itself); one right after the commit returned, so that a kill after the commit must find the new state
    (for DuckDB: replayed from the WAL); the rest in the first three quarters of the transaction, so that they
    stay inside even when a run goes faster than the shortest transaction measured so far.
    """
    before = max(1, kills // 6)
    points = [KillPoint("start", rng.uniform(0, 1)) for _ in range(before)]
    points += [KillPoint(BEGIN, rng.uniform(0, 0.75)) for _ in range(kills - before - 2)]
    points += [KillPoint(BEGIN, rng.uniform(0.75, 1.3)), KillPoint(COMMITTED, rng.uniform(0, 1))]
    rng.shuffle(points)
    return points


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


class Children:
    """Starts fault_child runs, each in its own session (its own process group), and remembers every group."""

    def __init__(self, folder: Path):
        self.tmp, self.groups = folder / "tmp", []
        self.tmp.mkdir(parents=True)  # the children's TMPDIR: a killed load's temporary CSV stays in the test's folder

    def start(self, args: list[str], log: Path) -> subprocess.Popen:
        with open(log, "wb") as out:
            child = subprocess.Popen([sys.executable, "-m", "stockmart_assets_tests.support.fault_child", *args],
                                     cwd=REPO, env={**os.environ, "TMPDIR": str(self.tmp)},
                                     stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.groups.append(child.pid)
        return child

    def survivors(self) -> list[int]:
        return [g for g in self.groups if _group_alive(g)]


@pytest.fixture
def children(tmp_path):
    started = Children(tmp_path / "children")
    yield started
    left = started.survivors()
    for pgid in left:  # clean up before failing, so a broken test leaves nothing running
        os.killpg(pgid, signal.SIGKILL)
    assert not left, f"child process groups outlived the test: {left}"


@dataclass
class ChildRun:
    started: float
    killed_at: float | None
    markers: dict[str, float]  # phase -> when the child reached it (fault_child's markers)

    @property
    def where(self) -> str:
        """Where the kill landed: before BEGIN, inside (deleting the day, or bulk-loading it), after commit."""
        m = self.markers
        if COMMITTED in m:
            return "after commit"
        if BEGIN in m:
            return "inside: loading" if BULK in m else "inside: deleting"
        return "before BEGIN"

    @property
    def transaction(self) -> float | None:
        return self.markers[COMMITTED] - self.markers[BEGIN] if COMMITTED in self.markers else None


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


def run_child(children: Children, args: list[str], markers: Path, log: Path,
              kill: tuple[str, float] | None) -> ChildRun:
    """Run one child to completion (kill=None) or kill -9 its process group ``kill=(anchor, seconds)`` in."""
    shutil.rmtree(markers, ignore_errors=True)
    markers.mkdir(parents=True)
    child = children.start([*args, str(markers)], log)
    started = time.monotonic()
    killed_at = None
    if kill is None:
        code = child.wait(timeout=CHILD_TIMEOUT_S)
        assert code == 0 and marked_at(markers, DONE), f"the unkilled run failed ({code}):\n{_tail(log)}"
    else:
        anchor, offset = kill
        at = started + offset
        if anchor != "start":  # a marker: BEGIN or COMMITTED
            while (reached := marked_at(markers, anchor)) is None:
                assert child.poll() is None, f"the child ended ({child.returncode}) before {anchor}:\n{_tail(log)}"
                assert time.monotonic() - started < CHILD_TIMEOUT_S, f"the child never reached {anchor}:\n{_tail(log)}"
                time.sleep(POLL_S)
            at = reached + offset
        while (now := time.monotonic()) < at and child.poll() is None:
            time.sleep(min(POLL_S * 5, at - now))
        if child.poll() is not None:  # it finished before its kill: that must have been a success
            assert child.returncode == 0, f"the child failed ({child.returncode}) before its kill:\n{_tail(log)}"
        os.killpg(child.pid, signal.SIGKILL)  # the unreaped leader keeps the group id valid
        killed_at = time.monotonic()
        child.wait()
        deadline = time.monotonic() + 10
        while _group_alive(child.pid):
            assert time.monotonic() < deadline, f"process group {child.pid} survived SIGKILL"
            time.sleep(0.05)
    return ChildRun(started, killed_at, {p: t for p in (BEGIN, BULK, COMMITTED)
                                         if (t := marked_at(markers, p)) is not None})


@dataclass
class KillOutcome:
    point: KillPoint
    run: ChildRun
    kept: str  # "old" (the state before the run) or "new" (the run's complete state)
    note: str  # what the store showed after the kill (kill_loop's after_kill)
    seconds: float  # the whole iteration: run, kill, recovery, checksums

    @property
    def interrupted(self) -> bool:
        return self.run.where.startswith("inside") and self.kept == "old"

    def __str__(self) -> str:
        r = self.run
        into = (f"{r.killed_at - r.markers[BEGIN]:+.3f}s from BEGIN" if BEGIN in r.markers
                else f"{r.killed_at - r.started:.3f}s from start")
        txn = f", its transaction took {r.transaction:.3f}s" if r.transaction else ""
        return (f"kill at {self.point} ({into}{txn}): landed {r.where}, {self.kept} state kept; "
                f"{self.note}; {self.seconds:.1f}s")


def kill_loop(name: str, children: Children, folder: Path, command: Callable[[int], list[str]],
              read_state: Callable[[], Hashable], expected: dict[int, Hashable],
              after_kill: Callable[[], str]) -> list[KillOutcome]:
    """Measure an unkilled run, kill KILLS runs at drawn points, check each outcome, converge; return outcomes."""
    assert expected[OLD] != expected[NEW], "the two versions must differ, or a kill could not be told from none"
    assert read_state() == expected[OLD], f"{name}: the loaded state is not the expected old state"
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    calibration = run_child(children, command(NEW), folder / "markers", folder / "logs" / "calibration.log", None)
    assert read_state() == expected[NEW], f"{name}: an unkilled run did not give the expected new state"
    to_begin, transaction = calibration.markers[BEGIN] - calibration.started, calibration.transaction
    points = draw_kill_points(random.Random(f"{SEED}:{name}"), KILLS)
    print(f"\n{name}: seed {SEED}; an unkilled run reached BEGIN after {to_begin:.2f}s and committed "
          f"{transaction:.2f}s later; kill points: {', '.join(map(str, points))}")

    holds, outcomes = NEW, []
    for i, point in enumerate(points, 1):
        target = OLD if holds == NEW else NEW
        began = time.monotonic()
        run = run_child(children, command(target), folder / "markers", folder / "logs" / f"kill-{i}.log",
                        (point.anchor, point.offset(to_begin, transaction)))
        note = after_kill()
        state = read_state()
        context = f"{name}, seed {SEED} (STOCKMART_FAULT_SEED), kill {i}/{len(points)} at {point}, landed {run.where}"
        assert state in (expected[holds], expected[target]), (
            f"{context}: the data is neither the state before the run nor the run's complete state:\n"
            f"  found  {state}\n  before {expected[holds]}\n  new    {expected[target]}")
        kept = "old" if state == expected[holds] else "new"
        if run.where == "before BEGIN":
            assert kept == "old", f"{context}: killed before its transaction, yet the data changed"
        if run.where == "after commit":
            assert kept == "new", f"{context}: killed after its commit, yet the commit is lost"
            transaction = min(transaction, run.transaction)  # aim the next kills at the shortest seen
        outcomes.append(KillOutcome(point, run, kept, note, time.monotonic() - began))
        print(f"  {i:2d}. {outcomes[-1]}")
        holds = target if kept == "new" else holds

    interrupted = sum(o.interrupted for o in outcomes)
    loading = sum(o.interrupted and o.run.where == "inside: loading" for o in outcomes)
    print(f"{name}: {interrupted} of {len(outcomes)} kills interrupted the transaction ({loading} of them during "
          f"the bulk load) and found the old state; {sum(o.kept == 'new' for o in outcomes)} found the new state")
    assert interrupted >= MIN_INTERRUPTED, (
        f"{name}, seed {SEED}: only {interrupted} of {len(outcomes)} kills interrupted the transaction, too few "
        "to prove anything: make the day bigger\n" + "\n".join(map(str, outcomes)))

    run_child(children, command(NEW), folder / "markers", folder / "logs" / "converge.log", None)
    assert read_state() == expected[NEW], f"{name}, seed {SEED}: the re-run did not converge to the expected state"
    assert not children.survivors(), "a killed child's process group is still alive"
    return outcomes


# --- MySQL: raw/trade + mysql/trade of one day --------------------------------------------------------------

def _query(url: str, sql: str, args=()):
    with mysql_connect(url) as con, con.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def _server_settled(url: str) -> str:
    """Wait until the killed child's connection is gone (its transaction rolled back); nothing may lock the day."""
    since = time.monotonic()
    while _query(url, "SELECT count(*) FROM information_schema.processlist WHERE id <> CONNECTION_ID()")[0][0]:
        assert time.monotonic() - since < 60, "the killed child's connection is still open on the server after 60 s"
        time.sleep(0.05)
    settled = time.monotonic() - since
    start = dt.datetime.fromisoformat(DAY)
    with mysql_connect(url) as con, con.cursor() as cur:
        cur.execute("BEGIN")
        try:  # NOWAIT: a row lock left behind fails here at once, where it would stall the next run
            cur.execute("SELECT count(*) FROM trade WHERE order_datetime >= %s AND order_datetime < %s "
                        "FOR UPDATE NOWAIT", (start, start + dt.timedelta(days=1)))
        except pymysql.err.OperationalError as e:
            raise AssertionError(f"seed {SEED}: the day is still locked after the killed run's connection ended: {e}")
        finally:
            cur.execute("ROLLBACK")
    return f"server rolled back and unlocked {settled:.2f}s after the kill"


def test_kill_9_during_the_mysql_load_keeps_the_previous_partition(tmp_path, mysql_url, children):
    for version in (OLD, NEW):  # two exports of the same days: same keys and volume, different trades
        generate(tmp_path / f"v{version}", customers=2_000, days=2, trades_per_day=MYSQL_TRADES_PER_DAY,
                 start_date=dt.date.fromisoformat(OTHER_DAYS[0]), seed=version, bars=False)
    trade = [["raw", "trade"], ["mysql", "trade"]]
    work = tmp_path / "work"

    # The expected new state without the children: a load into empty tables, with DAY from v2.
    materialize(tmp_path / f"v{OLD}", work, LOAD_DIMENSIONS)
    materialize(tmp_path / f"v{OLD}", work, trade, OTHER_DAYS[0])
    materialize(tmp_path / f"v{NEW}", work, trade, DAY)
    expected = {NEW: table_state(mysql_url)}
    materialize(tmp_path / f"v{OLD}", work, trade, DAY)
    expected[OLD] = table_state(mysql_url)  # the previous good state
    assert expected[OLD]["trade"][0] == expected[NEW]["trade"][0] == 2 * MYSQL_TRADES_PER_DAY

    kill_loop("mysql/trade", children, tmp_path / "kill",
              command=lambda v: ["mysql", str(tmp_path / f"v{v}"), str(work), DAY],
              read_state=lambda: table_state(mysql_url), expected=expected,
              after_kill=lambda: _server_settled(mysql_url))


# --- DuckDB mart: MartDuckDBIOManager's replace of one day ----------------------------------------------------

CHECKSUM = (f"SELECT trade_date::VARCHAR, count(*), sum(hash({', '.join(MART_DAY_COLUMNS)}))::VARCHAR "
            "FROM {source} GROUP BY 1 ORDER BY 1")


def _rows_checksum(rows) -> tuple:
    with duckdb.connect() as con:
        con.register("day_rows", rows)
        return tuple(con.execute(CHECKSUM.format(source="day_rows")).fetchall())


def _mart_state(database: str) -> tuple:
    """Count and order-free hash sum of every day of mart.trade, as a restarted process sees the file."""
    with duckdb.connect(database) as con:  # opening replays the WAL: only committed work survives
        return tuple(con.execute(CHECKSUM.format(source="mart.trade")).fetchall())


def _wal_left(database: str) -> str:
    wal = Path(database + ".wal")
    return f"WAL of {wal.stat().st_size} bytes replayed on open" if wal.exists() else "no WAL left"


def test_kill_9_during_the_duckdb_mart_replace_keeps_the_previous_partition(tmp_path, children):
    database = str(tmp_path / "warehouse.duckdb")
    other_versions = {d: 10 + i for i, d in enumerate(OTHER_DAYS)}
    for d, version in other_versions.items():
        write_mart_day(database, d, version, MART_OTHER_ROWS)
    write_mart_day(database, DAY, OLD, MART_ROWS)
    # Expected states from the rows themselves: DAY as written by version v, the other days as written above.
    others = sum((_rows_checksum(mart_day_rows(dt.date.fromisoformat(d), version, MART_OTHER_ROWS))
                  for d, version in other_versions.items()), ())
    expected = {v: tuple(sorted(others + _rows_checksum(mart_day_rows(dt.date.fromisoformat(DAY), v, MART_ROWS))))
                for v in (OLD, NEW)}

    kill_loop("mart/trade (DuckDB)", children, tmp_path / "kill",
              command=lambda v: ["mart", database, DAY, str(v), str(MART_ROWS)],
              read_state=lambda: _mart_state(database), expected=expected, after_kill=lambda: _wal_left(database))
