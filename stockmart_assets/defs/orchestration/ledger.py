"""Which landing units are loaded: one answer for `stockmart run` and the landing sensor.

The raw assets record, on each partition's materialization, the landing version they read (metadata
``landing_version``; ``lib.landing.units`` computes the folder's). A unit is loaded when those records carry
the folder's current versions and every other asset of its job has materialized the partition since: a run
that stopped at the quality gate, a partial run from the UI or a crash leaves the unit to do again. Nothing
else keeps state, so the CLI (which runs in-process) and the sensor (which launches runs) see the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg

from stockmart_assets.lib.landing.units import Unit
from stockmart_assets.metadata import LANDING_VERSION

LOADED = "loaded"
NEW = "new"  # never loaded
CHANGED = "changed"  # its files changed since it was loaded
INCOMPLETE = "incomplete"  # read, but its last run stopped before the end (a failed check, a crash)
RUNNING = "running"  # its files are being loaded by a run now
IN_FLIGHT = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED)


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


def _raw_ancestors(graph, key: dg.AssetKey, raw_keys: set[dg.AssetKey], job: set[dg.AssetKey]) -> set[dg.AssetKey]:
    """The raw assets ``key`` is computed from inside its job (edges outside the job are not run by it)."""
    seen, todo = set(), [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent in job and parent not in seen:
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
        partitions = [u.day.key if u.day else None for u in group]
        raw_keys = {dg.AssetKey(["raw", t]) for t, _ in group[0].tables}
        latest = {key: _latest(instance, key, partitions, with_records=key in raw_keys)
                  for key in job_assets[job] if graph.get(key).is_materializable}
        downstream = {key: _raw_ancestors(graph, key, raw_keys, job_assets[job])
                      for key in latest if key not in raw_keys}
        run_ids = {r.run_id for key in raw_keys for r in latest[key].records.values()}
        running = {r.dagster_run.run_id for r in instance.get_run_records(
            dg.RunsFilter(run_ids=list(run_ids), statuses=list(IN_FLIGHT)))} if run_ids else set()
        for unit, p in zip(group, partitions):
            records = {dg.AssetKey(["raw", t]): latest[dg.AssetKey(["raw", t])].records.get(p) for t, _ in unit.tables}
            recorded = {key.path[-1]: r.asset_materialization.metadata.get(LANDING_VERSION) if r else None
                        for key, r in records.items()}
            if any(v is None for v in recorded.values()):
                states[unit] = NEW if all(v is None for v in recorded.values()) else CHANGED
            elif any(recorded[t].value != version for t, version in unit.tables):
                states[unit] = CHANGED
            elif all(latest[key].storage_ids.get(p, -1) > records[raw].storage_id
                     for key, raws in downstream.items() for raw in raws):
                states[unit] = LOADED
            else:
                states[unit] = RUNNING if any(r.run_id in running for r in records.values()) else INCOMPLETE
    return states


def job_assets(graph, jobs: Iterable) -> dict[str, set[dg.AssetKey]]:
    """The asset keys each job (an asset job definition) materializes."""
    return {job.name: set(job.selection.resolve(graph)) for job in jobs}


def range_tags(block: list[Unit]) -> dict[str, str]:
    """The tags that make one run of ``daily_partition`` cover the block's days."""
    return {"dagster/asset_partition_range_start": block[0].day.key,
            "dagster/asset_partition_range_end": block[-1].day.key}
