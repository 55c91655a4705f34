"""The runner's one pass (``lib.deequ.runner``) against Deequ itself, on real Spark: a day's results are what
Deequ's VerificationSuite gives on that day's rows, and a range's days are each what a run of that day gives."""

from __future__ import annotations

import datetime as dt

import pytest

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.deequ.anomaly import Watch
from stockmart_assets.lib.deequ.rules import Rule
from stockmart_assets.lib.deequ.runner import check_results, scan_table
from stockmart_assets.lib.deequ.samples import SAMPLE_SIZE
from stockmart_assets.lib.deequ.suites import Suite
from stockmart_assets_tests.support.jvm_calls import jvm_calls

pytestmark = pytest.mark.spark

SCHEMA = "order_id BIGINT, quantity BIGINT, price DOUBLE, order_datetime TIMESTAMP"
SUITE = Suite("trade", (
    Rule("order_id", "unique"),
    Rule("quantity", "complete"),
    Rule("quantity", "positive"),
    Rule("price", "below", high=1000),  # price is all NULL below: Deequ's metric fails on an empty state
    Rule("order_datetime", "in_partition_day"),
    Rule("no_such_column", "complete"),  # Deequ's precondition fails: the column is not in the frame
))
DAYS = [Day.of("2024-12-26"), Day.of("2024-12-27"), Day.of("2024-12-28")]


def trades(spark, day: str, rows: list[tuple[int, int | None]]):
    at = dt.datetime.fromisoformat(f"{day} 10:00:00")
    return spark.createDataFrame([(i, q, None, at + dt.timedelta(minutes=n)) for n, (i, q) in enumerate(rows)],
                                 SCHEMA)


def deequ_records(spark, df, day: Day) -> list[dict]:
    """What Deequ's own VerificationSuite says of the suite on ``df`` (flag columns derived as the runner does)."""
    from pydeequ.checks import Check, CheckLevel
    from pydeequ.verification import VerificationSuite

    for rule in SUITE.rules:
        for name, sql in rule.derived_columns().items():
            df = df.selectExpr("*", f"{sql} AS `{name}`")
    builder = VerificationSuite(spark).onData(df)
    for rule in SUITE.rules:
        builder = builder.addCheck(rule.add_to(Check(spark, CheckLevel.Error, rule.description), day))
    return check_results(spark, builder.run())


def records(scan) -> list[dict]:
    keys = ("check", "check_level", "check_status", "constraint", "constraint_status", "constraint_message")
    return [{k: r[k] for k in keys} for r in scan.suite.records()]


@pytest.mark.parametrize("rows", [[(1, 5), (2, None), (2, -3), (4, 7)], []], ids=["failing rows", "no rows"])
def test_a_day_gets_exactly_what_deequ_verification_suite_gives(spark, rows):
    df = trades(spark, "2024-12-26", rows)
    [scan] = scan_table(spark, df, "trade", [DAYS[0]], suite=SUITE)

    assert sorted(records(scan), key=str) == sorted(deequ_records(spark, df, DAYS[0]), key=str)
    assert scan.rows == len(rows)
    statuses = {r["check"]: r["constraint_status"] for r in records(scan)}
    if rows:
        assert {c for c, s in statuses.items() if s != "Success"} == {
            "order_id is unique", "quantity is complete", "quantity is positive", "price is below 1,000",
            "no_such_column is complete"}
        assert "Input data does not include column no_such_column" in scan.suite.result(
            "no_such_column is complete").constraint_message


def test_a_range_gives_each_day_what_a_run_of_that_day_gives(spark, tmp_path):
    days = {  # the middle day has no rows; the first breaks two rules, the last none
        "2024-12-26": [(1, 5), (1, 0), (3, 2)],
        "2024-12-27": [],
        "2024-12-28": [(1, 4), (2, 6), (3, 8), (4, 10)],  # order 1 again: unique within its own day only
    }
    frames = {day: trades(spark, day, rows) for day, rows in days.items()}
    everything = frames["2024-12-26"].unionByName(frames["2024-12-27"]).unionByName(frames["2024-12-28"])

    ranged = list(scan_table(spark, everything, "trade", DAYS, suite=SUITE, profile=True, day_column="order_datetime",
                             watch=Watch.of("trade", str(tmp_path / "ranged.json"))))
    alone = [next(scan_table(spark, frames[d.key], "trade", [d], suite=SUITE, profile=True,
                             watch=Watch.of("trade", str(tmp_path / "alone.json")))) for d in DAYS]

    assert [s.scope for s in ranged] == DAYS
    for got, want in zip(ranged, alone):
        assert got.rows == want.rows == len(days[got.scope.key])
        assert got.suite.records() == want.suite.records(), got.scope
        assert got.anomalies.records() == want.anomalies.records(), got.scope
        assert got.profile == want.profile, got.scope
    first = ranged[0].suite
    assert [r.check for r in first.failures] == ["order_id is unique", "quantity is positive", "price is below 1,000",
                                                 "no_such_column is complete"]
    assert sorted(r["quantity"] for r in first.result("order_id is unique").failing_rows) == [0, 5]
    assert [r["quantity"] for r in first.result("quantity is positive").failing_rows] == [0]
    assert not ranged[2].suite.result("order_id is unique").failing_rows


