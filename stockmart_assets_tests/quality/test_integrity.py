"""Orphaned foreign keys (the contract's parents: trade.customer_id -> customer.customer_id)."""

from __future__ import annotations

import pytest

from quality_frames import SEED_ROWS, make_frame
from stockmart_assets.landing.contract import TRADE
from stockmart_assets.quality.integrity import orphans

pytestmark = pytest.mark.spark


def test_orphans_counts_and_samples_children_without_parent(spark):
    column, parent_table, parent_column = TRADE.parents[0]
    customers = make_frame(spark, parent_table, SEED_ROWS[parent_table])  # customers 1..5
    trades = make_frame(spark, "trade", SEED_ROWS["trade"] + [(106, None, 2, "매도", 25, "2024-12-26 23:59:00")])

    count, sample = orphans(spark, trades, column, customers, parent_column)

    assert count == 1  # customer 14 (order 104) is not among the five; a NULL customer is no orphan
    assert sample == [{"order_id": 104.0, "customer_id": 14.0, "stock_id": 5.0, "trade_type": "매도",
                       "quantity": 15.0, "order_datetime": "2024-12-26 14:22:00"}]


def test_no_orphans(spark):
    stocks = make_frame(spark, "stocks", SEED_ROWS["stocks"])
    trades = make_frame(spark, "trade", SEED_ROWS["trade"])

    assert orphans(spark, trades, "stock_id", stocks, "stock_id") == (0, [])
