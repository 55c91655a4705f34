"""The one place that loads and reads MySQL: an asset's rows into the table of the same name, all or nothing,
and back out as a stream of record batches."""

from typing import TYPE_CHECKING

import dagster as dg

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.lib.day import Days
from stockmart_assets.lib.landing.contract import TABLES

if TYPE_CHECKING:
    import pyarrow as pa

    from stockmart_assets.lib.lake import LakeDays


class MySQLIOManager(dg.ConfigurableIOManager):
    """Writes an asset's rows (``LakeDays``: the lake's files, streamed by DuckDB into the load) to the MySQL
    table named by the last part of its key; reads them back as record batches (nothing held whole).

    Partitioned tables: the partition's rows are replaced in one transaction (delete, then LOAD DATA).
    Unpartitioned tables: staged and merged by primary key in one transaction.
    """

    mysql: dg.ResourceDependency[MySQLResource]

    def handle_output(self, context: dg.OutputContext, obj: "LakeDays") -> None:
        from stockmart_assets.lib.mysql import load
        from stockmart_assets.lib.mysql.errors import DataLoadError

        table = TABLES[context.asset_key.path[-1]]
        self.mysql.create_tables()
        try:
            with self.mysql.connect() as con:
                if context.has_asset_partitions:
                    may_empty = context.step_context.run_tags.get(load.EMPTY_DAYS_TAG, "")
                    result = load.replace_partition(con, table, obj.dataset(), Days.of(context.asset_partition_keys),
                                                    may_empty=[d for d in may_empty.split(",") if d])
                else:
                    result = load.merge_table(con, table, obj.dataset())
        except DataLoadError as e:
            # Bad data is not fixed by retrying: fail now, with the rows named.
            raise dg.Failure(description=str(e), allow_retries=False) from e
        # Row counts and previews are the asset's, per partition; a range's totals would land on every day.
        context.add_output_metadata({"mysql_table": table.name} if context.has_asset_partitions else
                                    {"mysql_table": table.name, "rows_replaced": result.rows_deleted})

    def load_input(self, context: dg.InputContext) -> "pa.RecordBatchReader":
        table = TABLES[context.upstream_output.asset_key.path[-1]]
        from stockmart_assets.lib.mysql.read import stream_rows

        days = Days.of(context.asset_partition_keys) if context.has_asset_partitions else None
        return stream_rows(self.mysql.connection_params(), table, days)
