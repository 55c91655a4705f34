"""The gate end to end on real MariaDB, Spark + Deequ and DuckDB: good days reach the mart, a bad day never does."""

import dagster as dg
import pytest

from stockmart_assets.lib.deequ import spark as quality_spark
from stockmart_assets_tests.support.spark_starts import STARTS
from stockmart_assets_tests.conftest import mysql_connect
from stockmart_assets_tests.support.pipeline import (  # noqa: F401  (pipeline: a fixture)
    DAYS, DIMENSIONS, FACTS, expected_analytics, java_children, mart, pipeline)

pytestmark = [pytest.mark.mysql, pytest.mark.spark, pytest.mark.slow]


def test_good_days_reach_the_mart_with_the_right_analytics_and_one_spark(pipeline):
    assert pipeline(DIMENSIONS).success
    starts, stops = STARTS.count, len(STARTS.stopped_at)
    result = pipeline(FACTS, DAYS)
    assert result.success
    assert STARTS.count == starts + 1, "a three-day single run starts Spark once"
    assert quality_spark._session is None and not java_children(), "Spark and its JVM are stopped after the run"
    # ... and stopped as the last check step ended, before the mart's steps began: they do not share the
    # machine's memory with an idle JVM.
    steps = [(e.timestamp, e.dagster_event.event_type_value, e.step_key)
             for e in pipeline.instance.all_logs(result.run_id) if e.is_dagster_event and e.step_key]
    checks_began = max(t for t, kind, key in steps if kind == "STEP_START" and key.endswith("_deequ"))
    mart_began = min(t for t, kind, key in steps if kind == "STEP_START" and key.startswith("mart__"))
    [stopped] = STARTS.stopped_at[stops:]
    assert checks_began < stopped < mart_began
    # One check result per day, each on its own partition, with that day's numbers.
    checks = [e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    outcome = {(c.asset_key.to_user_string(), c.check_name, c.partition): (c.passed, c.severity.value) for c in checks}
    assert len(outcome) == len(checks) == 12, "per day: 2 suites and 2 anomaly checks"
    for day in DAYS:
        assert outcome[("mysql/trade", "deequ_suite", day)] == (True, "ERROR")
        assert outcome[("mysql/stock_price", "deequ_suite", day)] == (True, "ERROR")
        assert outcome[("mysql/stock_price", "deequ_anomalies", day)] == (True, "WARN")
    # The sample's mean quantity more than doubles from Dec 27 to Dec 28 (32.5 -> 70): flagged on Dec 28 only,
    # as a warning that does not stop the run.
    assert [outcome[("mysql/trade", "deequ_anomalies", d)] for d in DAYS] == [(True, "WARN"), (True, "WARN"),
                                                                              (False, "WARN")]
    suites = {c.partition: c.metadata for c in checks if c.check_name == "deequ_suite" and
              c.asset_key == dg.AssetKey(["mysql", "trade"])}
    for day in DAYS:
        stored = mart(pipeline.warehouse, "SELECT count(*) FROM mart.verification_results WHERE table_name = 'trade' "
                                          f"AND suite = 'deequ_suite' AND partition_date = DATE '{day}'")
        assert suites[day]["constraints"].value == stored[0][0], day
    # Each partition's materialization has that day's row count, never the range's (3 days, 5 trades).
    mats = {(m.asset_key.to_user_string(), m.partition): m.metadata for m in result.asset_materializations_for_node(
        "mart__trade")} | {(m.asset_key.to_user_string(), m.partition): m.metadata
                          for m in result.asset_materializations_for_node("mart__orders_per_day")}
    per_day = dict(mart(pipeline.warehouse, "SELECT CAST(trade_date AS VARCHAR), count(*) FROM mart.trade GROUP BY 1"))
    assert {d: mats[("mart/trade", d)]["dagster/row_count"].value for d in DAYS} == per_day == {
        "2024-12-26": 2, "2024-12-27": 2, "2024-12-28": 1}
    assert {d: mats[("mart/orders_per_day", d)]["total_orders"].value for d in DAYS} == per_day

    orders, buys, top = expected_analytics()
    w = pipeline.warehouse
    assert [(d.isoformat(), n) for d, n in mart(w, "SELECT * FROM mart.orders_per_day ORDER BY 1")] == orders
    assert [(d.isoformat(), *rest) for d, *rest in mart(w, "SELECT * FROM mart.buys_by_age_group ORDER BY ALL")] == buys
    assert [(d.isoformat(), *rest) for d, *rest in mart(w, "SELECT * FROM mart.top_ticker_by_age_sex ORDER BY ALL")] == top
    assert mart(w, "SELECT count(*), count(DISTINCT trade_date) FROM mart.trade") == [(5, 3)]
    assert mart(w, "SELECT ticker FROM mart.trade WHERE order_id = 103") == [("AAPL",)]
    failed = mart(w, "SELECT count(*) FROM mart.verification_results WHERE suite = 'deequ_suite' "
                       "AND constraint_status <> 'Success'")
    assert failed == [(0,)]
    tables = mart(w, "SELECT DISTINCT table_name FROM mart.verification_results WHERE suite = 'deequ_suite' ORDER BY 1")
    assert tables == [("budget",), ("customer",), ("stock_price",), ("stocks",), ("trade",)]

    # Re-materializing a day three times leaves every mart table identical.
    dump = "SELECT * FROM mart.{} ORDER BY ALL"
    names = ["trade", "stock_price", "orders_per_day", "top_ticker_by_age_sex", "buys_by_age_group"]
    before = {n: mart(w, dump.format(n)) for n in names}
    for _ in range(3):
        assert pipeline(FACTS, ["2024-12-27"]).success
        assert {n: mart(w, dump.format(n)) for n in names} == before


def test_a_day_failing_an_error_rule_never_reaches_the_mart(pipeline):
    assert pipeline(DIMENSIONS).success
    assert pipeline(FACTS, DAYS).success
    before = mart(pipeline.warehouse, "SELECT * FROM mart.trade WHERE trade_date = DATE '2024-12-27' ORDER BY ALL")

    # Valid for the landing contract (an integer), invalid for the business: a zero-quantity order.
    trade = pipeline.landing / "trade.csv"
    trade.write_text(trade.read_text(encoding="utf-8") + "\n106,1,2,매수,0,2024-12-27 15:00", encoding="utf-8")
    result = pipeline(FACTS, ["2024-12-27"])
    assert not result.success
    [suite] = [e.asset_check_evaluation_data for e in result.all_events
               if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.asset_check_evaluation_data.check_name == "deequ_suite"
               and e.asset_check_evaluation_data.asset_key == dg.AssetKey(["mysql", "trade"])]
    assert not suite.passed and "quantity" in suite.description
    assert "106" in str(suite.metadata["failing_rows"].value), "the failing row is shown in the check's metadata"
    with mysql_connect(__import__("os").environ["STOCKMART_MYSQL_URL"]) as con, con.cursor() as cur:
        cur.execute("SELECT quantity FROM trade WHERE order_id = 106")
        assert cur.fetchall() == ((0,),), "the check runs after the MySQL write"
    assert mart(pipeline.warehouse, "SELECT * FROM mart.trade WHERE trade_date = DATE '2024-12-27' ORDER BY ALL") == before
    assert mart(pipeline.warehouse, "SELECT total_orders FROM mart.orders_per_day WHERE trade_date = DATE '2024-12-27'") == [(2,)]

    # Another run that asks only for the mart (as eager automation would) is refused by the gate itself.
    alone = pipeline([["mart", "trade"]], ["2024-12-27"])
    assert not alone.success
    failure = next(e for e in alone.all_events if e.is_step_failure).step_failure_data.error.message
    assert "quality gate closed" in failure and "mysql/trade [2024-12-27]" in failure, failure
    assert mart(pipeline.warehouse, "SELECT * FROM mart.trade WHERE trade_date = DATE '2024-12-27' ORDER BY ALL") == before

    # Fixed at the source: the next run passes the gate and publishes the day.
    trade.write_text(trade.read_text(encoding="utf-8").replace("매수,0,2024-12-27 15:00", "매수,5,2024-12-27 15:00"),
                     encoding="utf-8")
    assert pipeline(FACTS, ["2024-12-27"]).success
    assert mart(pipeline.warehouse, "SELECT quantity FROM mart.trade WHERE order_id = 106") == [(5,)]


def test_a_reload_after_the_check_closes_the_gate_until_checked_again(pipeline):
    assert pipeline(DIMENSIONS).success
    assert pipeline(FACTS, ["2024-12-26"]).success
    # Reload MySQL without running its checks: the old verification no longer vouches for the partition.
    assert pipeline([["raw", "trade"], ["mysql", "trade"]], ["2024-12-26"], checks=False).success
    alone = pipeline([["mart", "trade"]], ["2024-12-26"])
    assert not alone.success
    failure = next(e for e in alone.all_events if e.is_step_failure).step_failure_data.error.message
    assert "after its last verification" in failure, failure


def test_runs_sharing_one_resource_object_each_stop_spark_after_their_own_last_check(pipeline):
    """`stockmart run` executes its runs with the same definitions, so with the same Spark resource object.
    The resource's record of ended check steps relies on Dagster giving each run its own copy: were it shared,
    a later run would stop Spark after its first check step and start it again for the next."""
    from stockmart_assets.defs.quality.checks import quality_checks
    from stockmart_assets.environment import build_resources
    from stockmart_assets_tests.support.pipeline import ALL_ASSETS

    resources = build_resources("LOCAL")
    assert pipeline(DIMENSIONS).success
    for day in DAYS[:2]:
        starts = STARTS.count
        result = dg.materialize([*ALL_ASSETS, *quality_checks], selection=dg.AssetSelection.assets(*FACTS),
                                resources=resources, instance=pipeline.instance, partition_key=day)
        assert result.success and STARTS.count == starts + 1, f"{day}: one Spark start for its two check steps"
    assert not java_children()
