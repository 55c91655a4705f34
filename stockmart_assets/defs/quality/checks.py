"""The quality gates on mysql/*: Deequ suites as blocking asset checks, and anomaly warnings.

One check step per table (``mysql__<table>_deequ``) reads the table's rows of the run once from MySQL (all
the days of a single-run backfill at once) and computes every metric of every day in one Deequ pass over
them, grouped by day (``lib.deequ.runner``); each day's checks and column profile come from its metrics:
- ``deequ_suite`` (blocking): the table's suite, its foreign keys (referential integrity) and the missing-cell
  share. Every constraint's outcome is written to the warehouse (``quality/verification_results``), which is
  what the mart's gate reads.
- ``deequ_anomalies`` (warning, fact tables): the day's row count (and mean quantity, for trades) against
  earlier days, through Deequ's metrics repository (``quality/metric_history``), which survives restarts.
- the column profile, stored in the mart's ``column_profiles`` (``quality/column_profiles/<table>``).
"""


import datetime as dt
import os
from typing import TYPE_CHECKING

import dagster as dg

from stockmart_assets.defs.quality import results
from stockmart_assets.defs.quality.results import ANOMALY_CHECK, SUITE_CHECK
from stockmart_assets.lib.day import WHOLE, Day, Days
from stockmart_assets.lib.deequ.anomaly import ANOMALY_METRICS
from stockmart_assets.lib.deequ.suites import SUITES
from stockmart_assets.lib.landing.contract import TABLES, LandingTable
from stockmart_assets.metadata import rows_metadata
from stockmart_assets.partitions import daily_partitions

if TYPE_CHECKING:
    from stockmart_assets.lib.deequ.runner import TableScan

VERIFICATION_RESULTS_KEY = dg.AssetKey(["quality", "verification_results"])
METRIC_HISTORY_KEY = dg.AssetKey(["quality", "metric_history"])


def profile_key(table: LandingTable) -> dg.AssetKey:
    """Where a table's column profile lives: its rows of the mart's column_profiles table."""
    return dg.AssetKey(["quality", "column_profiles", table.name])


def _suite_outcome(table: LandingTable, scan: "TableScan") -> tuple[list[dict], dict]:
    """The records the warehouse keeps and the check's result, of one scope."""
    from stockmart_assets.lib.deequ.samples import jsonable

    if not scan.rows:  # a day without trades or bars (a weekend) is valid; Deequ fails every rule on it
        records = [results.empty_record(table.name, scan.scope)]
    else:
        records = [{**r, "failing_rows": jsonable(r["failing_rows"])} for r in scan.suite.records()]
    failures = [r for r in records if r["constraint_status"] != "Success" and r["check_level"] == "Error"]
    return records, dict(
        passed=not failures, severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{len(failures)} of {len(records)} constraints failed: " + _named(failures)
                     if failures else f"all {len(records)} constraints passed"),
        metadata={"rows_checked": scan.rows, "constraints": len(records), "failed": len(failures),
                  **(results.failure_metadata(failures) if failures else {})})


def _named(failures: list[dict], at_most: int = 5) -> str:
    """The failed rules, by their descriptions (the first few)."""
    names = [f["check"] for f in failures[:at_most]]
    return "; ".join(names) + (f"; and {len(failures) - at_most} more" if len(failures) > at_most else "")


def _anomaly_outcome(table: LandingTable, scan: "TableScan") -> tuple[list[dict], dict]:
    if not scan.rows:  # weekends and holidays have no bars: not a metric worth comparing
        records = [results.empty_record(table.name, scan.scope, level="Warning")]
    else:
        records = scan.anomalies.records()
    anomalies = [r for r in records if r["constraint_status"] != "Success"]
    return records, dict(
        passed=not anomalies, severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(a["check"] for a in anomalies) or "no anomaly",
        metadata={"anomalies": len(anomalies), "details": dg.MetadataValue.json(
            [{k: a[k] for k in ("check", "constraint_message")} for a in anomalies])})


