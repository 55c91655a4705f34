"""What every benchmark starts from: its arguments, a throwaway MariaDB, and a generated 1-day landing folder."""

import argparse
import datetime as dt
import tempfile
from pathlib import Path

from stockmart_assets.lib.landing.generator import generate
from stockmart_assets.lib.mysql.local_server import LocalMariaDB

DAY = "2024-12-26"


def setup(description: str) -> tuple[argparse.Namespace, Path, str, Path]:
    """Parse --trades/--repeat/--mysql-url; return (args, work folder, MySQL URL, landing folder of DAY)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mysql-url", help="an existing server (default: a throwaway MariaDB, stopped at the end)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stockmart-bench-"))
    url = args.mysql_url or LocalMariaDB(work / "mariadb").ensure()
    landing = work / "landing"
    generate(landing, customers=10_000, days=1, trades_per_day=args.trades, start_date=dt.date.fromisoformat(DAY),
             bars=False)
    return args, work, url, landing


def teardown(args: argparse.Namespace, work: Path) -> None:
    if not args.mysql_url:
        LocalMariaDB(work / "mariadb").stop()
