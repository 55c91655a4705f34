"""The quality stage's resources: Spark (with Deequ and Connector/J) and the gates' settings.

Spark starts once per run, and stops (JVM included) as soon as the last of the run's check steps has ended,
or when the run ends: the checks of a run execute in one process (the in-process executor), so a single-run
backfill of 30 days starts it once, and the run's mart steps do not share the machine's memory with an idle
JVM. Dagster sets up a resource at the start of a run only when one of the run's steps needs it: that is when
Spark starts, in the background, so the JVM is up by the time the raw and MySQL steps hand over to the checks
(a run that checks nothing never starts a JVM). A command that executes several runs in a row holds one session
across them (``lib.deequ.spark.held``). The run's rows are read from MySQL once, by the table's check step, and stream
through its aggregation (not persisted); whole tables (the parents of foreign keys) are persisted (memory,
spilling to disk) for the run: every table referencing them joins their keys.
"""


from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field, PrivateAttr

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.lib.day import WHOLE, Days, Scope
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
    landing_path: str | None = Field(default=None, description=(
        "The landing folder the runs load from: when all its files together are small (``QUICK_JIT_MAX_BYTES``), "
        "a local driver started for a run compiles with C1 alone"))
    _cache: dict = PrivateAttr(default_factory=dict)
    _ended: set = PrivateAttr(default_factory=set)  # this run's steps that used Spark and have ended

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Start Spark in the background now, at the start of a run that will check data (see the module),
        unless the process runs or is starting a session already (``lib.deequ.spark.held``)."""
        from stockmart_assets.lib.deequ.spark import start_in_background

        start_in_background(self.master, warn=context.log.warning, driver_memory=self.driver_memory,
                            conf=self.spark_config, quick_jit=self._little_to_check())

    def _little_to_check(self) -> bool:
        """Whether the landing folder holds so little that no run of it checks much: its files' bytes, all of
        them, within ``QUICK_JIT_MAX_BYTES`` (what ``stockmart run`` counts for the days it loads). A folder
        without landing files says nothing of what MySQL holds, and the JVM compiles as by default."""
        from stockmart_assets.lib.deequ.spark import QUICK_JIT_MAX_BYTES
        from stockmart_assets.lib.landing.scan import file_versions, version_bytes

        versions = file_versions(self.landing_path) if self.landing_path else {}
        return bool(versions) and sum(version_bytes(v) for _, v in versions.values()) <= QUICK_JIT_MAX_BYTES

    def session(self) -> "SparkSession":
        from stockmart_assets.lib.deequ.spark import get_spark, wait_for_start

        wait_for_start()
        return get_spark(self.master, driver_memory=self.driver_memory, conf=self.spark_config)

    def release(self, context: dg.AssetCheckExecutionContext | dg.AssetExecutionContext) -> None:
        """Called by a step when it is done with Spark, however it ends: once every step of the run that needs
        this resource has ended, the session and its JVM stop (a step that never runs, after an upstream failure,
        leaves it to the run's end). Where each step is a process of its own, its end stops Spark anyway."""
        self._ended.add(context.op_execution_context.node_handle)
        graph = context.job_def.graph
        users = {handle for handle in graph.get_op_handles(None)
                 if "spark" in graph.get_node(handle).definition.required_resource_keys}
        if users <= self._ended:
            self._stop()

    def _stop(self) -> None:
        from stockmart_assets.lib.deequ import spark

        try:
            spark.wait_for_start()
        except Exception:
            pass  # never started: nothing to stop; the steps that needed it have failed with the error
        for df in self._cache.values():
            df.unpersist()
        self._cache.clear()
        if not spark.is_held():
            spark.stop_spark()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._stop()

    def read_mysql(self, mysql: MySQLResource, table: LandingTable, scope: Scope | Days = WHOLE,
                   few_rows: bool = False) -> "DataFrame":
        """``table`` (persisted, reused within the run) or its rows of some days (read on each action), in
        ``read_slices`` parallel reads, or in one for ``few_rows``: each slice is a task with a JDBC connection
        of its own, which a few thousand rows do not repay."""
        if scope is WHOLE and table.name in self._cache:
            return self._cache[table.name]
        from pyspark import StorageLevel

        from stockmart_assets.lib.deequ.jdbc import read_table

        df = read_table(self.session(), mysql.connection_params(), table, scope, 1 if few_rows else self.read_slices)
        if scope is WHOLE:
            df = df.persist(StorageLevel.MEMORY_AND_DISK)
            self._cache[table.name] = df
        return df
