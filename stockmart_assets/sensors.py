"""Sensors: new landing files, and rows the trading service writes straight into MySQL.

- ``landing_files``: runs what the landing folder holds and the instance has not loaded (``ledger``): the
  dimension exports first, then each block of consecutive changed days as one run. What `stockmart run` loaded
  counts as loaded here too, so nothing runs twice. Run keys carry the landing versions, so a version whose
  run failed is not retried by the sensor (fix the file, or `stockmart run` retries it). The cursor caches
  the days each file touches and the units already found loaded, so a tick reads just new or changed files
  and asks the instance about just the units that changed or are not loaded yet.
- ``mysql_trade_changes``: the service also writes trades into MySQL directly. Every tick takes a per-day
  fingerprint of the trade table (count, max order_id and an XOR of row CRC32s) and refreshes, for the days
  whose fingerprint moved, only the quality checks of mysql/trade and the day's mart partitions. Off by default.
"""

import json

import dagster as dg

from stockmart_assets.jobs import daily_job, dimensions_job, refresh_job
from stockmart_assets.landing.contract import TABLES
from stockmart_assets.partitions import daily_partitions
from stockmart_assets.resources.landing import LandingResource
from stockmart_assets.resources.mysql import MySQLResource

# Files whose days are read per tick: a backlog of 10,000 new files is worked off over a few ticks, each about a
# second; no run is requested until every file has been read, so no day is loaded from half its files.
MAX_FILES_PER_TICK = 2000


@dg.sensor(name="landing_files", minimum_interval_seconds=30, jobs=[dimensions_job, daily_job],
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Loads what the landing folder holds that is not loaded yet (dimension exports first).")
def landing_files(context: dg.SensorEvaluationContext, landing: LandingResource):
    from stockmart_assets import ledger
    from stockmart_assets.landing.scan import days_touched, file_versions

    state = json.loads(context.cursor) if context.cursor else {}
    known: dict[str, list] = state.get("files", {})  # path -> [version, days]: a cache, nothing more
    loaded: dict[str, str] = state.get("loaded", {})  # unit -> version found loaded: not asked again
    versions = file_versions(landing.path)
    unread = sorted(p for p, (t, v) in versions.items()
                    if TABLES[t].partition_column and (p not in known or known[p][0] != v))
    for table in {versions[p][0] for p in unread[:MAX_FILES_PER_TICK]}:
        batch = [p for p in unread[:MAX_FILES_PER_TICK] if versions[p][0] == table]
        for path, days in days_touched(TABLES[table], landing.path, batch).items():
            known[path] = [versions[path][1], days]
    known = {p: v for p, v in known.items() if p in versions}
    if len(unread) > MAX_FILES_PER_TICK:
        return dg.SensorResult(cursor=json.dumps({"files": known, "loaded": loaded}), skip_reason=(
            f"read {MAX_FILES_PER_TICK} of {len(unread)} new landing files; runs wait until all are read"))

    units = ledger.landing_units(versions, {p: days for p, (_, days) in known.items()})
    repo = context.repository_def
    asked = [u for u in units if loaded.get(u.label) != u.version or u.job == ledger.DIMENSIONS_JOB]
    states = {u: ledger.LOADED for u in units} | ledger.unit_states(
        context.instance, repo.asset_graph, ledger.job_assets(repo.asset_graph, [dimensions_job, daily_job]), asked)
    loaded = {u.label: u.version for u in units if states[u] == ledger.LOADED}
    cursor = json.dumps({"files": known, "loaded": loaded})
    dims = [u for u in units if u.job == ledger.DIMENSIONS_JOB]
    days = [u for u in units if u.job == ledger.DAILY_JOB and states[u] not in (ledger.LOADED, ledger.RUNNING)]
    if outside := ledger.outside(days, daily_partitions, {p: d for p, (_, d) in known.items()}):
        context.log.warning(ledger.outside_message(outside, daily_partitions))
        days = [u for u in days if u.partition not in outside]
    requests = []
    for unit in dims:
        if states[unit] in (ledger.NEW, ledger.CHANGED, ledger.INCOMPLETE):
            requests.append(dg.RunRequest(job_name=unit.job, run_key=f"dimensions:{unit.version}",
                                          tags={"stockmart/trigger": "landing"}))
    if dims and states[dims[0]] != ledger.LOADED:
        waiting = f"{len(days)} day(s) wait for the dimension exports to load" if days else ""
        return dg.SensorResult(run_requests=requests, cursor=cursor,
                               skip_reason=None if requests else waiting or "dimension exports are loading")
    for block in ledger.day_blocks(days):
        version = ledger.version_digest((u.partition, u.version) for u in block)
        label = block[0].partition + (f"..{block[-1].partition}" if len(block) > 1 else "")
        requests.append(dg.RunRequest(job_name=ledger.DAILY_JOB, run_key=f"daily:{label}:{version}",
                                      tags={**ledger.range_tags(block), "stockmart/trigger": "landing"}))
    return dg.SensorResult(run_requests=requests, cursor=cursor,
                           skip_reason=None if requests else "everything in the landing folder is loaded")


TRADE_FINGERPRINT_SQL = (
    "SELECT DATE(order_datetime) AS d, COUNT(*) AS n, MAX(order_id) AS max_id, "
    "BIT_XOR(CRC32(CONCAT_WS('|', order_id, customer_id, stock_id, trade_type, quantity, order_datetime))) AS x "
    "FROM trade GROUP BY DATE(order_datetime)"
)


@dg.sensor(name="mysql_trade_changes", minimum_interval_seconds=60, jobs=[refresh_job],
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
    changed = sorted(d for d in set(now) | set(before)
                     if now.get(d) != before.get(d) and daily_partitions.has_partition_key(d))
    requests = [dg.RunRequest(job_name="refresh_from_mysql", partition_key=d,
                              run_key=f"mysql:{d}:{now.get(d, 'gone')}", tags={"stockmart/trigger": "mysql"})
                for d in changed]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(now),
                           skip_reason=None if requests else "no day changed")
