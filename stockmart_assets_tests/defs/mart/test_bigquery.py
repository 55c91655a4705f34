"""The production mart path (dagster-gcp + BigQuery) end to end, against a local BigQuery API emulator."""

import hashlib

import dagster as dg
import pytest

from stockmart_assets.defs.quality.checks import quality_checks
from stockmart_assets.environment import build_resources
from stockmart_assets_tests.support.bigquery_emulator import bigquery_emulator  # noqa: F401  (fixture)
from stockmart_assets_tests.support.pipeline import (
    ALL_ASSETS, DAYS, DIMENSIONS, FACTS, answers, expected_analytics, seed_trades)

pytestmark = [pytest.mark.mysql, pytest.mark.spark, pytest.mark.slow]


@pytest.fixture
def prod(tmp_path, mysql_url, seed_landing, bigquery_emulator, monkeypatch):  # noqa: F811
    monkeypatch.setenv("STOCKMART_ENV", "PROD")
    monkeypatch.setenv("STOCKMART_LANDING_DIR", str(seed_landing))
    monkeypatch.setenv("STOCKMART_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("STOCKMART_METRICS_REPOSITORY", str(tmp_path / "metrics.json"))
    monkeypatch.setenv("STOCKMART_BQ_PROJECT", bigquery_emulator.project)
    monkeypatch.setenv("STOCKMART_BQ_API_ENDPOINT", bigquery_emulator.endpoint)
    client = bigquery_emulator.client()
    client.delete_dataset(f"{bigquery_emulator.project}.mart", delete_contents=True, not_found_ok=True)
    instance = dg.DagsterInstance.ephemeral()

    def run(keys, days=None):
        tags = ({"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
                if days and len(days) > 1 else {})
        return dg.materialize([*ALL_ASSETS, *quality_checks],
                              selection=dg.AssetSelection.assets(*keys), resources=build_resources("PROD"),
                              instance=instance, partition_key=days[0] if days and len(days) == 1 else None,
                              tags=tags, raise_on_error=False)

    def rows(sql):
        return [tuple(r.values()) for r in client.query(sql).result()]

    run.rows = rows
    run.client = client
    run.table = lambda name: f"{bigquery_emulator.project}.mart.{name}"
    return run


def test_bigquery_mart_end_to_end_partitioned_clustered_and_idempotent(prod):
    assert prod(DIMENSIONS).success
    assert prod(FACTS, DAYS).success

    orders, buys, top = expected_analytics()
    t = prod.table
    assert [(d.isoformat(), n) for d, n in prod.rows(f"SELECT * FROM `{t('orders_per_day')}` ORDER BY 1")] == orders
    assert [(d.isoformat(), *r) for d, *r in prod.rows(
        f"SELECT * FROM `{t('buys_by_age_group')}` ORDER BY 1, 2, 3, 4")] == buys
    assert [(d.isoformat(), *r) for d, *r in prod.rows(
        f"SELECT * FROM `{t('top_ticker_by_age_sex')}` ORDER BY 1, 2, 3, 4, 5")] == top
    for window in (None, ("2024-12-27", "2024-12-28")):  # the all-time views, a window's table functions
        _, buys, top = answers(seed_trades(), window)
        source = ((lambda name: f"`{t(name + '_all_time')}`") if window is None else
                  (lambda name: f"`{t(name + '_between')}`(DATE '{window[0]}', DATE '{window[1]}')"))
        assert sorted(prod.rows(f"SELECT * FROM {source('buys_by_age_group')}")) == buys
        assert sorted(prod.rows(f"SELECT * FROM {source('top_ticker_by_age_sex')}")) == top
    assert prod.rows(f"SELECT * FROM `{t('orders_per_day_between')}`(DATE '2024-12-27', DATE '2024-12-28') "
                     "ORDER BY 1") == [(d, n) for d, n in prod.rows(f"SELECT * FROM `{t('orders_per_day')}` ORDER BY 1")
                                       if d.isoformat() >= "2024-12-27"]
    assert prod.rows(f"SELECT COUNT(*) FROM `{t('verification_results')}` WHERE suite = 'deequ_suite' "
                     "AND constraint_status <> 'Success'") == [(0,)]

    for name in ("trade", "stock_price", "buys_by_age_group"):
        table = prod.client.get_table(t(name))
        assert table.time_partitioning.type_ == "DAY" and table.time_partitioning.field == "trade_date"
        assert table.clustering_fields == ["ticker"]
        assert all(f.name == f.name.lower() for f in table.schema), "columns keep their case (#14129)"
    assert not [tb.table_id for tb in prod.client.list_tables(f"{prod.client.project}.mart")
                if tb.table_id.startswith("_stage_")], "staging tables are dropped"

    def fingerprint():
        return {name: hashlib.sha256(repr(prod.rows(f"SELECT * FROM `{t(name)}` ORDER BY TO_JSON_STRING(t)"
                                                    .replace("`" + t(name) + "`", f"`{t(name)}` AS t"))).encode()
                                     ).hexdigest()
                for name in ("trade", "stock_price", "daily_buys", "orders_per_day", "buys_by_age_group",
                             "top_ticker_by_age_sex")}

    before = fingerprint()
    for _ in range(3):
        assert prod(FACTS, ["2024-12-27"]).success
        assert fingerprint() == before
