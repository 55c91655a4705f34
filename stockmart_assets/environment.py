"""The one place that decides, per environment, which systems the assets talk to.

LOCAL (the default) is embedded: a throwaway MariaDB under ``$STOCKMART_HOME`` (unless ``STOCKMART_MYSQL_URL``
names a server), a parquet lake on disk. PROD reads every location and credential from the environment through
``dg.EnvVar``, which resolves when a run starts, so definitions load without any secret present.
"""

from __future__ import annotations

import os

import dagster as dg

from stockmart_assets.assets.quality import QualityResource
from stockmart_assets.paths import landing_dir, stockmart_home
from stockmart_assets.resources.lake import LakeIOManager
from stockmart_assets.resources.landing import LandingResource
from stockmart_assets.resources.mysql import MySQLIOManager, MySQLResource
from stockmart_assets.resources.spark import SparkResource

LOCAL, PROD = "LOCAL", "PROD"


def get_env() -> str:
    env = os.getenv("STOCKMART_ENV", LOCAL).upper()
    if env not in (LOCAL, PROD):
        raise ValueError(f"STOCKMART_ENV must be LOCAL or PROD, not {env!r}")
    return env


def _env_or(name: str, default: str) -> str | dg.EnvVar:
    return dg.EnvVar(name) if os.getenv(name) else default


def _optional_env(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.getenv(name) else None


def build_resources(env: str | None = None) -> dict:
    env = env or get_env()
    home = stockmart_home()
    # Each environment imports only its own warehouse integration (dagster-gcp alone takes ~2 s to import).
    if env == PROD:
        from stockmart_assets.resources.bigquery_mart import BigQueryWarehouse, MartBigQueryIOManager

        mysql = MySQLResource(url=dg.EnvVar("STOCKMART_MYSQL_URL"))
        lake = LakeIOManager(base_dir=dg.EnvVar("STOCKMART_LAKE_DIR"))
        landing = LandingResource(path=dg.EnvVar("STOCKMART_LANDING_DIR"))
        bigquery = {"project": dg.EnvVar("STOCKMART_BQ_PROJECT"), "location": _optional_env("STOCKMART_BQ_LOCATION"),
                    "gcp_credentials": _optional_env("STOCKMART_GCP_CREDENTIALS"),  # base64 service-account key
                    "api_endpoint": _optional_env("STOCKMART_BQ_API_ENDPOINT")}  # only for an emulator
        warehouse = BigQueryWarehouse(**bigquery)
        mart_io_manager = MartBigQueryIOManager(**bigquery)
    else:
        from stockmart_assets.resources.duckdb_mart import DuckDBWarehouse, MartDuckDBIOManager

        if os.getenv("STOCKMART_MYSQL_URL"):
            mysql = MySQLResource(url=dg.EnvVar("STOCKMART_MYSQL_URL"))
        else:
            mysql = MySQLResource(local_server_dir=str(home / "mariadb"))
        lake = LakeIOManager(base_dir=_env_or("STOCKMART_LAKE_DIR", str(home / "lake")))
        landing = LandingResource(path=_env_or("STOCKMART_LANDING_DIR", str(landing_dir())))
        warehouse = DuckDBWarehouse(database=str(home / "warehouse.duckdb"))
        mart_io_manager = MartDuckDBIOManager(database=str(home / "warehouse.duckdb"))
    from stockmart_assets.assets.market import MarketResource

    return {
        "market": MarketResource(),
        "mysql": mysql,
        "mysql_io_manager": MySQLIOManager(mysql=mysql),
        "lake_io_manager": lake,
        "landing": landing,
        "spark": SparkResource(master=_env_or("STOCKMART_SPARK_MASTER", "local[*]"),
                               driver_memory=os.getenv("STOCKMART_SPARK_DRIVER_MEMORY", "2g")),
        "quality": QualityResource(
            metrics_repository=_env_or("STOCKMART_METRICS_REPOSITORY", str(home / "quality" / "metrics.json")),
            max_missing_share=float(os.getenv("STOCKMART_MAX_MISSING_SHARE", "0.2"))),
        "warehouse": warehouse,
        "mart_io_manager": mart_io_manager,
    }
