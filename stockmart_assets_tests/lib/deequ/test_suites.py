"""The default suites against real Deequ: seed rows pass, and one crafted row breaks each rule."""

from __future__ import annotations

import pytest

from stockmart_assets.lib.day import WHOLE
from stockmart_assets_tests.support.quality_frames import SCHEMAS, SEED_PARTITION, SEED_ROWS, make_frame, parents_of, typed
from stockmart_assets.lib.deequ.runner import run_suite
from stockmart_assets.lib.deequ.suites import SUITES, with_max_missing_share
from stockmart_assets_tests.support.quality_frames import SEED_CUSTOMER_SUITE

pytestmark = pytest.mark.spark

# A further good row per table, which each crafted case alters. trade's sits at 23:59, the day's last minute.
TEMPLATES = {
    "budget": (100057, 6500000),
    "customer": (6, "강지은", "여", 39, 100057),
    "stocks": (6, "nvidia", "NVDA"),
    "trade": (106, 9, 2, "매도", 25, "2024-12-26 23:59:00"),
    "stock_price": ("2024-12-26 14:33:00", 259.7650146484375, 259.7744140625, 259.6300048828125,
                    259.7200012207031, 270998, "Apple", "AAPL"),
}

# The missing-cell rule is about a share, so its crafted row is repeated as often as there are good rows
# (the copies then also share a key).
COPIES = len(SEED_ROWS["trade"]) + 1


def case(overrides: dict, also: tuple[str, ...] = (), copies: int = 1) -> tuple[dict, tuple[str, ...], int]:
    """How to break a rule: the template's changed values, other rules the row also breaks, its count."""
    return overrides, also, copies


