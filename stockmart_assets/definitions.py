"""stockmart's Dagster definitions: every asset, check, job and resource, resources picked per environment.

Runs execute in one process: the quality checks of a run then share one Spark session (started on first use,
stopped when the run ends), and DuckDB, which has one writer at a time, is written by one step at a time.
"""

import warnings

import dagster as dg

# Single-run backfills and partitioned asset checks are beta/preview in Dagster 1.13; we use them on purpose.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from stockmart_assets.assets.market import market_assets, market_checks  # noqa: E402
from stockmart_assets.assets.mart import mart_assets  # noqa: E402
from stockmart_assets.assets.mysql import mysql_assets  # noqa: E402
from stockmart_assets.assets.quality import quality_assets, quality_checks  # noqa: E402
from stockmart_assets.assets.raw import raw_assets  # noqa: E402
from stockmart_assets.environment import build_resources  # noqa: E402
from stockmart_assets.jobs import daily_job, dimensions_job, market_job, refresh_job  # noqa: E402
from stockmart_assets.schedules import daily, market_daily, refresh_30min  # noqa: E402
from stockmart_assets.sensors import landing_files, mysql_trade_changes  # noqa: E402

defs = dg.Definitions(
    assets=[*raw_assets, *mysql_assets, *quality_assets, *mart_assets, *market_assets],
    asset_checks=[*quality_checks, *market_checks],
    jobs=[dimensions_job, daily_job, refresh_job, market_job],
    schedules=[daily, refresh_30min, market_daily],
    sensors=[landing_files, mysql_trade_changes],
    resources=build_resources(),
    executor=dg.in_process_executor,
)
