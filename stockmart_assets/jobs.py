"""Jobs: the dimension tables (unpartitioned) and one day of facts."""

import dagster as dg

from stockmart_assets.partitions import daily_partitions

dimensions_job = dg.define_asset_job(
    "dimensions",
    selection=dg.AssetSelection.assets(
        *[[layer, t] for layer in ("raw", "mysql") for t in ("budget", "customer", "stocks")]
    ),
    description="Customers, budgets and stocks: landing files to MySQL.",
)

daily_job = dg.define_asset_job(
    "daily_partition",
    selection=dg.AssetSelection.assets(
        *[[layer, t] for layer in ("raw", "mysql") for t in ("trade", "stock_price")]
    ),
    partitions_def=daily_partitions,
    description="One day of trades and price bars: landing files to MySQL.",
)