BAD = {
    "budget": {
        "budget_id is complete": case({"budget_id": None}),
        "budget_id is unique": case({"budget_id": 100001}),
        "budget_id is integral": case({"budget_id": 100057.5}),
        "budget is complete": case({"budget": None}),
        "budget is non-negative": case({"budget": -1}),
        "budget is integral": case({"budget": 6500000.5}),
        "budget is below 100,000,000": case({"budget": 100_000_000}),
        "share of missing cells is below 20%": case(
            {"budget_id": None, "budget": None}, also=("budget_id is complete", "budget is complete"), copies=COPIES),
    },
    "customer": {
        "customer_id is complete": case({"customer_id": None}),
        "customer_id is unique": case({"customer_id": 1}),
        "customer_id is integral": case({"customer_id": 6.5}),
        "name is complete": case({"name": None}),
        "sex is one of 남, 여": case({"sex": "남자"}),
        "age is integral": case({"age": 39.5}),
        "age is between 18 and 150 (exclusive)": case({"age": 18}),
        "budget_id is complete": case({"budget_id": None}),
        "budget_id is unique": case({"budget_id": 100001}),
        "budget_id is integral": case({"budget_id": 100057.5}, also=("budget_id references budget",)),
        "budget_id references budget": case({"budget_id": 999999}),
        "share of missing cells is below 20%": case(
            {"name": None, "sex": None, "age": None, "budget_id": None},
            also=("customer_id is unique", "name is complete", "budget_id is complete"), copies=COPIES),
    },
    "stocks": {
        "stock_id is complete": case({"stock_id": None}),
        "stock_id is unique": case({"stock_id": 1}),
        "ticker is complete": case({"ticker": None}),
        "ticker is unique": case({"ticker": "AAPL"}),
        "company is complete": case({"company": None}),
        "share of missing cells is below 20%": case(
            {"company": None, "ticker": None},
            also=("stock_id is unique", "ticker is complete", "company is complete"), copies=COPIES),
    },
    "trade": {
        "order_id is complete": case({"order_id": None}),
        "order_id is unique": case({"order_id": 101}),
        "order_id is integral": case({"order_id": 106.5}),
        "customer_id is complete": case({"customer_id": None}),
        "customer_id is integral": case({"customer_id": 9.5}, also=("customer_id references customer",)),
        "stock_id is complete": case({"stock_id": None}),
        "stock_id is integral": case({"stock_id": 2.5}, also=("stock_id references stocks",)),
        "trade_type is complete": case({"trade_type": None}),
        "trade_type is one of 매수, 매도": case({"trade_type": "매입"}),
        "quantity is complete": case({"quantity": None}),
        "quantity is integral": case({"quantity": 25.5}),
        "quantity is positive": case({"quantity": 0}),
        "order_datetime is complete": case({"order_datetime": None}),
        "order_datetime is inside the partition's day": case({"order_datetime": "2024-12-27 00:00:00"}),
        "customer_id references customer": case({"customer_id": 99}),
        "stock_id references stocks": case({"stock_id": 99}),
        "share of missing cells is below 20%": case(
            {"customer_id": None, "stock_id": None, "trade_type": None, "quantity": None},
            also=("order_id is unique", "customer_id is complete", "stock_id is complete",
                  "trade_type is complete", "quantity is complete"),
            copies=COPIES),
    },
    "stock_price": {
        "ts is complete": case({"ts": None}),
        "close is complete": case({"close": None}, also=("close is within [low, high]",)),
        "high is complete": case(
            {"high": None}, also=("high >= low", "open is within [low, high]", "close is within [low, high]")),
        "low is complete": case(
            {"low": None}, also=("high >= low", "open is within [low, high]", "close is within [low, high]")),
        "open is complete": case({"open": None}, also=("open is within [low, high]",)),
        "volume is complete": case({"volume": None}),
        "company is complete": case({"company": None}),
        "ticker is complete": case({"ticker": None}),
        "high >= low": case(
            {"high": 259.6, "low": 259.8}, also=("open is within [low, high]", "close is within [low, high]")),
        "open is within [low, high]": case({"open": 260.0}),
        "close is within [low, high]": case({"close": 259.0}),
        "volume is integral": case({"volume": 270998.5}),
        "volume is non-negative": case({"volume": -1}),
        "(ticker, ts) is unique": case({"ts": "2024-12-26 14:30:00"}),
        "ts is inside the partition's day": case({"ts": "2024-12-27 00:00:00"}),
        "share of missing cells is below 20%": case(
            {"close": None, "high": None, "low": None, "open": None, "volume": None, "company": None},
            also=("close is complete", "high is complete", "low is complete", "open is complete",
                  "volume is complete", "company is complete", "high >= low", "open is within [low, high]",
                  "close is within [low, high]", "(ticker, ts) is unique"),
            copies=COPIES),
    },
}

RULE_CASES = [(table, description) for table, suite in SUITES.items() for description in BAD[table]]


def test_every_rule_has_a_crafted_bad_row():
    assert {t: sorted(cases) for t, cases in BAD.items()} == {
        t: sorted(rule.description for rule in suite.rules) for t, suite in SUITES.items()
    }


@pytest.mark.parametrize("table", SUITES)
def test_default_suite_passes_on_seed_rows(spark, table):
    rows = SEED_ROWS[table] + [TEMPLATES[table]]
    df = make_frame(spark, table, rows)

    result = run_suite(spark, df, SUITES[table], SEED_PARTITION, parents_of(spark, table, rows))

    assert result.passed, [r.as_record() for r in result.failures]
    assert [r.check for r in result.results] == [rule.description for rule in SUITES[table].rules]
    assert all(r.constraint_status == "Success" and r.failing_rows == () for r in result.results)
    assert {(r.table, r.partition, r.check_level) for r in result.results} == {(table, SEED_PARTITION.key, "Error")}


