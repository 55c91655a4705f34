"""What stockmart needs from a Dagster instance, declared once: one warehouse writer at a time.

DuckDB lets one process at a time open a database file for writing (the next one gets "Could not set lock on
file ..."). Every step that writes the mart is in the ``mart_warehouse`` pool (``assets/mart.py``) and the
instance limits that pool to one step at a time. What Dagster 1.13 enforces, and where:

* Granularity ``op``: before a run's executor (in-process or multiprocess) starts a pool step it claims a slot
  in the instance's storage, and it frees the slot when the step ends. Every run of the instance claims from
  the same slots, so the limit holds between the parallel steps of one multiprocess run and between runs.
  (Granularity ``run`` is checked only by the QueuedRunCoordinator when it dequeues a run: it would stop
  neither two steps of one run nor runs started by ``dagster job execute`` or ``execute_in_process``.)
* A pool's limit lives in the instance's storage, not in code. dagster.yaml can only give a default to pools
  without one (``concurrency.pools.default_limit``); ``dagster instance concurrency set`` or the UI set one
  pool. stockmart has one pool, the warehouse, so the default is its limit. ``ensure_pool_limits`` also sets
  the limit on an instance whose own dagster.yaml gives the pool none.
* An ephemeral instance (``dg.materialize``, ``execute_in_process`` without ``instance=``) keeps no slots, so
  no limit applies there; its runs use the in-process executor, which runs one step at a time anyway.

``stockmart run`` and ``stockmart ui`` write ``dagster.yaml`` into their Dagster home when it has none
(``cli.py``). The containers use ``docker/dagster.yaml``, whose ``concurrency`` section must equal
``CONCURRENCY`` (checked by ``stockmart_assets_tests/test_concurrency.py``).
"""

import os
from pathlib import Path

import dagster as dg
import yaml

from stockmart_assets.assets.mart import MART_POOL

WAREHOUSE_WRITERS = 1  # DuckDB: one writing process per database file
POOL_LIMITS = {MART_POOL: WAREHOUSE_WRITERS}
# `op`: enforced by each run's executor, step by step (see above). The default limit is the warehouse's because
# the warehouse is the only pool; test_concurrency.py fails if another pool appears.
CONCURRENCY = {"pools": {"granularity": "op", "default_limit": WAREHOUSE_WRITERS}}

DAGSTER_YAML_HEADER = """\
# Written by `stockmart` because this Dagster home had no dagster.yaml; edit freely, it is never overwritten.
# mart_warehouse: DuckDB has one writer at a time, so at most one mart step runs at once, across all runs.
# telemetry: off here; set `enabled: true` to send Dagster its anonymous usage statistics.
"""


def write_dagster_yaml(home: str | os.PathLike) -> bool:
    """Create ``home/dagster.yaml`` with stockmart's concurrency settings unless one exists; True if written."""
    path = Path(home) / "dagster.yaml"
    try:
        with path.open("x", encoding="utf-8") as f:  # "x": never replaces a file, even one created meanwhile
            f.write(DAGSTER_YAML_HEADER + yaml.safe_dump({"concurrency": CONCURRENCY, "telemetry": {"enabled": False}},
                                                         sort_keys=False))
    except FileExistsError:
        return False
    return True


def ensure_pool_limits(instance: dg.DagsterInstance) -> dict[str, int]:
    """Give each of stockmart's pools its limit where the instance has none; return the limits it set.

    A limit already there (set in the UI or the CLI, or a default in dagster.yaml) is the operator's choice
    and is kept.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    if instance.get_concurrency_config().pool_config.default_pool_limit is not None:
        return {}
    configured = storage.get_concurrency_keys()
    missing = {pool: limit for pool, limit in POOL_LIMITS.items() if pool not in configured}
    for pool, limit in missing.items():
        storage.set_concurrency_slots(pool, limit)
    return missing


RUNNER_PID_TAG = "stockmart/pid"  # on the runs `stockmart run` executes in its own process


def fail_runs_of_dead_processes(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the runs a killed `stockmart run` left unfinished; return their ids.

    `stockmart run` executes in its own process, where no daemon watches: if that process is killed its run
    stays STARTED, and would look like work in progress for ever.
    """
    ended = []
    in_flight = instance.get_run_records(dg.RunsFilter(statuses=[
        dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]))
    for record in in_flight:
        run = record.dagster_run
        pid = run.tags.get(RUNNER_PID_TAG)
        if pid and pid.isdigit() and not _is_alive(int(pid)):
            instance.report_run_failed(run, f"the process that ran it (pid {pid}) is gone")
            ended.append(run.run_id)
    return ended


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_slots_of_finished_runs(instance: dg.DagsterInstance) -> int:
    """Free the pool slots (and queue places) of runs that have ended; return how many runs had some.

    A run interrupted inside a mart step ends without freeing its slot, and every later mart step would wait.
    In a deployment the daemon does this (``run_monitoring.free_slots_after_run_end_seconds``); ``stockmart run``
    has no daemon, so it does it before it starts.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return 0
    run_ids = list(storage.get_concurrency_run_ids())
    if not run_ids:
        return 0
    finished = instance.get_run_records(dg.RunsFilter(run_ids=run_ids, statuses=[
        dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]))
    for record in finished:
        storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
    return len(finished)
