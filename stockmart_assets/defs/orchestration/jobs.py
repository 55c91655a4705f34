"""Jobs: the dimension tables (unpartitioned) and one day of facts, each end to end with its checks."""

import dagster as dg

from stockmart_assets.lib.landing.contract import DIMENSION_TABLES, FACT_TABLES
from stockmart_assets.lib.landing.units import DAILY_JOB, DIMENSIONS_JOB

dimensions_job = dg.define_asset_job(
    DIMENSIONS_JOB,
    selection=dg.AssetSelection.assets(*[[layer, t] for layer in ("raw", "mysql", "mart") for t in DIMENSION_TABLES]),
    description="Customers, budgets and stocks: landing files → MySQL → quality gate → mart.",
)

daily_job = dg.define_asset_job(
    DAILY_JOB,
    selection=(dg.AssetSelection.assets(*[[layer, t] for layer in ("raw", "mysql", "mart") for t in FACT_TABLES])
               | dg.AssetSelection.groups("analytics")),
    description="One day: trades and price bars from the landing files to MySQL, their quality gates, the mart "
                "partitions and the day's analytics.",
)

refresh_job = dg.define_asset_job(
    "refresh_from_mysql",
    selection=(dg.AssetSelection.checks_for_assets(dg.AssetKey(["mysql", "trade"]))
               | dg.AssetSelection.assets(["mart", "trade"]) | dg.AssetSelection.groups("analytics")),
    description="After trades changed in MySQL itself: re-run mysql/trade's quality checks, then the day's "
                "mart partitions (the gate decides whether they are published).",
)

market_job = dg.define_asset_job(
    "market_daily",
    selection=dg.AssetSelection.groups("market") | dg.AssetSelection.assets(["mart", "upbit_candles"]),
    description="One UTC day of market data: yfinance bars (into the lake and the landing folder) and Upbit "
                "candles (into the lake and the mart), with their consistency checks.",
)
