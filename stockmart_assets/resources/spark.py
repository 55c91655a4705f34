"""Spark for the quality gates: started lazily, once per run, stopped (JVM included) when the run ends.

The checks of a run execute in one process (the in-process executor), so they share this session; a
single-run backfill of 30 partitions starts Spark once. Tables are read from MySQL over JDBC with a pushed-down
day filter, split into slices that Spark reads in parallel. A day's rows are not persisted: the suite verifies
them in one scan (``quality.runner``), and persisting a million rows cost more than reading them again.
Whole tables (the dimensions) are persisted (memory, spilling to disk): every partition's foreign-key check
joins their keys.
"""

import datetime as dt
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from stockmart_assets.landing.contract import LandingTable
from stockmart_assets.resources.mysql import MySQLResource

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class SparkResource(dg.ConfigurableResource):
    """A SparkSession with Deequ and MySQL Connector/J. ``master``: local[*] locally, spark://... on a cluster."""

    master: str = "local[*]"
    driver_memory: str = "2g"
    read_slices: int = 4
    spark_config: dict[str, str] = {}
    _cache: dict = PrivateAttr(default_factory=dict)

    def session(self) -> "SparkSession":
        from stockmart_assets.quality.spark import get_spark

        return get_spark(self.master, driver_memory=self.driver_memory, conf=self.spark_config)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        from stockmart_assets.quality.spark import stop_spark

        for df in self._cache.values():
            df.unpersist()
        self._cache.clear()
        stop_spark()

    def read_mysql(self, mysql: MySQLResource, table: LandingTable, partition: str | None = None) -> "DataFrame":
        """``table`` (persisted, reused within the run) or its rows of daily ``partition`` (read on each action)."""
        key = (table.name, partition)
        if key in self._cache:
            return self._cache[key]
        from pyspark import StorageLevel

        p = mysql.connection_params()
        url = (f"jdbc:mysql://{p['host']}:{p['port']}/{p['database']}"
               "?useSSL=false&allowPublicKeyRetrieval=true&useCursorFetch=true&characterEncoding=UTF-8")
        props = {"user": p["user"], "password": p["password"], "driver": "com.mysql.cj.jdbc.Driver",
                 "fetchsize": "20000"}
        cols = ", ".join(f"`{c}`" for c in table.column_names)
        df = self.session().read.jdbc(url, f"(SELECT {cols} FROM `{table.name}`) AS t",
                                      predicates=_slices(table, partition, self.read_slices), properties=props)
        if partition is None:
            df = df.persist(StorageLevel.MEMORY_AND_DISK)
            self._cache[key] = df
        return df


def _slices(table: LandingTable, partition: str | None, n: int) -> list[str]:
    """WHERE clauses that together select the table or the day exactly once, for parallel JDBC reads."""
    if partition is None:
        first_key = f"`{table.key[0]}`"
        if table.column(table.key[0]).type in ("BIGINT", "INTEGER"):
            return [f"MOD({first_key}, {n}) = {i}" for i in range(n)]
        return ["1 = 1"]
    day = dt.datetime.combine(dt.date.fromisoformat(partition), dt.time())
    step = dt.timedelta(days=1) / n
    col = f"`{table.partition_column}`"
    bounds = [day + step * i for i in range(n + 1)]
    return [f"{col} >= '{lo:%Y-%m-%d %H:%M:%S}' AND {col} < '{hi:%Y-%m-%d %H:%M:%S}'"
            for lo, hi in zip(bounds, bounds[1:])]


def rows_as_records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failing-row samples as JSON-friendly dicts for check metadata: dates in ISO form, decimals and anything
    else JSON has no type for as their exact text."""
    return [{k: _jsonable(v) for k, v in r.items()} for r in rows]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)  # Decimal (DECIMAL columns), bytes, ...
