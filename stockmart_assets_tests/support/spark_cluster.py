"""A Spark standalone cluster for the tests: a master and workers from the pyspark pip package, on loopback.

pyspark's wheel ships ``bin/spark-class`` and every jar a standalone master and worker need, so no Spark
download is involved. Each daemon runs as its own process group (a session of its own, started through
``setpriv --pdeathsig TERM`` when available, so a killed test run does not leave it behind), with
SPARK_HOME at the pyspark package, SPARK_LOCAL_IP=127.0.0.1, PYSPARK_PYTHON at this interpreter, an empty
SPARK_CONF_DIR of its own and none of the caller's other SPARK_* / PYSPARK_* variables. Executors are
children of their worker, in the worker's process group, so stopping the groups stops them too.

    with SparkCluster(tmp_dir, workers=2).start() as cluster:  # returns once every worker is ALIVE
        cluster.master_url                 # spark://127.0.0.1:<port>, for SparkSession.builder.master(...)
        cluster.state()                    # the master's /json/: workers, active and completed applications
        cluster.worker_states()            # each worker's /json/: executors it runs and ran
        cluster.executor_logs(app_id)      # {(worker, executor id): the executor's stderr}
    # stopped: SIGTERM to each process group, SIGKILL after a timeout; cluster.leftovers() lists survivors

or, in tests, the ``spark_cluster`` fixture (import it into the test module): 2 workers of 1 core and 1g.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
_DEATH_SIGNAL = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []


class SparkClusterError(RuntimeError):
    pass


def pyspark_home() -> Path:
    """The installed pyspark package: it is a SPARK_HOME (bin/, jars/), found without importing pyspark."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise SparkClusterError("pyspark is not installed")
    home = Path(spec.origin).parent
    if not (home / "bin" / "spark-class").is_file() or not (home / "jars").is_dir():
        raise SparkClusterError(f"{home} has no bin/spark-class or jars/: not a pip-installed pyspark")
    return home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def get_json(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class Daemon:
    """One master or worker JVM (``spark-class`` execs java, so the process is the JVM itself)."""

    name: str
    process: subprocess.Popen
    log_path: Path
    webui_port: int

    @property
    def webui_url(self) -> str:
        """Where the web UI listens: Spark moves to the next port when another process took the free port we
        picked in the meantime, and says so in its log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        bound = re.findall(r"Successfully started service '\w*UI' on port (\d+)", text)
        return f"http://{HOST}:{bound[-1] if bound else self.webui_port}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@dataclass(frozen=True)
class Leftover:
    pid: int
    pgid: int
    state: str
    command: str


def processes_in_groups(pgids: set[int]) -> list[Leftover]:
    """Live processes (zombies excluded: they hold no resources) whose process group is one of ``pgids``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile
            continue
        # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses
        state, _ppid, pgrp = stat[stat.rindex(")") + 2:].split()[:3]
        if int(pgrp) in pgids and state != "Z":
            found.append(Leftover(int(entry.name), int(pgrp), state, command))
    return found


class SparkCluster:
    """A master and ``workers`` workers of ``cores`` cores and ``memory`` each, under ``work_dir``."""

    def __init__(self, work_dir: Path, workers: int = 2, cores: int = 1, memory: str = "1g",
                 daemon_memory: str = "512m", env: dict[str, str] | None = None, python: str = sys.executable):
        self.work_dir = Path(work_dir)
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.daemon_memory = daemon_memory
        self.extra_env = dict(env or {})
        self.python = python
        self.home = pyspark_home()
        self.port = 0
        self.master: Daemon | None = None
        self.worker_daemons: list[Daemon] = []
        self._pgids: set[int] = set()

    def __repr__(self) -> str:
        return f"SparkCluster({self.master_url!r}, workers={self.workers})"

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    @property
    def master_webui_url(self) -> str:
        if self.master is None:
            raise SparkClusterError("the cluster is not started")
        return self.master.webui_url

    def environment(self) -> dict[str, str]:
        conf_dir = self.work_dir / "conf"  # empty: no spark-env.sh or spark-defaults.conf of anyone's
        conf_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
        env.update(SPARK_HOME=str(self.home), SPARK_CONF_DIR=str(conf_dir), SPARK_LOCAL_IP=HOST,
                   SPARK_DAEMON_MEMORY=self.daemon_memory, PYSPARK_PYTHON=self.python,
                   PYSPARK_DRIVER_PYTHON=self.python)
        env.update(self.extra_env)
        return env

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self, timeout: float = 180.0) -> SparkCluster:
        """Start the master, then the workers; return once the master reports every worker ALIVE."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        try:
            self.port = free_port()
            self.master = self._spawn("master", [MASTER_CLASS, "--host", HOST, "--port", str(self.port)])
            self._wait(lambda: self.state().get("status") == "ALIVE", deadline, "the master to be ALIVE")
            for i in range(self.workers):
                worker_dir = self.work_dir / f"worker-{i}"
                worker_dir.mkdir(parents=True, exist_ok=True)
                self.worker_daemons.append(self._spawn(f"worker-{i}", [
                    WORKER_CLASS, self.master_url, "--host", HOST, "--cores", str(self.cores),
                    "--memory", self.memory, "--work-dir", str(worker_dir)]))
            self._wait(lambda: len(self.alive_workers()) == self.workers, deadline,
                       f"{self.workers} ALIVE workers")
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, arguments: list[str]) -> Daemon:
        webui_port = free_port()
        log_path = self.work_dir / f"{name}.log"
        command = [*_DEATH_SIGNAL, str(self.home / "bin" / "spark-class"), *arguments, "--webui-port", str(webui_port)]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       env=self.environment(), cwd=self.work_dir, start_new_session=True)
        self._pgids.add(process.pid)  # a new session: its process group id is its pid
        daemon = Daemon(name, process, log_path, webui_port)
        if name == "master":
            self.master = daemon
        return daemon

    def _daemons(self) -> list[Daemon]:
        return [*([self.master] if self.master else []), *self.worker_daemons]

    def _wait(self, ready, deadline: float, what: str) -> None:
        while True:
            for daemon in self._daemons():
                if daemon.process.poll() is not None:
                    raise SparkClusterError(f"spark {daemon.name} exited with {daemon.process.returncode} "
                                            f"while waiting for {what}:\n{daemon.log_tail()}")
            with contextlib.suppress(OSError, ValueError):  # not listening yet / half-written answer
                if ready():
                    return
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {d.name}\n{d.log_tail(1500)}" for d in self._daemons())
                raise SparkClusterError(f"timed out waiting for {what}\n{logs}")
            time.sleep(0.5)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to every process group (workers first, so they stop their executors), SIGKILL after
        ``timeout``; returns once no live process of these groups is left. Safe to call twice."""
        daemons = [*self.worker_daemons, *([self.master] if self.master else [])]
        for daemon in daemons:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(daemon.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.2)
        for pgid in {p.pgid for p in self.leftovers()}:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        for daemon in daemons:
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.process.wait(10)
        deadline = time.monotonic() + 10
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.2)

    def leftovers(self) -> list[Leftover]:
        """Live processes of the cluster's process groups: daemons and the executors they started."""
        return processes_in_groups(self._pgids)

    def __enter__(self) -> SparkCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what the cluster reports ----------------------------------------------------------------------------

    def state(self) -> dict:
        """The master's /json/: status, workers (with state and webuiaddress), activeapps, completedapps."""
        return get_json(f"{self.master_webui_url}/json/")

    def alive_workers(self) -> list[dict]:
        return [w for w in self.state().get("workers", []) if w.get("state") == "ALIVE"]

    def worker_states(self) -> dict[str, dict]:
        """Each worker's /json/ (executors: running, finishedexecutors: ended), by worker name."""
        return {d.name: get_json(f"{d.webui_url}/json/") for d in self.worker_daemons}

    def applications(self, name: str | None = None) -> list[dict]:
        """Active and completed applications (id, name, state, cores, duration), optionally by name."""
        state = self.state()
        apps = [*state.get("activeapps", []), *state.get("completedapps", [])]
        return [a for a in apps if name is None or a.get("name") == name]

    def wait_until_idle(self, completed: int = 0, timeout: float = 60.0) -> None:
        """Wait until no application is active and at least ``completed`` have finished (a stopped driver
        unregisters asynchronously, and the master records it as completed a moment later)."""
        def idle() -> bool:
            state = self.state()
            return not state.get("activeapps") and len(state.get("completedapps", [])) >= completed
        self._wait(idle, time.monotonic() + timeout, f"no active application and {completed} completed")

    def executor_logs(self, app_id: str) -> dict[tuple[str, str], str]:
        """The stderr of each executor of ``app_id``, by (worker name, executor id), from the work dirs."""
        logs = {}
        for daemon in self.worker_daemons:
            app_dir = self.work_dir / daemon.name / app_id
            if app_dir.is_dir():
                for executor in sorted(p for p in app_dir.iterdir() if p.is_dir()):
                    stderr = executor / "stderr"
                    logs[(daemon.name, executor.name)] = stderr.read_text(errors="replace") if stderr.exists() else ""
        return logs

    def log_tail(self, chars: int = 2000) -> str:
        return "\n".join(f"--- {d.name}\n{d.log_tail(chars)}" for d in self._daemons())


@pytest.fixture
def spark_cluster(tmp_path):
    """A running master and two 1-core, 1g workers on loopback; stopped (process groups) after the test."""
    cluster = SparkCluster(tmp_path / "spark-cluster", workers=2, cores=1, memory="1g").start()
    try:
        yield cluster
    finally:
        cluster.stop()
