"""The code location loads fast, without Java, and its asset graph is the one we mean to have."""

import os
import subprocess
import sys

from stockmart_assets.definitions import defs


def test_dagster_definitions_validate_passes_and_starts_no_jvm(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    probe = ("import runpy, sys; sys.argv = ['dagster', 'definitions', 'validate', '-m', "
             "'stockmart_assets.definitions'];\n"
             "try:\n    runpy.run_module('dagster', run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code\n"
             "print('JVM' if any(m.startswith(('pyspark', 'pydeequ', 'py4j')) for m in sys.modules) else 'NOJVM')\n"
             "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "passed validation" in done.stdout + done.stderr, done.stdout[-2000:]
    assert done.stdout.strip().endswith("NOJVM"), "loading definitions imported pyspark/pydeequ"


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    deps = {
        key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
        for key in graph.get_all_asset_keys()
    }
    assert deps == {
        "raw/budget": [], "raw/customer": [], "raw/stocks": [], "raw/trade": [], "raw/stock_price": [],
        "mysql/budget": ["raw/budget"],
        "mysql/customer": ["mysql/budget", "raw/customer"],
        "mysql/stocks": ["raw/stocks"],
        "mysql/trade": ["mysql/customer", "mysql/stocks", "raw/trade"],
        "mysql/stock_price": ["raw/stock_price"],
    }
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert partitioned == {"raw/trade", "raw/stock_price", "mysql/trade", "mysql/stock_price"}
