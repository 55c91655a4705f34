"""The landing sensor: what the trading service drops into the landing folder, loaded once.

- ``landing_files``: runs what the landing folder holds and the instance has not loaded (``ledger``): the
  dimension exports first, then each block of consecutive changed days as one run. What `stockmart run` loaded
  counts as loaded here too, so nothing runs twice. Run keys carry the landing versions, so a version whose
  run failed is not retried by the sensor (fix the file, or `stockmart run` retries it). The cursor caches
  the days each file touches and the units already found loaded, so a tick reads just new or changed files
  and asks the instance about just the units that changed or are not loaded yet. A fact file no day can be read
  from (a missing column, another delimiter) is reported in the tick's log and holds the days back, as
  `stockmart run` does.
"""

import json

import dagster as dg

from stockmart_assets.defs.orchestration import jobs
from stockmart_assets.defs.raw.resources import LandingResource
from stockmart_assets.lib.landing import units as landing_units
from stockmart_assets.lib.landing.contract import TABLES
from stockmart_assets.partitions import partition_bounds

# Files whose days are read per tick: a backlog of 10,000 new files is worked off over a few ticks, each about a
# second; no run is requested until every file has been read, so no day is loaded from half its files.
MAX_FILES_PER_TICK = 2000


@dg.sensor(name="landing_files", minimum_interval_seconds=30, jobs=[jobs.dimensions_job, jobs.daily_job],
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Loads what the landing folder holds that is not loaded yet (dimension exports first).")
def landing_files(context: dg.SensorEvaluationContext, landing: LandingResource):
    from stockmart_assets.defs.orchestration import ledger
    from stockmart_assets.lib.landing.scan import days_touched, file_versions, version_digest

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
            if not days and (problem := landing_units.unplaced_problems(landing.path, {table: [path]})):
                context.log.warning(f"{path} is not loaded: no day can be read from it.\n{problem}")
                known[path].append(str(problem))  # kept with the file's version: read again only once changed
    known = {p: v for p, v in known.items() if p in versions}
    if len(unread) > MAX_FILES_PER_TICK:
        return dg.SensorResult(cursor=json.dumps({"files": known, "loaded": loaded}), skip_reason=(
            f"read {MAX_FILES_PER_TICK} of {len(unread)} new landing files; runs wait until all are read"))
    # Every run of their table reads them (and would fail): no day runs until they are fixed or moved away.
    unreadable = sorted(p for p, v in known.items() if len(v) > 2)
    days_by_file = {p: v[1] for p, v in known.items()}
    units = landing_units.landing_units(versions, days_by_file)
    repo = context.repository_def
    asked = [u for u in units if loaded.get(u.label) != u.version or u.day is None]
    states = {u: ledger.LOADED for u in units} | ledger.unit_states(
        context.instance, repo.asset_graph, ledger.job_assets(repo.asset_graph, [jobs.dimensions_job, jobs.daily_job]),
        asked)
    loaded = {u.label: u.version for u in units if states[u] == ledger.LOADED}
    cursor = json.dumps({"files": known, "loaded": loaded})
    dims = [u for u in units if u.day is None]
    days = [u for u in units if u.day and states[u] not in (ledger.LOADED, ledger.RUNNING)]
    first, last = partition_bounds()
    if outside := landing_units.outside(days, first, last, days_by_file):
        context.log.warning(landing_units.outside_message(outside, first))
        days = [u for u in days if u.day not in outside]
    requests = []
    for unit in dims:
        if states[unit] in (ledger.NEW, ledger.CHANGED, ledger.INCOMPLETE):
            requests.append(dg.RunRequest(job_name=unit.job, run_key=f"dimensions:{unit.version}",
                                          tags={"stockmart/trigger": "landing"}))
    if dims and states[dims[0]] != ledger.LOADED:
        waiting = f"{len(days)} day(s) wait for the dimension exports to load" if days else ""
        return dg.SensorResult(run_requests=requests, cursor=cursor,
                               skip_reason=None if requests else waiting or "dimension exports are loading")
    if unreadable:
        return dg.SensorResult(run_requests=requests, cursor=cursor, skip_reason=None if requests else (
            f"no day runs until these landing files can be read (see the tick's log): {', '.join(unreadable[:10])}"))
    for block in landing_units.day_blocks(days):
        version = version_digest((u.label, u.version) for u in block)
        label = block[0].label + (f"..{block[-1].label}" if len(block) > 1 else "")
        requests.append(dg.RunRequest(job_name=jobs.daily_job.name, run_key=f"daily:{label}:{version}",
                                      tags={**ledger.range_tags(block), "stockmart/trigger": "landing"}))
    return dg.SensorResult(run_requests=requests, cursor=cursor,
                           skip_reason=None if requests else "everything in the landing folder is loaded")
