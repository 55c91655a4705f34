"""A local BigQuery API emulator for the tests: PyPI local-bigquery 0.3.2, run as its own process.

The emulator needs Python 3.13, so it lives in a virtualenv of its own (`.venv-bq`, made by
`scripts/install-bigquery-emulator.sh`), never in the project's .venv, and runs with HOME set to
`.venv-bq/home`, where that script put the DuckDB extensions it loads (so the user's ~/.duckdb is untouched).

    emulator = start_emulator(tmp_dir)          # waits until it answers
    client = emulator.client()                  # google.cloud.bigquery.Client at the emulator
    ...
    emulator.stop()                             # SIGTERM to its process group, SIGKILL after a timeout

or, in tests, the session fixture `bigquery_emulator` (import it into the test module or a conftest) and the
per-test `bq_dataset` fixture.

Timing of a 1,000,000-row load, by hand:

    .venv/bin/python -m stockmart_assets_tests.support.bigquery_emulator [ROWS]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

ROOT = Path(__file__).resolve().parents[2]  # the repository
INSTALL_SCRIPT = ROOT / "scripts" / "install-bigquery-emulator.sh"
VENV = Path(os.environ.get("STOCKMART_BQ_EMULATOR_VENV") or ROOT / ".venv-bq")
EXECUTABLE = VENV / "bin" / "local-bigquery"
EMULATOR_HOME = VENV / "home"
DEFAULT_PROJECT = "stockmart-test"
# Settings the emulator reads from the environment (pydantic-settings); the flags below set the main ones,
# and these are dropped so a stray variable of the caller's can't change it.
_EMULATOR_SETTINGS = ("BIGQUERY_PORT", "BIGQUERY_HOST", "GRPC_PORT", "DATA_DIR", "DEFAULT_PROJECT_ID",
                      "DEFAULT_DATASET_ID", "CALLER", "GROUPS", "POSTGRES_CONNECTION_ID", "GCS_LOCAL_ROOT",
                      "STORAGE_EMULATOR_HOST", "POSTGRES_URI")


_DEATH_SIGNAL = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []


class EmulatorError(RuntimeError):
    pass


def make_client(endpoint: str, project: str = DEFAULT_PROJECT) -> bigquery.Client:
    """A BigQuery client at the emulator: anonymous credentials, the emulator's REST endpoint."""
    return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                           client_options={"api_endpoint": endpoint})


