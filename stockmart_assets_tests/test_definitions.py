"""The code location loads fast, without Java, and its asset graph is the one we mean to have."""

import json
import os
import subprocess
import sys

from stockmart_assets.definitions import defs
from stockmart_assets_tests.support import REPO


def test_dagster_definitions_validate_passes_and_starts_no_jvm(tmp_path):
    """Validating (as the UI's code server, every run and every sensor tick load them) imports neither Spark nor
    the BigQuery client: those load where a step uses them."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    probe = ("import runpy, sys; sys.argv = ['dagster', 'definitions', 'validate', '-m', "
             "'stockmart_assets.definitions'];\n"
             "try:\n    runpy.run_module('dagster', run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code\n"
             "print('LOADED', sorted({m.split('.')[0] for m in sys.modules if m.startswith(('pyspark', 'pydeequ', "
             "'py4j', 'google.cloud.bigquery', 'pandas'))}))\n"
             "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "passed validation" in done.stdout + done.stderr, done.stdout[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "LOADED []", done.stdout[-2000:]


def test_the_defs_folder_loads_what_dgs_loader_loads():
    """Building the tree at the defs folder leaves out only dg's catalog of installed component types."""
    from pathlib import Path

    import dagster as dg

    from stockmart_assets.environment import build_resources

    folder = dg.Definitions.merge(dg.load_from_defs_folder(path_within_project=Path(REPO) / "stockmart_assets"),
                                  dg.Definitions(resources=build_resources()))
    graph, expected = folder.resolve_asset_graph(), defs.resolve_asset_graph()
    assert graph.get_all_asset_keys() == expected.get_all_asset_keys()
    assert set(graph.asset_check_keys) == set(expected.asset_check_keys)
    assert {k: graph.get(k).parent_keys for k in graph.get_all_asset_keys()} == {
        k: expected.get(k).parent_keys for k in expected.get_all_asset_keys()}
    assert {j.name for j in folder.jobs} == {j.name for j in defs.jobs}
    assert {s.name for s in folder.sensors} == {s.name for s in defs.sensors}
    assert {s.name for s in folder.schedules} == {s.name for s in defs.schedules}


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    deps = {
        key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
        for key in graph.get_all_asset_keys()
    }
    assert deps == {
        "raw/budget": [], "raw/customer": [], "raw/stocks": [], "raw/trade": [],
        "raw/stock_price": ["market/yfinance_bars"],  # the market stage writes its bars into the landing folder
        "mysql/budget": ["raw/budget"],
        "mysql/customer": ["mysql/budget", "raw/customer"],
        "mysql/stocks": ["raw/stocks"],
        "mysql/trade": ["mysql/customer", "mysql/stocks", "raw/trade"],
        "mysql/stock_price": ["raw/stock_price"],
        # Each table's check step profiles it in the pass that verifies it.
        **{f"quality/column_profiles/{t}": [f"mysql/{t}"] for t in ("budget", "customer", "stocks", "trade",
                                                                     "stock_price")},
        # The checks of the MySQL tables write the verification results; the mart's gate reads them.
        "quality/verification_results": ["mysql/budget", "mysql/customer", "mysql/stock_price", "mysql/stocks",
                                         "mysql/trade"],
        "quality/metric_history": ["mysql/stock_price", "mysql/trade"],
        "mart/budget": ["mysql/budget", "quality/verification_results"],
        "mart/customer": ["mysql/customer", "quality/verification_results"],
        "mart/stocks": ["mysql/stocks", "quality/verification_results"],
        "mart/trade": ["mysql/stocks", "mysql/trade", "quality/verification_results"],
        "mart/stock_price": ["mysql/stock_price", "quality/verification_results"],
        # The business's answers compose from the daily facts; the all-time answers are views over them.
        "mart/daily_buys": ["mart/customer", "mart/trade"],
        "mart/orders_per_day": ["mart/trade"],
        "mart/top_ticker_by_age_sex": ["mart/daily_buys"],
        "mart/buys_by_age_group": ["mart/daily_buys"],
        "mart/top_ticker_by_age_sex_all_time": ["mart/daily_buys"],
        "mart/buys_by_age_group_all_time": ["mart/daily_buys"],
        "market/yfinance_bars": [], "market/upbit_candles": [], "mart/upbit_candles": ["market/upbit_candles"],
    }
    checks = {f"{k.asset_key.to_user_string()}:{k.name}": graph.get(k).blocking for k in graph.asset_check_keys}
    assert checks == {**{f"mysql/{t}:deequ_suite": True for t in ("budget", "customer", "stocks", "trade",
                                                                    "stock_price")},
                      "mysql/trade:deequ_anomalies": False, "mysql/stock_price:deequ_anomalies": False,
                      "market/yfinance_bars:bars_consistent": True, "market/upbit_candles:ohlc_consistent": True}
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert partitioned == {"raw/trade", "raw/stock_price", "mysql/trade", "mysql/stock_price", "mart/trade",
                           "mart/stock_price", "mart/daily_buys", "mart/orders_per_day", "mart/top_ticker_by_age_sex",
                           "mart/buys_by_age_group", "quality/column_profiles/trade",
                           "quality/column_profiles/stock_price", "market/yfinance_bars",
                           "market/upbit_candles", "mart/upbit_candles"}


