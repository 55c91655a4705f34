"""The process's one SparkSession: reused while its master is the one asked for, replaced when it is not."""

import pytest

from stockmart_assets.lib.deequ.spark import get_spark

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_a_session_for_another_master_replaces_the_running_one(spark):
    assert get_spark(spark.sparkContext.master) is spark, "same master: the running session"
    other = get_spark("local[1]")
    try:
        assert other.sparkContext.master == "local[1]"
        assert spark.sparkContext._jsc is None, "the previous session was stopped, not left running beside it"
        assert other.range(3).count() == 3
    finally:
        get_spark("local[*]")  # the shared session's master, for the module's other tests


def test_an_idle_driver_gives_its_heap_back(spark):
    """The run's driver idles through the mart steps: its heap must shrink to what is live, not keep its peak."""
    import time

    from pyspark import StorageLevel

    runtime = spark._jvm.java.lang.Runtime.getRuntime()
    df = spark.range(3_000_000).selectExpr("id", "repeat(CAST(id AS STRING), 8) AS s")
    df.persist(StorageLevel.MEMORY_ONLY).count()
    held = runtime.totalMemory()
    df.unpersist(blocking=True)
    deadline = time.monotonic() + 60
    while runtime.totalMemory() > held / 2:
        assert time.monotonic() < deadline, f"the heap stayed at {runtime.totalMemory() >> 20} MiB"
        time.sleep(1)