class Emulator:
    """A running emulator. `process` is None for one started elsewhere (STOCKMART_TEST_BIGQUERY_ENDPOINT)."""

    def __init__(self, endpoint: str, project: str, process: subprocess.Popen | None = None,
                 data_dir: Path | None = None, log_path: Path | None = None):
        self.endpoint = endpoint
        self.project = project
        self.process = process
        self.data_dir = data_dir
        self.log_path = log_path

    def __repr__(self) -> str:
        return f"Emulator(endpoint={self.endpoint!r}, project={self.project!r})"

    def client(self, project: str | None = None) -> bigquery.Client:
        return make_client(self.endpoint, project or self.project)

    def log_tail(self, chars: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 15.0) -> None:
        """Stops the emulator's whole process group: SIGTERM (uvicorn shuts down cleanly), then SIGKILL."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def is_installed() -> bool:
    return EXECUTABLE.exists() and (VENV / ".stockmart-emulator-installed").exists()


def install() -> None:
    """Runs scripts/install-bigquery-emulator.sh (idempotent: quick when everything is there)."""
    result = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True,
                            env={**os.environ, "STOCKMART_BQ_EMULATOR_VENV": str(VENV)})
    if result.returncode != 0:
        raise EmulatorError(f"{INSTALL_SCRIPT.name} failed ({result.returncode}):\n"
                            f"{result.stdout[-2000:]}{result.stderr[-4000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(endpoint: str, project: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/bigquery/v2/projects/{project}/datasets", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start_emulator(tmp_dir: str | os.PathLike, *, project: str = DEFAULT_PROJECT, timeout: float = 60.0,
                   install_if_missing: bool = True) -> Emulator:
    """Starts the emulator on a free loopback port with its data in tmp_dir/data, and waits until it answers.

    Runs the install script first (unless install_if_missing=False). Its output goes to
    tmp_dir/local-bigquery.log. Raises EmulatorError when it can't be installed or started. The emulator gets
    SIGTERM if the thread that started it exits (setpriv --pdeathsig), so call this from the main thread.
    """
    if install_if_missing:
        install()  # idempotent: a few milliseconds when everything is in place
    elif not is_installed():
        raise EmulatorError(f"the emulator is not installed: run {INSTALL_SCRIPT}")
    tmp = Path(tmp_dir)
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in _EMULATOR_SETTINGS and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env |= {"HOME": str(EMULATOR_HOME), "PYTHONUNBUFFERED": "1"}
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between picking and binding it: try another
        port = _free_port()
        log_path = tmp / "local-bigquery.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                # setpriv --pdeathsig: the emulator gets SIGTERM if this process dies without stopping it.
                # --grpc-port 0: the Storage Read/Write API (unused: the project has no bigquery-storage)
                # binds to any free loopback port, so it can't collide.
                [*_DEATH_SIGNAL, str(EXECUTABLE), "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--grpc-port", "0", "--project", project, "--data-dir", str(data_dir)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp,
                start_new_session=True)
        emulator = Emulator(f"http://127.0.0.1:{port}", project, process, data_dir, log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(emulator.endpoint, project):
                return emulator
            time.sleep(0.1)
        last_error = emulator.log_tail()
        emulator.stop()
        if "address already in use" not in last_error.lower():
            break
    raise EmulatorError(f"the BigQuery emulator did not start (log {tmp / 'local-bigquery.log'}):\n{last_error}")


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory) -> Iterator[Emulator]:
    """The emulator for the whole test session; installed when missing. Never skipped: no emulator fails."""
    if endpoint := os.getenv("STOCKMART_TEST_BIGQUERY_ENDPOINT"):
        yield Emulator(endpoint.rstrip("/"), os.getenv("STOCKMART_TEST_BIGQUERY_PROJECT", DEFAULT_PROJECT))
        return
    try:
        emulator = start_emulator(tmp_path_factory.mktemp("bigquery-emulator"))
    except EmulatorError as error:
        failure = str(error)
    else:
        failure = None
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def bq_dataset(bigquery_emulator) -> Iterator[str]:
    """A new, empty dataset for one test (its id), dropped with its tables afterwards."""
    client = bigquery_emulator.client()
    dataset_id = f"t_{uuid.uuid4().hex[:12]}"
    client.create_dataset(dataset_id)
    try:
        yield dataset_id
    finally:
        client.delete_dataset(dataset_id, delete_contents=True, not_found_ok=True)
        client.close()


# --- timing, by hand -----------------------------------------------------------------------------------------


def trades_frame(rows: int, seed: int = 7):
    """Trade-like rows: trade_date DATE, traded_at TIMESTAMP, ticker/side STRING, qty INT64, price FLOAT64."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-12-26", tz="UTC")
    traded_at = start + pd.to_timedelta(rng.integers(0, 30 * 86400, rows), unit="s")
    return pd.DataFrame({
        "order_id": np.arange(1, rows + 1, dtype="int64"),
        "customer_id": rng.integers(1, 100_000, rows),
        "ticker": rng.choice(np.array(["AAPL", "AMZN", "GOOGL", "META", "MSFT"], dtype=object), rows),
        "side": rng.choice(np.array(["매수", "매도"], dtype=object), rows),
        "qty": rng.integers(1, 500, rows),
        "price": rng.uniform(10, 500, rows).round(4),
        "traded_at": traded_at,
        "trade_date": traded_at.date,
    })


def benchmark(rows: int = 1_000_000) -> dict[str, float]:
    """Times load_table_from_dataframe of `rows` trade-like rows into a fresh emulator, and a count(*)."""
    import warnings

    warnings.simplefilter("ignore")
    frame = trades_frame(rows)
    with tempfile.TemporaryDirectory(prefix="bq-bench-") as tmp:
        t0 = time.perf_counter()
        with start_emulator(tmp) as emulator:
            started = time.perf_counter() - t0
            client = emulator.client()
            client.create_dataset("bench")
            t0 = time.perf_counter()
            job = client.load_table_from_dataframe(
                frame, "bench.trades",
                job_config=bigquery.LoadJobConfig(write_disposition=bigquery.WriteDisposition.WRITE_APPEND))
            job.result()
            load = time.perf_counter() - t0
            t0 = time.perf_counter()
            count = next(iter(client.query("SELECT count(*) FROM bench.trades").result()))[0]
            counted = time.perf_counter() - t0
            t0 = time.perf_counter()
            sample = client.query("SELECT * FROM bench.trades WHERE trade_date = DATE '2024-12-26'").to_arrow(
                create_bqstorage_client=False)
            read = time.perf_counter() - t0
            client.close()
    assert count == rows, (count, rows)
    return {"rows": rows, "start_s": started, "load_s": load, "load_rows_per_s": rows / load,
            "count_s": counted, "read_rows": sample.num_rows, "read_s": read,
            "read_rows_per_s": sample.num_rows / read}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    result = benchmark(parser.parse_args(argv).rows)
    print(f"emulator start:            {result['start_s']:.2f} s")
    print(f"load_table_from_dataframe: {result['rows']:,} rows in {result['load_s']:.2f} s "
          f"= {result['load_rows_per_s']:,.0f} rows/s")
    print(f"SELECT count(*):           {result['count_s']:.3f} s")
    print(f"SELECT one day to_arrow:   {result['read_rows']:,} rows in {result['read_s']:.2f} s "
          f"= {result['read_rows_per_s']:,.0f} rows/s (REST, no bigquery-storage)")


if __name__ == "__main__":
    main()
