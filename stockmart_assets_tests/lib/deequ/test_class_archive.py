"""The driver's class archive: written by a real pass, mapped by later driver JVMs, offered only while it matches
this Java and pyspark, and never a reason for a driver not to start or to print."""

import pytest

from stockmart_assets.lib.deequ import class_archive
from stockmart_assets.lib.deequ.spark import DRIVER_JAVA_OPTIONS, get_spark, stop_spark, warm_up

pytestmark = [pytest.mark.slow, pytest.mark.spark]

TOP_ARCHIVE = "source: shared objects file (top)"  # what -Xlog:class+load says of a class mapped from it


@pytest.fixture
def archive(tmp_path, monkeypatch):
    path = tmp_path / "share" / "spark-classes.jsa"
    monkeypatch.setattr(class_archive, "archive_path", lambda: path)
    yield path
    stop_spark()  # the module's other tests start their own session


def _driver_options() -> str:
    return get_spark().sparkContext.getConf().get("spark.driver.extraJavaOptions")


def test_a_driver_maps_spark_classes_from_the_archive_setup_writes(archive, tmp_path):
    stop_spark()
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS) == "", "nothing written yet: nothing offered"
    assert "SharedArchiveFile" not in _driver_options()
    stop_spark()

    assert class_archive.build() == archive
    assert archive.stat().st_size > 10 << 20
    options = class_archive.java_options(DRIVER_JAVA_OPTIONS)
    assert options.startswith(f"-XX:SharedArchiveFile={archive} ")
    assert options in _driver_options(), "get_spark offers it to every driver it starts"
    stop_spark()

    log = tmp_path / "class-load.log"
    session = get_spark(conf={"spark.driver.extraJavaOptions":
                              f"{DRIVER_JAVA_OPTIONS} {options} -Xlog:class+load=info:file={log}"})
    warm_up(session)
    _compare_two_days(session, tmp_path)
    stop_spark()
    loaded = log.read_text().splitlines()
    mapped = [line for line in loaded if TOP_ARCHIVE in line]
    assert any(" org.apache.spark.sql.SparkSession " in line for line in mapped), "Spark's classes come from it"
    assert any(" org.apache.spark.sql.catalyst." in line for line in mapped), "and Catalyst's"
    breeze = [line for line in loaded if " breeze." in line]
    assert breeze, "an anomaly check compared a day with the one before"
    outside = [line for line in breeze if TOP_ARCHIVE not in line and "$$Lambda$" not in line]
    assert not outside, f"the anomaly check's classes (but lambdas made as it runs) come from it too: {outside[:5]}"
    assert len(mapped) > len(loaded) // 2, f"only {len(mapped)} of {len(loaded)} classes came from the archive"


def _compare_two_days(spark, tmp_path) -> None:
    """A price bars' pass over two days with rows, the second compared with the first (Deequ's anomaly check)."""
    from stockmart_assets.lib.day import Day
    from stockmart_assets.lib.deequ.anomaly import Watch
    from stockmart_assets.lib.deequ.runner import scan_table
    from stockmart_assets.lib.landing.contract import STOCK_PRICE

    days = [Day.of("2025-03-03"), Day.of("2025-03-04")]
    frame = spark.range(10).selectExpr(  # five bars a day
        f"timestamp_seconds({days[0].epoch_millis // 1000} + 52200 + (id % 5) * 60 + (id DIV 5) * 86400) AS ts",
        "100.5 + id AS close", "101.0 + id AS high", "99.0 + id AS low", "100.0 + id AS open",
        "1000 + id AS volume", "'Apple' AS company", "'AAPL' AS ticker")
    [_, second] = scan_table(spark, frame, STOCK_PRICE.name, days, day_column=STOCK_PRICE.partition_column,
                             watch=Watch.of(STOCK_PRICE.name, str(tmp_path / "metrics.json")))
    assert [r.constraint_status for r in second.anomalies.results] == ["Success"], second.anomalies


def test_a_driver_with_a_flight_recording_or_an_agent_starts_without_the_archive(archive, tmp_path, monkeypatch):
    """JDK 17's JVM crashes when a hook on class loading (here a flight recording, given as users give one, in
    JAVA_TOOL_OPTIONS) meets the archive's classes: the driver must start, without the archive."""
    stop_spark()
    assert class_archive.build() == archive
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS)
    recording = tmp_path / "driver.jfr"
    monkeypatch.setenv("JAVA_TOOL_OPTIONS", f"-XX:StartFlightRecording=filename={recording}")
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS) == ""
    assert get_spark().range(3).count() == 3
    stop_spark()
    assert recording.is_file(), "the recording ran"
    monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-Xss4m")
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS), "other options leave it offered"


def test_an_archive_of_another_java_or_pyspark_is_not_offered(archive):
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"an archive")
    archive.with_suffix(".stamp").write_text("made with another Java\n")
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS) == ""
    archive.with_suffix(".stamp").write_text(class_archive.stamp(DRIVER_JAVA_OPTIONS) + "\n")
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS).startswith(f"-XX:SharedArchiveFile={archive} ")
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS + " -XX:+UseParallelGC") == "", "other JVM options"
    archive.unlink()
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS) == "", "a stamp without its archive"


def test_a_driver_offered_an_archive_the_jvm_refuses_starts_without_it_and_says_nothing(archive, capfd):
    """The JVM checks the archive itself (a damaged file, another JVM's): refused, it is not an error."""
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"\0" * 4096)
    archive.with_suffix(".stamp").write_text(class_archive.stamp(DRIVER_JAVA_OPTIONS) + "\n")
    stop_spark()
    capfd.readouterr()
    assert f"-XX:SharedArchiveFile={archive}" in _driver_options()
    assert get_spark().range(5).count() == 5
    stop_spark()
    out, err = capfd.readouterr()
    assert "archive" not in (out + err).lower(), out + err


def test_a_pass_that_breaks_off_leaves_no_archive_and_setup_goes_on(archive, monkeypatch, capsys):
    def broken(spark):
        spark.range(3).count()
        raise RuntimeError("the pass broke off")

    monkeypatch.setattr(class_archive, "_exercise", broken)
    monkeypatch.setattr("sys.argv", ["class_archive"])
    assert class_archive.main() == 0, "a faster start is lost, not the setup"
    assert "no class archive was written (RuntimeError: the pass broke off)" in capsys.readouterr().err
    assert not archive.exists() and not list(archive.parent.glob("*.part")), "nothing half-written is kept"
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS) == ""


def test_where_the_jdk_writes_no_archive_setup_records_it_and_does_not_try_again(archive, tmp_path, monkeypatch):
    """A folder with files on Spark's class path (a SPARK_CONF_DIR of one's own): the JDK archives no such class
    path, so setup must not spend half a minute on it at every run, and the driver starts without it."""
    conf = tmp_path / "spark-conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text("spark.ui.showConsoleProgress false\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(conf))
    stop_spark()
    assert not class_archive.is_settled(DRIVER_JAVA_OPTIONS)
    assert class_archive.build() is None
    assert not archive.exists() and not list(archive.parent.glob("*.part"))
    assert class_archive.is_settled(DRIVER_JAVA_OPTIONS), "recorded: setup does not try again"
    monkeypatch.setattr("sys.argv", ["class_archive", "--check"])
    assert class_archive.main() == 0
    assert not class_archive.is_settled(DRIVER_JAVA_OPTIONS + " -XX:+UseParallelGC"), "other options: try again"
    assert class_archive.java_options(DRIVER_JAVA_OPTIONS) == ""
    assert get_spark().range(3).count() == 3