def test_dg_sees_the_project():
    """`dg check defs` passes and `dg list defs` lists every asset, run from the repository's root."""
    dg_cli = os.path.join(os.path.dirname(sys.executable), "dg")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    check = subprocess.run([dg_cli, "check", "defs"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-3000:]
    listed = subprocess.run([dg_cli, "list", "defs", "--json"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300)
    assert listed.returncode == 0, listed.stderr[-3000:]
    keys = {a["asset_key"] for a in json.loads(listed.stdout)["assets"]}
    assert keys == {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def test_an_installed_package_loads_the_same_definitions():
    """Where the package is installed without its pyproject.toml (a container image), Dagster's package loader
    finds the same objects under defs/ as dg's loader does in a checkout."""
    import warnings

    import dagster as dg

    import stockmart_assets.defs
    from stockmart_assets.environment import build_resources

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        installed = dg.Definitions.merge(dg.load_definitions_from_package_module(stockmart_assets.defs),
                                         dg.Definitions(resources=build_resources()))
    graph, expected = installed.resolve_asset_graph(), defs.resolve_asset_graph()
    assert graph.get_all_asset_keys() == expected.get_all_asset_keys()
    assert set(graph.asset_check_keys) == set(expected.asset_check_keys)
    assert {j.name for j in installed.jobs} == {j.name for j in defs.jobs}
    assert {s.name for s in installed.sensors} == {s.name for s in defs.sensors}
    assert {s.name for s in installed.schedules} == {s.name for s in defs.schedules}


def test_stockmart_run_starts_the_spark_driver_the_environment_gives_the_runs(monkeypatch):
    """`stockmart run` starts Spark before loading Dagster, from ``environment_driver()``; the runs' resource
    then finds that session only if it asks for the same driver."""
    import dagster as dg

    from stockmart_assets.environment import build_resources
    from stockmart_assets.lib.deequ.spark import environment_driver

    for variables in ({}, {"STOCKMART_SPARK_MASTER": "local[2]", "STOCKMART_SPARK_DRIVER_MEMORY": "3g"}):
        for name in ("STOCKMART_SPARK_MASTER", "STOCKMART_SPARK_DRIVER_MEMORY"):
            monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        spark = build_resources("LOCAL")["spark"]
        resolved = {"master": spark.master.get_value() if isinstance(spark.master, dg.EnvVar) else spark.master,
                    "driver_memory": spark.driver_memory}
        assert resolved == environment_driver(), variables
