"""Jobs: the dimension tables (unpartitioned) and one day of facts, each end to end with its checks."""

import dagster as dg

from stockmart_assets.partitions import daily_partitions

DIMENSIONS = ("budget", "customer", "stocks")
FACTS = ("trade", "stock_price")

dimensions_job = dg.define_asset_job(
    "dimensions",
    selection=(dg.AssetSelection.assets(*[[layer, t] for layer in ("raw", "mysql", "mart") for t in DIMENSIONS])
               | dg.AssetSelection.assets(["quality", "dimension_profiles"])),
    description="Customers, budgets and stocks: landing files → MySQL → quality gate → mart.",
)

daily_job = dg.define_asset_job(
    "daily_partition",
    selection=(dg.AssetSelection.assets(*[[layer, t] for layer in ("raw", "mysql", "mart") for t in FACTS])
               | dg.AssetSelection.groups("analytics")
               | dg.AssetSelection.assets(["quality", "column_profiles"])),
    partitions_def=daily_partitions,
    description="One day: trades and price bars from the landing files to MySQL, their quality gates, the mart "
                "partitions and the day's analytics.",
)
