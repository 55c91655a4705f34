"""quality/*: what the quality stage keeps besides its check results: the verification results the checks
write, Deequ's metrics history and each table's column profile. All three are written by the tables' check
steps (``checks``), in the pass that verifies the rows, so none of them reads the data again."""


import dagster as dg

from stockmart_assets.defs.quality.checks import METRIC_HISTORY_KEY, VERIFICATION_RESULTS_KEY, profile_key
from stockmart_assets.lib.deequ.anomaly import ANOMALY_METRICS
from stockmart_assets.lib.landing.contract import TABLES, LandingTable
from stockmart_assets.partitions import daily_partitions


def profile_spec(table: LandingTable) -> dg.AssetSpec:
    partitioned = table.partition_column is not None
    return dg.AssetSpec(
        profile_key(table), deps=[dg.AssetKey(["mysql", table.name])], group_name="quality", kinds={"deequ"},
        partitions_def=daily_partitions if partitioned else None,
        description=f"Deequ's column profile of `{table.name}`" + (", per day" if partitioned else "") + ": "
                    "completeness, approximate distinct count, data type and, for numbers, mean, stddev, min "
                    f"and max. Computed by `{table.name}`'s check step in the pass that verifies the rows; "
                    "kept in the mart's column_profiles table.",
    )


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
column_profiles = [profile_spec(t) for t in TABLES.values()]
