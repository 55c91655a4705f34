"""The mart's IO manager: an asset's rows into the warehouse table of the same name, a run's days at once."""

from typing import TYPE_CHECKING

import dagster as dg

from stockmart_assets.defs.mart.resources import MartWarehouse
from stockmart_assets.lib.day import WHOLE, Days
from stockmart_assets.lib.warehouse.tables import MART_TABLES

if TYPE_CHECKING:
    import pyarrow as pa


class MartIOManager(dg.ConfigurableIOManager):
    """Writes an asset's Arrow rows to the mart table named by the last part of its key, and reads them back.

    A partitioned asset's output replaces exactly the run's days, in one transaction; an unpartitioned one
    replaces the whole table. An empty day replaces the day with nothing: the quality gate, not the IO manager,
    decides whether an empty day may be published.
    """

    warehouse: dg.ResourceDependency[MartWarehouse]

    def _where(self, context: dg.OutputContext | dg.InputContext):
        return Days.of(context.asset_partition_keys) if context.has_asset_partitions else WHOLE

    def handle_output(self, context: dg.OutputContext, obj: "pa.Table") -> None:
        warehouse, table = self.warehouse.get(), MART_TABLES[context.asset_key.path[-1]]
        rows = warehouse.replace(table, self._where(context), rows=obj)
        # A partitioned asset records each day's rows itself: a range's count would land on every day.
        context.add_output_metadata({"dagster/table_name": f"{warehouse.schema}.{table.name}",
                                     "warehouse": warehouse.dialect,
                                     **({} if context.has_asset_partitions else {"dagster/row_count": rows})})

    def load_input(self, context: dg.InputContext) -> "pa.Table":
        table = MART_TABLES[context.upstream_output.asset_key.path[-1]]
        return self.warehouse.get().read(table, self._where(context))
