"""The quality stage's Spark resource: one session per run, or one across the runs of a command that holds it."""

import dagster as dg
import pytest

from stockmart_assets.defs.quality.resources import SparkResource
from stockmart_assets.lib.deequ import spark as quality_spark
from stockmart_assets_tests.support.pipeline import java_children, pipeline  # noqa: F401  (pipeline: a fixture)
from stockmart_assets_tests.support.spark_starts import STARTS

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _run() -> object:
    """What a run does with the resource: set up at its start (Spark starts in the background), a check step's
    session, torn down at its end."""
    with dg.build_resources({"spark": SparkResource(driver_memory="1g")}) as resources:
        return resources.spark.session()


def test_runs_inside_a_hold_share_one_session_and_the_hold_stops_it():
    quality_spark.stop_spark()  # a session another test of this process left running
    starts = STARTS.count
    with quality_spark.held():  # as `stockmart run` executes the dimensions, then the days
        first = _run()
        assert quality_spark.is_running(), "a run's end leaves a held session running"
        second = _run()
        assert quality_spark.is_running()
    assert second is first and STARTS.count == starts + 1, "the held runs share one session"
    assert not quality_spark.is_running() and not java_children(), "the hold's end stops Spark and its JVM"

    _run()
    assert STARTS.count == starts + 2
    assert not quality_spark.is_running() and not java_children(), "without a hold, a run's end stops Spark"


