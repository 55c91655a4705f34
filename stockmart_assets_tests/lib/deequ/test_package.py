"""Fast checks (no Spark): suites name real columns, unknown rules are refused, jars are cached."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stockmart_assets.lib.landing.contract import TABLES
from stockmart_assets_tests.support import REPO
from stockmart_assets.lib.deequ import jars
from stockmart_assets.lib.deequ.rules import Rule
from stockmart_assets.lib.deequ.suites import SUITES
from stockmart_assets_tests.support.quality_frames import SEED_CUSTOMER_SUITE

@pytest.mark.parametrize("suite", [*SUITES.values(), SEED_CUSTOMER_SUITE], ids=lambda s: s.name)
def test_rules_name_contract_columns(suite):
    table = TABLES[suite.table]
    for rule in suite.rules:
        if rule.parent:  # a foreign key names its own column and a parent table's column
            parent, parent_column = rule.parent
            assert parent_column in TABLES[parent].column_names, rule
            named = set(rule.columns)
        else:
            named = set(rule.columns) | set([rule.other] if isinstance(rule.other, str) else rule.other or ())
        assert named <= set(table.column_names), rule


def test_unknown_rule_kind_is_refused():
    with pytest.raises(ValueError, match="unknown rule kind 'distinct'"):
        Rule("ticker", "distinct")


def test_jars_module_prints_cached_jar_paths():
    done = subprocess.run([sys.executable, "-m", "stockmart_assets.lib.deequ.jars"], capture_output=True, text=True,
                          check=True, cwd=REPO)
    paths = done.stdout.split()
    assert [Path(p).name for p in paths] == ["deequ-2.1.0-spark-3.5.jar", "mysql-connector-j-9.4.0.jar"]
    assert all(Path(p).is_file() for p in paths)


def test_jars_download_without_maven_into_the_maven_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("MAVEN_REPOSITORY", str(tmp_path))
    monkeypatch.setattr(jars.shutil, "which", lambda name: None)

    (path,) = jars.fetch((jars.MYSQL_CONNECTOR,))

    assert path == tmp_path / "com/mysql/mysql-connector-j/9.4.0/mysql-connector-j-9.4.0.jar"
    assert path.stat().st_size > 1_000_000 and not list(path.parent.glob("*.part"))
    monkeypatch.setattr(jars, "_download", lambda jar, path: pytest.fail(f"{jar} downloaded again"))
    assert jars.fetch((jars.MYSQL_CONNECTOR,)) == [path]
