"""The jars Spark needs beyond pyspark's own, fetched once into the local Maven repository (~/.m2).

Only two jars are put on Spark's classpath, not Deequ's whole dependency tree:

- Deequ 2.1.0 built for Spark 3.5 (Scala 2.12). Every runtime dependency it declares is already in pyspark
  3.5.7's own ``jars/`` (Spark itself, breeze, spire, netlib, commons-math3, ...) except
  ``software.amazon.glue:dqdl:1.0.7``, which is not on Maven Central and is only used by Deequ's DQDL rule
  language, which we do not use. Its ``arpack_combined_all`` (excluded by pydeequ's docs) is not fetched either.
- MySQL Connector/J, for reading the landed tables over JDBC (its protobuf dependency is only for X DevAPI).

Run ``python -m stockmart_assets.lib.deequ.jars`` in an install step to fetch them ahead of time; it prints the
jar paths. A second run downloads nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


@dataclass(frozen=True)
class MavenJar:
    group: str
    artifact: str
    version: str

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def relative_path(self) -> str:
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.artifact}-{self.version}.jar"


# The Spark minor version the Deequ build below is compiled for; pydeequ reads it from SPARK_VERSION.
DEEQU_SPARK_LINE = "3.5"
DEEQU = MavenJar("com.amazon.deequ", "deequ", f"2.1.0-spark-{DEEQU_SPARK_LINE}")
MYSQL_CONNECTOR = MavenJar("com.mysql", "mysql-connector-j", "9.4.0")
SPARK_JARS: tuple[MavenJar, ...] = (DEEQU, MYSQL_CONNECTOR)


def local_repository() -> Path:
    """The local Maven repository (``MAVEN_REPOSITORY`` overrides ``~/.m2/repository``)."""
    return Path(os.environ.get("MAVEN_REPOSITORY", Path.home() / ".m2" / "repository"))


def jar_path(jar: MavenJar) -> Path:
    return local_repository() / jar.relative_path


def fetch(jars: tuple[MavenJar, ...] = SPARK_JARS) -> list[Path]:
    """Return the local paths of ``jars``, downloading the missing ones (without their dependencies).

    With Maven installed, ``mvn dependency:get`` fetches them (honouring ~/.m2/settings.xml); without it
    they are downloaded from Maven Central and checked against the published SHA-1.
    """
    paths = []
    for jar in jars:
        path = jar_path(jar)
        if not path.is_file():
            if shutil.which("mvn"):
                _fetch_with_maven(jar)
            else:
                _download(jar, path)
        if not path.is_file():
            raise FileNotFoundError(f"{jar.coordinate} was fetched but {path} does not exist")
        paths.append(path)
    return paths


def _fetch_with_maven(jar: MavenJar) -> None:
    command = [
        "mvn", "-q", "-B", "dependency:get", f"-Dartifact={jar.coordinate}", "-Dtransitive=false",
        f"-Dmaven.repo.local={local_repository()}",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"could not fetch {jar.coordinate}: {' '.join(command)}\n{done.stdout}{done.stderr}")


def _download(jar: MavenJar, path: Path) -> None:
    """Download from Maven Central into the Maven repository layout, checking the published SHA-1."""
    import urllib.request  # here: every process that loads the definitions imports this module

    url = f"{MAVEN_CENTRAL}/{jar.relative_path}"
    with urllib.request.urlopen(url) as response:
        data = response.read()
    with urllib.request.urlopen(url + ".sha1") as response:
        expected = response.read().decode().split()[0]
    if hashlib.sha1(data).hexdigest() != expected:
        raise RuntimeError(f"{url}: SHA-1 does not match the published {expected}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)


def main() -> int:
    for path in fetch():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