def test_a_failing_rule_samples_its_first_rows_in_column_order(spark):
    broken = list(range(40, 20, -2))  # ten rows with quantity 0, read in descending order_id
    df = trades(spark, "2024-12-26", [(i, 0) for i in broken] + [(99, 3)]).repartition(3)
    [scan] = scan_table(spark, df, "trade", [DAYS[0]], suite=SUITE)

    sample = scan.suite.result("quantity is positive").failing_rows
    assert [r["order_id"] for r in sample] == sorted(broken)[:SAMPLE_SIZE]


@pytest.mark.parametrize("interpreted", [False, True], ids=["compiled", "interpreted"])
def test_the_pass_leaves_the_sessions_code_generation_and_planning_as_they_were(spark, interpreted):
    keys = ("spark.sql.codegen.wholeStage", "spark.sql.codegen.factoryMode", "spark.sql.adaptive.enabled",
            "spark.sql.shuffle.partitions")
    before = {key: spark.conf.get(key, None) for key in keys}
    list(scan_table(spark, trades(spark, "2024-12-26", [(1, 1)]), "trade", [DAYS[0]], suite=SUITE,
                    interpreted=interpreted))
    assert {key: spark.conf.get(key, None) for key in keys} == before


def compilations(spark) -> int:
    """Classes Spark has generated and compiled in this JVM so far (its codegen metrics)."""
    return spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME().getCount()


def test_an_interpreted_pass_compiles_no_code_and_gives_what_a_compiled_one_gives(spark, tmp_path):
    """The pass over few rows skips Spark's code generation; nothing it reports may change with that."""
    rows = {"2024-12-26": [(1, 5), (1, 0), (3, None)], "2024-12-27": [], "2024-12-28": [(1, 4), (2, 6)]}
    frames = [trades(spark, day, r) for day, r in rows.items()]
    everything = frames[0].unionByName(frames[1]).unionByName(frames[2])
    # A shape of its own (an extra column), so no code compiled for the tests before it can be reused.
    everything = everything.selectExpr("*", "quantity * 7 AS lot_size")
    suite = Suite("trade", (*SUITE.rules, Rule("lot_size", "positive")))

    def scan(interpreted: bool, repository: str) -> list:
        return list(scan_table(spark, everything, "trade", DAYS, suite=suite, profile=True,
                               day_column="order_datetime", watch=Watch.of("trade", str(tmp_path / repository)),
                               interpreted=interpreted))

    before = compilations(spark)
    interpreted = scan(True, "interpreted.json")
    middle = compilations(spark)
    compiled = scan(False, "compiled.json")
    # Only the grouped aggregation's row joiner is compiled either way: Spark has no interpreted one.
    assert middle - before <= 1
    assert compilations(spark) - middle > 5  # the counter does count a pass's code: the check above can fail

    for got, want in zip(interpreted, compiled, strict=True):
        assert (got.scope, got.rows) == (want.scope, want.rows)
        assert got.suite.records() == want.suite.records(), got.scope
        assert got.anomalies.records() == want.anomalies.records(), got.scope
        assert got.profile == want.profile, got.scope
    assert [r.check for r in interpreted[0].suite.failures] == [
        "order_id is unique", "quantity is complete", "quantity is positive", "price is below 1,000",
        "no_such_column is complete", "lot_size is positive"]


def spark_jobs(spark, action) -> int:
    """How many Spark jobs ``action`` runs (counted in a job group of its own)."""
    import uuid

    context, group = spark.sparkContext, f"counted-{uuid.uuid4()}"
    context.setJobGroup(group, "counted")
    try:
        action()
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
    return len(context.statusTracker().getJobIdsForGroup(group))


