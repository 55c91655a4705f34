"""The quality gate the mart enforces itself: bad data never reaches the mart, however the mart is run.

Blocking asset checks stop downstream steps of the same run only, ``AutomationCondition.eager()`` ignores them,
and Dagster records no per-partition check result for a single-run backfill. So before a mart asset writes
day D it asks the warehouse what the ``deequ_suite`` check wrote for the MySQL partition it reads: the latest
verification of that partition must have no failed error-level constraint and must be newer than the
partition's latest load into MySQL. Anything else (never checked, failed, checked before a reload) closes it.
"""

import datetime as dt

import dagster as dg
from dagster._core.event_api import AssetRecordsFilter


class GateClosed(dg.Failure):
    pass


def gate_problems(instance: dg.DagsterInstance, warehouse, table: str, partition: str | None) -> list[str]:
    """Why the gate is closed for mysql/<table> [partition]; empty when its latest verification passed."""
    asset_key = dg.AssetKey(["mysql", table])
    where = asset_key.to_user_string() + (f" [{partition}]" if partition else "")
    loads = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition] if partition else None), limit=1
    ).records
    if not loads:
        return [f"{where} has never been loaded"]
    loaded_at = dt.datetime.fromtimestamp(loads[0].timestamp, dt.timezone.utc).replace(tzinfo=None)
    checked_at, constraints, failed = warehouse.verification_summary(table, partition)
    if not constraints:
        return [f"{where} has no quality verification: run its deequ_suite check"]
    if failed:
        return [f"{where}: {failed} of {constraints} error-level constraints failed "
                "(see quality/verification_results and the deequ_suite check)"]
    if checked_at < loaded_at:
        return [f"{where} was reloaded at {loaded_at:%Y-%m-%d %H:%M:%S} UTC, after its last verification "
                f"({checked_at:%Y-%m-%d %H:%M:%S}): run its deequ_suite check again"]
    return []


def require_passed_checks(context: dg.AssetExecutionContext, table: str, partitions: list[str | None]) -> None:
    problems = [p for partition in partitions
                for p in gate_problems(context.instance, context.resources.warehouse, table, partition)]
    if problems:
        raise GateClosed(
            description="quality gate closed, the mart is not written:\n" + "\n".join(f"  - {p}" for p in problems),
            allow_retries=False,
        )
