"""What stockmart needs from a Dagster instance, declared once: one warehouse writer at a time.

DuckDB has one writer at a time (``lib/warehouse/lock.py``). Every step that writes the mart is in the
``mart_warehouse`` pool (``defs/mart/resources.py``) and the instance limits that pool to one step at a time.
What Dagster 1.13 enforces, and where:

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
(``cli/home.py``). The containers use ``docker/dagster.yaml``, whose ``concurrency`` section must equal
``CONCURRENCY`` (checked by ``stockmart_assets_tests/defs/mart/test_concurrency.py``).
"""

import os
from pathlib import Path

import dagster as dg
import yaml

from stockmart_assets.defs.mart.resources import MART_POOL

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
