"""`stockmart`: load the landing folder on the embedded defaults, open the UI, manage the local MariaDB.

    stockmart run [--sample]     load what the landing folder holds and the mart does not have yet
    stockmart ui                 the Dagster UI (dg dev) on 127.0.0.1, with the same Dagster home as `run`
    stockmart mysql start|stop|url|install
"""

import argparse
import os
import sys


def cmd_mysql(args) -> int:
    from stockmart_assets.cli.home import local_server, redact
    from stockmart_assets.lib.mysql.install import install_mariadb_if_missing

    server = local_server()
    if args.action == "install":
        install_mariadb_if_missing()
    elif args.action == "start":
        install_mariadb_if_missing()
        print(redact(server.ensure()))
    elif args.action == "url":
        print(server.ensure())
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    return 0


def main(argv: list[str] | None = None) -> int:
    from stockmart_assets.cli.run import cmd_run
    from stockmart_assets.cli.ui import cmd_ui

    parser = argparse.ArgumentParser(prog="stockmart", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="load what the landing folder holds and the mart does not have yet")
    run.add_argument("--sample", action="store_true",
                     help="first write generated landing files, if the landing folder holds none")
    run.add_argument("--customers", type=int, default=20, help="sample size (with --sample)")
    run.add_argument("--days", type=int, default=3, help="sample days, ending yesterday (with --sample)")
    run.add_argument("--trades-per-day", type=int, default=20, help="sample size (with --sample)")
    run.add_argument("--seed", type=int, default=0, help="sample seed (with --sample)")
    run.add_argument("--empty-days-without-files", action="store_true",
                     help="also load, as empty, the days loaded earlier that no landing file holds any more "
                          "(their rows leave MySQL and the mart)")
    run.set_defaults(func=cmd_run)
    ui = sub.add_parser("ui", help="open the Dagster UI (dg dev) on this machine only")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=int(os.getenv("STOCKMART_UI_PORT", "3000")),
                    help="default 3000, or STOCKMART_UI_PORT")
    ui.set_defaults(func=cmd_ui)
    mysql = sub.add_parser("mysql", help="the throwaway local MariaDB under $STOCKMART_HOME/mariadb")
    mysql.add_argument("action", choices=["start", "stop", "url", "install"])
    mysql.set_defaults(func=cmd_mysql)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
