"""The quality stage's Spark resource: one session per run, or one across the runs of a command that holds it."""

import dagster as dg
import pytest

from stockmart_assets.defs.quality.resources import SparkResource
from stockmart_assets.lib.deequ import spark as quality_spark
from stockmart_assets_tests.support.pipeline import java_children
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


def test_a_hold_for_little_data_starts_a_jvm_that_compiles_with_c1_alone():
    quality_spark.stop_spark()
    for quick in (True, False):
        with quality_spark.held(quick_jit=quick):
            session = _run()
            jvm = session._jvm
            diagnostics = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
                jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean"))
            level = diagnostics.getVMOption("TieredStopAtLevel").getValue()
            assert level == ("1" if quick else "4"), f"quick_jit={quick}: TieredStopAtLevel {level}"
        assert not quality_spark.is_running()
    assert not java_children()
