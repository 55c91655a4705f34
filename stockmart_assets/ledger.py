"""What the landing folder holds that is not loaded yet: one answer for `stockmart run` and the landing sensor.

Work comes in units: the dimension exports (one run of the ``dimensions`` job) and each day of facts (one
partition of ``daily_partition``). A unit's landing version is, per raw table, the digest of the files that
hold its rows (relative path and mtime:size; ``landing.scan``). The raw assets record the version they read on
each partition's materialization (metadata ``landing_version``). A unit is loaded when those records carry the
folder's current versions and every other asset of its job has materialized the partition since: a run that
stopped at the quality gate, a partial run from the UI or a crash leaves the unit to do again. Nothing else
keeps state, so the CLI (which runs in-process) and the sensor (which launches runs) see the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from stockmart_assets.landing.contract import TABLES
from stockmart_assets.landing.scan import days_touched, file_versions, partition_versions, version_digest
from stockmart_assets.metadata import LANDING_VERSION

DIMENSIONS_JOB, DAILY_JOB = "dimensions", "daily_partition"
DIMENSION_TABLES = tuple(name for name, t in TABLES.items() if t.partition_column is None)
FACT_TABLES = tuple(name for name, t in TABLES.items() if t.partition_column is not None)
NO_FILES = version_digest([])

# A unit's state.
LOADED = "loaded"
NEW = "new"  # never loaded
CHANGED = "changed"  # its files changed since it was loaded
INCOMPLETE = "incomplete"  # read, but its last run stopped before the end (a failed check, a crash)
RUNNING = "running"  # its files are being loaded by a run now
IN_FLIGHT = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED)


@dataclass(frozen=True)
class Unit:
    job: str
    partition: str | None  # a day, or None for the dimension exports
    tables: tuple[tuple[str, str], ...]  # (raw table, landing version)

    @property
    def version(self) -> str:
        return version_digest(self.tables)

    @property
    def label(self) -> str:
        return self.partition or "dimensions"


def landing_units(versions: dict[str, tuple[str, str]], days_by_file: dict[str, list[str]]) -> list[Unit]:
    """The units the folder holds: the dimension exports (if any), then each day some fact file touches."""
    by_table = partition_versions(versions, days_by_file)
    units = []
    if any(t in DIMENSION_TABLES for t, _ in by_table):
        units.append(Unit(DIMENSIONS_JOB, None, tuple((t, by_table.get((t, None), NO_FILES))
                                                      for t in DIMENSION_TABLES)))
    for day in sorted({d for _, d in by_table if d is not None}):
        units.append(Unit(DAILY_JOB, day, tuple((t, by_table.get((t, day), NO_FILES)) for t in FACT_TABLES)))
    return units


def scan_landing(landing: Path | str) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    """Every landing file's version, and the days each fact file touches (one DuckDB read per table)."""
    versions = file_versions(landing)
    days: dict[str, list[str]] = {}
    for table in FACT_TABLES:
        files = [p for p, (t, _) in versions.items() if t == table]
        days.update(days_touched(TABLES[table], landing, files))
    return versions, days


@dataclass
class _Latest:
    """The latest materialization of each partition of one asset: storage id, and for raw assets the record."""

    storage_ids: dict[str | None, int] = field(default_factory=dict)
    records: dict[str | None, dg.EventLogRecord] = field(default_factory=dict)


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, partitions: list[str | None],
            with_records: bool) -> _Latest:
    latest = _Latest()
    if partitions == [None]:
        found = instance.fetch_materializations(key, limit=1).records
        if found:
            latest.storage_ids[None] = found[0].storage_id
            latest.records[None] = found[0]
        return latest
    latest.storage_ids = dict(instance.get_latest_storage_id_by_partition(
        key, dg.DagsterEventType.ASSET_MATERIALIZATION, set(partitions)))
    if with_records and latest.storage_ids:
        ids = list(latest.storage_ids.values())
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, storage_ids=ids), limit=len(ids)).records
        latest.records = {r.partition_key: r for r in records}
    return latest


