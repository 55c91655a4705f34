"""stockmart's Dagster definitions: every asset, job and resource, with resources picked per environment."""

import dagster as dg

from stockmart_assets.assets.mysql import mysql_assets
from stockmart_assets.assets.raw import raw_assets
from stockmart_assets.environment import build_resources
from stockmart_assets.jobs import daily_job, dimensions_job

defs = dg.Definitions(
    assets=[*raw_assets, *mysql_assets],
    jobs=[dimensions_job, daily_job],
    resources=build_resources(),
)
