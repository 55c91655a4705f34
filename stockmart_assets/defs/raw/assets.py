"""raw/*: the trading service's landing files, validated against the contract and kept in the lake."""

import os
import shutil
import tempfile
from pathlib import Path

import dagster as dg

from stockmart_assets.defs.raw.resources import LandingResource
from stockmart_assets.lib.day import WHOLE
from stockmart_assets.lib.lake import LakeDays
from stockmart_assets.lib.landing.contract import TABLES, LandingTable
from stockmart_assets.lib.landing.problems import LandingFileError
from stockmart_assets.lib.landing.reader import LandedDay
from stockmart_assets.metadata import LANDING_VERSION, add_day_metadata, run_days, table_metadata
from stockmart_assets.partitions import daily_partitions


def _landing(files: list[str], versions: dict[str, tuple[str, str]]) -> dict:
    """The files a partition was read from, and their digest: what the landing sensor and `stockmart run`
    compare with the folder to tell whether the partition has changed since it was loaded."""
    from stockmart_assets.lib.landing.scan import version_digest

    return {LANDING_VERSION: version_digest((f, versions[f][1]) for f in files if f in versions),
            "landing_files": dg.MetadataValue.json(sorted(files))}


def build_raw_asset(table: LandingTable) -> dg.AssetsDefinition:
    partitioned = table.partition_column is not None
    cols = ", ".join(f"{c.header} → {c.name}" if c.header != c.name else c.name for c in table.columns)
    scope = (f"Partition D holds the rows whose `{table.partition_column}` falls on D, from every file."
             if partitioned else "The whole export.")

    @dg.asset(
        key=["raw", table.name],
        # The market stage writes the bars it fetches into the landing folder, where this asset reads them.
        deps=[dg.AssetKey(["market", "yfinance_bars"])] if table.name == "stock_price" else None,
        partitions_def=daily_partitions if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        io_manager_key="lake_io_manager",
        group_name="raw",
        kinds={"csv", "parquet"},
        metadata={"lake_path": f"landing/{table.name}",
                  "landing_files": ", ".join(table.globs)},
        description=(
            f"The service's `{table.globs[0]}` export ({cols}), parsed with the landing contract's types. "
            f"{scope} Any bad line fails the run naming file, line and column; nothing is loaded from it."
        ),
    )
    def _raw(context: dg.AssetExecutionContext, landing: LandingResource) -> LakeDays:
        from stockmart_assets.lib.landing.reader import write_landing
        from stockmart_assets.lib.landing.scan import file_versions

        # Versions first: a file that changes while it is read gets a new version, and is loaded again.
        versions = file_versions(landing.path)
        days = run_days(context) if partitioned else None
        staging = Path(tempfile.mkdtemp(prefix=f"stockmart-raw-{table.name}-"))
        try:
            landed = write_landing(table, landing.path, days, staging)
        except LandingFileError as e:
            shutil.rmtree(staging, ignore_errors=True)
            raise dg.Failure(description=str(e), allow_retries=False,
                             metadata={"problems": [str(p) for p in e.problems]}) from e
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

        def metadata(day: LandedDay) -> dict:
            files = [os.path.relpath(f, landing.path) for f in day.files]
            return {**table_metadata(table, day.preview), "dagster/row_count": day.rows, **_landing(files, versions)}

        if partitioned:
            add_day_metadata(context, {day: metadata(x) for day, x in landed.items()})
            context.log.info(f"{table.name}: " + ", ".join(f"{d} {x.rows} rows" for d, x in landed.items()))
        else:
            context.add_output_metadata(metadata(landed[WHOLE]))
        # The files, not the rows: the lake's IO manager publishes them (see LakeIOManager).
        return LakeDays({scope: x.path for scope, x in landed.items()}, staging=staging)

    return _raw


raw_assets = [build_raw_asset(t) for t in TABLES.values()]
