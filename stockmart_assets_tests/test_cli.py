"""`stockmart run` as a user meets it: an empty folder, `--sample`, a rerun with nothing new, one changed day."""

import datetime as dt
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from stockmart_assets.definitions import defs
from stockmart_assets.defs.raw.resources import LandingResource
from stockmart_assets.defs.orchestration.sensors import landing_files
from stockmart_assets_tests.conftest import table_state

pytestmark = pytest.mark.mysql


# The CLI as `-m stockmart_assets.cli` runs it, with the Spark-start counter of the tests installed: its last
# line of output says how many Spark sessions (JVMs) the command started.
COUNTING = ("import atexit, sys\n"
            "from stockmart_assets_tests.support.spark_starts import STARTS, install\n"
            "install()\n"
            "atexit.register(lambda: print(f'spark sessions started: {STARTS.count}'))\n"
            "from stockmart_assets.cli import main\n"
            "sys.exit(main(sys.argv[1:]))")


def stockmart(env, *args):
    return subprocess.run([sys.executable, "-c", COUNTING, *args], env=env, capture_output=True, text=True,
                          timeout=600)


def spark_starts(done) -> int:
    return int(done.stdout.strip().splitlines()[-1].removeprefix("spark sessions started: "))


def test_run_loads_only_what_changed_and_says_what_it_did(tmp_path, mysql_url):
    home, landing = tmp_path / "home", tmp_path / "home" / "landing"
    env = {**os.environ, "STOCKMART_HOME": str(home), "STOCKMART_MYSQL_URL": mysql_url}
    for name in ("DAGSTER_HOME", "STOCKMART_LANDING_DIR", "STOCKMART_PARTITIONS_START"):
        env.pop(name, None)

    # An empty landing folder is a message and an exit code, never generated data.
    empty = stockmart(env, "run")
    assert empty.returncode == 2, empty.stdout + empty.stderr
    assert f"no landing files in {landing}" in empty.stderr and "--sample" in empty.stderr
    assert not landing.exists() or not any(landing.iterdir()), "nothing was written into the landing folder"

    # --sample writes the last days up to yesterday (Seoul time) and loads them.
    first = stockmart(env, "run", "--sample", "--days", "2", "--trades-per-day", "30")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    yesterday = dt.datetime.now(ZoneInfo("Asia/Seoul")).date() - dt.timedelta(days=1)
    days = [(yesterday - dt.timedelta(days=1)).isoformat(), yesterday.isoformat()]
    assert f"daily partitions start on {days[0]}" in first.stdout
    assert f"daily_partition {days[0]} .. {days[1]}: ok" in first.stdout, "consecutive days load in one run"
    assert "mart.trade" in first.stdout and "60 rows over 2 day(s)" in first.stdout, first.stdout
    assert "quality checks this run:" in first.stdout and ", 0 failed" in first.stdout
    assert "See it all in the UI: stockmart ui" in first.stdout
    assert "mysql stop" not in first.stdout, "a server given by STOCKMART_MYSQL_URL is not ours to stop"
    assert "DEBUG" not in first.stdout + first.stderr and "Setting default log level" not in first.stderr
    assert table_state(mysql_url)["trade"][0] == 60
    assert spark_starts(first) == 1, "the dimensions run and the days' run share one Spark session"

    # Nothing changed: nothing runs, and it says so.
    again = stockmart(env, "run", "--sample")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "already holds" in again.stdout and "nothing changed since the last load" in again.stdout
    assert spark_starts(again) == 0, "nothing to load starts no JVM"
    instance = dg.DagsterInstance.from_config(str(home / "dagster_home"))
    assert len(instance.get_run_records()) == 2, "the dimension run and one daily run, none since"

    # What the CLI loaded counts as loaded for the landing sensor too (one notion of change).
    landing_resource = LandingResource(path=str(landing))
    context = dg.build_sensor_context(instance=instance, resources={"landing": landing_resource}, definitions=defs)
    assert not landing_files(context).run_requests

    # A new file touching one day loads exactly that day.
    (landing / "trade_extra.csv").write_text("주문id,고객id,주식,거래종류,주문량,주문일시\n"
                                             f"9001,1,2,매수,3,{days[1]} 10:00\n", encoding="utf-8")
    third = stockmart(env, "run")
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert f"to load: {days[1]} (changed)" in third.stdout
    assert f"daily_partition {days[1]}: ok" in third.stdout and days[0] not in third.stdout.split("to load:")[1]
    assert table_state(mysql_url)["trade"][0] == 61
    assert spark_starts(third) == 1
    runs = instance.get_run_records()
    assert len(runs) == 3 and runs[0].dagster_run.tags["dagster/asset_partition_range_start"] == days[1]
