"""Where a LOCAL deployment keeps its files (plain Python: the CLI reads these before it loads Dagster)."""

from __future__ import annotations

import os
from pathlib import Path


def stockmart_home() -> Path:
    """The project's working folder: local database, lake, Dagster's home, the warehouse (``.stockmart``)."""
    return Path(os.getenv("STOCKMART_HOME", ".stockmart")).resolve()


def landing_dir() -> Path:
    return Path(os.getenv("STOCKMART_LANDING_DIR") or stockmart_home() / "landing").resolve()