def test_a_session_asked_for_while_another_thread_starts_it_is_that_session():
    """`stockmart run` starts Spark in the background while its first run sets up, and that run's resource
    asks for the session too: one session starts, and both get it."""
    import threading

    quality_spark.stop_spark()
    starts, got = STARTS.count, []
    threads = [threading.Thread(target=lambda: got.append(quality_spark.get_spark(driver_memory="1g")))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(got) == 2 and got[0] is got[1] and STARTS.count == starts + 1
    finally:
        quality_spark.stop_spark()
    assert not java_children()


def _jobs(session) -> int:
    return len(session.sparkContext.statusTracker().getJobIdsForGroup(None))


def test_a_run_set_up_while_the_command_starts_spark_neither_starts_nor_warms_up_again():
    """`stockmart run` starts Spark (and its warm-up) itself, before importing Dagster; its first run's resource
    is set up while that start is under way, and uses it."""
    quality_spark.stop_spark()
    starts = STARTS.count
    with quality_spark.held():
        quality_spark.start_in_background(driver_memory="1g")
        session = _run()
        jobs = _jobs(session)
        quality_spark.warm_up(session)
        assert jobs == _jobs(session) - jobs > 0, "one warm-up ran, not one per start asked for"
    assert STARTS.count == starts + 1 and not java_children()


def _tiered_stop_level(session) -> str:
    jvm = session._jvm
    diagnostics = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean"))
    return diagnostics.getVMOption("TieredStopAtLevel").getValue()


def test_stockmart_run_starts_a_jvm_that_compiles_with_c1_alone_only_for_a_small_load():
    from stockmart_assets.cli.run import _spark_for_the_runs

    quality_spark.stop_spark()
    for landing_bytes, level in ((quality_spark.QUICK_JIT_MAX_BYTES, "1"), (quality_spark.QUICK_JIT_MAX_BYTES + 1, "4")):
        with _spark_for_the_runs(landing_bytes):  # the command's own start, then its first run's resource
            assert _tiered_stop_level(_run()) == level, f"{landing_bytes} landing bytes"
        assert not quality_spark.is_running()
    assert not java_children()


def test_a_run_over_a_small_landing_folder_starts_a_jvm_that_compiles_with_c1_alone(tmp_path):
    """A run launched from the UI or a sensor has no command counting its bytes: its resource looks at the
    landing folder, all of it, with the same limit."""
    for name in ("budget.csv", "customer.csv", "stocks.csv", "trade.csv"):
        (tmp_path / name).write_text("x\n")
    small = sum(f.stat().st_size for f in tmp_path.iterdir())

    def level(landing: str) -> str:
        with dg.build_resources({"spark": SparkResource(driver_memory="1g", landing_path=landing)}) as resources:
            return _tiered_stop_level(resources.spark.session())

    quality_spark.stop_spark()
    with open(tmp_path / "trade.csv", "r+b") as trades:  # sparse: its size is what counts
        trades.truncate(quality_spark.QUICK_JIT_MAX_BYTES - small + 2)
    assert level(str(tmp_path)) == "1"
    with open(tmp_path / "trade.csv", "r+b") as trades:
        trades.truncate(quality_spark.QUICK_JIT_MAX_BYTES - small + 3)
    assert level(str(tmp_path)) == "4"
    assert level(str(tmp_path / "missing")) == "4"
    assert not quality_spark.is_running() and not java_children()


def test_a_failed_background_start_is_raised_once_to_whoever_waits_and_leaves_no_jvm():
    quality_spark.stop_spark()
    quality_spark.start_in_background(driver_memory="lots")  # not a size: the JVM refuses to start
    with pytest.raises(Exception, match="JAVA_GATEWAY_EXITED|Java gateway"):
        quality_spark.wait_for_start()
    quality_spark.wait_for_start()  # the outcome was taken: nothing left to wait for
    assert not quality_spark.is_running() and not java_children()


def test_stopping_spark_while_it_starts_waits_for_the_start_and_its_warm_up_and_leaves_no_jvm():
    """`stockmart run` starts Spark early and may stop at once (runs already in progress in its home): the
    stop neither races the start (a JVM left behind) nor pulls the session from under the warm-up."""
    import threading

    quality_spark.stop_spark()
    warned: list[str] = []
    quality_spark.start_in_background(driver_memory="1g", warn=warned.append)
    quality_spark.stop_spark()
    for thread in threading.enumerate():  # a start left running would end now, with a session up
        if thread.name == "spark-start":
            thread.join(timeout=120)
    try:
        assert warned == [] and not quality_spark.is_running() and not java_children()
    finally:
        quality_spark.stop_spark()


@pytest.mark.mysql
def test_a_read_of_few_rows_is_one_jdbc_query_and_a_larger_one_is_sliced(mysql_url):
    """Each slice of a read is a task with a JDBC connection of its own: the check steps read a table or days
    of at most ``INTERPRETED_MAX_ROWS`` rows (``few_rows``) in one."""
    from stockmart_assets.defs.mysql.resources import MySQLResource
    from stockmart_assets.lib.day import Days
    from stockmart_assets.lib.landing.contract import TRADE

    mysql = MySQLResource(url=mysql_url)
    mysql.create_tables()
    days = Days.of(["2024-12-26", "2024-12-27"])
    with dg.build_resources({"spark": SparkResource(driver_memory="1g", read_slices=4)}) as resources:
        spark = resources.spark
        assert spark.read_mysql(mysql, TRADE, days, few_rows=True).rdd.getNumPartitions() == 1
        assert spark.read_mysql(mysql, TRADE, days).rdd.getNumPartitions() == 4


@pytest.mark.mysql
def test_check_steps_over_few_rows_run_every_spark_stage_in_one_task(pipeline):
    """The seed's check steps, the dimensions' (whole tables) and a day's (its rows): each read of a few rows is
    one JDBC query, so no stage of theirs, the reads included, runs more than one task."""
    from stockmart_assets.lib.deequ.spark import environment_driver, start_in_background, wait_for_start
    from stockmart_assets_tests.support.pipeline import DIMENSIONS, FACTS

    with quality_spark.held():
        start_in_background(**environment_driver())  # the session of the runs, its warm-up outside the count
        wait_for_start()
        context, group = quality_spark.get_spark(**environment_driver()).sparkContext, "the check steps"
        context.setJobGroup(group, group)
        try:
            assert pipeline(DIMENSIONS).success
            assert pipeline(FACTS, ["2024-12-26"]).success
        finally:
            context.setLocalProperty("spark.jobGroup.id", None)
        tracker = context.statusTracker()
        stages = [tracker.getStageInfo(stage) for job in tracker.getJobIdsForGroup(group)
                  for stage in tracker.getJobInfo(job).stageIds]
    assert len(stages) >= 5, "the five tables' passes ran in the group"
    assert {stage.numTasks for stage in stages} == {1}
