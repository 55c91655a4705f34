"""What the landing folder holds, as units of work: the dimension exports, and each day of facts.

A unit's landing version is, per raw table, the digest of the files that hold its rows (relative path and
mtime:size, ``scan``). ``defs/orchestration/ledger.py`` compares it with what the instance recorded when the
unit was loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.landing.contract import DIMENSION_TABLES, FACT_TABLES, TABLES
from stockmart_assets.lib.landing.problems import LandingFileError, Problem
from stockmart_assets.lib.landing.scan import (days_touched, file_versions, partition_versions, version_bytes,
                                                version_digest)

DIMENSIONS_JOB, DAILY_JOB = "dimensions", "daily_partition"
NO_FILES = version_digest([])


@dataclass(frozen=True)
class Unit:
    job: str
    day: Day | None  # None: the dimension exports
    tables: tuple[tuple[str, str], ...]  # (raw table, landing version)

    @property
    def version(self) -> str:
        return version_digest(self.tables)

    @property
    def label(self) -> str:
        return self.day.key if self.day else "dimensions"


def landing_units(versions: dict[str, tuple[str, str]], days_by_file: dict[str, list[str]]) -> list[Unit]:
    """The units the folder holds: the dimension exports (if any), then each day some fact file touches."""
    by_table = partition_versions(versions, days_by_file)
    units = []
    if any(t in DIMENSION_TABLES for t, _ in by_table):
        units.append(Unit(DIMENSIONS_JOB, None, tuple((t, by_table.get((t, None), NO_FILES))
                                                      for t in DIMENSION_TABLES)))
    for day in sorted({d for _, d in by_table if d is not None}):
        units.append(Unit(DAILY_JOB, Day.of(day), tuple((t, by_table.get((t, day), NO_FILES)) for t in FACT_TABLES)))
    return units


def landing_bytes(versions: dict[str, tuple[str, str]], days_by_file: dict[str, list[str]],
                  units: Iterable[Unit]) -> int:
    """About how many landing bytes hold the rows of ``units``: each fact file's size shared evenly among the
    days it touches, for the days of ``units``; the dimension exports whole, as soon as there is any unit (the
    checks of the facts read them whole, for their foreign keys)."""
    wanted = {u.day.key for u in units if u.day}
    total = 0
    if not wanted and not any(u.day is None for u in units):
        return 0
    for path, (table, version) in versions.items():
        size = version_bytes(version)
        if not TABLES[table].partition_column:
            total += size
        elif touched := days_by_file.get(path):
            total += size * len(wanted.intersection(touched)) // len(touched)
    return total


def no_files_unit(day: Day) -> Unit:
    """The unit of a day no landing file holds (loaded as empty on request)."""
    return Unit(DAILY_JOB, day, tuple((t, NO_FILES) for t in FACT_TABLES))


def scan_landing(landing: Path | str) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    """Every landing file's version, and the days each fact file touches (one DuckDB read per table)."""
    versions = file_versions(landing)
    days: dict[str, list[str]] = {}
    for table in FACT_TABLES:
        files = [p for p, (t, _) in versions.items() if t == table]
        days.update(days_touched(TABLES[table], landing, files))
    return versions, days


def unplaced(versions: dict[str, tuple[str, str]], days_by_file: dict[str, list[str]]) -> dict[str, list[str]]:
    """Fact files that touch no day, by table: header-only files, and files none of whose rows can be read (a
    missing column, another delimiter, dates in another format: the scan skips what it cannot read, see
    ``scan.days_touched``), which no day's run would otherwise open."""
    found: dict[str, list[str]] = {}
    for path, (table, _) in sorted(versions.items()):
        if TABLES[table].partition_column and not days_by_file.get(path):
            found.setdefault(table, []).append(path)
    return found


def unplaced_problems(landing: Path | str, files: dict[str, list[str]]) -> LandingFileError | None:
    """What is wrong with ``unplaced`` files, each at its file, line and column; None when they are only
    header-only exports (a day without rows)."""
    from stockmart_assets.lib.landing.reader import validate_landing
    from stockmart_assets.lib.scratch import scratch

    problems: list[Problem] = []
    total = 0
    for table, paths in files.items():
        with scratch() as con:
            try:
                validate_landing(TABLES[table], landing, con, [Path(landing) / p for p in paths])
            except LandingFileError as e:
                problems, total = problems + e.problems, total + e.total
    return LandingFileError(problems, total) if problems else None


def outside(units: Iterable[Unit], first: Day, last: Day,
            days_by_file: dict[str, list[str]]) -> dict[Day, list[str]]:
    """The days of ``units`` before ``first`` or after ``last`` (no partition exists for them), each with the
    files that hold rows of it."""
    days = {u.day for u in units if u.day and not first <= u.day <= last}
    return {day: sorted(f for f, touched in days_by_file.items() if day.key in touched) for day in sorted(days)}


def outside_message(days: dict[Day, list[str]], first: Day) -> str:
    listed = "; ".join(f"{day} ({', '.join(files)})" for day, files in list(days.items())[:10])
    return (f"{len(days)} day(s) of the landing files are outside the daily partitions ({first} to today) and "
            f"are not loaded: {listed}. To load older history, set STOCKMART_PARTITIONS_START.")


def day_blocks(units: Iterable[Unit]) -> list[list[Unit]]:
    """Daily units grouped into runs of consecutive days: each block is one single-run backfill."""
    blocks: list[list[Unit]] = []
    for unit in sorted(units, key=lambda u: u.day):
        if blocks and blocks[-1][-1].day.next() == unit.day:
            blocks[-1].append(unit)
        else:
            blocks.append([unit])
    return blocks
