"""One local SparkSession per process, with Deequ and Connector/J on its classpath.

Nothing here runs at import: pyspark is imported, the jars are fetched and the JVM starts on the first
``get_spark()``. ``stop_spark()`` ends the session *and* the JVM (pyspark otherwise keeps its gateway JVM
alive until Python exits), so a test run or a Dagster step leaves no java process behind.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from stockmart_assets.lib.deequ import class_archive, jars

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
# G1 gives memory back to the machine: a periodic collection while the driver idles (the run's mart steps, after
# its checks) shrinks the heap to what is live, instead of holding its peak to the end.
DRIVER_JAVA_OPTIONS = (f"-Duser.timezone=UTC -Dlog4j2.configurationFile=file:{LOG_CONFIG} -XX:+UseG1GC "
                       "-XX:G1PeriodicGCInterval=2000 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30")

_session: SparkSession | None = None
_holds = 0
_lock = threading.RLock()  # a session starting in one thread is the session another thread asks for


def prepare_pydeequ() -> None:
    """Pin the Spark line pydeequ must assume; pydeequ reads SPARK_VERSION when first imported."""
    os.environ["SPARK_VERSION"] = jars.DEEQU_SPARK_LINE


def get_spark(
    master: str = "local[*]",
    *,
    driver_memory: str = "2g",
    app_name: str = "stockmart-quality",
    ui_enabled: bool = False,
    shuffle_partitions: int = 4,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Return this process's SparkSession, starting it (and the JVM) on the first call.

    Later calls return the running session and ignore their other arguments; a call for another master
    stops it and starts one there. For a local master Spark binds to
    127.0.0.1 (SPARK_LOCAL_IP, unless set) rather than guessing an interface. Timestamps are compared in UTC
    with no conversion, so a trade's stored wall-clock time and a price bar's UTC time both match the
    partition-day literals the suites build (and JDBC reads DATETIME as stored). A call while another thread
    starts the session waits for it.
    """
    with _lock:
        return _get_spark(master, driver_memory, app_name, ui_enabled, shuffle_partitions, conf)


def _get_spark(master: str, driver_memory: str, app_name: str, ui_enabled: bool, shuffle_partitions: int,
               conf: Mapping[str, str] | None) -> SparkSession:
    global _session
    if is_running():
        if _session.sparkContext.master == master:
            return _session
        stop_spark()  # a run configured for another master (a cluster) must not run on this one

    installed = version("pyspark")
    if not installed.startswith(jars.DEEQU_SPARK_LINE + "."):
        raise RuntimeError(
            f"pyspark {installed} is installed, but {jars.DEEQU.coordinate} needs pyspark "
            f"{jars.DEEQU_SPARK_LINE}.x (Maven Central has no Deequ build for newer Spark)"
        )
    prepare_pydeequ()
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    settings = {
        "spark.jars": ",".join(str(path) for path in jars.fetch()),
        "spark.driver.memory": driver_memory,
        # With the class archive made at setup, if there is one for this Java and pyspark (class_archive.py).
        "spark.driver.extraJavaOptions": f"{DRIVER_JAVA_OPTIONS} {class_archive.java_options(DRIVER_JAVA_OPTIONS)}",
        # On a cluster the JDBC reads run in the executors' own JVMs, which read DATETIME in their zone too.
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.ui.enabled": str(ui_enabled).lower(),
        "spark.ui.showConsoleProgress": "false",
        **(conf or {}),
    }
    _session = start_session({"spark.master": master, "spark.app.name": app_name, **settings})
    # pydeequ starts py4j's callback server on first use and prints that it did; started here, it says nothing.
    _session.sparkContext._gateway.start_callback_server()
    # pydeequ builds DataFrames from JVM objects, which pyspark warns about on every verification.
    warnings.filterwarnings("ignore", message="DataFrame constructor is internal", category=UserWarning)
    return _session


def warm_up(spark: SparkSession) -> None:
    """Run one tiny Deequ verification: the first job's costs (loading Spark's and Deequ's classes, py4j's
    callback path, code generation) are then paid before the first real check, by a thread that starts Spark
    while the run's other steps work."""
    from pydeequ.analyzers import Size
    from pydeequ.checks import Check, CheckLevel
    from pydeequ.verification import VerificationSuite

    df = spark.range(2).selectExpr("id", "CAST(id AS STRING) AS name")
    check = Check(spark, CheckLevel.Error, "warm-up").isComplete("name").hasMax("id", lambda m: m < 10)
    builder = VerificationSuite(spark).onData(df).addCheck(check)
    builder._VerificationRunBuilder = builder._VerificationRunBuilder.addRequiredAnalyzer(
        Size()._set_jvm(spark._jvm)._analyzer_jvm)
    builder.run()


def start_session(settings: Mapping[str, str]) -> SparkSession:
    """A new session (and JVM) with ``settings``; pyspark is imported here, never when definitions load."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@contextmanager
def held() -> Iterator[None]:
    """Keep this process's session, once started, until the block ends: a command that executes several runs
    one after another (``stockmart run``: the dimensions, then the days) starts Spark once, not once per run.
    Runs ending inside the block leave the session running (``is_held``); the block's end stops it."""
    global _holds
    _holds += 1
    try:
        yield
    finally:
        _holds -= 1
        if not _holds:
            stop_spark()


def is_held() -> bool:
    return _holds > 0


def is_running() -> bool:
    return _session is not None and _session.sparkContext._jsc is not None


def stop_spark() -> None:
    """Stop the session, pydeequ's Python callback server and the gateway JVM; safe to call twice."""
    with _lock:
        _stop_spark()


def _stop_spark() -> None:
    global _session
    if _session is None:
        return
    from pyspark import SparkContext

    gateway = _session.sparkContext._gateway
    gateway.shutdown_callback_server()
    _session.stop()
    _session = None
    gateway.shutdown()
    process = getattr(gateway, "proc", None)
    if process is not None:
        # The gateway JVM exits when its stdin closes (pyspark's PythonGatewayServer waits on it).
        process.stdin.close()
        process.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None
