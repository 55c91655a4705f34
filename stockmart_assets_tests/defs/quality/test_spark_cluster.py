"""The quality gate on a real Spark standalone cluster, the way PROD runs it.

A master and two 1-core, 1g workers from the pyspark distribution run on loopback (``spark_cluster``); this
process is the driver, through ``STOCKMART_SPARK_MASTER=spark://...`` and ``build_resources("LOCAL")``. The
Deequ and Connector/J jars reach the executors only through ``spark.jars`` (local paths on the driver, which
serves them): the JDBC reads run on the executors, and the column profiler runs Deequ's own aggregate
functions there.
"""

import os
import subprocess
import sys

import dagster as dg
import duckdb
import pytest

from stockmart_assets.defs.mysql.assets import mysql_assets
from stockmart_assets.defs.quality.checks import quality_checks
from stockmart_assets.defs.quality.results import ANOMALY_CHECK, SUITE_CHECK
from stockmart_assets.defs.raw.assets import raw_assets
from stockmart_assets.environment import build_resources
from stockmart_assets.lib.day import Day
from stockmart_assets.lib.landing.contract import TRADE
from stockmart_assets.lib.deequ import jars
from stockmart_assets.lib.deequ import spark as quality_spark
from stockmart_assets.lib.deequ.samples import sample_rows
from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.defs.quality.resources import SparkResource
from stockmart_assets_tests.support.spark_cluster import SparkCluster, spark_cluster  # noqa: F401  (fixture)
from stockmart_assets_tests.support.pipeline import ALL_ASSETS, DIMENSIONS, FACTS

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.mysql]
APP_NAME = "stockmart-quality"  # get_spark's default
DAY = "2024-12-26"


