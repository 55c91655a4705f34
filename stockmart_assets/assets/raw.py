"""raw/*: the trading service's landing files, validated against the contract and kept in the lake."""

import dagster as dg

from stockmart_assets.landing.contract import TABLES, LandingTable
from stockmart_assets.landing.reader import LandingFileError, landing_files, read_landing
from stockmart_assets.metadata import table_metadata
from stockmart_assets.partitions import daily_partitions
from stockmart_assets.resources.landing import LandingResource


def build_raw_asset(table: LandingTable) -> dg.AssetsDefinition:
    partitioned = table.partition_column is not None
    cols = ", ".join(f"{c.header} → {c.name}" if c.header != c.name else c.name for c in table.columns)
    scope = (f"Partition D holds the rows whose `{table.partition_column}` falls on D, from every file."
             if partitioned else "The whole export.")

    @dg.asset(
        key=["raw", table.name],
        partitions_def=daily_partitions if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        io_manager_key="lake_io_manager",
        group_name="raw",
        kinds={"csv", "parquet"},
        metadata={"lake_path": f"landing/{table.name}", "landing_files": ", ".join(table.globs)},
        description=(
            f"The service's `{table.globs[0]}` export ({cols}), parsed with the landing contract's types. "
            f"{scope} Any bad line fails the run naming file, line and column; nothing is loaded from it."
        ),
    )
    def _raw(context: dg.AssetExecutionContext, landing: LandingResource):  # -> pyarrow.Table
        partitions = context.partition_keys if partitioned else None
        try:
            data = read_landing(table, landing.path, partitions)
        except LandingFileError as e:
            raise dg.Failure(description=str(e), allow_retries=False,
                             metadata={"problems": [str(p) for p in e.problems]}) from e
        context.add_output_metadata({
            **table_metadata(table, data),
            "files": [str(p) for p in landing_files(table, landing.path)],
        })
        return data

    return _raw


raw_assets = [build_raw_asset(t) for t in TABLES.values()]
