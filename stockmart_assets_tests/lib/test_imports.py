"""The library is plain Python: every module of stockmart_assets.lib imports without Dagster, Spark or Java."""

import subprocess
import sys

from stockmart_assets_tests.support import REPO

PROBE = """
import pkgutil, importlib, sys
import stockmart_assets.lib as lib
names = [m.name for m in pkgutil.walk_packages(lib.__path__, "stockmart_assets.lib.")]
for name in names:
    importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"dagster", "pyspark", "pydeequ", "py4j"})
print(len(names), loaded)
"""


def test_every_library_module_imports_without_dagster_or_spark():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    count, loaded = done.stdout.split(" ", 1)
    assert int(count) >= 30, "every module was found"
    assert loaded.strip() == "[]", f"stockmart_assets.lib imported {loaded.strip()}"
