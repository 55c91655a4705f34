"""A class-data-sharing archive of the Spark driver's classes (the JDK's AppCDS), made once at setup.

A fresh driver JVM spends most of its start, and of its first Deequ pass, loading and verifying thousands of
Spark and Scala classes from their jars. A dynamic archive (``-XX:ArchiveClassesAtExit``) written by one JVM
that ran a representative pass holds those classes already parsed and verified; every later driver JVM maps
it (``-XX:SharedArchiveFile``) instead of loading them again. Every run, every launched run's process and every
test that starts Spark starts such a JVM, so they all start faster.

``python -m stockmart_assets.lib.deequ.class_archive`` (run by ``scripts/setup.sh``) writes the archive into
the Python environment (``<prefix>/share/stockmart``), beside a stamp naming the Java and pyspark it was made
with. ``java_options()`` offers it to a driver JVM only while that stamp still matches (and never to one given a
Java agent or a flight recording, which JDK 17 crashes on with an archive: ``_HOOKS``); the JVM also checks it
(its version, the jars on the class path) and, if it does not match, starts without it. Either way nothing is
printed, and a missing or stale archive only means a slower start, never a failed one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

# Silences the JVM's notices about the archive (used, refused, written): a refused archive is not an error.
_QUIET = "-Xlog:cds=off,cds+dynamic=off"
# A stamp's prefix saying that this Java and pyspark wrote no archive here: setup does not try again until they change.
_NONE = "none "
# JVM options that hook class loading (a Java agent, a flight recording). JDK 17 crashes (SIGSEGV in
# KlassFactory::check_shared_class_file_load_hook) when such a hook meets a class from a dynamic archive, so the
# archive is not offered to a JVM that the environment gives one of them.
_HOOKS = ("-javaagent", "-agentlib", "-agentpath", "-XX:StartFlightRecording", "-XX:+FlightRecorder")
_ENVIRONMENT_OPTIONS = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "SPARK_SUBMIT_OPTS")


def archive_path() -> Path:
    """Where the archive lives: in the Python environment that holds the pyspark whose jars it archives."""
    return Path(sys.prefix) / "share" / "stockmart" / "spark-classes.jsa"


def _java() -> Path | None:
    """The java binary Spark's launcher runs (``$JAVA_HOME/bin/java``, else the first on PATH)."""
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    return Path(os.path.realpath(found)) if found and os.path.exists(found) else None


