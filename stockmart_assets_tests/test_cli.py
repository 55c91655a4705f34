"""The README's main command path: `stockmart run` on a fresh working folder materializes everything."""

import os
import subprocess
import sys

import pytest

from stockmart_assets_tests.conftest import table_state

pytestmark = pytest.mark.mysql


def test_stockmart_run_generates_sample_and_materializes_every_partition(tmp_path, mysql_url):
    env = {**os.environ, "STOCKMART_HOME": str(tmp_path / "home"), "STOCKMART_MYSQL_URL": mysql_url}
    env.pop("DAGSTER_HOME", None)
    env.pop("STOCKMART_LANDING_DIR", None)
    done = subprocess.run([sys.executable, "-m", "stockmart_assets.cli", "run", "--days", "4",
                           "--trades-per-day", "50"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "4 daily partition(s): 2024-12-26, 2024-12-27, 2024-12-28, 2024-12-29" in done.stdout
    counts = {k: v[0] for k, v in table_state(mysql_url).items()}
    # 2 weekdays of bars (Dec 26, 27) x 5 tickers x 390 one-minute bars
    assert counts == {"budget": 20, "customer": 20, "stocks": 5, "trade": 200, "stock_price": 3900}
    assert (tmp_path / "home" / "dagster_home").is_dir(), "runs are recorded where `stockmart ui` looks"
    assert (tmp_path / "home" / "lake" / "landing" / "trade" / "date=2024-12-29" / "data.parquet").is_file()
