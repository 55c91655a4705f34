"""The raw stage's resources: where the service drops its exports, and the lake the raw rows are kept in."""


from typing import TYPE_CHECKING

import dagster as dg

from stockmart_assets.lib.day import Days, rows_by_day
from stockmart_assets.lib.lake import lake_file, read_parquet, write_atomic

if TYPE_CHECKING:
    import pyarrow as pa


class LandingResource(dg.ConfigurableResource):
    """The landing folder (``STOCKMART_LANDING_DIR``): customer.csv, budget.csv, stocks.csv, trade*.csv, stock/."""

    path: str


class LakeIOManager(dg.ConfigurableIOManager):
    """Stores Arrow tables as parquet under ``base_dir``: one file a day, in the folder the asset's ``lake_path``
    metadata names; ``day_column`` (metadata too) says which column's calendar date puts a row in its day."""

    base_dir: str

    def _folder(self, context: dg.OutputContext | dg.InputContext) -> tuple[str, str | None]:
        meta = context.definition_metadata or {}
        return str(meta.get("lake_path") or "/".join(context.asset_key.path)), meta.get("day_column")

    def handle_output(self, context: dg.OutputContext, obj: "pa.Table") -> None:
        folder, day_column = self._folder(context)
        if not context.has_asset_partitions:
            write_atomic(obj, lake_file(self.base_dir, folder))
            return
        for day, rows in rows_by_day(obj, day_column, Days.of(context.asset_partition_keys)).items():
            write_atomic(rows, lake_file(self.base_dir, folder, day))
        context.add_output_metadata({"lake_folder": dg.MetadataValue.path(str(lake_file(self.base_dir, folder).parent))})

    def load_input(self, context: dg.InputContext) -> "pa.Table":
        import pyarrow as pa

        folder, _ = self._folder(context.upstream_output)
        if not context.has_asset_partitions:
            return read_parquet(lake_file(self.base_dir, folder))
        parts = [read_parquet(lake_file(self.base_dir, folder, day)) for day in Days.of(context.asset_partition_keys)]
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]
