"""Sensors: new landing files, and rows the trading service writes straight into MySQL.

- ``landing_files``: a new or changed file (by mtime and size) requests runs for exactly the days it touches;
  the run key is the day plus the versions of the files behind it, so a file version never runs twice, and the
  cursor (every file's version) survives restarts. Dimension files come first: facts wait until the dimension
  run of the current exports has succeeded (their foreign keys point at it).
- ``mysql_trade_changes``: the service also writes trades into MySQL directly. Every tick takes a per-day
  fingerprint of the trade table (count, max order_id and an XOR of row CRC32s) and refreshes, for the days
  whose fingerprint moved, only the quality checks of mysql/trade and the day's mart partitions. The seed
  re-copied every table every 30 minutes; this moves only what changed. Off by default.
"""

import hashlib
import json

import dagster as dg

from stockmart_assets.jobs import daily_job, dimensions_job, refresh_job
from stockmart_assets.landing.contract import TABLES
from stockmart_assets.partitions import daily_partitions
from stockmart_assets.resources.landing import LandingResource
from stockmart_assets.resources.mysql import MySQLResource

MAX_FILES_PER_TICK = 500  # a backlog of 10,000 new files is worked off over several ticks, each under a second
DIMENSION_TABLES = ("budget", "customer", "stocks")


def _digest(items) -> str:
    return hashlib.sha1(json.dumps(sorted(items)).encode()).hexdigest()[:16]


def _run_succeeded(instance: dg.DagsterInstance, run_key: str) -> bool:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1)
    return bool(runs) and runs[0].status == dg.DagsterRunStatus.SUCCESS


@dg.sensor(name="landing_files", minimum_interval_seconds=30, jobs=[dimensions_job, daily_job], default_status=dg.DefaultSensorStatus.RUNNING,
           description="Runs the days that new or changed landing files touch (dimension exports first).")
def landing_files(context: dg.SensorEvaluationContext, landing: LandingResource):
    from stockmart_assets.landing.scan import days_touched, file_versions

    state = json.loads(context.cursor) if context.cursor else {"files": {}, "dimensions_run": None}
    seen: dict[str, str] = state["files"]
    current = file_versions(landing.path)
    changed = {p: v for p, v in current.items() if seen.get(p) != v[1]}
    requests, skip_reason = [], None

    dims = {p: v for p, v in changed.items() if v[0] in DIMENSION_TABLES}
    if dims:
        versions = [(p, v[1]) for p, v in current.items() if v[0] in DIMENSION_TABLES]
        key = f"dimensions:{_digest(versions)}"
        requests.append(dg.RunRequest(job_name="dimensions", run_key=key, tags={"stockmart/trigger": "landing"}))
        state["dimensions_run"] = key
        seen.update({p: v[1] for p, v in dims.items()})

    facts = sorted((p, v) for p, v in changed.items() if v[0] not in DIMENSION_TABLES)
    dims_run = state.get("dimensions_run")
    if facts and dims_run and not _run_succeeded(context.instance, dims_run):
        skip_reason = f"waiting for the dimension run {dims_run} before loading {len(facts)} fact file(s)"
        facts = []
    facts = facts[:MAX_FILES_PER_TICK]
    days: dict[str, list[tuple[str, str]]] = {}
    for table in {v[0] for _, v in facts}:
        files = [p for p, v in facts if v[0] == table]
        for path, touched in days_touched(TABLES[table], landing.path, files).items():
            for day in touched:
                days.setdefault(day, []).append((path, current[path][1]))
    for day, versions in sorted(days.items()):
        if not daily_partitions.has_partition_key(day):  # not get_partition_keys(): that lists every day since 2020
            context.log.warning(f"{day} is outside the daily partitions ({daily_partitions.start:%Y-%m-%d} on): "
                                f"skipped rows of {', '.join(p for p, _ in versions)}")
            continue
        requests.append(dg.RunRequest(job_name="daily_partition", partition_key=day,
                                      run_key=f"daily:{day}:{_digest(versions)}", tags={"stockmart/trigger": "landing"}))
    seen.update({p: v[1] for p, v in facts})
    for gone in set(seen) - set(current):
        del seen[gone]  # a removed file does not remove its rows: the day stays as last loaded
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(state), skip_reason=None if requests else skip_reason)


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
