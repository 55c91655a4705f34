"""The quality gate the mart enforces itself: bad data never reaches the mart, however the mart is run.

Blocking asset checks stop downstream steps of the same run only: a run that materializes only the mart would
not see them. So before a mart asset writes day D it asks the warehouse what the ``deequ_suite`` check wrote
(``quality/verification_results``) for the MySQL partition it reads: the latest
verification of that partition must have no failed error-level constraint and must be newer than the
partition's latest load into MySQL. Anything else (never checked, failed, checked before a reload) closes it.
"""

import datetime as dt

import dagster as dg

from stockmart_assets.lib.day import WHOLE, Day, Scope
from stockmart_assets.lib.warehouse.protocol import Warehouse
from stockmart_assets.lib.warehouse.reports import verification_summary


class GateClosed(dg.Failure):
    pass


def gate_problems(instance: dg.DagsterInstance, warehouse: Warehouse, table: str, scope: Scope) -> list[str]:
    """Why the gate is closed for mysql/<table> in ``scope``; empty when its latest verification passed."""
    asset_key = dg.AssetKey(["mysql", table])
    day = scope.key if isinstance(scope, Day) else None
    where = asset_key.to_user_string() + (f" [{day}]" if day else "")
    loads = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[day] if day else None), limit=1).records
    if not loads:
        return [f"{where} has never been loaded"]
    loaded_at = dt.datetime.fromtimestamp(loads[0].timestamp, dt.timezone.utc).replace(tzinfo=None)
    checked_at, constraints, failed = verification_summary(warehouse, table, scope)
    if not constraints:
        return [f"{where} has no quality verification: run its deequ_suite check"]
    if failed:
        return [f"{where}: {failed} of {constraints} error-level constraints failed "
                "(see quality/verification_results and the deequ_suite check)"]
    if checked_at < loaded_at:
        return [f"{where} was reloaded at {loaded_at:%Y-%m-%d %H:%M:%S} UTC, after its last verification "
                f"({checked_at:%Y-%m-%d %H:%M:%S}): run its deequ_suite check again"]
    return []


def require_passed_checks(context: dg.AssetExecutionContext, table: str, scopes: list[Scope] | None = None) -> None:
    """Refuse to write unless mysql/<table> passed its suite in every scope (default: the whole table)."""
    warehouse = context.resources.warehouse.get()
    problems = [p for scope in scopes or [WHOLE] for p in gate_problems(context.instance, warehouse, table, scope)]
    if problems:
        raise GateClosed(
            description="quality gate closed, the mart is not written:\n" + "\n".join(f"  - {p}" for p in problems),
            allow_retries=False,
        )
