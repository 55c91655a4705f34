"""The quality gates on mysql/*: Deequ suites as blocking asset checks, and anomaly warnings.

One factory turns each table's suite (``lib.deequ.suites``, declared as data) into a blocking check on
``mysql/<table>``: the suite, the table's foreign keys (referential integrity) and the missing-cell share, run
by Deequ on Spark over the day's rows read from MySQL. Every constraint's outcome is written to the warehouse
(``quality/verification_results``), which is what the mart's gate reads. A second, warning-only check compares
a day's row count and mean quantity with earlier days through Deequ's metrics repository
(``quality/metric_history``), which lives on disk and survives restarts.
"""


import os
from typing import TYPE_CHECKING

import dagster as dg

from stockmart_assets.defs.quality import results
from stockmart_assets.defs.quality.results import ANOMALY_CHECK, SUITE_CHECK
from stockmart_assets.lib.day import WHOLE, Days, Scope
from stockmart_assets.lib.deequ.anomaly import ANOMALY_METRICS
from stockmart_assets.lib.deequ.suites import SUITES
from stockmart_assets.lib.landing.contract import TABLES, LandingTable
from stockmart_assets.partitions import daily_partitions

if TYPE_CHECKING:
    from stockmart_assets.defs.mysql.resources import MySQLResource
    from stockmart_assets.defs.quality.resources import SparkResource
    from stockmart_assets.lib.deequ.suites import Suite

VERIFICATION_RESULTS_KEY = dg.AssetKey(["quality", "verification_results"])
METRIC_HISTORY_KEY = dg.AssetKey(["quality", "metric_history"])


def _scopes(context: dg.AssetCheckExecutionContext, table: LandingTable) -> list[Scope]:
    return list(Days.of(context.partition_keys)) if table.partition_column else [WHOLE]


def verify(spark: "SparkResource", mysql: "MySQLResource", table: LandingTable, suite: "Suite",
           scope: Scope) -> tuple[int, list[dict]]:
    """Run ``suite`` (foreign keys included) on ``table``'s rows of ``scope`` in MySQL: (rows, records).

    One Deequ scan reads the rows from MySQL; the parent tables are read once per run and reused.
    """
    from stockmart_assets.lib.deequ.runner import run_suite
    from stockmart_assets.lib.deequ.samples import jsonable

    parents = {parent: spark.read_mysql(mysql, TABLES[parent]) for _, parent, _ in table.parents}
    result = run_suite(spark.session(), spark.read_mysql(mysql, table, scope), suite, scope, parents)
    if not result.rows:  # a day without trades or bars (a weekend) is valid; Deequ fails every rule on it
        return 0, [results.empty_record(table.name, scope)]
    return result.rows, [{**r, "failing_rows": jsonable(r["failing_rows"])} for r in result.records()]


def build_suite_check(table: LandingTable) -> dg.AssetChecksDefinition:
    suite = SUITES[table.name]
    parents = ", ".join(f"{c} ∈ {p}.{pc}" for c, p, pc in table.parents) or "none"

    @dg.asset_check(
        asset=dg.AssetKey(["mysql", table.name]), name=SUITE_CHECK, blocking=True,
        partitions_def=daily_partitions if table.partition_column else None,
        additional_deps=[dg.AssetKey(["mysql", p]) for _, p, _ in table.parents],
        required_resource_keys={"spark", "mysql", "warehouse", "quality"},
        description=(f"Deequ suite for `{table.name}` ({len(suite.rules)} rules: "
                     + "; ".join(r.description for r in suite.rules[:6]) + " ...), referential integrity "
                     f"({parents}) and missing-cell share, in one scan. A failure keeps the day out of the mart."),
    )
    def _check(context: dg.AssetCheckExecutionContext):
        from stockmart_assets.lib.deequ.suites import with_max_missing_share

        res = context.resources
        configured = with_max_missing_share(suite, res.quality.max_missing_share)
        outcomes, checked, failed = {}, 0, 0
        for scope in _scopes(context, table):
            rows, records = verify(res.spark, res.mysql, table, configured, scope)
            results.store(res.warehouse.get(), table.name, scope, SUITE_CHECK, context.run.run_id, records)
            failures = [r for r in records if r["constraint_status"] != "Success" and r["check_level"] == "Error"]
            outcomes[scope] = dict(
                passed=not failures, severity=dg.AssetCheckSeverity.ERROR,
                description=(f"{len(failures)} of {len(records)} constraints failed: " + failures[0]["check"]
                             if failures else f"all {len(records)} constraints passed"),
                metadata={"rows_checked": rows, "constraints": len(records), "failed": len(failures),
                          **(results.failure_metadata(failures) if failures else {})})
            checked, failed = checked + len(records), failed + len(failures)
        context.op_execution_context.log_event(dg.AssetMaterialization(
            asset_key=VERIFICATION_RESULTS_KEY,
            metadata={"table": table.name, "partitions": ", ".join(str(s) for s in outcomes),
                      "constraints": checked, "failed": failed}))
        yield from results.check_results(table, SUITE_CHECK, outcomes)

    return _check


def build_anomaly_check(table: LandingTable) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["mysql", table.name]), name=ANOMALY_CHECK, blocking=False,
        partitions_def=daily_partitions,
        required_resource_keys={"spark", "mysql", "warehouse", "quality"},
        description=f"Warns when `{table.name}`'s row count (and mean quantity, for trades) jumps or drops "
                    "against earlier days (Deequ anomaly detection over its metrics history).",
    )
    def _check(context: dg.AssetCheckExecutionContext):
        from stockmart_assets.lib.deequ.anomaly import detect_anomalies

        res = context.resources
        spark = res.spark.session()
        os.makedirs(os.path.dirname(res.quality.metrics_repository) or ".", exist_ok=True)
        outcomes = {}
        for day in Days.of(context.partition_keys):
            df = res.spark.read_mysql(res.mysql, table, day)
            if df.isEmpty():  # weekends and holidays have no bars: not a metric worth comparing
                records = [results.empty_record(table.name, day, level="Warning")]
            else:
                result = detect_anomalies(spark, df, table.name, day, res.quality.metrics_repository)
                records = [dict(r) for r in result.records()]
            results.store(res.warehouse.get(), table.name, day, ANOMALY_CHECK, context.run.run_id, records)
            anomalies = [r for r in records if r["constraint_status"] != "Success"]
            outcomes[day] = dict(
                passed=not anomalies, severity=dg.AssetCheckSeverity.WARN,
                description="; ".join(a["check"] for a in anomalies) or "no anomaly",
                metadata={"anomalies": len(anomalies), "details": dg.MetadataValue.json(
                    [{k: a[k] for k in ("check", "constraint_message")} for a in anomalies])})
        context.op_execution_context.log_event(dg.AssetMaterialization(
            asset_key=METRIC_HISTORY_KEY,
            metadata={"table": table.name, "repository": dg.MetadataValue.path(res.quality.metrics_repository),
                      "partitions": ", ".join(context.partition_keys)}))
        yield from results.check_results(table, ANOMALY_CHECK, outcomes)

    return _check


quality_checks = [build_suite_check(t) for t in TABLES.values()] + [
    build_anomaly_check(TABLES[t]) for t in ANOMALY_METRICS]
