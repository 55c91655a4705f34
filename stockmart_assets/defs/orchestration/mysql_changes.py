"""The binlog sensor: what the trading service commits straight into MySQL reaches the mart through the gates.

Each tick reads MySQL's row-based binlog from where the last one stopped (the cursor is a binlog position)
and requests runs for exactly what changed: a trade insert or delete refreshes its order's Seoul day, an
update both its old and its new day, consecutive days as one run; a price bar its UTC day; a customer, budget
or stocks row the mart's dimension tables (days already published keep the customer and ticker they were
published with, the mart's stated rule). A refresh re-runs the table's quality checks, then the mart through
the gate. stockmart's own loads are recognised in the binlog and skipped. Run keys come from binlog
positions, so a tick evaluated twice requests nothing twice, and the cursor moves only with the requests.

A tick with nothing new reads one status row and opens no stream; it never scans a table. Off by default:
turn it on in the UI (Automation) when MySQL is written by the trading service itself.
"""

import dagster as dg

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.defs.orchestration import jobs
from stockmart_assets.lib.day import Day, Days
from stockmart_assets.lib.landing.contract import TABLES
from stockmart_assets.partitions import partition_bounds

MAX_ROWS_PER_TICK = 100_000  # changed rows read per tick; a transaction is never split, whatever its size
MAX_RUNS_PER_TABLE = 10  # more separate day ranges than this become one run over their whole span


def day_ranges(days: set, first: Day, last: Day) -> list[Days]:
    """``days`` within the partitions, as runs of consecutive days (one span when there are too many)."""
    inside = sorted(Day.of(d) for d in days if first.date <= d <= last.date)
    ranges: list[list[Day]] = []
    for day in inside:
        if ranges and ranges[-1][-1].next() == day:
            ranges[-1].append(day)
        else:
            ranges.append([day])
    if len(ranges) > MAX_RUNS_PER_TABLE:
        return [Days(inside[0], inside[-1])]
    return [Days(r[0], r[-1]) for r in ranges]


def plan(changes, first: Day, last: Day) -> list[dg.RunRequest]:
    """The runs that bring the mart up to ``changes``: per changed table, its refresh job over its days."""
    span = f"{changes.start}..{changes.end}"
    tags = {"stockmart/trigger": "binlog", "stockmart/binlog": span}
    requests, dimensions = [], set(changes.tables) | {t for t in changes.refresh if not TABLES[t].partition_column}
    if dimensions:  # first: a day refreshed after them takes the customers and tickers as they are now
        requests.append(dg.RunRequest(job_name=jobs.refresh_dimensions_job.name,
                                      run_key=f"binlog:{span}:dimensions", tags=tags))
    for table in sorted(set(changes.days) | {t for t in changes.refresh if TABLES[t].partition_column}):
        whole = Days(first, last) if table in changes.refresh else None  # TRUNCATE/DDL: every day
        for days in [whole] if whole else day_ranges(changes.days[table], first, last):
            requests.append(dg.RunRequest(
                job_name=jobs.REFRESH_JOBS[table].name, run_key=f"binlog:{span}:{table}:{days.first}..{days.last}",
                tags={**tags, "dagster/asset_partition_range_start": days.first.key,
                      "dagster/asset_partition_range_end": days.last.key}))
    return requests


@dg.sensor(name="mysql_binlog", minimum_interval_seconds=10,
           jobs=[jobs.refresh_job, jobs.refresh_stock_price_job, jobs.refresh_dimensions_job],
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Reads MySQL's binlog and refreshes, through the quality gate, the mart's copies of the rows "
                       "the trading service changed in MySQL itself.")
def mysql_binlog(context: dg.SensorEvaluationContext, mysql: MySQLResource):
    from stockmart_assets.lib.mysql import binlog

    params = mysql.connection_params()
    with mysql.connect() as con, con.cursor() as cur:
        if wrong := binlog.problems(cur):
            return dg.SensorResult(skip_reason=(
                "MySQL's binlog cannot be read for changes: " + ", ".join(wrong) + ". Set these in the server's "
                "configuration (docker-compose.yaml shows them), grant the pipeline user REPLICATION SLAVE and "
                "REPLICATION CLIENT, and restart the server; until then this sensor requests nothing."))
        end = binlog.current(cur)
        if not context.cursor:  # a new sensor: changes from here on, not the history before it
            return dg.SensorResult(cursor=str(end), skip_reason=f"reading changes from {end}")
        start = binlog.Position.parse(context.cursor)
        if start == end:
            return dg.SensorResult(cursor=str(end), skip_reason=f"no change since {end}")
        purged = start.file not in binlog.available(cur)
    first, last = partition_bounds()
    if purged:  # the server no longer has the binlog since our cursor: what changed there is unknown
        changes = binlog.Changes(start, end, refresh={t: "binlog purged" for t in TABLES})
        context.log.warning(f"binlog {start.file} is purged from the server: what changed after {start} is unknown, "
                            f"so every table's mart copy is refreshed once (every day), then reading resumes at {end}")
    else:
        changes = binlog.read(params, params["database"], start, MAX_ROWS_PER_TICK)
    requests = plan(changes, first, last)
    read = ", ".join(f"{t} {k} {n}" for (t, k), n in sorted(changes.events.items())) or "no row of a watched table"
    summary = (f"binlog {changes.start}..{changes.end}: {read}; {changes.own_transactions} stockmart load(s) "
               "skipped" + "".join(f"; {t} changed whole ({why})" for t, why in sorted(changes.refresh.items()))
               + "; requested: " + (", ".join(f"{r.job_name} [{_keys(r)}]" for r in requests) or "nothing")
               + ("" if changes.complete else "; more follows"))
    context.log.info(summary)
    return dg.SensorResult(run_requests=requests, cursor=str(changes.end), skip_reason=None if requests else summary)


def _keys(request: dg.RunRequest) -> str:
    r = request.partition_key_range
    return "whole table" if r is None else r.start if r.start == r.end else f"{r.start}...{r.end}"