def stamp(base_options: str) -> str | None:
    """What the archive depends on: the JVM (its binary and its module image), pyspark's version and jars, the
    driver's JVM options (the collector and heap layout must be the ones it was made with), and this module (the
    pass that chooses which classes it holds). None without a java to run."""
    java = _java()
    if java is None:
        return None
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    parts = [str(java), base_options, version("pyspark"), str(jars),
             hashlib.sha256(Path(__file__).read_bytes()).hexdigest()]
    for path in (java, java.parent.parent / "lib" / "modules", jars):
        try:
            info = path.stat()
        except OSError:
            continue
        parts.append(f"{path}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _stamp_path(archive: Path) -> Path:
    return archive.with_suffix(".stamp")


def _recorded(archive: Path) -> str:
    try:
        return _stamp_path(archive).read_text().strip()
    except OSError:
        return ""


def java_options(base_options: str) -> str:
    """The driver's JVM options that map the archive, or "" when there is none for this Java and pyspark, or
    when the JVM would hook class loading (``_HOOKS``, in ``base_options`` or the environment's JVM options)."""
    offered = is_current(base_options) and not _hooked(base_options)
    return f"-XX:SharedArchiveFile={archive_path()} {_QUIET}" if offered else ""


def _hooked(base_options: str) -> bool:
    options = " ".join([base_options, *(os.environ.get(name, "") for name in _ENVIRONMENT_OPTIONS)])
    return any(hook in options for hook in _HOOKS)


def is_current(base_options: str) -> bool:
    archive = archive_path()
    return _recorded(archive) == stamp(base_options) and archive.is_file()


def is_settled(base_options: str) -> bool:
    """Whether setup has nothing to do: the archive is current, or this Java and pyspark are known to write none
    here (a folder with files on Spark's class path, such as a ``SPARK_CONF_DIR`` of one's own: the JDK archives
    no class path that holds one), or there is no java."""
    wanted = stamp(base_options)
    return wanted is None or is_current(base_options) or _recorded(archive_path()) == _NONE + wanted


def _exercise(spark) -> None:
    """A pass like a run's checks over each contract table (three days where the table is partitioned: two with
    rows, the last without), with its suite, foreign keys, anomaly watch and column profile, so the classes those
    load are archived. The second day is compared with the first, as a run's days are with earlier ones: an
    anomaly check's first evaluation loads over a thousand classes of its own (Breeze's). The days are recent
    ones because Deequ's dates are epoch milliseconds, which py4j passes as a Java int up to 2**31 (January 1970),
    and an anomaly check's date bound must be a long. Its rows break rules on purpose: fetching failing rows is
    part of a pass too."""
    from stockmart_assets.lib.day import WHOLE, Day
    from stockmart_assets.lib.deequ.anomaly import Watch
    from stockmart_assets.lib.deequ.runner import scan_table
    from stockmart_assets.lib.deequ.spark import warm_up
    from stockmart_assets.lib.deequ.suites import SUITES
    from stockmart_assets.lib.landing.contract import TABLES

    days = [Day.of("2024-12-26"), Day.of("2024-12-27"), Day.of("2024-12-28")]
    spark_types = {"VARCHAR": "STRING", "TIMESTAMPTZ": "TIMESTAMP"}

    def column(table, c) -> str:
        if c.name == table.partition_column:  # rows 0 and 1 on the first day, row 2 on the second
            return (f"CAST(timestamp_seconds({days[0].epoch_millis // 1000} + id * 43200) AS "
                    f"{spark_types.get(c.type, c.type)}) AS `{c.name}`")
        return f"CAST(id AS {spark_types.get(c.type, c.type)}) AS `{c.name}`"

    frames = {name: spark.range(3).selectExpr(*(column(table, c) for c in table.columns)).cache()
              for name, table in TABLES.items()}
    warm_up(spark)
    with tempfile.TemporaryDirectory(prefix="stockmart-archive-") as scratch:
        for name, table in TABLES.items():
            parents = {parent: frames[parent] for _, parent, _ in table.parents}
            partitioned = table.partition_column is not None
            list(scan_table(spark, frames[name], name, days if partitioned else [WHOLE], suite=SUITES.get(name),
                            parents=parents,
                            watch=Watch.of(name, str(Path(scratch) / "metrics.json")) if partitioned else None,
                            profile=True, day_column=table.partition_column))


def build() -> Path | None:
    """Write the archive (replacing a stale one) from one driver JVM that runs ``_exercise``; returns its path,
    or None where this Java cannot write one (the runs then start without it)."""
    from stockmart_assets.lib.deequ import spark as driver

    base = driver.DRIVER_JAVA_OPTIONS
    wanted = stamp(base)
    if wanted is None:
        return None
    archive = archive_path()
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f"{archive.name}.{os.getpid()}.part")
    driver.stop_spark()
    session = driver.get_spark(conf={"spark.driver.extraJavaOptions":
                                     f"{base} -XX:ArchiveClassesAtExit={partial} {_QUIET}"})
    try:
        _exercise(session)
    except BaseException:
        driver.stop_spark()
        partial.unlink(missing_ok=True)  # an archive of a pass that broke off is not the one to keep
        raise
    driver.stop_spark()  # the JVM writes the archive as it exits; stop_spark waits for that
    if not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)
        _stamp_path(archive).write_text(_NONE + wanted + "\n")
        return None
    partial.replace(archive)
    _stamp_path(archive).write_text(wanted + "\n")
    return archive


def main() -> int:
    """``--check``: exit 1 if setup has something to do (``is_settled``); ``--force``: write the archive anyway;
    else write it unless that is settled."""
    from stockmart_assets.lib.deequ.spark import DRIVER_JAVA_OPTIONS

    settled = is_settled(DRIVER_JAVA_OPTIONS)
    if "--check" in sys.argv[1:]:
        return 0 if settled else 1
    if settled and "--force" not in sys.argv[1:]:
        print(f"{archive_path()} (current)" if is_current(DRIVER_JAVA_OPTIONS)
              else "no class archive for this Java and pyspark here: Spark starts without one")
        return 0
    try:
        built = build()
    except Exception as e:  # only a faster start is lost: setup goes on, and says why
        print(f"no class archive was written ({type(e).__name__}: {e}): Spark starts without one", file=sys.stderr)
        return 0
    print(built if built else "this Java wrote no class archive: Spark starts without one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
