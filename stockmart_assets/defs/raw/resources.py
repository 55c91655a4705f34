"""The raw stage's resources: where the service drops its exports, and the lake the raw rows are kept in."""


import dagster as dg

from stockmart_assets.lib.day import WHOLE, Day, Days
from stockmart_assets.lib.lake import LakeDays, lake_file, publish


class LandingResource(dg.ConfigurableResource):
    """The landing folder (``STOCKMART_LANDING_DIR``): customer.csv, budget.csv, stocks.csv, trade*.csv, stock/."""

    path: str


class LakeIOManager(dg.ConfigurableIOManager):
    """Keeps an asset's rows as parquet under ``base_dir``, one file a day, in the folder the asset's
    ``lake_path`` metadata names. Both ways the rows travel as ``LakeDays``, files rather than rows: an output
    is the files a stage wrote in its scratch folder, published here; an input is the lake's files, read
    lazily by whoever needs the rows."""

    base_dir: str

    def _folder(self, context: dg.OutputContext | dg.InputContext) -> str:
        meta = context.definition_metadata or {}
        return str(meta.get("lake_path") or "/".join(context.asset_key.path))

    def handle_output(self, context: dg.OutputContext, obj: LakeDays) -> None:
        folder = self._folder(context)
        for scope, staged in obj.files.items():
            publish(staged, lake_file(self.base_dir, folder, scope if isinstance(scope, Day) else None))
        obj.discard_staging()
        context.add_output_metadata({"lake_folder": dg.MetadataValue.path(str(lake_file(self.base_dir, folder).parent))})

    def load_input(self, context: dg.InputContext) -> LakeDays:
        folder = self._folder(context.upstream_output)
        if not context.has_asset_partitions:
            return LakeDays({WHOLE: lake_file(self.base_dir, folder)})
        return LakeDays({day: lake_file(self.base_dir, folder, day) for day in Days.of(context.asset_partition_keys)})