def _store_profiles(warehouse, table: LandingTable, days: Days | None, scans: list["TableScan"],
                    now: dt.datetime) -> dict:
    """Replace the profiles of the run's days (None: the whole table) in the mart, in one write; returns each
    profiled scope's metadata for its materialization. A day without rows has no profile (Deequ has no
    statistics for it), so a re-run that finds a day empty leaves none for it."""
    import pyarrow as pa

    from stockmart_assets.lib.warehouse.tables import COLUMN_PROFILES
    from stockmart_assets.lib.warehouse.where import Match

    profiled = {}
    for scan in scans:
        if not scan.rows:
            continue
        day = scan.scope.date if isinstance(scan.scope, Day) else None
        data = [{"table_name": table.name, "partition_date": day, "run_time": now, "column_name": r["column"],
                 **{k: r[k] for k in ("completeness", "data_type", "spark_type")},
                 "approx_distinct": int(r["approx_distinct"]) if r["approx_distinct"] is not None else None,
                 **{k: (float(r[k]) if r[k] is not None else None) for k in ("mean", "stddev", "min", "max")}}
                for r in scan.profile]
        profiled[scan.scope] = (scan.rows, pa.Table.from_pylist(data, schema=COLUMN_PROFILES.arrow_schema))
    tables = [scope_rows for _, scope_rows in profiled.values()]
    rows = pa.concat_tables(tables) if tables else COLUMN_PROFILES.arrow_schema.empty_table()
    warehouse.replace(COLUMN_PROFILES, Match.of(table_name=table.name, partition_date=days), rows=rows)
    columns = [c for c in COLUMN_PROFILES.column_names if c != "run_time"]
    return {scope: {**rows_metadata(scope_rows, columns), "rows_profiled": read}
            for scope, (read, scope_rows) in profiled.items()}


