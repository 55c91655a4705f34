"""Shared fixtures: a real throwaway MariaDB for the session, a clean schema per test, landing folders."""

import os
import textwrap
from pathlib import Path

# The tests use fixed dates (the seed's 2024-12-26..28): their partitions start here, whatever a developer's
# own `.stockmart/partitions_start` says. Set before any test module builds the partitions.
os.environ["STOCKMART_PARTITIONS_START"] = "2020-01-01"

import pymysql  # noqa: E402
import pytest  # noqa: E402

from stockmart_assets.lib.mysql.ddl import LOADS_TABLE, TABLE_ORDER  # noqa: E402
from stockmart_assets_tests.support import spark_starts  # noqa: E402
from stockmart_assets.lib.mysql.install import install_mariadb_if_missing  # noqa: E402
from stockmart_assets.lib.mysql.local_server import LocalMariaDB  # noqa: E402

# A few real rows of the service's export, exactly as it writes them (Korean headers, no trailing newline).
SEED_FILES = {
    "budget.csv": "계좌id,예산\n100001,4500000\n100013,7000000\n100024,12000000\n100035,9000000",
    "customer.csv": "id,이름,성별,나이,계좌id\n1,김민수,남,32,100001\n2,이영희,여,27,100013\n"
                    "3,박성준,남,41,100024\n4,최수정,여,36,100035",
    "stocks.csv": "stock_id,company,ticker\n1,apple,AAPL\n2,amazon,AMZN\n3,google,GOOGL\n4,meta,META\n"
                  "5,microsoft,MSFT\n",
    "trade.csv": "주문id,고객id,주식,거래종류,주문량,주문일시\n101,1,2,매수,30,2024-12-26 09:15\n"
                 "102,3,4,매도,10,2024-12-26 09:47\n103,2,1,매수,50,2024-12-27 10:05\n"
                 "104,4,5,매도,15,2024-12-27 14:22\n105,2,3,매수,70,2024-12-28 16:30",
    "stock/AAPL_data.csv": textwrap.dedent("""\
        ,Datetime,Close,High,Low,Open,Volume,Company,ticker
        0,2024-12-26 14:30:00+00:00,258.9790954589844,259.19000244140625,258.1000061035156,258.9790954589844,1052265,Apple,AAPL
        1,2024-12-26 14:31:00+00:00,259.3900146484375,259.6499938964844,258.8450012207031,258.889892578125,299504,Apple,AAPL
        2,2024-12-27 20:59:00+00:00,255.72000122070312,255.82000732421875,255.5399932861328,255.58999633789062,1465202,Apple,AAPL"""),
}


def write_landing(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


@pytest.fixture
def seed_landing(tmp_path) -> Path:
    return write_landing(tmp_path / "landing", SEED_FILES)


@pytest.fixture(scope="session")
def mysql_server(tmp_path_factory):
    """A real MariaDB on a loopback port for the whole session. Never skipped: no server is a failure."""
    if url := os.getenv("STOCKMART_TEST_MYSQL_URL"):
        yield url
        return
    install_mariadb_if_missing()
    server = LocalMariaDB(tmp_path_factory.mktemp("mariadb"))
    url = server.ensure()
    LOCAL_SERVERS[url] = server
    yield url
    server.stop()


LOCAL_SERVERS: dict[str, LocalMariaDB] = {}


@pytest.fixture
def mysql_root(mysql_server):
    """Root connections to the session's server, for what only an administrator does (rotate or purge the
    binlog, change a global setting). Needs the throwaway server, not STOCKMART_TEST_MYSQL_URL's."""
    if mysql_server not in LOCAL_SERVERS:
        pytest.fail("this test administers the server: run it on the throwaway MariaDB", pytrace=False)
    return lambda: LOCAL_SERVERS[mysql_server].root(autocommit=True)


@pytest.fixture
def mysql_url(mysql_server, monkeypatch) -> str:
    """The server with an empty stockmart schema, and STOCKMART_MYSQL_URL pointing at it."""
    with mysql_connect(mysql_server) as con, con.cursor() as cur:
        for name in (*reversed(TABLE_ORDER), LOADS_TABLE):
            cur.execute(f"DROP TABLE IF EXISTS `{name}`")
    monkeypatch.setenv("STOCKMART_MYSQL_URL", mysql_server)
    return mysql_server


def mysql_connect(url: str) -> pymysql.Connection:
    from stockmart_assets.defs.mysql.resources import MySQLResource

    return pymysql.connect(**MySQLResource(url=url).connection_params(), charset="utf8mb4", autocommit=True)


def table_state(url: str) -> dict[str, tuple[int, int | None]]:
    """Row count and CHECKSUM TABLE of every operational table: equal states mean identical tables."""
    state = {}
    with mysql_connect(url) as con, con.cursor() as cur:
        for name in TABLE_ORDER:
            cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                        "AND table_name = %s", (name,))
            if not cur.fetchone()[0]:
                state[name] = (0, None)
                continue
            cur.execute(f"SELECT count(*) FROM `{name}`")
            rows = cur.fetchone()[0]
            cur.execute(f"CHECKSUM TABLE `{name}`")
            state[name] = (rows, cur.fetchone()[1])
    return state


spark_starts.install()

SERVER_FIXTURES = {"mysql_server", "mysql_url", "mysql_root", "bigquery_emulator", "bq_dataset", "spark"}


def pytest_collection_modifyitems(items):
    """Anything that starts a server or a JVM is slow: `-m "not slow"` is the seconds-long set."""
    for item in items:
        if item.get_closest_marker("mysql") or item.get_closest_marker("spark") or (
                SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.slow)
