"""What the commands share: the Dagster home (and its instance), the throwaway MariaDB, how to name a command."""

import os
import sys
from pathlib import Path


def dagster_home() -> str:
    """The Dagster home of `run` and `ui`, with a dagster.yaml that limits the warehouse pool (a user's is kept)."""
    from stockmart_assets.instance import write_dagster_yaml
    from stockmart_assets.lib.paths import stockmart_home

    home = os.environ.get("DAGSTER_HOME") or str(stockmart_home() / "dagster_home")
    os.makedirs(home, exist_ok=True)
    os.environ["DAGSTER_HOME"] = home
    write_dagster_yaml(home)
    return home


def instance():
    """The instance of ``dagster_home()``, its pool limits in place and no slot left held by an ended run."""
    import dagster as dg

    from stockmart_assets.cli.stale_runs import fail_runs_of_dead_processes, free_slots_of_finished_runs
    from stockmart_assets.instance import ensure_pool_limits

    dagster_home()
    found = dg.DagsterInstance.get()
    for pool, limit in ensure_pool_limits(found).items():
        print(f"pool {pool}: limit {limit} (this Dagster home's dagster.yaml sets none)")
    for run_id in fail_runs_of_dead_processes(found):
        print(f"run {run_id} was left unfinished by a stockmart process that is gone: marked failed")
    if freed := free_slots_of_finished_runs(found):
        print(f"freed the pool slots of {freed} ended run(s)")
    return found


def local_server():
    from stockmart_assets.lib.mysql.local_server import LocalMariaDB
    from stockmart_assets.lib.paths import stockmart_home

    return LocalMariaDB(stockmart_home() / "mariadb")


def command(*args: str) -> str:
    """How the user calls this program, for the commands we suggest (``.venv/bin/stockmart ui``)."""
    me = sys.argv[0] if os.sep in sys.argv[0] and Path(sys.argv[0]).name == "stockmart" else "stockmart"
    if os.path.isabs(me) and Path(me).is_relative_to(Path.cwd()):
        me = os.path.relpath(me)
    return " ".join([me, *args])


def redact(url: str) -> str:
    from urllib.parse import urlparse

    u = urlparse(url)
    return url.replace(f":{u.password}@", ":***@") if u.password else url
