"""A failed rule reports its failing rows, whatever the types of their columns.

Rows that break one rule each are written straight into MySQL (as a change made there would be, past the
landing checks), one table per column type the contract stores: DECIMAL (a negative budget), INTEGER and
text with any Unicode (an age out of range, a sex outside the list), BIGINT and DATETIME (a trade of a
negative quantity), DOUBLE (a bar whose high is below its low). Each check step must report a failed check
with the breaking row in its metadata, exactly as stored, and record the failure in the warehouse.
"""

import json

import dagster as dg
import duckdb
import pytest

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.defs.quality.checks import quality_checks
from stockmart_assets.environment import build_resources
from stockmart_assets.lib.landing.contract import TABLES
from stockmart_assets_tests.conftest import mysql_connect
from stockmart_assets_tests.support.pipeline import ALL_ASSETS

pytestmark = [pytest.mark.mysql, pytest.mark.spark, pytest.mark.slow]

DAY = "2024-12-27"
ROWS = {
    "budget": [(1, "100.00"), (2, "-1.50")],
    "customer": [(1, "김민준", "남", 30, 1), (2, "Zoë 🙂 李", "男", 200, 2)],
    "stocks": [(1, "삼성전자", "005930.KS"), (2, "Apple Inc.", "AAPL")],
    "trade": [(1, 1, 1, "매수", 10, f"{DAY} 09:00:00"), (2, 2, 2, "매도", -5, f"{DAY} 10:30:15")],
    "stock_price": [(f"{DAY} 14:30:00", 10.5, 10.25, 11.75, 10.5, 100, "Apple Inc.", "AAPL"),
                    (f"{DAY} 14:31:00", 10.5, 11.0, 10.0, 10.5, 100, "Apple Inc.", "AAPL")],
}
CASES = {  # column type -> (table, the rule that fails, the failing row's values as reported)
    "DECIMAL": ("budget", "budget is non-negative", {"budget_id": 2, "budget": "-1.50"}),
    "INTEGER": ("customer", "age is between 18 and 150 (exclusive)", {"customer_id": 2, "age": 200}),
    "VARCHAR (any Unicode)": ("customer", "sex is one of 남, 여", {"name": "Zoë 🙂 李", "sex": "男"}),
    "BIGINT": ("trade", "quantity is positive", {"order_id": 2, "quantity": -5}),
    "DATETIME": ("trade", "quantity is positive", {"order_datetime": f"{DAY} 10:30:15"}),
    "DOUBLE": ("stock_price", "high >= low", {"high": 10.25, "low": 11.75}),
}
KEY = {"budget": "budget_id", "customer": "customer_id", "trade": "order_id", "stock_price": "ticker"}


@pytest.fixture(scope="module")
def checked(mysql_server, tmp_path_factory):
    """Every table's checks, run once over the rows above."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("STOCKMART_MYSQL_URL", mysql_server)
        env.setenv("STOCKMART_HOME", str(home))
        env.setenv("STOCKMART_LANDING_DIR", str(home / "landing"))
        with mysql_connect(mysql_server) as con, con.cursor() as cur:
            for name in ("stock_price", "trade", "customer", "budget", "stocks"):
                cur.execute(f"DROP TABLE IF EXISTS `{name}`")
        MySQLResource(url=mysql_server).create_tables()
        with mysql_connect(mysql_server) as con, con.cursor() as cur:
            for table, rows in ROWS.items():
                columns = ", ".join(f"`{c}`" for c in TABLES[table].column_names)
                marks = ", ".join(["%s"] * len(rows[0]))
                cur.executemany(f"INSERT INTO `{table}` ({columns}) VALUES ({marks})", rows)
        # One run per dimension table: a failed blocking check on a parent (budget) skips its children's checks.
        # The facts' checks run as the refresh job runs them, with the mart partitions they guard (Dagster
        # takes a run's partitions from its assets).
        instance = dg.DagsterInstance.ephemeral()
        runs = [(("budget",), None), (("customer",), None), (("stocks",), None), (("trade", "stock_price"), DAY)]
        results = []
        for tables, day in runs:
            selection = dg.AssetSelection.checks_for_assets(*[dg.AssetKey(["mysql", t]) for t in tables])
            if day:
                selection |= dg.AssetSelection.assets(*[["mart", t] for t in tables])
            results.append(dg.materialize(
                [*ALL_ASSETS, *quality_checks], selection=selection, resources=build_resources("LOCAL"),
                instance=instance, partition_key=day, raise_on_error=False))
    evaluations = {(e.asset_check_evaluation_data.asset_key.path[-1], e.asset_check_evaluation_data.check_name):
                   e.asset_check_evaluation_data for result in results for e in result.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT table_name, \"check\", constraint_status FROM mart.verification_results "
                             "WHERE suite = 'deequ_suite'").fetchall()
    return evaluations, {(t, c): s for t, c, s in stored}


@pytest.mark.parametrize("column_type", list(CASES))
def test_a_failing_rule_reports_its_rows(checked, column_type):
    evaluations, stored = checked
    table, rule, expected = CASES[column_type]
    evaluation = evaluations[(table, "deequ_suite")]
    assert evaluation.passed is False and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert rule in evaluation.description or rule in evaluation.metadata["failed_constraints"].value
    samples = {f["check"]: f["rows"] for f in evaluation.metadata["failing_rows"].value}
    [row] = samples[rule]
    assert {k: row[k] for k in expected} == expected
    json.dumps(evaluation.metadata["failing_rows"].value)  # what Dagster stores: JSON, for every type
    assert stored[(table, rule)] == "Failure"
    assert stored[(table, f"{KEY[table]} is complete")] == "Success", "only the broken rule failed"
