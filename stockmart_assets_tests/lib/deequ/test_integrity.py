"""Orphaned foreign keys (the contract's parents: trade.customer_id -> customer.customer_id), checked by Deequ
in the suite's one scan."""

from __future__ import annotations

import pytest

from stockmart_assets_tests.support.quality_frames import SEED_PARTITION, SEED_ROWS, make_frame
from stockmart_assets.lib.deequ.integrity import with_orphan_flags
from stockmart_assets.lib.deequ.runner import run_suite
from stockmart_assets.lib.deequ.kinds import flag_column
from stockmart_assets.lib.deequ.suites import TRADE_SUITE

pytestmark = pytest.mark.spark

CUSTOMER_REF = TRADE_SUITE.rule("customer_id references customer")
STOCK_REF = TRADE_SUITE.rule("stock_id references stocks")


def seed_parents(spark):
    return {"customer": make_frame(spark, "customer", SEED_ROWS["customer"]),  # customers 1..5
            "stocks": make_frame(spark, "stocks", SEED_ROWS["stocks"])}


def test_orphans_fail_their_rule_with_a_sample(spark):
    trades = make_frame(spark, "trade", SEED_ROWS["trade"] + [(106, None, 2, "매도", 25, "2024-12-26 23:59:00")])

    result = run_suite(spark, trades, TRADE_SUITE, SEED_PARTITION, seed_parents(spark))

    # customer 14 (order 104) is not among the five; a NULL customer is no orphan (completeness catches it).
    assert {r.check for r in result.failures} == {"customer_id references customer", "customer_id is complete"}
    failed = result.result("customer_id references customer")
    assert failed.constraint_message == "Value: 0.8333333333333334 does not meet the constraint requirement!"
    assert failed.failing_rows == ({"order_id": 104.0, "customer_id": 14.0, "stock_id": 5.0, "trade_type": "매도",
                                    "quantity": 15.0, "order_datetime": "2024-12-26 14:22:00"},)
    assert result.rows == 6


def test_flags_keep_every_row_even_with_duplicate_parent_keys(spark):
    trades = make_frame(spark, "trade", SEED_ROWS["trade"])
    customers = make_frame(spark, "customer", SEED_ROWS["customer"] * 3)  # a parent key repeated must not fan out

    flagged = with_orphan_flags(trades, [CUSTOMER_REF], {"customer": customers})

    assert flagged.count() == len(SEED_ROWS["trade"])
    orphans = flagged.where(f"`{flag_column(CUSTOMER_REF)}`").select("order_id").collect()
    assert [row.order_id for row in orphans] == [104.0]


def test_references_are_skipped_without_their_parent(spark):
    trades = make_frame(spark, "trade", SEED_ROWS["trade"])

    result = run_suite(spark, trades, TRADE_SUITE, SEED_PARTITION, {"stocks": seed_parents(spark)["stocks"]})

    assert result.passed
    checks = {r.check for r in result.results}
    assert STOCK_REF.description in checks and CUSTOMER_REF.description not in checks
