"""The landing folder as units of work, and how many landing bytes a set of units loads."""

import datetime as dt
import os

from stockmart_assets.lib.landing.generator import generate
from stockmart_assets.lib.landing.units import landing_bytes, landing_units, scan_landing


def test_landing_bytes_share_each_fact_file_among_its_days_and_count_the_dimensions_whole(tmp_path):
    generate(tmp_path, customers=20, days=3, trades_per_day=20, start_date=dt.date(2026, 11, 30), seed=1)
    (tmp_path / "trade_1203.csv").write_text(  # one more file, of one day only
        (tmp_path / "trade.csv").read_text(encoding="utf-8").splitlines()[0] + "\n"
        + "\n".join(f"{9000 + i},1,2,매수,5,2026-12-03 10:0{i}" for i in range(3)) + "\n",
        encoding="utf-8")
    versions, days = scan_landing(tmp_path)
    units = landing_units(versions, days)
    size = {path: os.path.getsize(tmp_path / path) for path in versions}
    dimensions = sum(size[p] for p in ("customer.csv", "budget.csv", "stocks.csv"))
    facts = [p for p in versions if p.startswith("stock/")] + ["trade.csv"]

    assert [u.label for u in units] == ["dimensions", "2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03"]
    assert days["trade_1203.csv"] == ["2026-12-03"]
    assert landing_bytes(versions, days, units) == sum(size.values())
    one_day = [u for u in units if u.label == "2026-12-01"]
    assert landing_bytes(versions, days, one_day) == dimensions + sum(size[p] // 3 for p in facts)
    last_day = [u for u in units if u.label == "2026-12-03"]
    assert landing_bytes(versions, days, last_day) == dimensions + size["trade_1203.csv"]
    assert landing_bytes(versions, days, units[:1]) == dimensions
    assert landing_bytes(versions, days, []) == 0
