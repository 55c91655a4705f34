"""quality/*: Deequ suites on the MySQL tables as blocking asset checks, and what they leave behind.

One factory turns each table's suite (``quality.suites``, declared as data) into a blocking check on
``mysql/<table>``: the suite, the table's foreign keys (referential integrity) and the missing-cell share, run
by Deequ on Spark over the partition's rows read from MySQL. Every constraint's outcome is written to the
warehouse (``quality/verification_results``), which is also what the mart's gate reads. A second, warning-only
check compares the partition's row count and mean quantity with earlier partitions through Deequ's metrics
repository (``quality/metric_history``), which lives on disk and survives restarts.
"""

import datetime as dt
import os
from typing import TYPE_CHECKING

import dagster as dg

from stockmart_assets.landing.contract import TABLES, LandingTable
from stockmart_assets.mart.tables import COLUMN_PROFILES, VERIFICATION_RESULTS
from stockmart_assets.metadata import add_partition_metadata, rows_metadata
from stockmart_assets.partitions import daily_partitions

if TYPE_CHECKING:
    from stockmart_assets.quality.suites import Suite
    from stockmart_assets.resources.mysql import MySQLResource
    from stockmart_assets.resources.spark import SparkResource

SUITE_CHECK = "deequ_suite"
ANOMALY_CHECK = "deequ_anomalies"
ANOMALY_TABLES = ("trade", "stock_price")

VERIFICATION_RESULTS_KEY = dg.AssetKey(["quality", "verification_results"])
METRIC_HISTORY_KEY = dg.AssetKey(["quality", "metric_history"])


class QualityResource(dg.ConfigurableResource):
    """Settings of the quality gates."""

    max_missing_share: float = 0.20  # data stability: share of NULL cells a partition may have
    metrics_repository: str  # Deequ's metrics history (a JSON file), for the anomaly checks


def _partitions(context, table: LandingTable) -> list[str | None]:
    return list(context.partition_keys) if table.partition_column else [None]


