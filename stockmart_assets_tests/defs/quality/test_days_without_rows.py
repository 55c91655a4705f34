"""A check step whose days hold no rows (a weekend's price bars) reports each day empty, and valid, without
asking Spark: Deequ's verdicts on no rows would be replaced by the empty record anyway."""

import datetime as dt

import dagster as dg
import duckdb
import pytest

from stockmart_assets.defs.quality.checks import quality_checks
from stockmart_assets.environment import build_resources
from stockmart_assets.lib.deequ import runner
from stockmart_assets.lib.landing.generator import generate
from stockmart_assets_tests.support.pipeline import ALL_ASSETS, DIMENSIONS

pytestmark = [pytest.mark.mysql, pytest.mark.spark, pytest.mark.slow]

FRIDAY, WEEKEND = "2024-12-27", ["2024-12-28", "2024-12-29"]  # bars on the Friday only
BARS = [["raw", "stock_price"], ["mysql", "stock_price"]]


def test_days_without_rows_are_reported_empty_without_a_spark_pass(tmp_path, mysql_url, monkeypatch):
    generate(tmp_path / "landing", customers=10, tickers=2, days=3, trades_per_day=5, seed=3,
             start_date=dt.date.fromisoformat(FRIDAY))
    monkeypatch.setenv("STOCKMART_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("STOCKMART_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STOCKMART_LAKE_DIR", raising=False)
    passes: list[str] = []
    real_scan = runner.scan_table

    def noting(spark, df, table, *args, **kwargs):  # the real pass, noted
        passes.append(table)
        return real_scan(spark, df, table, *args, **kwargs)

    monkeypatch.setattr(runner, "scan_table", noting)
    instance = dg.DagsterInstance.ephemeral()

    def run(keys, days):
        tags = ({"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
                if len(days) > 1 else {})
        result = dg.materialize([*ALL_ASSETS, *quality_checks], selection=dg.AssetSelection.assets(*keys),
                                resources=build_resources("LOCAL"), instance=instance, tags=tags,
                                partition_key=days[0] if len(days) == 1 else None, raise_on_error=False)
        assert result.success
        return [e.asset_check_evaluation_data for e in result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION"]

    run(DIMENSIONS, [None])
    passes.clear()

    checks = run(BARS, WEEKEND)
    assert passes == []
    assert sorted((c.partition, c.check_name) for c in checks) == [
        (day, name) for day in WEEKEND for name in ("deequ_anomalies", "deequ_suite")]
    assert all(c.passed for c in checks)
    assert {c.metadata["rows_checked"].value for c in checks if c.check_name == "deequ_suite"} == {0}
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT CAST(partition_date AS VARCHAR), suite, constraint_message "
                             "FROM mart.verification_results WHERE table_name = 'stock_price' ORDER BY ALL").fetchall()
    assert [(day, message) for day, _, message in stored] == [
        (day, "no rows in this partition: nothing to verify") for day in WEEKEND for _ in range(2)]

    checks = run(BARS, [FRIDAY])  # a day with bars gets its pass
    assert passes == ["stock_price"] and all(c.passed for c in checks)
