"""A single-run backfill of two checkouts side by side: the code of ``--tree`` (another checkout of the
project, e.g. ``git worktree add /tmp/old <commit>``) or of this one, on the same data.

    .venv/bin/python bench/backfill_pairs.py [--tree PATH] [--days 30] [--trades 100000] [--singles 2] TAG

One measurement: a throwaway MariaDB, the dimensions run (10,000 customers), then the ``--days`` × ``--trades``
range as one run and its first ``--singles`` days as runs of their own, each a fresh process running the
tree's code (``PYTHONPATH``) with this project's virtualenv. Run it alternately for two trees (old, new,
new, old, ...): on a machine whose speed drifts, only pairs compare. The landing files are generated once
into ``bench/out/backfill-landing`` and reused. Prints one JSON line: the backfill's wall time, its peak tree
RSS (and its Python and JVM shares, and each step's peak: tree, Python alone), the single runs' wall
times and the six slowest steps of the backfill.
"""

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

import run_all as suite

from stockmart_assets.defs.mysql.resources import MySQLResource
from stockmart_assets.lib.landing.generator import generate
from stockmart_assets.lib.mysql.local_server import LocalMariaDB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tag", help="a label for the JSON line, e.g. old or new")
    ap.add_argument("--tree", type=Path, default=suite.ROOT, help="the checkout whose code runs")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--trades", type=int, default=100_000, help="trades per day")
    ap.add_argument("--singles", type=int, default=2, help="how many of the days also run on their own")
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix=f"stockmart-pairs-{a.tag}-"))
    (work / "logs").mkdir()
    (work / "dagster-home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKMART_")}
    env |= {"STOCKMART_HOME": str(work / "home"), "STOCKMART_LANDING_DIR": str(work / "landing"),
            "DAGSTER_HOME": str(work / "dagster-home"), "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(a.tree.resolve())}
    landing = suite.ROOT / "bench" / "out" / f"backfill-landing-{a.days}x{a.trades}"
    days = [(suite.BACKFILL_START + dt.timedelta(days=i)).isoformat() for i in range(a.days)]
    mariadb = LocalMariaDB(work / "mariadb")
    try:
        env["STOCKMART_MYSQL_URL"] = mariadb.ensure()
        generate(work / "landing", customers=suite.CUSTOMERS, days=1, trades_per_day=0, bars=False)
        suite.Child(suite.run_args("dimensions"), env, work / "logs" / "dimensions.log", "dimensions run (setup)")
        with MySQLResource(url=env["STOCKMART_MYSQL_URL"]).connect() as con, con.cursor() as cur:
            cur.execute("TRUNCATE TABLE trade")  # the generated order ids start at 1 again
        if not landing.exists():
            generate(landing, customers=suite.CUSTOMERS, days=a.days, trades_per_day=a.trades,
                     start_date=suite.BACKFILL_START, bars=True, split_trades_by_day=True)
        env["STOCKMART_LANDING_DIR"] = str(landing)
        backfill = suite.Child(suite.run_args("daily_partition", first=days[0], last=days[-1]), env,
                               work / "logs" / "backfill.log", f"single-run backfill of {a.days} days")
        singles = [suite.Child(suite.run_args("daily_partition", day), env, work / "logs" / f"single-{day}.log",
                               f"single-partition run ({day})").result["run"]["wall_s"] for day in days[:a.singles]]
        steps = {s["key"]: s["end"] - s["start"] for s in backfill.result["run"]["steps"] if s["end"]}
        print(json.dumps({
            "tag": a.tag, "tree": str(a.tree), "backfill_s": round(backfill.result["run"]["wall_s"], 2),
            "peak_rss_gib": round(backfill.rss.peak() / suite.GIB, 2),
            "peak_rss_python_gib": round(backfill.rss.peak(python_only=True) / suite.GIB, 2),
            "peak_rss_java_gib": round(backfill.rss.peak_java() / suite.GIB, 2),
            "processes_at_peak": [[pid, name, round(rss / suite.GIB, 2)] for pid, name, rss in backfill.rss.at_peak],
            "clones_not_counted": [[name, round(rss / suite.GIB, 2)] for _, name, rss in backfill.rss.clones],
            "step_peak_rss_gib": {s["key"]: [round(backfill.rss.peak([(s["start"], s["end"])]) / suite.GIB, 2),
                                             round(backfill.rss.peak([(s["start"], s["end"])], python_only=True)
                                                   / suite.GIB, 2)]
                                  for s in backfill.result["run"]["steps"] if s["end"]},
            "singles_s": [round(s, 2) for s in singles],
            "slowest_steps_s": {k: round(v, 2) for k, v in sorted(steps.items(), key=lambda kv: -kv[1])[:6]},
        }))
    finally:
        suite.kill_children()
        mariadb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
