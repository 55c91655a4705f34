"""`stockmart ui`: the Dagster UI (``dg dev``) on this machine, with the Dagster home `stockmart run` uses."""

import os
import shutil
import signal
import sys
from pathlib import Path

from stockmart_assets.cli.home import command, instance, local_server


def cmd_ui(args) -> int:
    from stockmart_assets.lib.landing.units import scan_landing
    from stockmart_assets.lib.partitions_start import record_partitions_start
    from stockmart_assets.lib.paths import landing_dir

    _, days = scan_landing(landing_dir())
    first = min((d for ds in days.values() for d in ds), default=None)
    if first and (recorded := record_partitions_start(first)):
        print(f"daily partitions start on {recorded}, the first day of the landing files")
    instance().dispose()
    if not os.getenv("STOCKMART_MYSQL_URL"):
        server = local_server()
        server.ensure()
        print(f"the local MariaDB runs on 127.0.0.1:{server.port}; it keeps running after the UI stops "
              f"(stop it with: {command('mysql', 'stop')})")
    # dg (and the processes it starts) from this program's own environment, whatever PATH says.
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    # dg loads Dagster's component scaffolders, one of which warns that it is a preview on every start.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:Class `SparkDeclarativePipelineScaffolder` is currently in preview")
    print(f"the Dagster UI: http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    # Started in the background by a script, this process may have inherited SIGINT as ignored, and the UI
    # would then ignore Ctrl-C and SIGTERM alike: it gets the default handlers, whoever started it.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    listen = ["--host", args.host, "--port", str(args.port)]
    project = Path(__file__).resolve().parents[2]
    if (project / "pyproject.toml").is_file():  # a checkout: the dg project
        dg = shutil.which("dg", path=bin_dir) or os.path.join(bin_dir, "dg")
        os.execv(dg, [dg, "dev", *listen, "--target-path", str(project)])
    dagster = shutil.which("dagster", path=bin_dir) or os.path.join(bin_dir, "dagster")  # an installed package
    os.execv(dagster, [dagster, "dev", *listen, "-m", "stockmart_assets.definitions"])
