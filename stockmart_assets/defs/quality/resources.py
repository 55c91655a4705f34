"""The quality stage's resources: Spark (with Deequ and Connector/J) and the gates' settings.

Spark starts lazily, once per run, and stops (JVM included) when the run ends: the checks of a run execute in
one process (the in-process executor), so a single-run backfill of 30 days starts it once. A day's rows are
read from MySQL on each use, not persisted: the suite verifies them in one scan. Whole tables (the
dimensions) are persisted (memory, spilling to disk) for the run: every day's foreign-key check joins their
keys.
"""


from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field, PrivateAttr

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.lib.day import WHOLE, Scope
from stockmart_assets.lib.deequ.suites import DEFAULT_MAX_MISSING_SHARE
from stockmart_assets.lib.landing.contract import LandingTable

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class QualityResource(dg.ConfigurableResource):
    """Settings of the quality gates."""

    max_missing_share: float = Field(default=DEFAULT_MAX_MISSING_SHARE,
                                     description="Share of NULL cells a partition may have (data stability)")
    metrics_repository: str = Field(description="Deequ's metrics history (a JSON file), for the anomaly checks")


class SparkResource(dg.ConfigurableResource):
    """A SparkSession with Deequ and MySQL Connector/J. ``master``: local[*] locally, spark://... on a cluster."""

    master: str = "local[*]"
    driver_memory: str = "2g"
    read_slices: int = 4
    spark_config: dict[str, str] = {}
    _cache: dict = PrivateAttr(default_factory=dict)

    def session(self) -> "SparkSession":
        from stockmart_assets.lib.deequ.spark import get_spark

        return get_spark(self.master, driver_memory=self.driver_memory, conf=self.spark_config)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        from stockmart_assets.lib.deequ.spark import stop_spark

        for df in self._cache.values():
            df.unpersist()
        self._cache.clear()
        stop_spark()

    def read_mysql(self, mysql: MySQLResource, table: LandingTable, scope: Scope = WHOLE) -> "DataFrame":
        """``table`` (persisted, reused within the run) or its rows of one day (read on each action)."""
        if scope is WHOLE and table.name in self._cache:
            return self._cache[table.name]
        from pyspark import StorageLevel

        from stockmart_assets.lib.deequ.jdbc import read_table

        df = read_table(self.session(), mysql.connection_params(), table, scope, self.read_slices)
        if scope is WHOLE:
            df = df.persist(StorageLevel.MEMORY_AND_DISK)
            self._cache[table.name] = df
        return df
