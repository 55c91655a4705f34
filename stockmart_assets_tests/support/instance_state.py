"""A Dagster instance's record of loads, written directly: what the landing sensor sees after real runs."""

import dagster as dg

from stockmart_assets.definitions import defs
from stockmart_assets.defs.orchestration import jobs, ledger
from stockmart_assets.lib.landing.units import landing_units, scan_landing
from stockmart_assets.metadata import LANDING_VERSION


def record_loaded(instance, landing, job: str, days: list[str] | None = None) -> None:
    """The instance's record of a successful run of ``job`` over ``days``: each asset of the job materialized
    in topological order, the raw ones with the landing version of the files they were read from."""
    graph = defs.resolve_asset_graph()
    units = {u.label: u for u in landing_units(*scan_landing(landing)) if u.job == job}
    keys = ledger.job_assets(graph, [jobs.dimensions_job, jobs.daily_job])[job]
    for key in graph.toposorted_asset_keys:
        if key not in keys:
            continue
        for day in days or [None]:
            version = dict(units[day or "dimensions"].tables).get(key.path[-1]) if key.path[0] == "raw" else None
            instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key=key, partition=day, metadata={LANDING_VERSION: version} if version else None))
