"""`stockmart run` as a user meets it: an empty folder, `--sample`, a rerun with nothing new, one changed day."""

import datetime as dt
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from stockmart_assets.definitions import defs
from stockmart_assets.defs.raw.resources import LandingResource
from stockmart_assets.defs.orchestration.sensors import landing_files
from stockmart_assets_tests.conftest import mysql_connect, table_state

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

    # A new trade file no day can be read from (another delimiter) stops the command, named at its line and
    # column; no run starts. Once it is fixed, its day loads.
    bad = landing / "trade_semicolons.csv"
    bad.write_text("주문id;고객id;주식;거래종류;주문량;주문일시\n"
                   f"9002;1;2;매수;3;{days[1]} 11:00\n", encoding="utf-8")
    refused = stockmart(env, "run")
    assert refused.returncode == 4, refused.stdout[-3000:] + refused.stderr[-3000:]
    assert f"{bad}, line 1, column" in refused.stderr and "nothing loaded" in refused.stderr, refused.stderr
    assert len(instance.get_run_records()) == 3 and spark_starts(refused) == 0
    bad.write_text(bad.read_text(encoding="utf-8").replace(";", ","), encoding="utf-8")
    fixed = stockmart(env, "run")
    assert fixed.returncode == 0 and f"to load: {days[1]} (changed)" in fixed.stdout, fixed.stdout + fixed.stderr
    assert table_state(mysql_url)["trade"][0] == 62

    # An order whose date is corrected to the day before: both days load again (the file no longer holds the one,
    # and now holds the other), and the order moves.
    moved = (landing / "trade_extra.csv").read_text(encoding="utf-8").replace(days[1], days[0])
    (landing / "trade_extra.csv").write_text(moved, encoding="utf-8")
    again = stockmart(env, "run")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"to load: {days[0]} (changed); {days[1]} (changed)" in again.stdout, again.stdout
    with mysql_connect(mysql_url) as con, con.cursor() as cur:
        cur.execute("SELECT DATE(order_datetime) FROM trade WHERE order_id = 9001")
        assert cur.fetchall() == ((dt.date.fromisoformat(days[0]),),)
    assert table_state(mysql_url)["trade"][0] == 62



def test_days_no_landing_file_holds_any_more_are_named(tmp_path):
    """A day loaded with rows that no landing file touches now (its file removed, its dates corrected) is named;
    a day run without rows (a weekend inside a backfill) is not."""
    from stockmart_assets.cli.run import _days_without_files
    from stockmart_assets.lib.landing.units import landing_units

    instance = dg.DagsterInstance.ephemeral()
    for table, day, rows in [("trade", "2024-12-26", 5), ("trade", "2024-12-27", 3), ("stock_price", "2024-12-28", 2),
                             ("trade", "2024-12-29", 0)]:
        instance.report_runless_asset_event(dg.AssetMaterialization(
            dg.AssetKey(["raw", table]), partition=day, metadata={"dagster/row_count": rows}))
    units = landing_units({"trade.csv": ("trade", "1:10")}, {"trade.csv": ["2024-12-26"]})
    assert _days_without_files(instance, units) == ["2024-12-27", "2024-12-28"]
    assert _days_without_files(instance, landing_units({}, {})) == ["2024-12-26", "2024-12-27", "2024-12-28"]


def test_a_runs_console_prints_an_errors_message_without_its_stack_trace(capfd):
    """`stockmart run` prints Dagster's console log; an error there is its message (the UI keeps the frames)."""
    from dagster._utils.log import create_console_logger

    from stockmart_assets.cli.run import _brief_console

    message = ("STEP_FAILURE - Execution of step failed.\n\nFailure: 1 problem(s) in landing files:\n"
               "  - trade.csv, line 62, column 'quantity': not a number\n\nStack Trace:\n  File \"x.py\", line 1\n")
    with _brief_console():
        create_console_logger("brief", "INFO").error(message)
    create_console_logger("full", "INFO").error(message)  # outside the block, Dagster's logger as it is
    brief, full = capfd.readouterr().err.split("STEP_FAILURE")[1:]
    assert "line 62, column 'quantity'" in brief and "Stack Trace" not in brief and 'File "x.py"' not in brief
    assert "Stack Trace" in full


