"""The MySQL sensor: trades the service writes straight into MySQL reach the mart through the same gates.

Every tick takes a per-day fingerprint of the trade table (count, max order_id and an XOR of row CRC32s) and
refreshes, for the days whose fingerprint moved, only the quality checks of mysql/trade and the day's mart
partitions (the ``refresh_from_mysql`` job). Off by default.
"""

import json

import dagster as dg

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.defs.orchestration import jobs
from stockmart_assets.lib.day import Day
from stockmart_assets.partitions import partition_bounds

TRADE_FINGERPRINT_SQL = (
    "SELECT DATE(order_datetime) AS d, COUNT(*) AS n, MAX(order_id) AS max_id, "
    "BIT_XOR(CRC32(CONCAT_WS('|', order_id, customer_id, stock_id, trade_type, quantity, order_datetime))) AS x "
    "FROM trade GROUP BY DATE(order_datetime)"
)


@dg.sensor(name="mysql_trade_changes", minimum_interval_seconds=60, jobs=[jobs.refresh_job],
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Refreshes the quality checks and mart partitions of days whose trades changed in MySQL.")
def mysql_trade_changes(context: dg.SensorEvaluationContext, mysql: MySQLResource):
    with mysql.connect() as con, con.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                    "AND table_name = 'trade'")
        if not cur.fetchone()[0]:
            return dg.SkipReason("no trade table in MySQL yet")
        cur.execute(TRADE_FINGERPRINT_SQL)
        now = {d.isoformat(): f"{n}:{max_id}:{x}" for d, n, max_id, x in cur.fetchall()}
    before = json.loads(context.cursor) if context.cursor else None
    if before is None:  # first tick: a baseline, not a reason to refresh history
        return dg.SensorResult(cursor=json.dumps(now), skip_reason=f"baseline of {len(now)} day(s) recorded")
    first, last = partition_bounds()
    changed = sorted(d for d in set(now) | set(before)
                     if now.get(d) != before.get(d) and first <= Day.of(d) <= last)
    requests = [dg.RunRequest(job_name=jobs.refresh_job.name, partition_key=d,
                              run_key=f"mysql:{d}:{now.get(d, 'gone')}", tags={"stockmart/trigger": "mysql"})
                for d in changed]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(now),
                           skip_reason=None if requests else "no day changed")
