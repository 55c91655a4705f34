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
