"""stockmart's Dagster definitions: every asset, check, job and resource, resources picked per environment.

Runs execute in one process unless their run config asks for more (``execution: config: multiprocess:``). In
one process the quality checks of a run share one Spark session (started on first use, stopped when the run
ends); in the multiprocess executor every step is a process of its own, so every check step starts its own
Spark driver, while independent steps (e.g. several days' loads) run in parallel. Either way DuckDB, which has
one writer at a time, is written by one mart step at a time: the mart steps share the ``mart_warehouse`` pool,
which the Dagster instance limits to one step across all runs (``stockmart_assets.instance``). Every DuckDB
connection also queues on the warehouse's file lock (``resources/duckdb_mart.py``), which covers what the pool
does not: the quality checks and profiles (they write their results there), and two steps that Dagster's SQLite
storage lets claim the one slot at the same instant.
"""

import dagster as dg

from stockmart_assets.assets.market import market_assets, market_checks
from stockmart_assets.assets.mart import mart_assets
from stockmart_assets.assets.mysql import mysql_assets
from stockmart_assets.assets.quality import quality_assets, quality_checks
from stockmart_assets.assets.raw import raw_assets
from stockmart_assets.environment import build_resources
from stockmart_assets.jobs import daily_job, dimensions_job, market_job, refresh_job
from stockmart_assets.schedules import daily, market_daily, refresh_30min
from stockmart_assets.sensors import landing_files, mysql_trade_changes


# Dagster's own choice of `multiprocess:` or `in_process:` (same config fields), with in-process as the default.
_EXECUTOR_MODES = dg.multi_or_in_process_executor.config_schema.as_field().config_type.fields


@dg.executor(
    name="in_process_or_multiprocess",
    config_schema=dg.Field(dg.Selector(dict(_EXECUTOR_MODES)), default_value={"in_process": {}}),
    requirements=lambda config: dg.multiple_process_executor_requirements() if "multiprocess" in config else [],
)
def in_process_or_multiprocess(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's multi_or_in_process_executor (same config), but in-process unless a run asks for processes."""
    return dg.multi_or_in_process_executor.executor_creation_fn(init_context)


defs = dg.Definitions(
    assets=[*raw_assets, *mysql_assets, *quality_assets, *mart_assets, *market_assets],
    asset_checks=[*quality_checks, *market_checks],
    jobs=[dimensions_job, daily_job, refresh_job, market_job],
    schedules=[daily, refresh_30min, market_daily],
    sensors=[landing_files, mysql_trade_changes],
    resources=build_resources(),
    executor=in_process_or_multiprocess,
)