def build_table_checks(table: LandingTable) -> dg.AssetChecksDefinition:
    suite = SUITES[table.name]
    partitioned = table.partition_column is not None
    asset = dg.AssetKey(["mysql", table.name])
    partitions_def = daily_partitions if partitioned else None
    parents = ", ".join(f"{c} ∈ {p}.{pc}" for c, p, pc in table.parents) or "none"
    specs = [dg.AssetCheckSpec(
        SUITE_CHECK, asset=asset, blocking=True, partitions_def=partitions_def,
        additional_deps=[dg.AssetKey(["mysql", p]) for _, p, _ in table.parents],
        description=(f"Deequ suite for `{table.name}` ({len(suite.rules)} rules: "
                     + "; ".join(r.description for r in suite.rules[:6]) + " ...), referential integrity "
                     f"({parents}) and missing-cell share, in one scan. A failure keeps the day out of the mart."),
    )]
    watched = table.name in ANOMALY_METRICS
    if watched:
        specs.append(dg.AssetCheckSpec(
            ANOMALY_CHECK, asset=asset, blocking=False, partitions_def=partitions_def,
            description=f"Warns when `{table.name}`'s row count (and mean quantity, for trades) jumps or drops "
                        "against earlier days (Deequ anomaly detection over its metrics history)."))

    @dg.multi_asset_check(
        name=f"mysql__{table.name}_deequ", specs=specs, can_subset=True,
        required_resource_keys={"spark", "mysql", "warehouse", "quality"},
        description=f"`{table.name}`'s quality checks and column profile, per day, from one Deequ pass over "
                    "one read of the run's rows.",
    )
    def _checks(context: dg.AssetCheckExecutionContext):
        from stockmart_assets.lib.deequ.anomaly import Watch
        from stockmart_assets.lib.deequ.runner import INTERPRETED_MAX_ROWS, TableScan, scan_table
        from stockmart_assets.lib.deequ.suites import with_max_missing_share
        from stockmart_assets.lib.mysql.read import count_at_most

        res = context.resources
        selected = {key.name for key in context.selected_asset_check_keys}
        days = Days.of(context.partition_keys) if partitioned else None
        verify = SUITE_CHECK in selected
        watch = None
        if ANOMALY_CHECK in selected:
            os.makedirs(os.path.dirname(res.quality.metrics_repository) or ".", exist_ok=True)
            watch = Watch.of(table.name, res.quality.metrics_repository)
        try:
            # The run's rows, then each parent table whole (for its foreign keys).
            reads = [(table, days), *((TABLES[p], None) for p in dict.fromkeys(p for _, p, _ in table.parents)
                                      if verify)]
            with res.mysql.connect() as con:  # the rows the pass reads, counted no further than it matters
                counts = [count_at_most(con, table, days, INTERPRETED_MAX_ROWS + 1)]
                if counts[0]:
                    counts += [count_at_most(con, t, d, INTERPRETED_MAX_ROWS + 1) for t, d in reads[1:]]
            if not counts[0]:
                # No rows on any of the run's days (a weekend's price bars): an empty scope's outcome is the
                # empty record whatever Deequ says of no rows (``_suite_outcome``), so Spark is not asked.
                scans = [TableScan(scope, 0) for scope in (list(days) if days else [WHOLE])]
            else:
                rows, *parent_rows = [res.spark.read_mysql(res.mysql, t, d or WHOLE,
                                                           few_rows=n <= INTERPRETED_MAX_ROWS)
                                      for (t, d), n in zip(reads, counts)]
                parents = {t.name: frame for (t, _), frame in zip(reads[1:], parent_rows)}
                read = sum(counts)
                scans = list(scan_table(
                    res.spark.session(), rows, table.name, list(days) if days else [WHOLE],
                    suite=with_max_missing_share(suite, res.quality.max_missing_share) if verify else None,
                    parents=parents, watch=watch, profile=verify, day_column=table.partition_column,
                    interpreted=read <= INTERPRETED_MAX_ROWS))
        finally:
            res.spark.release(context)
        warehouse, now = res.warehouse.get(), dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        run_id = context.run.run_id
        checks = ([(SUITE_CHECK, _suite_outcome)] if verify else []) + ([(ANOMALY_CHECK, _anomaly_outcome)] if watch else [])
        outcomes: dict[str, dict] = {check: {} for check, _ in checks}
        stored: dict[str, dict] = {check: {} for check, _ in checks}
        constraints = failed = 0
        for scan in scans:
            for check, outcome_of in checks:
                stored[check][scan.scope], outcomes[check][scan.scope] = outcome_of(table, scan)
                if check == SUITE_CHECK:
                    constraints += len(stored[check][scan.scope])
                    failed += outcomes[check][scan.scope]["metadata"]["failed"]
        with warehouse.session():  # the run's results and profiles, through one connection
            for check, records in stored.items():  # one write per check and table for the run's days
                results.store(warehouse, table.name, days, check, run_id, records)
            profiled = _store_profiles(warehouse, table, days, scans, now) if verify else {}
        for scope, metadata in profiled.items():
            context.op_execution_context.log_event(dg.AssetMaterialization(
                asset_key=profile_key(table), partition=scope.key, metadata=metadata))
        label = str(days) if days else "whole table"
        if verify:
            context.op_execution_context.log_event(dg.AssetMaterialization(
                asset_key=VERIFICATION_RESULTS_KEY,
                metadata={"table": table.name, "partitions": label, "constraints": constraints, "failed": failed}))
        if watch:
            context.op_execution_context.log_event(dg.AssetMaterialization(
                asset_key=METRIC_HISTORY_KEY,
                metadata={"table": table.name, "repository": dg.MetadataValue.path(res.quality.metrics_repository),
                          "partitions": label}))
        for check, by_scope in outcomes.items():
            yield from results.check_results(table, check, by_scope)

    return _checks


quality_checks = [build_table_checks(t) for t in TABLES.values()]
