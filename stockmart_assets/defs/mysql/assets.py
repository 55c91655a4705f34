"""mysql/*: the operational tables, with the business model's primary and foreign keys."""

import dagster as dg

from stockmart_assets.lib.day import WHOLE
from stockmart_assets.lib.lake import LakeDays
from stockmart_assets.lib.landing.contract import TABLES, LandingTable
from stockmart_assets.metadata import PREVIEW_ROWS, add_day_metadata, table_metadata
from stockmart_assets.partitions import daily_partitions

# Connection hiccups are worth retrying; bad data is not (those raise Failure(allow_retries=False)).
MYSQL_RETRY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL)


def build_mysql_asset(table: LandingTable) -> dg.AssetsDefinition:
    partitioned = table.partition_column is not None
    parents = sorted({parent for _, parent, _ in table.parents})
    keys = ", ".join(table.key)
    fks = "; ".join(f"{c} → {p}.{pc}" for c, p, pc in table.parents) or "none"

    @dg.asset(
        key=["mysql", table.name],
        ins={"rows": dg.AssetIn(key=["raw", table.name])},
        deps=[dg.AssetKey(["mysql", p]) for p in parents],
        partitions_def=daily_partitions if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        io_manager_key="mysql_io_manager",
        group_name="mysql",
        kinds={"mysql"},
        retry_policy=MYSQL_RETRY,
        description=(
            f"MySQL table `{table.name}` (primary key {keys}; foreign keys {fks}). "
            + ("Each run replaces one day's rows in a single transaction, so re-runs are idempotent."
               if partitioned else "Each run merges the export by primary key in a single transaction.")
        ),
    )
    def _mysql(context: dg.AssetExecutionContext, rows: LakeDays) -> LakeDays:  # the MySQL IO manager loads them
        def metadata(scope) -> dict:  # from the day's file: its footer's count, its first rows
            return {**table_metadata(table, rows.dataset(scope).head(PREVIEW_ROWS)), "dagster/row_count": rows.rows(scope)}

        if partitioned:
            add_day_metadata(context, {day: metadata(day) for day in rows.files})
        else:
            context.add_output_metadata(metadata(WHOLE))
        return rows

    return _mysql


mysql_assets = [build_mysql_asset(t) for t in TABLES.values()]
