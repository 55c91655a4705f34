"""Peak memory of a benchmark child: its whole process tree (Python and the Spark JVM it starts), sampled.

A stage's peak is not one process's: the quality checks run in the Python process *and* in the JVM that
pyspark starts as its child, so ``ru_maxrss`` (the largest single process) undercounts. A thread samples the
resident set of the child and every descendant from ``/proc`` every ``interval`` seconds, with wall-clock
timestamps, so peaks can be attributed afterwards to the windows (Dagster steps, floor phases) the child reports.

A process that starts a program (the JVM running a shell command, Python a subprocess) clones itself with
``CLONE_VM`` (``posix_spawn``, ``vfork``): until the program starts, the clone shares its parent's memory, and
/proc shows it the parent's whole resident set. Summed as it is, a 1.3 GiB JVM spawning a command reads as
2.6 GiB for that moment. A memory space is counted once (``kcmp(2)`` tells whether two processes share one).
"""

import ctypes
import os
import threading
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return found


def tree(pid: int) -> list[tuple[int, int | None]]:
    """``pid`` and all its descendants (as far as /proc shows them right now), each with its parent."""
    pids, todo = [], [(pid, None)]
    while todo:
        p, parent = todo.pop()
        pids.append((p, parent))
        todo += [(c, p) for c in _children(p)]
    return pids


_KCMP = {"x86_64": 312, "aarch64": 272}.get(os.uname().machine)  # the kcmp(2) system call's number
_KCMP_VM = 1
_libc = ctypes.CDLL(None, use_errno=True)


def shares_memory(a: int, b: int) -> bool:
    """Whether processes ``a`` and ``b`` share one memory space (False where kcmp(2) cannot tell)."""
    return _KCMP is not None and _libc.syscall(_KCMP, a, b, _KCMP_VM, 0, 0) == 0


def rss_bytes(pid: int) -> tuple[str, int]:
    """(command name, resident set size in bytes) of one process; (name, 0) once it is gone."""
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return name, int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return "?", 0


class TreeSampler:
    """Samples (time, total RSS of the tree, RSS of its java processes) until stopped."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int, int]] = []
        self.at_peak: list[tuple[int, str, int]] = []  # (pid, command name, RSS) of each process at the peak
        self.clones: list[tuple[float, str, int]] = []  # (time, command name, RSS shown) of each clone not counted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"rss-sampler-{pid}")

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = java = 0
            seen = []
            for p, parent in tree(self.pid):
                if parent is not None and shares_memory(p, parent):
                    self.clones.append((time.time(), *rss_bytes(p)))  # its parent's memory, counted with the parent
                    continue
                name, rss = rss_bytes(p)
                total += rss
                java += rss if name == "java" else 0
                seen.append((p, name, rss))
            if total:
                if total > sum(rss for _, _, rss in self.at_peak):
                    self.at_peak = seen
                self.samples.append((time.time(), total, java))
            self._stop.wait(self.interval)

    def latest(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def peak(self, windows: list[tuple[float, float]] | None = None, python_only: bool = False) -> int:
        """Largest tree RSS seen (within any of ``windows``, wall-clock (start, end) pairs, if given; a window
        is widened by one interval each side, so a step shorter than the interval still gets its neighbours).
        ``python_only``: without the JVM's share."""
        pad = self.interval * 1.5
        return max((total - java if python_only else total for t, total, java in self.samples
                    if windows is None or any(a - pad <= t <= b + pad for a, b in windows)), default=0)

    def peak_java(self) -> int:
        return max((s[2] for s in self.samples), default=0)

