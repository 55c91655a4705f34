"""The suite's report: the machine it ran on, each figure against its target, and the section for BENCHMARKS.md."""

import os
import platform
import subprocess
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

GIB = 1024 ** 3


@dataclass
class Figure:
    """One reported number; ``limit`` is the issue's target (an upper bound), None where it sets none."""

    name: str
    value: float | None
    unit: str  # "s", "x" (a ratio) or "GiB"
    limit: float | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.limit is None or self.value is None:
            return None
        return self.value <= self.limit

    def shown(self, number: float | None) -> str:
        if number is None:
            return "n/a"
        return {"s": f"{number:.2f} s", "x": f"{number:.2f}×", "GiB": f"{number:.2f} GiB"}[self.unit]

    def row(self) -> str:
        target = f"≤ {self.shown(self.limit)}" if self.limit is not None else "—"
        met = {True: "yes", False: "**no**", None: "—"}[self.met]
        value = self.shown(self.value) + (f" ({self.note})" if self.note else "")
        return f"| {self.name} | {value} | {target} | {met} |"

    def as_json(self) -> dict:
        return {"name": self.name, "value": None if self.value is None else round(self.value, 3), "unit": self.unit,
                "target_max": self.limit, "met": self.met, **({"note": self.note} if self.note else {})}


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return ((done.stdout or done.stderr).strip().splitlines() or ["unknown"])[0]


def machine(mariadb_version: str | None, bigquery_venv: Path) -> dict:
    meminfo = Path("/proc/meminfo").read_text().split()
    os_release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    emulator_python = bigquery_venv / "bin" / "python"
    return {
        "host": platform.node(), "cores": os.cpu_count(),
        "ram_gib": round(int(meminfo[meminfo.index("MemTotal:") + 1]) * 1024 / GIB, 1),
        "os": os_release.get("PRETTY_NAME", platform.platform()).strip('"'),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(), "java": _first_line(["java", "-version"]),
        "mariadb": mariadb_version or "not started",
        **{p: _version(p) for p in ("dagster", "duckdb", "pyspark", "pydeequ", "pyarrow", "pymysql")},
        "local-bigquery": _first_line([str(emulator_python), "-c", "import importlib.metadata as m; "
                                       "print(m.version('local-bigquery'))"]) if emulator_python.exists() else "absent",
    }


def markdown(command: str, date: str, info: dict, figures: list[Figure], details: list[str]) -> str:
    versions = ", ".join(f"{k} {info[k]}" for k in ("dagster", "duckdb", "pyspark", "pydeequ", "pyarrow",
                                                      "local-bigquery"))
    lines = [
        "", f"## Suite run {date} (issue 7, `bench/run_all.py`)", "",
        f"`{command}`", "",
        f"Machine: {info['cores']} cores, {info['ram_gib']} GiB RAM, {info['os']}, Python {info['python']}, "
        f"{info['java']}, MariaDB {info['mariadb']}; {versions}. Load average at start: "
        f"{', '.join(str(x) for x in info['load_average_at_start'])}.", "",
        "| figure | measured | target | met? |", "|---|---|---|---|",
        *[f.row() for f in figures], "",
        *details,
    ]
    return "\n".join(lines) + "\n"
