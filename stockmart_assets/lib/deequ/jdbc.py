"""A MySQL table, or one day of it, as a Spark frame over JDBC (Connector/J, also against MariaDB).

A day (or a run's range of days) is read in slices (parts of its time window) that Spark reads in parallel; a
whole table in slices of its integer key. Every slice condition is built here from validated days: nothing
else reaches the SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stockmart_assets.lib.day import WHOLE, Day, Days, Scope
from stockmart_assets.lib.landing.contract import LandingTable

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def read_table(spark: SparkSession, params: dict, table: LandingTable, scope: Scope | Days = WHOLE,
               slices: int = 4) -> DataFrame:
    """``table``'s rows of ``scope`` (a day, a range of days, or the whole table); ``params`` as
    ``MySQLResource`` gives them."""
    url = (f"jdbc:mysql://{params['host']}:{params['port']}/{params['database']}"
           "?useSSL=false&allowPublicKeyRetrieval=true&useCursorFetch=true&characterEncoding=UTF-8")
    props = {"user": params["user"], "password": params["password"], "driver": "com.mysql.cj.jdbc.Driver",
             "fetchsize": "20000"}
    cols = ", ".join(f"`{c}`" for c in table.column_names)
    return spark.read.jdbc(url, f"(SELECT {cols} FROM `{table.name}`) AS t",
                           predicates=slice_conditions(table, scope, slices), properties=props)


def slice_conditions(table: LandingTable, scope: Scope | Days, n: int) -> list[str]:
    """WHERE clauses that together select the table or the days exactly once, for parallel JDBC reads."""
    if not isinstance(scope, (Day, Days)):
        first_key = f"`{table.key[0]}`"
        if table.column(table.key[0]).type in ("BIGINT", "INTEGER"):
            return [f"MOD({first_key}, {n}) = {i}" for i in range(n)]
        return ["1 = 1"]
    step = (scope.end - scope.start) / n
    col = f"`{table.partition_column}`"
    bounds = [scope.start + step * i for i in range(n + 1)]
    return [f"{col} >= '{lo:%Y-%m-%d %H:%M:%S}' AND {col} < '{hi:%Y-%m-%d %H:%M:%S}'"
            for lo, hi in zip(bounds, bounds[1:])]
