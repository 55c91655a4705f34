"""Where the daily partitions start: the deployment's setting, else the first day of the first landing files.

Read when the definitions load (``stockmart_assets/partitions.py``); recorded by the CLI before it loads them.
"""

import os

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.paths import stockmart_home

# Used only when neither the deployment (STOCKMART_PARTITIONS_START) nor a landing folder says where the
# data starts.
DEFAULT_PARTITIONS_START = "2020-01-01"
PARTITIONS_START_FILE = "partitions_start"


def partitions_start() -> str:
    """The first daily partition: the deployment's setting, else the first day of the first load (recorded by
    `stockmart run` or `stockmart ui`), else ``DEFAULT_PARTITIONS_START``.

    Starting where the data starts makes "missing" in the UI mean missing data, not the years before the
    service existed.
    """
    if configured := os.getenv("STOCKMART_PARTITIONS_START"):
        return Day.of(configured).key
    recorded = stockmart_home() / PARTITIONS_START_FILE
    try:
        return Day.of(recorded.read_text().strip()).key
    except (FileNotFoundError, ValueError):
        return DEFAULT_PARTITIONS_START


def record_partitions_start(first_day: str) -> str | None:
    """Record ``first_day`` as where the partitions start, unless a start is already recorded or configured;
    return it if recorded.

    Recorded once, from the first landing files loaded: later files cannot move it (a mistyped year in one
    row would otherwise add decades of empty partitions). Days before it are reported, not loaded: set
    STOCKMART_PARTITIONS_START to load older history.
    """
    path = stockmart_home() / PARTITIONS_START_FILE
    if os.getenv("STOCKMART_PARTITIONS_START") or path.exists():
        return None
    day = Day.of(first_day).key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(day + "\n")
    os.replace(tmp, path)
    return day