@pytest.mark.parametrize(("table", "description"), RULE_CASES, ids=[f"{t}: {d}" for t, d in RULE_CASES])
def test_crafted_row_breaks_its_rule(spark, table, description):
    overrides, also, copies = BAD[table][description]
    columns = [name for name, _ in SCHEMAS[table]]
    bad = tuple(overrides.get(column, value) for column, value in zip(columns, TEMPLATES[table]))
    df = make_frame(spark, table, SEED_ROWS[table] + [bad] * copies)
    parents = parents_of(spark, table, SEED_ROWS[table] + [TEMPLATES[table]])  # the crafted key is not among them

    result = run_suite(spark, df, SUITES[table], SEED_PARTITION, parents)

    assert not result.passed
    assert {r.check for r in result.failures} == {description, *also}
    failed = result.result(description)
    assert (failed.check_status, failed.constraint_status) == ("Error", "Failure")
    assert failed.constraint_message.endswith("does not meet the constraint requirement!")
    assert dict(zip(columns, typed(table, bad))) in failed.failing_rows
    assert 1 <= len(failed.failing_rows) <= 5


def test_seed_customer_rule_fails_on_seed_customers(spark):
    df = make_frame(spark, "customer", SEED_ROWS["customer"])

    assert run_suite(spark, df, SUITES["customer"]).passed
    result = run_suite(spark, df, SEED_CUSTOMER_SUITE)

    assert [r.check for r in result.failures] == ["sex is one of 남자, 여자"]
    failure = result.failures[0]
    assert failure.constraint_message == "Value: 0.0 does not meet the constraint requirement!"
    assert "`sex` IN ('남자','여자')" in failure.constraint
    assert len(failure.failing_rows) == 5  # every seed customer, capped at the sample size
    assert {row["sex"] for row in failure.failing_rows} == {"남", "여"}


def test_duplicate_keys_sample_every_copy(spark):
    rows = SEED_ROWS["trade"] + [(101, 9, 2, "매도", 25, "2024-12-26 23:59:00")]
    result = run_suite(spark, make_frame(spark, "trade", rows), SUITES["trade"], SEED_PARTITION)

    assert sorted(row["order_id"] for row in result.result("order_id is unique").failing_rows) == [101.0, 101.0]


def test_partition_rules_are_skipped_without_a_partition(spark):
    rows = SEED_ROWS["trade"] + [(106, 9, 2, "매도", 25, "2024-12-28 10:00:00")]
    df = make_frame(spark, "trade", rows)

    whole_table = run_suite(spark, df, SUITES["trade"], WHOLE)
    one_day = run_suite(spark, df, SUITES["trade"], SEED_PARTITION)

    assert whole_table.passed and "order_datetime is inside the partition's day" not in {
        r.check for r in whole_table.results}
    assert [r.check for r in one_day.failures] == ["order_datetime is inside the partition's day"]
    assert "TIMESTAMP '2024-12-27 00:00:00'" in one_day.failures[0].constraint


def test_missing_cell_threshold_is_configurable(spark):
    # One customer of six misses sex, age and budget_id: 3 of 30 cells = 10% missing.
    rows = SEED_ROWS["customer"] + [(6, "강지은", None, None, None)]
    df = make_frame(spark, "customer", rows)
    check = "share of missing cells is below 5%"

    strict = run_suite(spark, df, with_max_missing_share(SUITES["customer"], 0.05))

    assert check in {r.check for r in strict.failures}
    value = strict.result(check).constraint_message.removeprefix("Value: ").split()[0]
    assert float(value) == pytest.approx(0.10)
    assert strict.result(check).failing_rows == ({"customer_id": 6.0, "name": "강지은", "sex": None, "age": None,
                                                  "budget_id": None},)
    default = run_suite(spark, df, SUITES["customer"])
    assert default.result("share of missing cells is below 20%").constraint_status == "Success"


def test_records_have_deequs_check_result_shape(spark):
    df = make_frame(spark, "stocks", SEED_ROWS["stocks"] + [(6, None, "NVDA")])

    records = run_suite(spark, df, SUITES["stocks"]).records()

    assert set(records[0]) == {"table", "partition", "check", "check_level", "check_status", "constraint",
                               "constraint_status", "constraint_message", "failing_rows"}
    company = next(r for r in records if r["check"] == "company is complete")
    assert company["constraint"] == "CompletenessConstraint(Completeness(company,None,None))"
    assert company["failing_rows"] == [{"stock_id": 6, "company": None, "ticker": "NVDA"}]
