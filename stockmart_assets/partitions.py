"""The daily partitions every dated asset shares.

Keys are calendar dates (``lib.day``). A trade belongs to the date of its order time in the service's time zone
(Seoul); a price bar to its UTC date. The partitions start where the deployment says, or where the landing
data starts (``lib.paths.partitions_start``), and end today, Seoul time.
"""

import dagster as dg

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.landing.contract import SERVICE_TIMEZONE
from stockmart_assets.lib.partitions_start import partitions_start

START_DATE = partitions_start()

daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone=SERVICE_TIMEZONE, end_offset=1)


def partition_bounds() -> tuple[Day, Day]:
    """The first and the last day a partition exists for now."""
    return Day.of(daily_partitions.start.date()), Day.of(daily_partitions.get_last_partition_key())
