"""A single-run backfill gives exactly what the same days run one by one give.

The range's check step reads the days from MySQL once and verifies each on its own slice of that read; its
per-day results (verification results, anomaly history, gate decisions, mart partitions, profiles) must not
depend on how the days were grouped into runs.
"""

import datetime as dt

import dagster as dg
import duckdb
import pytest

from stockmart_assets.defs.quality.checks import quality_checks
from stockmart_assets.environment import build_resources
from stockmart_assets.lib.landing.generator import generate
from stockmart_assets_tests.support.pipeline import ALL_ASSETS, DIMENSIONS, FACTS

pytestmark = [pytest.mark.mysql, pytest.mark.spark, pytest.mark.slow]

# Friday to Sunday: bars on the Friday only (a weekend has none), trades on all three.
DAYS = ["2024-12-27", "2024-12-28", "2024-12-29"]
MART_TABLES = ["trade", "stock_price", "daily_buys", "orders_per_day", "buys_by_age_group", "top_ticker_by_age_sex"]


def run(keys, days, instance):
    tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]} \
        if days and len(days) > 1 else {}
    result = dg.materialize([*ALL_ASSETS, *quality_checks], selection=dg.AssetSelection.assets(*keys),
                            resources=build_resources("LOCAL"), instance=instance, tags=tags,
                            partition_key=days[0] if days and len(days) == 1 else None, raise_on_error=False)
    assert result.success
    return result


def contents(warehouse: str) -> dict[str, list]:
    with duckdb.connect(warehouse, read_only=True) as con:
        tables = {t: con.execute(f"SELECT * FROM mart.{t} ORDER BY ALL").fetchall() for t in MART_TABLES}
        tables["verification_results"] = con.execute(
            "SELECT * EXCLUDE (run_id, run_time) FROM mart.verification_results ORDER BY ALL").fetchall()
        tables["column_profiles"] = con.execute(
            "SELECT * EXCLUDE (run_time) FROM mart.column_profiles ORDER BY ALL").fetchall()
    return tables


def test_one_range_run_equals_the_days_run_one_by_one(tmp_path, mysql_url, monkeypatch):
    landing = tmp_path / "landing"
    generate(landing, customers=40, tickers=3, days=len(DAYS), trades_per_day=300, seed=7,
             start_date=dt.date.fromisoformat(DAYS[0]))
    monkeypatch.setenv("STOCKMART_LANDING_DIR", str(landing))
    monkeypatch.delenv("STOCKMART_LAKE_DIR", raising=False)
    homes = {}
    for how in ("one_by_one", "as_a_range"):
        home = tmp_path / how
        monkeypatch.setenv("STOCKMART_HOME", str(home))
        instance = dg.DagsterInstance.ephemeral()
        run(DIMENSIONS, None, instance)
        if how == "one_by_one":
            for day in DAYS:
                run(FACTS, [day], instance)
        else:
            result = run(FACTS, DAYS, instance)
            checks = [e.asset_check_evaluation_data for e in result.all_events
                      if e.event_type_value == "ASSET_CHECK_EVALUATION"]
            assert sorted({c.partition for c in checks}) == DAYS
        homes[how] = contents(str(home / "warehouse.duckdb"))

    one_by_one, as_a_range = homes["one_by_one"], homes["as_a_range"]
    assert len(one_by_one["trade"]) == len(DAYS) * 300 and {r[0] for r in one_by_one["orders_per_day"]} == {
        dt.date.fromisoformat(d) for d in DAYS}
    days_checked = {(r[0], str(r[1])) for r in one_by_one["verification_results"] if r[1] is not None}
    assert {(t, d) for t in ("trade", "stock_price") for d in DAYS} <= days_checked
    for table in [*MART_TABLES, "verification_results"]:
        assert as_a_range[table] == one_by_one[table], table
    # Profiles: the same, but for the last bits of the floating-point statistics (mean, stddev), which Spark
    # sums in the order its partitions come in, and the two reads are split differently.
    assert len(as_a_range["column_profiles"]) == len(one_by_one["column_profiles"])
    for ranged, alone in zip(as_a_range["column_profiles"], one_by_one["column_profiles"]):
        assert ranged[:7] == alone[:7], alone
        for got, want in zip(ranged[7:], alone[7:]):
            assert got == want or got == pytest.approx(want, rel=1e-12), alone
