"""Sensors, schedules and backfills, against a real instance, real files, real MariaDB (and Spark for the backfill)."""

import datetime as dt
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from stockmart_assets.definitions import defs
from stockmart_assets.lib.landing.generator import generate
from stockmart_assets.defs.raw.resources import LandingResource
from stockmart_assets.defs.orchestration.schedules import daily
from stockmart_assets.defs.orchestration.sensors import landing_files
from stockmart_assets_tests.support.spark_starts import STARTS
from stockmart_assets_tests.support.instance_state import record_loaded
from stockmart_assets_tests.support.pipeline import DIMENSIONS, FACTS, pipeline  # noqa: F401  (fixture)

TRADE_HEADER = "주문id,고객id,주식,거래종류,주문량,주문일시\n"
DAYS = ["2024-12-26", "2024-12-27", "2024-12-28"]


def tick(sensor, instance, cursor, **resources):
    result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                                            definitions=defs))
    return result.run_requests or [], result.cursor


def test_landing_sensor_requests_what_is_not_loaded_dimensions_first(seed_landing):
    instance = dg.DagsterInstance.ephemeral()
    landing = LandingResource(path=str(seed_landing))
    requests, cursor = tick(landing_files, instance, None, landing=landing)
    assert [(r.job_name, r.partition_key) for r in requests] == [("dimensions", None)]

    # Facts wait until the dimension exports are loaded (trades reference customers).
    assert tick(landing_files, instance, cursor, landing=landing)[0][0].job_name == "dimensions"
    record_loaded(instance, seed_landing, "dimensions")
    requests, cursor = tick(landing_files, instance, cursor, landing=landing)
    assert [(r.job_name, r.partition_key_range) for r in requests] == [
        ("daily_partition", dg.PartitionKeyRange("2024-12-26", "2024-12-28"))], "consecutive days: one run"
    first_keys = {r.run_key for r in requests}

    # Loaded: nothing to request, on this tick or from a fresh cursor (a restarted daemon, a new sensor).
    record_loaded(instance, seed_landing, "daily_partition", DAYS)
    assert tick(landing_files, instance, cursor, landing=landing)[0] == []
    assert tick(landing_files, instance, None, landing=landing)[0] == []

    # A new file touching one day requests that day only, under a new run key.
    (seed_landing / "trade_late.csv").write_text(TRADE_HEADER + "201,1,1,매수,3,2024-12-27 18:00\n", encoding="utf-8")
    requests, cursor = tick(landing_files, instance, cursor, landing=landing)
    assert [(r.partition_key_range, r.run_key in first_keys) for r in requests] == [
        (dg.PartitionKeyRange("2024-12-27", "2024-12-27"), False)]

    # A rewritten file (new version) requests every day it touches again.
    trade = seed_landing / "trade.csv"
    trade.write_text(trade.read_text(encoding="utf-8") + "\n106,1,2,매수,1,2024-12-28 09:00", encoding="utf-8")
    os.utime(trade, ns=(trade.stat().st_atime_ns, trade.stat().st_mtime_ns + 1_000_000))
    requests, cursor = tick(landing_files, instance, cursor, landing=landing)
    assert [r.partition_key_range for r in requests] == [dg.PartitionKeyRange("2024-12-26", "2024-12-28")]
    assert not {r.run_key for r in requests} & first_keys

    # A changed dimension export is loaded before any day.
    budget = seed_landing / "budget.csv"
    budget.write_text(budget.read_text(encoding="utf-8") + "\n100046,1000", encoding="utf-8")
    assert [r.job_name for r in tick(landing_files, instance, cursor, landing=landing)[0]] == ["dimensions"]


def test_daily_schedule_runs_yesterday_on_seoul_time():
    at = dt.datetime(2024, 12, 28, 1, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    request = daily(dg.build_schedule_context(scheduled_execution_time=at))
    assert request.partition_key == "2024-12-27"


@pytest.mark.mysql
def test_cli_partition_range_materializes_each_day(tmp_path, mysql_url, seed_landing):
    env = {**os.environ, "STOCKMART_HOME": str(tmp_path / "home"), "STOCKMART_LANDING_DIR": str(seed_landing),
           "DAGSTER_HOME": str(tmp_path / "dagster")}
    (tmp_path / "dagster").mkdir()
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "dagster"), "asset", "materialize", "-m",
                           "stockmart_assets.definitions", "--select", "raw/trade",
                           "--partition-range", "2024-12-26...2024-12-28"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lake = tmp_path / "home" / "lake" / "landing" / "trade"
    assert sorted(p.name for p in lake.iterdir()) == ["date=2024-12-26", "date=2024-12-27", "date=2024-12-28"]


@pytest.mark.slow
def test_a_seven_day_single_run_backfill_starts_spark_once(pipeline):  # noqa: F811
    for f in pipeline.landing.glob("*.csv"):
        f.unlink()
    generate(pipeline.landing, customers=30, days=7, trades_per_day=40, seed=3)
    days = [(dt.date(2024, 12, 26) + dt.timedelta(days=i)).isoformat() for i in range(7)]
    assert pipeline(DIMENSIONS).success
    starts = STARTS.count
    result = pipeline(FACTS, days)
    assert result.success
    assert STARTS.count == starts + 1
    checks = [e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and e.asset_check_evaluation_data.check_name == "deequ_suite"]
    assert checks and all(c.passed for c in checks)
