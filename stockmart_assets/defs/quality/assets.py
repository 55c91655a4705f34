"""quality/*: what the quality stage keeps besides its checks: column profiles, the verification results the
checks write, and Deequ's metrics history."""


import datetime as dt

import dagster as dg

from stockmart_assets.defs.quality.checks import METRIC_HISTORY_KEY, VERIFICATION_RESULTS_KEY
from stockmart_assets.lib.day import WHOLE, Day, Days, Scope
from stockmart_assets.lib.deequ.anomaly import ANOMALY_METRICS
from stockmart_assets.lib.landing.contract import DIMENSION_TABLES, FACT_TABLES, TABLES, LandingTable
from stockmart_assets.lib.warehouse.tables import COLUMN_PROFILES
from stockmart_assets.lib.warehouse.where import Match
from stockmart_assets.metadata import add_day_metadata, rows_metadata
from stockmart_assets.partitions import daily_partitions


def build_profiles_asset(name: str, tables: list[LandingTable]) -> dg.AssetsDefinition:
    partitioned = tables[0].partition_column is not None

    @dg.asset(
        key=["quality", name], deps=[dg.AssetKey(["mysql", t.name]) for t in tables],
        partitions_def=daily_partitions if partitioned else None, group_name="quality", kinds={"spark", "deequ"},
        required_resource_keys={"spark", "mysql", "warehouse"},
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        description=f"Deequ's column profile for {', '.join(t.name for t in tables)}"
                    + (" (one day)" if partitioned else "") + ": completeness, approximate distinct count, data "
                    "type and, for numbers, mean, stddev, min and max. Stored in the mart's column_profiles table.",
    )
    def _profiles(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        scopes = list(Days.of(context.partition_keys)) if partitioned else [WHOLE]
        written = _profile(context, tables, scopes)
        if not partitioned:
            return dg.MaterializeResult(metadata=written[WHOLE])
        add_day_metadata(context, written)
        return dg.MaterializeResult()

    return _profiles


def _profile(context, tables: list[LandingTable], scopes: list[Scope]) -> dict[Scope, dict]:
    """Profile each table in each scope, store the profiles, and return each scope's row count and preview."""
    import pyarrow as pa

    from stockmart_assets.lib.deequ.profile import profile_columns

    res = context.resources
    spark, warehouse = res.spark.session(), res.warehouse.get()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    written = {scope: [] for scope in scopes}
    for table in tables:
        for scope in scopes:
            df = res.spark.read_mysql(res.mysql, table, scope)
            if df.isEmpty():  # a day without rows has no profile (and Deequ cannot report one: NaN ratios)
                continue
            day = scope.date if isinstance(scope, Day) else None
            data = [{"table_name": table.name, "partition_date": day, "run_time": now, "column_name": r["column"],
                     **{k: r[k] for k in ("completeness", "data_type", "spark_type")},
                     "approx_distinct": int(r["approx_distinct"]) if r["approx_distinct"] is not None else None,
                     **{k: (float(r[k]) if r[k] is not None else None) for k in ("mean", "stddev", "min", "max")}}
                    for r in profile_columns(spark, df, table.name)]  # one scan
            warehouse.replace(COLUMN_PROFILES, Match.of(table_name=table.name, partition_date=day),
                              rows=pa.Table.from_pylist(data, schema=COLUMN_PROFILES.arrow_schema))
            written[scope] += data
    shown = [c for c in COLUMN_PROFILES.column_names if c != "run_time"]
    return {scope: rows_metadata(pa.Table.from_pylist(rows, schema=COLUMN_PROFILES.arrow_schema), shown)
            for scope, rows in written.items()}


verification_results = dg.AssetSpec(
    VERIFICATION_RESULTS_KEY, group_name="quality", kinds={"deequ"},
    deps=[dg.AssetKey(["mysql", t]) for t in TABLES],  # written by the checks of these tables
    description="One row per constraint per table per day, in the shape of Deequ's check results (check, "
                "check_level, check_status, constraint, constraint_status, constraint_message), with table_name, "
                "partition_date, run_time, run_id and suite; written by the deequ_suite and deequ_anomalies checks "
                "into the mart (table verification_results), where the mart's gate reads it.",
)
metric_history = dg.AssetSpec(
    METRIC_HISTORY_KEY, group_name="quality", kinds={"deequ"},
    deps=[dg.AssetKey(["mysql", t]) for t in ANOMALY_METRICS],  # written by the anomaly checks of these tables
    description="Deequ's metrics repository (a JSON file): each day's row count and mean quantity, the history "
                "the anomaly checks compare against. Survives restarts.",
)
column_profiles = build_profiles_asset("column_profiles", [TABLES[t] for t in FACT_TABLES])
dimension_profiles = build_profiles_asset("dimension_profiles", [TABLES[t] for t in DIMENSION_TABLES])
