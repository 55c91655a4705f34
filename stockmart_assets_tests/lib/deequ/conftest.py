"""One real Spark session (with Deequ) for the whole test run; stop_spark() ends it and its JVM."""

from __future__ import annotations

import pytest

from stockmart_assets.lib.deequ.spark import get_spark, stop_spark


@pytest.fixture(scope="session")
def spark_session():
    yield get_spark(driver_memory="1g")
    stop_spark()


@pytest.fixture
def spark(spark_session):
    """The running session (a test may restart Spark; this always returns the live one)."""
    return get_spark()
