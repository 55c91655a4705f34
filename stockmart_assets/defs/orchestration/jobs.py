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

refresh_stock_price_job = dg.define_asset_job(
    "refresh_stock_price_from_mysql",
    selection=(dg.AssetSelection.checks_for_assets(dg.AssetKey(["mysql", "stock_price"]))
               | dg.AssetSelection.assets(["mart", "stock_price"])),
    description="After price bars changed in MySQL itself: re-run mysql/stock_price's quality checks, then the "
                "day's mart partition (through the gate).",
)

refresh_dimensions_job = dg.define_asset_job(
    "refresh_dimensions_from_mysql",
    selection=(dg.AssetSelection.checks_for_assets(*[dg.AssetKey(["mysql", t]) for t in DIMENSION_TABLES])
               | dg.AssetSelection.assets(*[["mart", t] for t in DIMENSION_TABLES])),
    description="After customers, budgets or stocks changed in MySQL itself: re-run their quality checks, then "
                "the mart's dimension tables (through the gate). Days already published keep the customer and "
                "ticker they were published with.",
)

# Which job refreshes a MySQL table's mart copy after it changed in MySQL itself.
REFRESH_JOBS = {"trade": refresh_job, "stock_price": refresh_stock_price_job,
                **{t: refresh_dimensions_job for t in DIMENSION_TABLES}}

market_job = dg.define_asset_job(
    "market_daily",
    selection=dg.AssetSelection.groups("market") | dg.AssetSelection.assets(["mart", "upbit_candles"]),
    description="One UTC day of market data: yfinance bars (into the lake and the landing folder) and Upbit "
                "candles (into the lake and the mart), with their consistency checks.",
)
