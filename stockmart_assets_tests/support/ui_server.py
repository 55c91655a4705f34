"""Start and stop `dagster dev` for a test: in its own session, reachable on 127.0.0.1, stopped cleanly.

`dagster dev` started in the background from a non-interactive shell inherits SIGINT as *ignored*; Python then
installs no KeyboardInterrupt handler, and dagster dev maps SIGTERM onto that same (ignoring) handler, so it
ignores both. Here it is started in a new session with SIGINT and SIGTERM reset to their defaults, and stopped
the way a terminal's Ctrl-C stops it: SIGINT to the whole process group (dagster dev, dagster-webserver, the
daemon, the code server and any run it launched), then SIGTERM and SIGKILL only if something outlives a timeout.
`stop()` reports what was left, so a test can assert that nothing was.

    with DagsterDev(env=env, cwd=tmp_path, log_path=tmp_path / "dagster-dev.log") as server:
        server.wait_ready()
        server.graphql("{ version }")
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

MODULE = "stockmart_assets.definitions"
DAGSTER = str(Path(sys.executable).with_name("dagster"))

WORKSPACE_QUERY = """
{ workspaceOrError { __typename
    ... on Workspace { locationEntries { name loadStatus
        locationOrLoadError { __typename ... on PythonError { message } } } }
    ... on PythonError { message } } }
"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _reset_signals() -> None:  # runs in the child between fork and exec
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _proc_stat(pid: str) -> tuple[str, int, int] | None:
    """(state, process group, session) of a pid from /proc, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    return fields[0], int(fields[2]), int(fields[3])


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def session_processes(sid: int, include_zombies: bool = False) -> dict[int, str]:
    """Live processes in the process group or session `sid` (a session leader's pid is both), with cmdlines."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(entry)
        if stat and sid in (stat[1], stat[2]) and (include_zombies or stat[0] != "Z"):
            found[int(entry)] = cmdline(int(entry))
    return found


@dataclass
class StopReport:
    signals: list[str] = field(default_factory=list)  # the signals that had to be sent, in order
    returncode: int | None = None
    seconds: float = 0.0
    left: dict[int, str] = field(default_factory=dict)  # processes of the session still alive at the end

    @property
    def clean(self) -> bool:
        return self.signals == ["SIGINT"] and not self.left


class DagsterDev:
    """`dagster dev -m MODULE -h HOST -p PORT` (or ``command``, which must serve on HOST:PORT) in a new session;
    a context manager that always stops it."""

    def __init__(self, *, env: dict[str, str], cwd: Path | str, log_path: Path | str, module: str = MODULE,
                 host: str = "127.0.0.1", port: int | None = None, command: list[str] | None = None):
        self.env, self.cwd, self.log_path, self.module, self.host = env, str(cwd), Path(log_path), module, host
        self.port = port or free_port(host)
        self.command = command or [DAGSTER, "dev", "-m", module, "-h", host, "-p", str(self.port)]
        self.url = f"http://{host}:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.stop_report: StopReport | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> DagsterDev:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_reset_signals)
        return self

    @property
    def pgid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid  # a new session's leader leads its process group too

    def processes(self) -> dict[int, str]:
        return session_processes(self.pgid) if self.proc else {}

    def stop(self, interrupt_timeout: float = 60, term_timeout: float = 15) -> StopReport:
        """SIGINT to the process group; SIGTERM, then SIGKILL, only for what outlives each timeout."""
        if self.stop_report is not None:
            return self.stop_report
        report = self.stop_report = StopReport()
        if self.proc is None:
            return report
        start = time.monotonic()
        for sig, timeout in ((signal.SIGINT, interrupt_timeout), (signal.SIGTERM, term_timeout),
                             (signal.SIGKILL, 10)):
            if not self._alive():
                break
            report.signals.append(sig.name)
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                pass
            self._wait_gone(timeout)
        try:
            report.returncode = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        report.left = self.processes()
        report.seconds = round(time.monotonic() - start, 1)
        return report

    def _alive(self) -> bool:
        return self.proc.poll() is None or bool(self.processes())

    def _wait_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._alive():
            time.sleep(0.2)

    def __enter__(self) -> DagsterDev:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- talking to it -----------------------------------------------------------------------------------------
    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def get(self, path: str, timeout: float = 10) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.read()

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        request = urllib.request.Request(
            self.url + "/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def wait_ready(self, timeout: float = 300) -> dict:
        """Wait until the webserver answers /server_info and every code location has loaded; return server_info."""
        deadline, last = time.monotonic() + timeout, "no answer yet"
        info = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited ({self.proc and self.proc.returncode}):\n{self.log_tail()}")
            try:
                if info is None:
                    info = json.loads(self.get("/server_info", timeout=5))
                workspace = self.graphql(WORKSPACE_QUERY, timeout=10)["workspaceOrError"]
                entries = workspace.get("locationEntries") or []
                errors = [e for e in entries if (e.get("locationOrLoadError") or {}).get("__typename") == "PythonError"]
                if errors:
                    raise RuntimeError(f"code location failed to load: {errors}\n{self.log_tail()}")
                if entries and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries):
                    return info
                last = f"workspace: {entries or workspace}"
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError) as e:
                last = repr(e)
            time.sleep(1)
        raise TimeoutError(f"dagster dev not ready on {self.url} after {timeout}s ({last}):\n{self.log_tail()}")
