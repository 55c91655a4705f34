"""Materialize the real assets against the test's MariaDB, lake and landing folder."""

from pathlib import Path

import dagster as dg

from stockmart_assets.assets.mysql import mysql_assets
from stockmart_assets.assets.raw import raw_assets
from stockmart_assets.environment import build_resources
from stockmart_assets.resources.lake import LakeIOManager
from stockmart_assets.resources.landing import LandingResource
from stockmart_assets.resources.mysql import MySQLIOManager

DIMENSIONS = [[layer, t] for layer in ("raw", "mysql") for t in ("budget", "customer", "stocks")]
FACTS = [[layer, t] for layer in ("raw", "mysql") for t in ("trade", "stock_price")]


def materialize(landing: Path, work: Path, keys, partition: str | None = None, raise_on_error: bool = True):
    """Run the given asset keys like a Dagster run would (resources from the LOCAL environment)."""
    resources = {
        **build_resources("LOCAL"),  # MySQL from STOCKMART_MYSQL_URL (the mysql_url fixture sets it)
        "landing": LandingResource(path=str(landing)),
        "lake_io_manager": LakeIOManager(base_dir=str(work / "lake")),
    }
    resources["mysql_io_manager"] = MySQLIOManager(mysql=resources["mysql"])
    return dg.materialize(
        [*raw_assets, *mysql_assets],
        selection=dg.AssetSelection.assets(*keys),
        resources=resources,
        partition_key=partition,
        raise_on_error=raise_on_error,
    )


def load_all(landing: Path, work: Path, dates: list[str]) -> None:
    materialize(landing, work, DIMENSIONS)
    for d in dates:
        materialize(landing, work, FACTS, d)
