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
from typing import TYPE_CHECKING, Callable, Mapping

from stockmart_assets.lib.deequ import class_archive, jars

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
# G1 gives memory back to the machine: a periodic collection while the driver idles (the run's mart steps, after
# its checks) shrinks the heap to what is live, instead of holding its peak to the end.
DRIVER_JAVA_OPTIONS = (f"-Duser.timezone=UTC -Dlog4j2.configurationFile=file:{LOG_CONFIG} -XX:+UseG1GC "
                       "-XX:G1PeriodicGCInterval=2000 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30")

# C1 alone compiles the code paths of a JVM's first passes sooner and cheaper, leaving the cores to the passes; C2's
# optimized code pays for its compiles only over long aggregations (BENCHMARKS.md has both sides). So a local driver
# JVM compiles with C1 alone only when the command that starts it knows it will check little (``held(quick_jit=True)``).
QUICK_JIT = "-XX:TieredStopAtLevel=1"
QUICK_JIT_MAX_BYTES = 64 << 20  # the landing bytes of the runs a held session serves, at most, for a quick JIT

# The driver the environment asks for (environment.py configures the Spark resource with the same variables).
MASTER_VARIABLE, DRIVER_MEMORY_VARIABLE = "STOCKMART_SPARK_MASTER", "STOCKMART_SPARK_DRIVER_MEMORY"
LOCAL_MASTER, DEFAULT_DRIVER_MEMORY = "local[*]", "2g"

_session: SparkSession | None = None
_holds = 0
_quick_jit = False
_lock = threading.RLock()  # a session starting in one thread is the session another thread asks for
_starting: threading.Thread | None = None  # a start in the background (``start_in_background``), until waited for
_start_error: BaseException | None = None
_starting_lock = threading.Lock()


def environment_driver() -> dict[str, str]:
    """``get_spark``'s master and driver memory as the environment sets them: what the Spark resource of a run
    asks for, known without importing Dagster."""
    return {"master": os.getenv(MASTER_VARIABLE) or LOCAL_MASTER,
            "driver_memory": os.getenv(DRIVER_MEMORY_VARIABLE) or DEFAULT_DRIVER_MEMORY}


def prepare_pydeequ() -> None:
    """Pin the Spark line pydeequ must assume; pydeequ reads SPARK_VERSION when first imported."""
    os.environ["SPARK_VERSION"] = jars.DEEQU_SPARK_LINE


def get_spark(
    master: str = LOCAL_MASTER,
    *,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    app_name: str = "stockmart-quality",
    ui_enabled: bool = False,
    shuffle_partitions: int = 4,
    conf: Mapping[str, str] | None = None,
    quick_jit: bool = False,
) -> SparkSession:
    """Return this process's SparkSession, starting it (and the JVM) on the first call.

    Later calls return the running session and ignore their other arguments; a call for another master
    stops it and starts one there. For a local master Spark binds to
    127.0.0.1 (SPARK_LOCAL_IP, unless set) rather than guessing an interface. Timestamps are compared in UTC
    with no conversion, so a trade's stored wall-clock time and a price bar's UTC time both match the
    partition-day literals the suites build (and JDBC reads DATETIME as stored). A call while another thread
    starts the session waits for it. ``quick_jit``: a local driver JVM started by this call compiles with C1
    alone (``QUICK_JIT``), as it does for the runs of a hold for little data (``held``).
    """
    with _lock:
        return _get_spark(master, driver_memory, app_name, ui_enabled, shuffle_partitions, conf, quick_jit)


def _get_spark(master: str, driver_memory: str, app_name: str, ui_enabled: bool, shuffle_partitions: int,
               conf: Mapping[str, str] | None, quick_jit: bool) -> SparkSession:
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

    java_options = [DRIVER_JAVA_OPTIONS, class_archive.java_options(DRIVER_JAVA_OPTIONS)]
    # On a cluster the executors run the passes, not the driver.
    if (quick_jit or _quick_jit) and master.startswith("local"):
        java_options.append(QUICK_JIT)
    settings = {
        "spark.jars": ",".join(str(path) for path in jars.fetch()),
        "spark.driver.memory": driver_memory,
        # With the class archive made at setup, if there is one for this Java and pyspark (class_archive.py).
        "spark.driver.extraJavaOptions": " ".join(option for option in java_options if option),
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


def start_in_background(master: str = LOCAL_MASTER, *, warn: Callable[[str], object] = print, **settings) -> None:
    """Start this process's session (``get_spark(master, **settings)``) and warm it up (``warm_up``) in a thread,
    unless it runs or is starting already: the first to ask starts it, and a later caller (a run's resource set
    up while ``stockmart run``'s own start is under way) neither starts nor warms up a second time. A failed
    warm-up only costs time (``warn`` says so); a failed start is raised by ``wait_for_start``."""
    global _starting
    with _starting_lock:
        if _starting is not None or is_running():
            return

        def start() -> None:
            global _start_error
            try:
                session = get_spark(master, **settings)
            except BaseException as e:  # the first caller that waits for the start raises it
                _start_error = e
                return
            try:
                warm_up(session)
            except Exception as e:  # the checks still run, and meet any real problem themselves
                warn(f"Spark's warm-up pass failed (the checks run without it): {e!r}")

        _starting = threading.Thread(target=start, name="spark-start", daemon=True)
        _starting.start()


def wait_for_start() -> None:
    """Wait for a start begun in the background, if any; its error, if any, is raised to the first caller."""
    global _starting, _start_error
    with _starting_lock:
        thread = _starting
    if thread is None or thread is threading.current_thread():  # the start itself, replacing another session
        return
    thread.join()
    with _starting_lock:
        if _starting is not thread:
            return  # another caller took the outcome
        error, _starting, _start_error = _start_error, None, None
    if error is not None:
        raise error


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
def held(*, quick_jit: bool = False) -> Iterator[None]:
    """Keep this process's session, once started, until the block ends: a command that executes several runs
    one after another (``stockmart run``: the dimensions, then the days) starts Spark once, not once per run.
    Runs ending inside the block leave the session running (``is_held``); the block's end stops it.
    ``quick_jit``: the runs check little (``QUICK_JIT_MAX_BYTES``), so a JVM started for them compiles with
    C1 alone (``QUICK_JIT``)."""
    global _holds, _quick_jit
    if not _holds:
        _quick_jit = quick_jit
    _holds += 1
    try:
        yield
    finally:
        _holds -= 1
        if not _holds:
            stop_spark()
            _quick_jit = False


def is_held() -> bool:
    return _holds > 0


def is_running() -> bool:
    return _session is not None and _session.sparkContext._jsc is not None


def stop_spark() -> None:
    """Stop the session, pydeequ's Python callback server and the gateway JVM (once a start in the background
    has ended); safe to call twice."""
    try:
        wait_for_start()
    except BaseException:
        pass  # it never started: nothing to stop (whoever needed the session has met the error)
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