def test_a_corrected_date_empties_the_day_no_file_holds_any_more_when_asked(tmp_path, mysql_url):
    """An order dated 2014 by mistake is loaded on 2014-12-26; corrected to 2024, its new day is refused while the
    old day holds it (a missing export never empties a day), and `--empty-days-without-files` empties the old day
    first, so the new day loads."""
    from stockmart_assets_tests.conftest import SEED_FILES, write_landing

    home = tmp_path / "home"
    env = {**os.environ, "STOCKMART_HOME": str(home), "STOCKMART_MYSQL_URL": mysql_url,
           "STOCKMART_LANDING_DIR": str(home / "landing")}
    for name in ("DAGSTER_HOME", "STOCKMART_PARTITIONS_START"):
        env.pop(name, None)
    typo = SEED_FILES["trade.csv"].replace("101,1,2,매수,30,2024-12-26 09:15", "101,1,2,매수,30,2014-12-26 09:15")
    landing = write_landing(home / "landing", {**SEED_FILES, "trade.csv": typo})
    first = stockmart(env, "run")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    (landing / "trade.csv").write_text(SEED_FILES["trade.csv"], encoding="utf-8")
    refused = stockmart(env, "run")
    assert refused.returncode == 1, refused.stdout[-3000:] + refused.stderr[-3000:]
    out = refused.stdout + refused.stderr
    assert "1 day(s) loaded earlier are in no landing file now; their rows stay" in out, out
    assert "--empty-days-without-files" in out and "2014-12-26" in out
    assert "101 is already in mysql.trade on 2014-12-26" in out, out

    emptied = stockmart(env, "run", "--empty-days-without-files")
    assert emptied.returncode == 0, emptied.stdout[-3000:] + emptied.stderr[-3000:]
    assert "1 day(s) loaded earlier are in no landing file now, and are emptied: 2014-12-26" in emptied.stdout
    with mysql_connect(mysql_url) as con, con.cursor() as cur:
        cur.execute("SELECT order_id, DATE(order_datetime) FROM trade ORDER BY order_id LIMIT 1")
        assert cur.fetchall() == ((101, dt.date(2024, 12, 26)),)
    assert table_state(mysql_url)["trade"][0] == 5
    mart = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    assert mart.execute("SELECT count(*), min(CAST(order_datetime AS DATE)) FROM mart.trade").fetchall() == [
        (5, dt.date(2024, 12, 26))]
    mart.close()
    again = stockmart(env, "run")
    assert again.returncode == 0 and "nothing changed since the last load" in again.stdout, again.stdout
    assert "no landing file now" not in again.stdout


def test_trades_without_price_bars_load_and_then_nothing_changes(tmp_path, mysql_url):
    """A landing folder of the service's exports alone (no stock/ bars): the days load with no bars, and a rerun
    finds nothing to do. A CSV file no landing name matches is listed, not read."""
    from stockmart_assets_tests.conftest import SEED_FILES, write_landing

    home = tmp_path / "home"
    env = {**os.environ, "STOCKMART_HOME": str(home), "STOCKMART_MYSQL_URL": mysql_url,
           "STOCKMART_LANDING_DIR": str(home / "landing")}
    for name in ("DAGSTER_HOME", "STOCKMART_PARTITIONS_START"):
        env.pop(name, None)
    write_landing(home / "landing", {**{k: v for k, v in SEED_FILES.items() if not k.startswith("stock/")},
                                     "stocks/AAPL_data.csv": SEED_FILES["stock/AAPL_data.csv"]})
    first = stockmart(env, "run")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "not read (no landing file is named so; see the README's landing contract): stocks/AAPL_data.csv" in (
        first.stdout)
    assert "mart.trade                          5 rows over 3 day(s)" in first.stdout, first.stdout
    assert table_state(mysql_url)["stock_price"][0] == 0
    again = stockmart(env, "run")
    assert again.returncode == 0 and "nothing changed since the last load" in again.stdout, again.stdout
