"""Bars written into the landing folder as the service's export files: ``stock/<TICKER>_data.csv``, and the
market stage's per-day ``stock/<TICKER>_<DAY>_data.csv``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.landing.contract import STOCK_PRICE
from stockmart_assets.lib.market.yfinance_bars import BAR_COLUMNS, BAR_DTYPES, TICKER, TS

if TYPE_CHECKING:
    import pandas as pd


def bar_file(ticker: str) -> str:
    """The landing path of a ticker's bars, from the contract's glob (``stock/*_data.csv``)."""
    if not ticker or any(ch in ticker for ch in "/\\*?[]") or ticker.startswith("."):
        raise ValueError(f"not a usable ticker for a file name: {ticker!r}")
    (pattern,) = STOCK_PRICE.globs
    return pattern.replace("*", ticker)


def write_landing_csv(df: pd.DataFrame, folder: str | os.PathLike) -> list[Path]:
    """Write one ``stock/<TICKER>_data.csv`` per ticker under ``folder``, exactly like the service's export.

    The file starts with pandas' unnamed index column (0, 1, ... per file), datetimes read like
    ``2024-12-26 14:30:00+00:00`` and floats keep every digit. Each file appears whole or not at all: it is
    written to a temporary file beside it and moved into place. An empty frame writes nothing.
    """
    missing = [c for c in BAR_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"bars lack the landing column(s) {missing}; expected {BAR_COLUMNS}")
    written = []
    for ticker, bars in df.groupby(TICKER, sort=True):
        path = Path(folder) / bar_file(str(ticker))
        path.parent.mkdir(parents=True, exist_ok=True)
        bars = bars[BAR_COLUMNS].astype(BAR_DTYPES).sort_values(TS).reset_index(drop=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                bars.to_csv(f, lineterminator="\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(path)
    return written


def day_bar_file(ticker: str, day: Day) -> str:
    """A day's landing file of a ticker, ``stock/<TICKER>_<YYYY-MM-DD>_data.csv``: the contract's glob matches it."""
    return bar_file(f"{ticker}_{day.key}")


def write_day_landing(bars: pd.DataFrame, landing_dir: str | os.PathLike, day: Day) -> list[Path]:
    """One landing file per ticker for ``day``, each in the export format and moved into place whole.

    ``write_landing_csv`` names files by ticker only, so it writes into a staging folder beside ``stock/`` (same
    file system, outside every landing glob) and each file is renamed to its per-day name.
    """
    landing = Path(landing_dir)
    landing.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=landing, prefix=".market-staging-"))
    try:
        staged = {staging / bar_file(t): t for t in bars[TICKER].unique()}
        written = []
        for path in write_landing_csv(bars, staging):
            target = landing / day_bar_file(staged[path], day)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