def _records_table(records: list[dict], table: str, partition: str | None, suite: str, run_id: str):
    import pyarrow as pa

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    day = dt.date.fromisoformat(partition) if partition else None
    rows = [{"table_name": table, "partition_date": day, "run_time": now, "run_id": run_id, "suite": suite,
             **{k: r[k] for k in ("check", "check_level", "check_status", "constraint", "constraint_status",
                                   "constraint_message")}} for r in records]
    schema = pa.schema([("table_name", pa.string()), ("partition_date", pa.date32()), ("run_time", pa.timestamp("us")),
                        ("run_id", pa.string()), ("suite", pa.string()), ("check", pa.string()),
                        ("check_level", pa.string()), ("check_status", pa.string()), ("constraint", pa.string()),
                        ("constraint_status", pa.string()), ("constraint_message", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def _empty_record(table: str, partition: str | None, level: str = "Error") -> dict:
    return {"table": table, "partition": partition, "check": "partition has rows", "check_level": level,
            "check_status": "Success", "constraint": "Size", "constraint_status": "Success",
            "constraint_message": "no rows in this partition: nothing to verify", "failing_rows": []}


def _failure_metadata(failures: list[dict]) -> dict:
    lines = ["| partition | check | level | message | failing rows (sample) |", "|---|---|---|---|---|"]
    for f in failures[:50]:
        sample = "; ".join(str(r) for r in f["failing_rows"][:3]).replace("|", "\\|")
        lines.append(f"| {f['partition'] or '-'} | {f['check']} | {f['check_level']} | "
                     f"{f['constraint_message'].replace('|', '/')} | {sample} |")
    return {"failed_constraints": dg.MetadataValue.md("\n".join(lines)),
            "failing_rows": dg.MetadataValue.json([{"check": f["check"], "partition": f["partition"],
                                                    "rows": f["failing_rows"]} for f in failures[:20]])}


def _check_results(context: dg.AssetCheckExecutionContext, table: LandingTable, check: str,
                   outcomes: dict[str | None, dict]):
    """The check's result for each partition it verified, each recorded on that partition.

    A check run over a range of days (a single-run backfill) would otherwise record one result, with the
    range's numbers, for no partition; a dimension table has one result.
    """
    if not table.partition_column:
        yield dg.AssetCheckResult(**outcomes[None])
        return
    asset_key = dg.AssetKey(["mysql", table.name])
    for partition, outcome in outcomes.items():
        yield dg.AssetCheckEvaluation(asset_key=asset_key, check_name=check, partition=partition,
                                      blocking=check == SUITE_CHECK, **outcome)
    yield dg.Output(None)


def verify(spark: "SparkResource", mysql: "MySQLResource", table: LandingTable, suite: "Suite",
           partition: str | None) -> tuple[int, list[dict]]:
    """Run ``suite`` (foreign keys included) on ``table``'s rows of ``partition`` in MySQL: (rows, records).

    One Deequ scan reads the rows from MySQL; the parent tables are read once per run and reused.
    """
    from stockmart_assets.quality.runner import run_suite
    from stockmart_assets.resources.spark import rows_as_records

    parents = {parent: spark.read_mysql(mysql, TABLES[parent]) for _, parent, _ in table.parents}
    result = run_suite(spark.session(), spark.read_mysql(mysql, table, partition), suite, partition, parents)
    if not result.rows:  # a day without trades or bars (a weekend) is valid; Deequ fails every rule on it
        return 0, [_empty_record(table.name, partition)]
    return result.rows, [{**r, "failing_rows": rows_as_records(r["failing_rows"])} for r in result.records()]


def build_suite_check(table: LandingTable) -> dg.AssetChecksDefinition:
    from stockmart_assets.quality.suites import SUITES

    suite = SUITES[table.name]
    parents = ", ".join(f"{c} ∈ {p}.{pc}" for c, p, pc in table.parents) or "none"

    @dg.asset_check(
        asset=dg.AssetKey(["mysql", table.name]), name=SUITE_CHECK, blocking=True,
        partitions_def=daily_partitions if table.partition_column else None,
        additional_deps=[dg.AssetKey(["mysql", p]) for _, p, _ in table.parents],
        required_resource_keys={"spark", "mysql", "warehouse", "quality"},
        description=(f"Deequ suite for `{table.name}` ({len(suite.rules)} rules: "
                     + "; ".join(r.description for r in suite.rules[:6]) + " ...), referential integrity "
                     f"({parents}) and missing-cell share, in one scan. A failure keeps the partition out of the "
                     "mart."),
    )
    def _check(context: dg.AssetCheckExecutionContext):
        from stockmart_assets.quality.suites import with_max_missing_share

        res = context.resources
        configured = with_max_missing_share(suite, res.quality.max_missing_share)
        outcomes, checked, failed = {}, 0, 0
        for partition in _partitions(context, table):
            rows, records = verify(res.spark, res.mysql, table, configured, partition)
            res.warehouse.replace_rows(
                VERIFICATION_RESULTS,
                {"table_name": table.name, "partition_date": dt.date.fromisoformat(partition) if partition else None,
                 "suite": SUITE_CHECK},
                _records_table(records, table.name, partition, SUITE_CHECK, context.run.run_id))
            failures = [r for r in records if r["constraint_status"] != "Success" and r["check_level"] == "Error"]
            outcomes[partition] = dict(
                passed=not failures, severity=dg.AssetCheckSeverity.ERROR,
                description=(f"{len(failures)} of {len(records)} constraints failed: " + failures[0]["check"]
                             if failures else f"all {len(records)} constraints passed"),
                metadata={"rows_checked": rows, "constraints": len(records), "failed": len(failures),
                          **(_failure_metadata(failures) if failures else {})})
            checked, failed = checked + len(records), failed + len(failures)
        context.op_execution_context.log_event(dg.AssetMaterialization(
            asset_key=VERIFICATION_RESULTS_KEY,
            metadata={"table": table.name, "partitions": ", ".join(p or "-" for p in outcomes),
                      "constraints": checked, "failed": failed}))
        yield from _check_results(context, table, SUITE_CHECK, outcomes)

    return _check


def build_anomaly_check(table: LandingTable) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["mysql", table.name]), name=ANOMALY_CHECK, blocking=False,
        partitions_def=daily_partitions,
        required_resource_keys={"spark", "mysql", "warehouse", "quality"},
        description=f"Warns when `{table.name}`'s row count (and mean quantity, for trades) jumps or drops "
                    "against earlier partitions (Deequ anomaly detection over its metrics history).",
    )
    def _check(context: dg.AssetCheckExecutionContext):
        from stockmart_assets.quality.anomaly import detect_anomalies

        res = context.resources
        spark = res.spark.session()
        os.makedirs(os.path.dirname(res.quality.metrics_repository) or ".", exist_ok=True)
        outcomes = {}
        for partition in context.partition_keys:
            df = res.spark.read_mysql(res.mysql, table, partition)
            if df.isEmpty():  # weekends and holidays have no bars: not a metric worth comparing
                records = [_empty_record(table.name, partition, level="Warning")]
            else:
                result = detect_anomalies(spark, df, table.name, partition, res.quality.metrics_repository)
                records = [dict(r) for r in result.records()]
            res.warehouse.replace_rows(
                VERIFICATION_RESULTS,
                {"table_name": table.name, "partition_date": dt.date.fromisoformat(partition), "suite": ANOMALY_CHECK},
                _records_table(records, table.name, partition, ANOMALY_CHECK, context.run.run_id))
            anomalies = [r for r in records if r["constraint_status"] != "Success"]
            outcomes[partition] = dict(
                passed=not anomalies, severity=dg.AssetCheckSeverity.WARN,
                description="; ".join(a["check"] for a in anomalies) or "no anomaly",
                metadata={"anomalies": len(anomalies), "details": dg.MetadataValue.json(
                    [{k: a[k] for k in ("check", "constraint_message")} for a in anomalies])})
        context.op_execution_context.log_event(dg.AssetMaterialization(
            asset_key=METRIC_HISTORY_KEY,
            metadata={"table": table.name, "repository": dg.MetadataValue.path(res.quality.metrics_repository),
                      "partitions": ", ".join(context.partition_keys)}))
        yield from _check_results(context, table, ANOMALY_CHECK, outcomes)

    return _check


def build_profiles_asset(name: str, tables: list[LandingTable]) -> dg.AssetsDefinition:
    partitioned = tables[0].partition_column is not None

    @dg.asset(
        key=["quality", name], deps=[dg.AssetKey(["mysql", t.name]) for t in tables],
        partitions_def=daily_partitions if partitioned else None, group_name="quality", kinds={"spark", "deequ"},
        required_resource_keys={"spark", "mysql", "warehouse"},
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        description=f"Deequ's column profile for {', '.join(t.name for t in tables)}"
                    + (" (one day)" if partitioned else "") + ": completeness, approximate distinct count, data "
                    "type and, for numbers, mean, stddev, min and max. Stored in the mart's column_profiles table.",
    )
    def _profiles(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return _profile(context, tables, list(context.partition_keys) if partitioned else [None])

    return _profiles


def _profile(context, tables: list[LandingTable], partitions: list[str | None]) -> dg.MaterializeResult:
    import pyarrow as pa

    from stockmart_assets.quality.runner import profile_columns

    res = context.resources
    spark = res.spark.session()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    schema = pa.schema([(c.name, _ARROW_TYPES[c.type]) for c in COLUMN_PROFILES.columns])
    written = {partition: [] for partition in partitions}
    for table in tables:
        for partition in partitions:
            df = res.spark.read_mysql(res.mysql, table, partition)
            if df.isEmpty():  # a day without rows has no profile (and Deequ cannot report one: NaN ratios)
                continue
            rows = profile_columns(spark, df, table.name)  # one scan
            day = dt.date.fromisoformat(partition) if partition else None
            data = [{"table_name": table.name, "partition_date": day, "run_time": now, "column_name": r["column"],
                     **{k: r[k] for k in ("completeness", "data_type", "spark_type")},
                     "approx_distinct": int(r["approx_distinct"]) if r["approx_distinct"] is not None else None,
                     **{k: (float(r[k]) if r[k] is not None else None) for k in ("mean", "stddev", "min", "max")}}
                    for r in rows]
            res.warehouse.replace_rows(COLUMN_PROFILES, {"table_name": table.name, "partition_date": day},
                                       pa.Table.from_pylist(data, schema=schema))
            written[partition] += data
    shown = [c.name for c in COLUMN_PROFILES.columns if c.name != "run_time"]
    by_partition = {p: rows_metadata(pa.Table.from_pylist(rows, schema=schema), shown) for p, rows in written.items()}
    if partitions == [None]:
        return dg.MaterializeResult(metadata=by_partition[None])
    add_partition_metadata(context, by_partition)
    return dg.MaterializeResult()


_ARROW_TYPES = {"STRING": "string", "DATE": "date32", "DATETIME": "timestamp[us]", "FLOAT64": "float64",
                "INT64": "int64"}


verification_results = dg.AssetSpec(
    VERIFICATION_RESULTS_KEY, group_name="quality", kinds={"deequ"},
    description="One row per constraint per table per partition, in the shape of Deequ's check results (check, "
                "check_level, check_status, constraint, constraint_status, constraint_message), with table, "
                "partition, run time and run id; written by the deequ_suite and deequ_anomalies checks into the "
                "mart (table verification_results), where the mart's gate reads it.",
)
metric_history = dg.AssetSpec(
    METRIC_HISTORY_KEY, group_name="quality", kinds={"deequ"},
    description="Deequ's metrics repository (a JSON file): each partition's row count and mean quantity, "
                "the history the anomaly checks compare against. Survives restarts.",
)

quality_checks = [build_suite_check(t) for t in TABLES.values()] + [
    build_anomaly_check(TABLES[t]) for t in ANOMALY_TABLES]
column_profiles = build_profiles_asset("column_profiles", [TABLES["trade"], TABLES["stock_price"]])
dimension_profiles = build_profiles_asset("dimension_profiles", [TABLES[t] for t in ("budget", "customer", "stocks")])
quality_assets = [column_profiles, dimension_profiles, verification_results, metric_history]
