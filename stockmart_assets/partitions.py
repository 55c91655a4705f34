"""The daily partitions every dated asset shares.

Keys are calendar dates. A trade belongs to the date of its order time in the service's time zone (Seoul);
a price bar to its UTC date. The schedule ticks on Seoul time because that is when the service's day ends.
The partitions start where the deployment says, or where the landing data starts (``paths.partitions_start``).
"""

import dagster as dg

from stockmart_assets.landing.contract import SERVICE_TIMEZONE
from stockmart_assets.paths import partitions_start

START_DATE = partitions_start()

daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone=SERVICE_TIMEZONE, end_offset=1)
