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
        "quality/column_profiles": ["mysql/stock_price", "mysql/trade"],
        "quality/dimension_profiles": ["mysql/budget", "mysql/customer", "mysql/stocks"],
        "quality/verification_results": [], "quality/metric_history": [],
        "mart/budget": ["mysql/budget"], "mart/customer": ["mysql/customer"], "mart/stocks": ["mysql/stocks"],
        "mart/trade": ["mysql/stocks", "mysql/trade"], "mart/stock_price": ["mysql/stock_price"],
        "mart/orders_per_day": ["mart/customer", "mart/trade"],
        "mart/top_ticker_by_age_sex": ["mart/customer", "mart/trade"],
        "mart/buys_by_age_group": ["mart/customer", "mart/trade"],
        "market/yfinance_bars": [], "market/upbit_candles": [], "mart/upbit_candles": ["market/upbit_candles"],
    }
    checks = {f"{k.asset_key.to_user_string()}:{k.name}": graph.get(k).blocking for k in graph.asset_check_keys}
    assert checks == {**{f"mysql/{t}:deequ_suite": True for t in ("budget", "customer", "stocks", "trade",
                                                                    "stock_price")},
                      "mysql/trade:deequ_anomalies": False, "mysql/stock_price:deequ_anomalies": False,
                      "market/yfinance_bars:bars_consistent": True, "market/upbit_candles:ohlc_consistent": True}
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert partitioned == {"raw/trade", "raw/stock_price", "mysql/trade", "mysql/stock_price", "mart/trade",
                           "mart/stock_price", "mart/orders_per_day", "mart/top_ticker_by_age_sex",
                           "mart/buys_by_age_group", "quality/column_profiles", "market/yfinance_bars",
                           "market/upbit_candles", "mart/upbit_candles"}
