"""The one place that decides, per environment, which systems the assets talk to.

LOCAL (the default) is embedded: a throwaway MariaDB under ``$STOCKMART_HOME`` (unless ``STOCKMART_MYSQL_URL``
names a server), a parquet lake on disk, the DuckDB mart. PROD reads every location and credential from the
environment through ``dg.EnvVar``, which resolves when a run starts, so definitions load without any secret.
Each resource lives with its stage (``defs/<stage>/resources.py``); this only chooses and configures them.
"""

from __future__ import annotations

import os

import dagster as dg

from stockmart_assets.defs.mart.io_manager import MartIOManager
from stockmart_assets.defs.mart.resources import BigQueryMart, DuckDBMart
from stockmart_assets.defs.market.resources import MarketResource
from stockmart_assets.defs.mysql.io_manager import MySQLIOManager
from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.defs.quality.resources import QualityResource, SparkResource
from stockmart_assets.defs.raw.resources import LakeIOManager, LandingResource
from stockmart_assets.lib.deequ import spark
from stockmart_assets.lib.deequ.suites import DEFAULT_MAX_MISSING_SHARE
from stockmart_assets.lib.paths import landing_dir, stockmart_home

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
    if env == PROD:
        mysql = MySQLResource(url=dg.EnvVar("STOCKMART_MYSQL_URL"))
        lake = LakeIOManager(base_dir=dg.EnvVar("STOCKMART_LAKE_DIR"))
        landing = LandingResource(path=dg.EnvVar("STOCKMART_LANDING_DIR"))
        warehouse = BigQueryMart(project=dg.EnvVar("STOCKMART_BQ_PROJECT"),
                                 location=_optional_env("STOCKMART_BQ_LOCATION"),
                                 gcp_credentials=_optional_env("STOCKMART_GCP_CREDENTIALS"),  # base64 key
                                 api_endpoint=_optional_env("STOCKMART_BQ_API_ENDPOINT"))  # only for an emulator
    else:
        if os.getenv("STOCKMART_MYSQL_URL"):
            mysql = MySQLResource(url=dg.EnvVar("STOCKMART_MYSQL_URL"))
        else:
            mysql = MySQLResource(local_server_dir=str(home / "mariadb"))
        lake = LakeIOManager(base_dir=_env_or("STOCKMART_LAKE_DIR", str(home / "lake")))
        landing = LandingResource(path=_env_or("STOCKMART_LANDING_DIR", str(landing_dir())))
        warehouse = DuckDBMart(database=str(home / "warehouse.duckdb"))
    return {
        "market": MarketResource(),
        "mysql": mysql,
        "mysql_io_manager": MySQLIOManager(mysql=mysql),
        "lake_io_manager": lake,
        "landing": landing,
        "spark": SparkResource(master=_env_or(spark.MASTER_VARIABLE, spark.LOCAL_MASTER),
                               driver_memory=spark.environment_driver()["driver_memory"], landing_path=landing.path),
        "quality": QualityResource(
            metrics_repository=_env_or("STOCKMART_METRICS_REPOSITORY", str(home / "quality" / "metrics.json")),
            max_missing_share=float(os.getenv("STOCKMART_MAX_MISSING_SHARE", DEFAULT_MAX_MISSING_SHARE))),
        "warehouse": warehouse,
        "mart_io_manager": MartIOManager(warehouse=warehouse),
    }
