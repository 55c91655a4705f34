"""The user's path, timed (issue 11): the README's walk from a fresh clone, run ``--repeat`` times.

    .venv/bin/python bench/bench_user_path.py [--repeat 1] [--no-append]

Each repeat runs ``stockmart_assets_tests/test_user_path.py`` (the walk and its assertions) in a fresh pytest
process, which writes the walk's step times to a JSON file; a failed walk is reported, not timed. Figures:

- cold main job: ``scripts/run-local.sh --sample`` from a clone with no .venv, `stockmart run`'s own time
  (setup excluded), and the whole command with setup (a new virtualenv from pip's cache);
- UI ready: ``.venv/bin/stockmart ui`` started until the webserver answers and the code location is loaded;
- file drop to mart: a new day's trade file written into the landing folder, until the run the landing sensor
  launched for it has succeeded and its rows are in the mart (default sensor interval, 30 s);
- no-change rerun: ``scripts/run-local.sh --sample`` again, setup included.

The section is appended to BENCHMARKS.md unless ``--no-append``.
"""

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = [  # (timing key, what it is, target in seconds or None)
    ("main_job_s", "cold main job, `stockmart run` itself (setup excluded)", None),
    ("main_job_total_s", "cold main job with setup (`scripts/run-local.sh --sample`, new .venv from pip's cache)",
     None),
    ("ui_ready_s", "UI ready (`.venv/bin/stockmart ui` until the code location is loaded)", None),
    ("file_drop_to_mart_s", "file drop to mart rows, a 7-row day (sensor interval 30 s)", 60.0),
    ("main_job_again_total_s", "no-change rerun (`scripts/run-local.sh --sample`, setup check included)", 5.0),
    ("main_job_again_s", "no-change rerun, `stockmart run` itself", None),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    runs, failures, started = [], 0, time.monotonic()
    when, load = dt.datetime.now(dt.timezone.utc), os.getloadavg()
    for i in range(args.repeat):
        out = Path(tempfile.mkdtemp(prefix="stockmart-user-path-")) / "timings.json"
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "stockmart_assets_tests/test_user_path.py"], cwd=ROOT,
                              env={**os.environ, "STOCKMART_TIMINGS_FILE": str(out)})
        if done.returncode != 0 or not out.exists():
            failures += 1
            print(f"walk {i + 1}: FAILED (pytest exit {done.returncode})", file=sys.stderr)
            continue
        runs.append(json.loads(out.read_text()))
        print(f"walk {i + 1}: {runs[-1]}", file=sys.stderr)
    lines = [f"## User path {when:%Y-%m-%d %H:%M} UTC (issue 11, `bench/bench_user_path.py`)", "",
             f"`.venv/bin/python bench/bench_user_path.py --repeat {args.repeat}`: {len(runs)} walk(s) timed, "
             f"{failures} failed; {time.monotonic() - started:.0f} s in all. Load average at start: "
             + ", ".join(f"{x:.2f}" for x in load) + ".", "",
             "| figure | seconds (each walk) | median | target | met? |", "|---|---|---|---|---|"]
    for key, label, target in FIGURES:
        values = [r[key] for r in runs if key in r]
        if not values:
            continue
        median = statistics.median(values)
        met = "—" if target is None else ("yes" if median <= target else "**no**")
        lines.append(f"| {label} | {', '.join(f'{v:g}' for v in values)} | {median:g} | "
                     f"{'—' if target is None else f'≤ {target:g}'} | {met} |")
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_append and runs:
        with open(ROOT / "BENCHMARKS.md", "a", encoding="utf-8") as f:
            f.write("\n" + section)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
