"""What the tests (and the benchmarks) share: servers they start, fixtures, helpers. Not tests themselves."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the repository's root