def driver_jvms() -> list[str]:
    """The driver's JVM (pyspark's spark-submit), not the cluster's daemons, which are children of this process too."""
    out = subprocess.run(["pgrep", "-P", str(os.getpid()), "-a", "java"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if "org.apache.spark.deploy.SparkSubmit" in line]


def check_outcomes(result) -> dict[tuple[str, str], bool]:
    checks = [e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    return {(c.asset_key.to_user_string(), c.check_name): c.passed for c in checks}


def test_the_quality_suites_run_on_a_standalone_cluster(spark_cluster, mysql_url, seed_landing, tmp_path, monkeypatch):
    monkeypatch.setenv("STOCKMART_SPARK_MASTER", spark_cluster.master_url)
    monkeypatch.setenv("STOCKMART_SPARK_DRIVER_MEMORY", "1g")
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # the driver listens on loopback, like the cluster
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # the Python executors would start, if any Python ran there
    monkeypatch.setenv("STOCKMART_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STOCKMART_LANDING_DIR", str(seed_landing))
    monkeypatch.delenv("STOCKMART_LAKE_DIR", raising=False)
    instance = dg.DagsterInstance.ephemeral()

    def run(keys, partition=None):
        return dg.materialize(
            [*ALL_ASSETS, *quality_checks],
            selection=dg.AssetSelection.assets(*keys), resources=build_resources("LOCAL"), instance=instance,
            partition_key=partition, raise_on_error=False)

    dimensions = run(DIMENSIONS)
    assert dimensions.success, spark_cluster.log_tail()
    facts = run(FACTS, DAY)  # the checks profile too: Deequ's UDAFs (classes of its jar) run on executors
    assert facts.success, spark_cluster.log_tail()

    outcomes = {**check_outcomes(dimensions), **check_outcomes(facts)}
    for table in ("budget", "customer", "stocks", "trade", "stock_price"):
        assert outcomes[(f"mysql/{table}", SUITE_CHECK)] is True, table
    assert outcomes[("mysql/trade", ANOMALY_CHECK)] is True  # the first partition: stored as the baseline
    warehouse = str(tmp_path / "home" / "warehouse.duckdb")
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM mart.trade").fetchall() == [(2,)]  # the day passed the gate
        failed = con.execute("SELECT count(*) FROM mart.verification_results WHERE suite = 'deequ_suite' "
                             "AND constraint_status <> 'Success'").fetchall()
        assert failed == [(0,)]
        profiled = con.execute("SELECT table_name, column_name, data_type FROM mart.column_profiles "
                               "WHERE column_name IN ('quantity', 'volume') ORDER BY 1").fetchall()
        assert profiled == [("stock_price", "volume", "Integral"), ("trade", "quantity", "Integral")]
    assert quality_spark._session is None and not driver_jvms(), "the driver's JVM is stopped after each run"

    # The cluster ran both runs: one application per run, each with an executor on every worker.
    spark_cluster.wait_until_idle(completed=2)
    apps = spark_cluster.applications()
    assert [a["name"] for a in apps] == [APP_NAME, APP_NAME], apps
    assert {a["state"] for a in apps} == {"FINISHED"}, apps
    workers = spark_cluster.worker_states()
    for app in apps:
        ran_on = {name for name, w in workers.items()
                  for e in [*w["executors"], *w["finishedexecutors"]] if e["appid"] == app["id"]}
        assert ran_on == {"worker-0", "worker-1"}, (app["id"], workers)

    # Executors fetched both jars from the driver and ran tasks, with no class missing.
    jar_names = [path.name for path in jars.fetch()]
    tasks_by_worker = {}
    for app in apps:
        for (worker, executor), log in spark_cluster.executor_logs(app["id"]).items():
            assert "ClassNotFoundException" not in log and "NoClassDefFoundError" not in log, log[-3000:]
            tasks = log.count("Finished task")
            tasks_by_worker[worker] = tasks_by_worker.get(worker, 0) + tasks
            if tasks:
                for name in jar_names:
                    assert f"/jars/{name}" in log and f"{name} to class loader" in log, (name, log[-3000:])
    assert set(tasks_by_worker) == {"worker-0", "worker-1"} and all(tasks_by_worker.values()), tasks_by_worker

    spark_cluster.stop()
    assert not spark_cluster.leftovers(), "no process of the cluster (master, workers, executors) is left"


def test_executors_read_datetimes_as_stored_whatever_their_time_zone(mysql_url, seed_landing, tmp_path, monkeypatch):
    """PROD's workers need not run on UTC: DATETIMEs read on executors must still be the stored wall-clock time."""
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    monkeypatch.setenv("STOCKMART_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STOCKMART_LANDING_DIR", str(seed_landing))
    monkeypatch.delenv("STOCKMART_LAKE_DIR", raising=False)
    tables = ("budget", "customer", "stocks", "trade")
    keys = [[layer, t] for layer in ("raw", "mysql") for t in tables]
    loaded = dg.materialize([*raw_assets, *mysql_assets], selection=dg.AssetSelection.assets(*keys).without_checks(),
                            partition_key=DAY, resources=build_resources("LOCAL"), raise_on_error=False)
    assert loaded.success

    with SparkCluster(tmp_path / "seoul-cluster", env={"TZ": "Asia/Seoul"}).start() as cluster:
        spark = SparkResource(master=cluster.master_url, driver_memory="1g")  # the production defaults
        try:
            df = spark.read_mysql(MySQLResource(url=mysql_url), TRADE, Day.of(DAY))  # the JDBC read runs on the executors
            rows = sample_rows(df.select("order_id", "order_datetime").orderBy("order_id"), limit=None)
        finally:
            quality_spark.stop_spark()
    assert not cluster.leftovers()
    stored = [{"order_id": 101, "order_datetime": "2024-12-26 09:15:00"},
              {"order_id": 102, "order_datetime": "2024-12-26 09:47:00"}]
    # Without -Duser.timezone=UTC on the executors they would read 09:15 as 00:15 (the Seoul workers' zone),
    # and a trade stored at 00:00-08:59 would fall on the previous day.
    assert rows == stored
