"""The Dagster objects, one folder per stage: raw, mysql, quality, mart, market, orchestration.

Loaded by ``stockmart_assets/definitions.py`` (dg's defs-folder loader). Single-run backfills and partitioned
asset checks are beta/preview in Dagster 1.13; stockmart uses them on purpose, so their warnings (one per
decorated object, on every load) are silenced here, before any is declared.
"""

import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
