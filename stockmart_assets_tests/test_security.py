"""No secret in git; hostile values travel as data, never as SQL."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOW = "secret-scan: allow"
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "Google service-account key": re.compile(r'"private_key"\s*:\s*"'),
    "password in a URL": re.compile(r"\b(mysql|postgres(ql)?|mariadb)://[^:/\s\"'@]+:(?!\$\{|\*\*\*|<|\{)[^@\s\"']+@"),
    "assigned password": re.compile(r"(?i)\b\w*password\w*\s*[=:]\s*[\"'](?!change-me|\$\{)[^\"'\s]{6,}[\"']"),
}


def test_no_secret_is_committed():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        for line in path.read_text(encoding="utf-8", errors="ignore").splitlines():
            if ALLOW in line:  # a deliberate fake, e.g. a validator's bad-input sample
                continue
            for label, pattern in SECRET_PATTERNS.items():
                found += [f"{name}: {label}: {m.group(0)[:60]}" for m in pattern.finditer(line)
                          if not m.group(0).endswith(":password@")]  # the documented placeholder
    assert not found, "\n".join(found)


def test_the_scan_catches_what_it_looks_for():
    samples = ["mysql://app:hunter22@db:3306/x", "-----BEGIN RSA PRIVATE KEY-----",  # secret-scan: allow
               "AKIAABCDEFGHIJKLMNOP", 'db_password = "s3cretvalue"']  # secret-scan: allow
    assert all(any(p.search(s) for p in SECRET_PATTERNS.values()) for s in samples)
    assert not any(p.search("mysql://stockmart:${STOCKMART_MYSQL_PASSWORD}@mysql:3306/stockmart")
                   for p in SECRET_PATTERNS.values())


@pytest.mark.parametrize("day", ["2024-12-27' OR '1'='1", "2024-12-27; DROP TABLE trade", "../../etc", "",
                                 "2024-12-27 ", "2024-1-27", "２０２４-１２-２７"])
def test_partition_keys_never_reach_sql_unvalidated(day):
    """A day reaches a path or a query only as a ``Day``, and ``Day.of`` refuses anything but YYYY-MM-DD."""
    from stockmart_assets.lib.day import Day, Days

    with pytest.raises(ValueError):
        Day.of(day)
    with pytest.raises(ValueError):
        Days.of(["2024-12-26", day])


def test_partition_keys_are_parsed_in_one_module():
    """No module but lib/day.py turns text into a date (a second parser would be a second, weaker check)."""
    found = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "stockmart_assets").rglob("*.py"))
             if path.name != "day.py" for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if "date.fromisoformat" in line or "strptime" in line]
    assert not found, found


@pytest.mark.mysql
def test_hostile_text_is_loaded_verbatim(tmp_path, mysql_url, seed_landing):
    from stockmart_assets_tests.conftest import mysql_connect, table_state
    from stockmart_assets_tests.support.pipeline import LOAD_DIMENSIONS, materialize

    hostile = ["Robert'); DROP TABLE trade;--", '"quoted", with comma', "back\\slash", "NULL"]
    lines = (seed_landing / "customer.csv").read_text(encoding="utf-8").splitlines()
    rows = [line.split(",") for line in lines[1:]]
    for row, name in zip(rows, hostile):
        row[1] = '"' + name.replace('"', '""') + '"'
    (seed_landing / "customer.csv").write_text("\n".join([lines[0], *[",".join(r) for r in rows]]), encoding="utf-8")
    assert materialize(seed_landing, tmp_path, LOAD_DIMENSIONS).success
    with mysql_connect(mysql_url) as con, con.cursor() as cur:
        cur.execute("SELECT name FROM customer ORDER BY customer_id")
        assert [r[0] for r in cur.fetchall()] == hostile
    assert {"budget", "customer", "stocks"} <= {t for t, (n, _) in table_state(mysql_url).items() if n}
