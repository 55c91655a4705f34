"""The seed export's three questions, answered by the mart as a user queries it (all-time views, window
functions), through the real pipeline (MariaDB, Spark + Deequ, DuckDB)."""

from pathlib import Path

import pytest

from stockmart_assets_tests.conftest import SEED_FILES, write_landing
from stockmart_assets_tests.support.pipeline import (  # noqa: F401  (pipeline: a fixture)
    DAYS, DIMENSIONS, FACTS, answers, mart, pipeline, seed_trades)

pytestmark = [pytest.mark.mysql, pytest.mark.spark, pytest.mark.slow]

SEED_EXPORT = Path(__file__).parents[2] / "support" / "seed_export"  # the trading service's export, verbatim
EXPORT = {p.name: p.read_text(encoding="utf-8") for p in SEED_EXPORT.glob("*.csv")}
# The export's answers, worked out by hand from its 20 orders; ties go to the alphabetically first ticker
# (30대 남: AMZN and MSFT once each; 30대 여: AAPL, AMZN, GOOGL and META once each).
ORDERS_PER_DAY = [("2024-12-26", 5), ("2024-12-27", 6), ("2024-12-28", 9)]
TOP_TICKER_ALL_TIME = [("20대", "남", "AAPL", 2), ("20대", "여", "GOOGL", 1), ("30대", "남", "AMZN", 1),
                       ("30대", "여", "AAPL", 1), ("40대", "남", "MSFT", 2), ("40대", "여", "AAPL", 1)]
BUYS_BY_AGE_GROUP_ALL_TIME = [("AAPL", "20대", 2), ("AAPL", "30대", 1), ("AAPL", "40대", 1), ("AMZN", "30대", 2),
                              ("GOOGL", "20대", 1), ("GOOGL", "30대", 1), ("META", "30대", 1), ("MSFT", "30대", 1),
                              ("MSFT", "40대", 2)]


def test_the_seed_export_answers_its_questions_over_all_time_and_any_window(pipeline):
    write_landing(pipeline.landing, {**EXPORT, "stock/AAPL_data.csv": SEED_FILES["stock/AAPL_data.csv"]})
    assert pipeline(DIMENSIONS).success
    result = pipeline(FACTS, DAYS)
    assert result.success
    w = pipeline.warehouse

    assert [(d.isoformat(), n) for d, n in mart(w, "SELECT * FROM mart.orders_per_day ORDER BY 1")] == ORDERS_PER_DAY
    assert mart(w, "SELECT * FROM mart.top_ticker_by_age_sex_all_time ORDER BY ALL") == TOP_TICKER_ALL_TIME
    assert mart(w, "SELECT * FROM mart.buys_by_age_group_all_time ORDER BY ALL") == BUYS_BY_AGE_GROUP_ALL_TIME
    window = ("2024-12-26", "2024-12-27")
    _, buys, top = answers(seed_trades(EXPORT), window)
    between = "(DATE '2024-12-26', DATE '2024-12-27')"
    assert mart(w, f"SELECT * FROM mart.top_ticker_by_age_sex_between{between} ORDER BY ALL") == top
    assert mart(w, f"SELECT * FROM mart.buys_by_age_group_between{between} ORDER BY ALL") == buys
    assert [n for _, n in mart(w, f"SELECT * FROM mart.orders_per_day_between{between} ORDER BY 1")] == [5, 6]

    # The asset pages: each day's buys as a number the UI charts, the all-time answers with a preview.
    events = [m for node in ("mart__daily_buys", "mart__top_ticker_by_age_sex", "mart__buys_by_age_group")
              for m in result.asset_materializations_for_node(node)]
    buys_per_day = {m.partition: m.metadata["total_buys"].value for m in events
                    if m.asset_key.to_user_string() == "mart/daily_buys"}
    assert buys_per_day == {"2024-12-26": 3, "2024-12-27": 3, "2024-12-28": 6}
    all_time = {m.asset_key.to_user_string(): m.metadata for m in events if m.partition is None}
    assert all_time["mart/top_ticker_by_age_sex_all_time"]["dagster/row_count"].value == 6
    assert "| 40대 " in all_time["mart/top_ticker_by_age_sex_all_time"]["preview"].value
    assert all_time["mart/buys_by_age_group_all_time"]["dagster/row_count"].value == 9

    # Customer 1 (32, 30대) turns 55: the dimension is reloaded, then Dec 28 is re-run. Dec 26's facts keep
    # the age group of when they were published; Dec 28's order 113 is now 50대's.
    older = EXPORT["customer.csv"].replace("1,김민수,남,32,", "1,김민수,남,55,")
    write_landing(pipeline.landing, {"customer.csv": older})
    assert pipeline(DIMENSIONS).success
    assert pipeline(FACTS, ["2024-12-28"]).success
    assert mart(w, "SELECT ticker, age_group FROM mart.daily_buys WHERE sex = '남' AND trade_date = DATE '2024-12-26' "
                   "AND ticker = 'AMZN'") == [("AMZN", "30대")]
    assert mart(w, "SELECT ticker, age_group FROM mart.daily_buys WHERE trade_date = DATE '2024-12-28' "
                   "AND ticker = 'MSFT' ORDER BY ALL") == [("MSFT", "40대"), ("MSFT", "50대")]
    top = mart(w, "SELECT * FROM mart.top_ticker_by_age_sex_all_time WHERE sex = '남' ORDER BY ALL")
    assert ("30대", "남", "AMZN", 1) in top and ("50대", "남", "MSFT", 1) in top
