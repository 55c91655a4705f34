"""The daily partitions every dated asset shares.

Keys are calendar dates. A trade belongs to the date of its order time in the service's time zone (Seoul);
a price bar to its UTC date. The schedule ticks on Seoul time because that is when the service's day ends.
"""

import os

import dagster as dg

from stockmart_assets.landing.contract import SERVICE_TIMEZONE

# Overridable so a deployment with older history can backfill it; the default covers the service's exports.
START_DATE = os.getenv("STOCKMART_PARTITIONS_START", "2020-01-01")

daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone=SERVICE_TIMEZONE, end_offset=1)