def _raw_ancestors(graph, key: dg.AssetKey, raw_keys: set[dg.AssetKey]) -> set[dg.AssetKey]:
    seen, todo = set(), [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen & raw_keys


def unit_states(instance: dg.DagsterInstance, graph, job_assets: dict[str, set[dg.AssetKey]],
                units: Iterable[Unit]) -> dict[Unit, str]:
    """Each unit's state (``LOADED``, ``NEW``, ...), from the instance's materializations (see the module)."""
    states: dict[Unit, str] = {}
    by_job: dict[str, list[Unit]] = {}
    for unit in units:
        by_job.setdefault(unit.job, []).append(unit)
    for job, group in by_job.items():
        partitions = [u.partition for u in group]
        raw_keys = {dg.AssetKey(["raw", t]) for t, _ in group[0].tables}
        latest = {key: _latest(instance, key, partitions, with_records=key in raw_keys)
                  for key in job_assets[job] if graph.get(key).is_materializable}
        downstream = {key: _raw_ancestors(graph, key, raw_keys) for key in latest if key not in raw_keys}
        run_ids = {r.run_id for key in raw_keys for r in latest[key].records.values()}
        running = {r.dagster_run.run_id for r in instance.get_run_records(
            dg.RunsFilter(run_ids=list(run_ids), statuses=list(IN_FLIGHT)))} if run_ids else set()
        for unit in group:
            p = unit.partition
            records = {dg.AssetKey(["raw", t]): latest[dg.AssetKey(["raw", t])].records.get(p) for t, _ in unit.tables}
            recorded = {key.path[-1]: r.asset_materialization.metadata.get(LANDING_VERSION) if r else None
                        for key, r in records.items()}
            if any(v is None for v in recorded.values()):
                states[unit] = NEW if all(v is None for v in recorded.values()) else CHANGED
                continue
            if any(recorded[t].value != version for t, version in unit.tables):
                states[unit] = CHANGED
                continue
            behind = [key for key, raws in downstream.items()
                      if any(latest[key].storage_ids.get(p, -1) < records[raw].storage_id for raw in raws)]
            if not behind:
                states[unit] = LOADED
            else:
                states[unit] = RUNNING if any(r.run_id in running for r in records.values()) else INCOMPLETE
    return states


def job_assets(graph, jobs: Iterable) -> dict[str, set[dg.AssetKey]]:
    """The asset keys each job (an asset job definition) materializes."""
    return {job.name: set(job.selection.resolve(graph)) for job in jobs}


def outside(units: Iterable[Unit], partitions_def: dg.DailyPartitionsDefinition,
            days_by_file: dict[str, list[str]]) -> dict[str, list[str]]:
    """The days of ``units`` that no partition exists for (before the start, or in the future), each with the
    files that hold rows of it."""
    first, last = partitions_def.start.date().isoformat(), partitions_def.get_last_partition_key()
    days = {u.partition for u in units if u.partition and not first <= u.partition <= last}
    return {day: sorted(f for f, touched in days_by_file.items() if day in touched) for day in sorted(days)}


def outside_message(days: dict[str, list[str]], partitions_def: dg.DailyPartitionsDefinition) -> str:
    listed = "; ".join(f"{day} ({', '.join(files)})" for day, files in list(days.items())[:10])
    return (f"{len(days)} day(s) of the landing files are outside the daily partitions "
            f"({partitions_def.start:%Y-%m-%d} to today) and are not loaded: {listed}. To load older history, "
            "set STOCKMART_PARTITIONS_START.")


def day_blocks(units: Iterable[Unit]) -> list[list[Unit]]:
    """Daily units grouped into runs of consecutive days: each block is one single-run backfill."""
    import datetime as dt

    blocks: list[list[Unit]] = []
    for unit in sorted(units, key=lambda u: u.partition):
        day = dt.date.fromisoformat(unit.partition)
        if blocks and dt.date.fromisoformat(blocks[-1][-1].partition) + dt.timedelta(days=1) == day:
            blocks[-1].append(unit)
        else:
            blocks.append([unit])
    return blocks


def range_tags(block: list[Unit]) -> dict[str, str]:
    """The tags that make one run of ``daily_partition`` cover the block's days."""
    return {"dagster/asset_partition_range_start": block[0].partition,
            "dagster/asset_partition_range_end": block[-1].partition}
