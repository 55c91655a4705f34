"""Materialize the real assets against the test's MariaDB, lake and landing folder: the load stages alone
(``materialize``), or every stage with its checks (the ``pipeline`` fixture)."""

import subprocess
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from stockmart_assets.defs.mart.analytics import mart_analytics
from stockmart_assets.defs.mart.assets import mart_assets
from stockmart_assets.defs.mysql.assets import mysql_assets
from stockmart_assets.defs.mysql.io_manager import MySQLIOManager
from stockmart_assets.defs.quality.assets import column_profiles, metric_history, verification_results
from stockmart_assets.defs.quality.checks import quality_checks
from stockmart_assets.defs.raw.assets import raw_assets
from stockmart_assets.defs.raw.resources import LakeIOManager, LandingResource
from stockmart_assets.environment import build_resources
from stockmart_assets.lib.landing.contract import DIMENSION_TABLES, FACT_TABLES
from stockmart_assets.lib.warehouse.analytics import AGE_GROUPS
from stockmart_assets_tests.conftest import SEED_FILES

ALL_ASSETS = [*raw_assets, *mysql_assets, *column_profiles, verification_results,
              metric_history, *mart_assets, *mart_analytics]

# The operational stages only (landing -> lake -> MySQL), for tests of the load.
LOAD_DIMENSIONS = [[layer, t] for layer in ("raw", "mysql") for t in DIMENSION_TABLES]
LOAD_FACTS = [[layer, t] for layer in ("raw", "mysql") for t in FACT_TABLES]


def materialize(landing: Path, work: Path, keys, partition: str | None = None, raise_on_error: bool = True):
    """Run the given asset keys like a Dagster run would (resources from the LOCAL environment)."""
    resources = {
        **build_resources("LOCAL"),  # MySQL from STOCKMART_MYSQL_URL (the mysql_url fixture sets it)
        "landing": LandingResource(path=str(landing)),
        "lake_io_manager": LakeIOManager(base_dir=str(work / "lake")),
    }
    resources["mysql_io_manager"] = MySQLIOManager(mysql=resources["mysql"])
    return dg.materialize(
        [*raw_assets, *mysql_assets],
        selection=dg.AssetSelection.assets(*keys),
        resources=resources,
        partition_key=partition,
        raise_on_error=raise_on_error,
    )


def load_all(landing: Path, work: Path, dates: list[str]) -> None:
    materialize(landing, work, LOAD_DIMENSIONS)
    for d in dates:
        materialize(landing, work, LOAD_FACTS, d)


# --- every stage: the `pipeline` fixture (real MariaDB, Spark + Deequ, DuckDB) --------------------------------

DAYS = ["2024-12-26", "2024-12-27", "2024-12-28"]
DIMENSIONS = [[layer, t] for layer in ("raw", "mysql", "mart") for t in DIMENSION_TABLES]
FACTS = ([[layer, t] for layer in ("raw", "mysql", "mart") for t in FACT_TABLES]
         + [["mart", n] for n in ("daily_buys", "orders_per_day", "top_ticker_by_age_sex", "buys_by_age_group")])


@pytest.fixture
def pipeline(tmp_path, mysql_url, seed_landing, monkeypatch):
    monkeypatch.setenv("STOCKMART_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STOCKMART_LANDING_DIR", str(seed_landing))
    monkeypatch.delenv("STOCKMART_LAKE_DIR", raising=False)
    instance = dg.DagsterInstance.ephemeral()

    def run(keys, days: list[str] | None = None, checks: bool = True):
        tags = {}
        if days and len(days) > 1:
            tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
        return dg.materialize(
            [*ALL_ASSETS, *quality_checks],
            selection=dg.AssetSelection.assets(*keys) if checks else dg.AssetSelection.assets(*keys).without_checks(),
            resources=build_resources("LOCAL"), instance=instance,
            partition_key=days[0] if days and len(days) == 1 else None, tags=tags, raise_on_error=False)

    run.warehouse = str(tmp_path / "home" / "warehouse.duckdb")
    run.instance = instance
    run.landing = seed_landing
    return run


def run_request(request: dg.RunRequest, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """Run what a sensor's ``request`` asks for, as the daemon would launch it: its job's selection (checks
    included), its days (a range is in its tags); resources from the LOCAL environment as it is now."""
    from stockmart_assets.definitions import defs

    selection = next(j.selection for j in defs.jobs if j.name == request.job_name)
    return dg.materialize([*ALL_ASSETS, *quality_checks], selection=selection, resources=build_resources("LOCAL"),
                          instance=instance, partition_key=request.partition_key, tags=request.tags, raise_on_error=False)


def mart(path, sql):
    with duckdb.connect(path, read_only=True) as con:
        return con.execute(sql).fetchall()


def seed_trades(files: dict[str, str] = SEED_FILES):
    """The orders of landing ``files`` (default: the seed sample) as (day, sex, age group, ticker, kind), read
    here without SQL."""
    def rows(name):
        return [line.split(",") for line in files[name].strip().splitlines()[1:]]

    customers = {int(r[0]): (r[2], int(r[3])) for r in rows("customer.csv")}
    tickers = {int(r[0]): r[2] for r in rows("stocks.csv")}
    group = lambda age: AGE_GROUPS[min(age // 10 - 1, 6)] if age >= 10 else "미확인"  # noqa: E731
    return [(r[5][:10], customers[int(r[1])][0], group(customers[int(r[1])][1]), tickers[int(r[2])], r[3])
            for r in rows("trade.csv")]


def answers(trades, days: tuple[str, str] | None = None):
    """The business's answers over ``days`` (first, last; None: all time) from (day, sex, group, ticker, kind)
    rows: (orders per day, buys per (ticker, age group), the top ticker per (age group, sex) with count desc,
    then ticker, as the tie-break)."""
    trades = [t for t in trades if days is None or days[0] <= t[0] <= days[1]]
    orders = sorted(Counter(d for d, *_ in trades).items())
    buys = Counter((ticker, g) for d, sex, g, ticker, kind in trades if kind == "매수")
    by_group = Counter((g, sex, ticker) for d, sex, g, ticker, kind in trades if kind == "매수")
    top = {}
    for (g, sex, ticker), n in sorted(by_group.items(), key=lambda kv: (-kv[1], kv[0][2])):
        top.setdefault((g, sex), (ticker, n))
    return (orders, sorted((t, g, n) for (t, g), n in buys.items()),
            sorted((g, s, t, n) for (g, s), (t, n) in top.items()))


def expected_analytics():
    """The seed sample's answers per day, computed here without SQL."""
    trades = seed_trades()
    orders = answers(trades)[0]
    per_day = [answers(trades, (d, d)) for d, _ in orders]
    return (orders, sorted((d, *row) for (d, _), (_, buys, _) in zip(orders, per_day) for row in buys),
            sorted((d, *row) for (d, _), (_, _, top) in zip(orders, per_day) for row in top))


def java_children() -> list[str]:
    out = subprocess.run(["pgrep", "-P", str(__import__("os").getpid()), "-a", "java"], capture_output=True, text=True)
    return out.stdout.splitlines()



