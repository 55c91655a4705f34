"""What a quality check leaves behind: its rows in ``mart.verification_results`` and its result per day.

A check run over a range of days (a single-run backfill) reports one result per day, each on its own
partition (``AssetCheckEvaluation``): Dagster would otherwise record one result, with the range's numbers, for
no partition. A dimension table has one result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import dagster as dg

from stockmart_assets.lib.day import Day, Days, Scope
from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.warehouse.tables import VERIFICATION_RESULTS
from stockmart_assets.lib.warehouse.where import Match

SUITE_CHECK = "deequ_suite"
ANOMALY_CHECK = "deequ_anomalies"
RESULT_FIELDS = ("check", "check_level", "check_status", "constraint", "constraint_status", "constraint_message")


def store(warehouse, table: str, days: Days | None, suite: str, run_id: str,
          records: Mapping[Scope, list[dict]]) -> None:
    """Replace what ``suite`` recorded for ``table`` on the run's ``days`` (None: the whole table) with
    ``records`` (Deequ's check results, by day), in one write: a range's days land together or not at all."""
    import pyarrow as pa

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = [{"table_name": table, "partition_date": scope.date if isinstance(scope, Day) else None, "run_time": now,
             "run_id": run_id, "suite": suite, **{k: r[k] for k in RESULT_FIELDS}}
            for scope, scope_records in records.items() for r in scope_records]
    warehouse.replace(VERIFICATION_RESULTS, Match.of(table_name=table, partition_date=days, suite=suite),
                      rows=pa.Table.from_pylist(rows, schema=VERIFICATION_RESULTS.arrow_schema))


def empty_record(table: str, scope: Scope, level: str = "Error") -> dict:
    """The one result of a day without rows (a weekend for bars): valid, nothing to verify."""
    return {"table": table, "partition": scope.key, "check": "partition has rows", "check_level": level,
            "check_status": "Success", "constraint": "Size", "constraint_status": "Success",
            "constraint_message": "no rows in this partition: nothing to verify", "failing_rows": []}


def failure_metadata(failures: list[dict]) -> dict:
    lines = ["| partition | check | level | message | failing rows (sample) |", "|---|---|---|---|---|"]
    for f in failures[:50]:
        sample = "; ".join(str(r) for r in f["failing_rows"][:3]).replace("|", "\\|")
        lines.append(f"| {f['partition'] or '-'} | {f['check']} | {f['check_level']} | "
                     f"{f['constraint_message'].replace('|', '/')} | {sample} |")
    return {"failed_constraints": dg.MetadataValue.md("\n".join(lines)),
            "failing_rows": dg.MetadataValue.json([{"check": f["check"], "partition": f["partition"],
                                                    "rows": f["failing_rows"]} for f in failures[:20]])}


def check_results(table: LandingTable, check: str, outcomes: dict[Scope, dict]):
    """The check's result for each day it verified, each recorded on that day (see the module)."""
    spec = dg.AssetCheckSpec(check, asset=dg.AssetKey(["mysql", table.name]))
    if not table.partition_column:
        [outcome] = outcomes.values()
        yield dg.AssetCheckResult(asset_key=spec.asset_key, check_name=check, **outcome)
        return
    for day, outcome in outcomes.items():
        yield dg.AssetCheckEvaluation(asset_key=spec.asset_key, check_name=check, partition=day.key,
                                      blocking=check == SUITE_CHECK, **outcome)
    yield dg.Output(None, output_name=spec.get_python_identifier())  # the step's output for this check