def test_a_pass_over_few_rows_is_planned_once_not_stage_by_stage(spark):
    """Adaptive execution runs each shuffle (the uniqueness flags' window, the grouping by day) and broadcast as
    a job of its own and re-plans after it; a pass over few rows has nothing to size, and is planned once."""
    frames = [trades(spark, day, rows) for day, rows in
              [("2024-12-26", [(1, 5), (1, 0), (3, None)]), ("2024-12-28", [(1, 4), (2, 6)])]]
    everything = frames[0].unionByName(frames[1])

    def scan(interpreted: bool) -> None:
        list(scan_table(spark, everything, "trade", DAYS, suite=SUITE, profile=True, day_column="order_datetime",
                        interpreted=interpreted))

    assert spark_jobs(spark, lambda: scan(True)) < spark_jobs(spark, lambda: scan(False))


def aggregated_analyzers(spark, days: list[Day]) -> int:
    """How many analyzers the pass aggregates for ``days`` of the suite's trades, grouped by day as a range is."""
    from pyspark.sql import functions as F

    from stockmart_assets.lib.deequ.runner import DAY_COLUMN, _Pass

    frame = trades(spark, days[0].key, [(1, 5), (2, 3)]).withColumn(DAY_COLUMN, F.to_date("order_datetime"))
    for rule in SUITE.rules:
        for name, sql in rule.derived_columns((DAY_COLUMN,)).items():
            frame = frame.selectExpr("*", f"{sql} AS `{name}`")
    pass_ = _Pass(spark, frame, "trade", list(SUITE.rules), None)
    pass_.aggregate([pass_.plan(day) for day in days], [], grouped=True)
    return pass_.aggregated


def test_a_range_aggregates_the_rule_on_the_partition_day_once_not_once_per_day(spark):
    """Each day has a check of its own for ``in_partition_day`` (its bounds are in the constraint), but the
    aggregation computes one analyzer for all of them: a 30-day backfill must not compute 30 on every row.
    ``test_a_range_gives_each_day_what_a_run_of_that_day_gives`` shows each day still gets its own result."""
    assert aggregated_analyzers(spark, DAYS) == aggregated_analyzers(spark, DAYS[:1])


def test_each_day_of_a_range_costs_few_jvm_round_trips(spark, tmp_path):
    """A range's days are evaluated one by one through py4j, a round trip per call, so the calls a day adds
    bound the pass's time past its aggregation (a 30-day backfill evaluates 30). A day's evaluation calls
    Deequ's classes as looked up once per pass, and builds its metric maps in the JVM: a Python dict keyed by
    JVM objects asks the JVM for every key's hash and equality."""
    scan = counted_scan(spark, tmp_path)
    scan(2)  # the session's first pass of this shape
    per_day = (scan(6) - scan(2)) / 4
    assert 50 < per_day <= 300  # 261 here; with names resolved and JVM objects hashed through the JVM: 451


def test_a_pass_resolves_each_jvm_name_once(spark, tmp_path):
    """py4j resolves a dotted name (``jvm.com.amazon.deequ.analyzers.Completeness``) a part at a time, a round
    trip each, each time it is written; a pass builds dozens of analyzers from such names (the profile's),
    and each day adds more. Resolved once per JVM (``lib.deequ.jvm``), a one-day pass makes a few hundred
    fewer calls: every one of them costs most in the fresh JVM of a run's first checks."""
    scan = counted_scan(spark, tmp_path)
    scan(1)  # the session's first pass of this shape
    assert 500 < scan(1) <= 1_200  # 999 here; with every name resolved where it is written: 1,672


def counted_scan(spark, tmp_path):
    """A pass over ``count`` days of one trade each (suite, profile and anomaly watch), and its JVM calls."""
    def scan(count: int) -> int:
        days = [Day.of(dt.date(2024, 12, 1) + dt.timedelta(days=i)) for i in range(count)]
        frame = spark.createDataFrame(
            [(i, 5, None, dt.datetime.combine(day.date, dt.time(10))) for i, day in enumerate(days)], SCHEMA)
        watch = Watch.of("trade", str(tmp_path / f"{count}-{len(list(tmp_path.iterdir()))}.json"))
        return jvm_calls(spark, lambda: list(scan_table(spark, frame, "trade", days, suite=SUITE, profile=True,
                                                        day_column="order_datetime", watch=watch)))
    return scan
