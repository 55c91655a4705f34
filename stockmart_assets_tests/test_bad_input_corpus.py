"""The bad-input corpus (issue 7): malformed landing files, generated here, each with what must happen to it.

Every case is data: the files it writes over the seed export (``conftest.SEED_FILES``) and its expected outcome.

- ``Rejected``: the reader (and so the ``raw/*`` asset) fails naming the file, the line and the column; nothing
  reaches MySQL or the mart. The policy for a file with one bad row among good ones: the whole file is refused,
  the problem names that row alone, and every table keeps its previous state. No good row is lost because no
  row of a refused file is loaded: fix the line, and the next run loads them all. Reordered columns are refused
  too: the contract fixes the order (the header is checked by position, Korean or English names accepted).
- ``Loaded``: input that is arguably fine, and that a user of a Korean trading-service export would expect to
  load: Excel's "CSV UTF-8" (BOM + CRLF), classic Mac line ends, SQL-looking names, a header-only extra file.
  Every row comes through exactly as the good version's (values verbatim, same lines).
- ``RefusedByMySQL``: parses, but breaks a foreign key: the MySQL load rolls back and names the file and line
  (or, for a dimension export that drops referenced rows, the table).
- ``GateFails``: parses and loads, but breaks a blocking Deequ rule (zero or negative quantities): the day's
  check fails and the mart's partition keeps its previous content.
- ``OutsidePartitions``: dates outside the daily partitions (before their start, or in the future): no run can
  load them; the landing sensor warns, naming the file and the day, and the other days load every row.

The fast part (reader and sensor, no server) runs in seconds. The slow part drives the real assets on MariaDB,
Spark + Deequ and the DuckDB mart, with one Spark JVM for the whole module (the project's resource stops Spark
after each run; here a subclass keeps the session until the module ends).
"""

import dataclasses
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from stockmart_assets.defs.quality.checks import quality_checks
from stockmart_assets.definitions import defs
from stockmart_assets.environment import build_resources
from stockmart_assets.lib.landing.contract import TABLES
from stockmart_assets.lib.landing.problems import LandingFileError
from stockmart_assets.lib.landing.reader import SOURCE_FILE, read_landing
from stockmart_assets.lib.mysql.ddl import TABLE_ORDER
from stockmart_assets.partitions import START_DATE
from stockmart_assets.lib.deequ import spark as quality_spark
from stockmart_assets.defs.raw.resources import LandingResource
from stockmart_assets.defs.orchestration.sensors import landing_files
from stockmart_assets_tests.support.spark_starts import STARTS
from stockmart_assets_tests.conftest import SEED_FILES, mysql_connect, table_state, write_landing
from stockmart_assets_tests.support.instance_state import record_loaded
from stockmart_assets_tests.support.pipeline import ALL_ASSETS

TRADE = "trade.csv"
CUSTOMER = "customer.csv"
BUDGET = "budget.csv"
STOCKS = "stocks.csv"
BARS = "stock/AAPL_data.csv"
FILE_TABLE = {TRADE: "trade", "trade_late.csv": "trade", "trade_empty.csv": "trade", CUSTOMER: "customer",
              BUDGET: "budget", STOCKS: "stocks", BARS: "stock_price"}
DAYS = ["2024-12-26", "2024-12-27", "2024-12-28"]
DAY = "2024-12-27"  # the day the fact cases touch


def seed(name: str) -> str:
    return SEED_FILES[name]


def append(name: str, *rows: str) -> str:
    """The seed export with rows added at its end (the seed files' line counts are in the cases)."""
    return seed(name).rstrip("\n") + "\n" + "\n".join(rows)


def edit(name: str, old: str, new: str) -> str:
    content = seed(name)
    assert content.count(old) == 1, f"{old!r} must occur once in {name}"
    return content.replace(old, new)


def drop_field(content: str, index: int) -> str:
    return "\n".join(",".join(f for i, f in enumerate(line.split(",")) if i != index) for line in content.split("\n"))


def swap_fields(content: str, a: int, b: int) -> str:
    def swap(line: str) -> str:
        fields = line.split(",")
        fields[a], fields[b] = fields[b], fields[a]
        return ",".join(fields)
    return "\n".join(swap(line) for line in content.split("\n"))


# --- the outcomes -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rejected:
    file: str  # the landing file the first problem names (relative to the landing folder)
    line: int
    column: str
    says: str  # a fragment of that problem's message
    problems: int = 1  # how many problems the reader lists in all


@dataclasses.dataclass(frozen=True)
class Loaded:
    values: dict = dataclasses.field(default_factory=dict)  # column -> values (in key order) that must be verbatim
    same_as_seed: bool = True  # every row equal to the seed's, lines included


@dataclasses.dataclass(frozen=True)
class RefusedByMySQL:
    says: str  # the fragment of the failure that names the file, line and column (or the table)


@dataclasses.dataclass(frozen=True)
class GateFails:
    line: int  # the line of the landing file the bad row is on (it parses: the reader returns it from there)
    constraint: str  # a fragment of the failed constraint's description


@dataclasses.dataclass(frozen=True)
class OutsidePartitions:
    days: tuple[str, ...]  # the days no partition exists for


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    table: str
    files: dict  # landing file -> content (str is written as UTF-8; bytes as they are)
    expect: Rejected | Loaded | RefusedByMySQL | GateFails | OutsidePartitions

    @property
    def partition(self) -> str | None:
        return DAY if TABLES[self.table].partition_column else None


TRADE_ROW = "106,1,2,매수,3,2024-12-27 11:00"  # a good trade of the case day, to vary
HOSTILE_NAMES = ["Robert'); DROP TABLE customer;--", "' OR '1'='1", '"quoted", with comma', "NULL"]
HUGE_NAME = "가" * 1_000_000  # 3 MB of UTF-8 on one line: over DuckDB's 2 MB line limit

CASES = [
    # --- encoding --------------------------------------------------------------------------------------------
    Case("trade: a row in CP949 inside a UTF-8 file", "trade",
         {TRADE: append(TRADE, "").encode() + "106,1,2,매수,3,2024-12-27 11:00".encode("cp949")},
         Rejected(TRADE, 7, "trade_type", "not utf-8 encoded")),
    Case("trade: the whole export in CP949 (Excel's 'CSV' on Korean Windows)", "trade",
         {TRADE: seed(TRADE).encode("cp949")}, Rejected(TRADE, 1, "주문id", "reads as CP949/EUC-KR")),
    Case("budget: UTF-16 with BOM (Excel's 'Unicode text')", "budget",
         {BUDGET: seed(BUDGET).encode("utf-16")}, Rejected(BUDGET, 1, "계좌id", "the file is UTF-16")),
    Case("trade: Excel's 'CSV UTF-8' (BOM and CRLF line ends)", "trade",
         {TRADE: b"\xef\xbb\xbf" + seed(TRADE).replace("\n", "\r\n").encode()}, Loaded()),
    Case("customer: classic Mac line ends (CR only)", "customer",
         {CUSTOMER: seed(CUSTOMER).replace("\n", "\r") + "\r"}, Loaded()),
    # --- columns ---------------------------------------------------------------------------------------------
    Case("trade: the quantity column missing", "trade", {TRADE: drop_field(seed(TRADE), 4)},
         Rejected(TRADE, 1, "주문량", "column 5 missing from header")),
    Case("stocks: an extra column", "stocks",
         {STOCKS: "\n".join(line + (",sector" if i == 0 else ",tech") if line else line
                            for i, line in enumerate(seed(STOCKS).split("\n")))},
         Rejected(STOCKS, 1, "sector", "unexpected extra column in header")),
    Case("trade: customer and stock columns swapped (header and rows)", "trade",
         {TRADE: swap_fields(seed(TRADE), 1, 2)},
         Rejected(TRADE, 1, "주식", "expected column 2 to be '고객id' or 'customer_id'", problems=2)),
    Case("budget: semicolons as delimiter (European Excel)", "budget", {BUDGET: seed(BUDGET).replace(",", ";")},
         Rejected(BUDGET, 1, "계좌id;예산", "expected column 1 to be '계좌id' or 'budget_id'", problems=2)),
    Case("stock price: no unnamed index column", "stock_price",
         {BARS: "\n".join(line.split(",", 1)[1] for line in seed(BARS).split("\n"))},
         Rejected(BARS, 1, "(index)", "column 1 missing from header")),
    Case("trade: a row with too few fields", "trade", {TRADE: append(TRADE, "106,1,2,매수,3")},
         Rejected(TRADE, 7, "order_datetime", "missing columns: Expected Number of Columns: 6 Found: 5")),
    Case("trade: a row with too many fields", "trade", {TRADE: append(TRADE, TRADE_ROW + ",memo")},
         Rejected(TRADE, 7, "(extra field 7)", "too many columns: Expected Number of Columns: 6 Found: 7")),
    # --- types -----------------------------------------------------------------------------------------------
    Case("trade: text where the quantity goes", "trade", {TRADE: append(TRADE, "106,1,2,매수,many,2024-12-27 11:00")},
         Rejected(TRADE, 7, "quantity", 'could not convert "many" to BIGINT: not a number')),
    Case("trade: a fractional quantity (would round to 2)", "trade",
         {TRADE: append(TRADE, "106,1,2,매수,1.5,2024-12-27 11:00")},
         Rejected(TRADE, 7, "quantity", 'could not convert "1.5" to BIGINT: it has more decimal places')),
    Case("budget: a thousands separator (Excel's number format)", "budget",
         {BUDGET: edit(BUDGET, "100001,4500000", '100001,"4,500,000"')},
         Rejected(BUDGET, 2, "budget", 'could not convert "4,500,000" to DECIMAL(18,2): not a number')),
    Case("customer: a fractional age (would round)", "customer", {CUSTOMER: edit(CUSTOMER, "여,27,", "여,27.5,")},
         Rejected(CUSTOMER, 3, "age", 'could not convert "27.5" to INTEGER: it has more decimal places')),
    Case("trade: February 30th", "trade", {TRADE: append(TRADE, "106,1,2,매수,3,2024-02-30 11:00")},
         Rejected(TRADE, 7, "order_datetime", 'Could not convert string "2024-02-30 11:00" to \'TIMESTAMP\'')),
    Case("stock price: hour 25", "stock_price",
         {BARS: append(BARS, "3,2024-12-27 25:00:00+00:00,255.6,255.7,255.5,255.6,1000,Apple,AAPL")},
         Rejected(BARS, 5, "ts", 'Could not convert string "2024-12-27 25:00:00+00:00"')),
    Case("stock price: 'nan' and 'inf' where prices go (DuckDB reads them as numbers, MySQL refuses them)",
         "stock_price", {BARS: append(BARS, "3,2024-12-27 21:00:00+00:00,nan,inf,255.5,255.6,1000,Apple,AAPL")},
         Rejected(BARS, 5, "close", "value nan is not a finite number", problems=2)),
    # --- empty, header only -----------------------------------------------------------------------------------
    Case("trade: an empty file (0 bytes)", "trade", {TRADE: ""},
         Rejected(TRADE, 1, "주문id", "file is empty: expected the header line 주문id,고객id,주식,거래종류,주문량,주문일시")),
    Case("trade: a header-only file next to the export", "trade",
         {"trade_empty.csv": seed(TRADE).split("\n")[0] + "\n"}, Loaded()),
    Case("customer: a header-only export (every customer gone)", "customer",
         {CUSTOMER: seed(CUSTOMER).split("\n")[0]},
         RefusedByMySQL("mysql.customer: rows missing from the new export are still referenced by other tables")),
    # --- keys ------------------------------------------------------------------------------------------------
    Case("trade: an order id repeated in another file", "trade",
         {"trade_late.csv": seed(TRADE).split("\n")[0] + "\n103,2,1,매수,50,2024-12-27 10:05\n"},
         Rejected("trade_late.csv", 2, "order_id", "duplicate key (103) also on {landing}/trade.csv line 4")),
    Case("customer: a customer id repeated", "customer", {CUSTOMER: append(CUSTOMER, "1,정하늘,여,29,100099")},
         Rejected(CUSTOMER, 6, "customer_id", "duplicate key (1) also on {landing}/customer.csv line 2")),
    Case("stock price: the same bar twice", "stock_price",
         {BARS: append(BARS, seed(BARS).split("\n")[1].replace("0,", "3,", 1))},
         Rejected(BARS, 5, "ticker, ts", "duplicate key (AAPL, 2024-12-26 14:30:00+00) also on {landing}/" + BARS
                  + " line 2")),
    Case("trade: a row without its order id", "trade", {TRADE: append(TRADE, "," + TRADE_ROW.split(",", 1)[1])},
         Rejected(TRADE, 7, "order_id", "value is required")),
    Case("stocks: a stock without its ticker", "stocks", {STOCKS: append(STOCKS, "6,netflix,")},
         Rejected(STOCKS, 7, "ticker", "value is required")),
    Case("trade: blank lines before a repeated order id (lines still the file's)", "trade",
         {TRADE: edit(TRADE, "\n103,", "\n\n\n103,") + "\n102,1,1,매수,1,2024-12-27 12:00"},
         Rejected(TRADE, 9, "order_id", "duplicate key (102) also on {landing}/trade.csv line 3")),
    # --- foreign keys ----------------------------------------------------------------------------------------
    Case("trade: an unknown customer", "trade", {TRADE: append(TRADE, "106,99,2,매수,3,2024-12-27 11:00")},
         RefusedByMySQL("{landing}/trade.csv, line 7, column 'customer_id': 99 has no row in customer.customer_id")),
    Case("trade: an unknown stock", "trade", {TRADE: append(TRADE, "106,1,42,매수,3,2024-12-27 11:00")},
         RefusedByMySQL("{landing}/trade.csv, line 7, column 'stock_id': 42 has no row in stocks.stock_id")),
    Case("customer: an unknown budget account", "customer", {CUSTOMER: append(CUSTOMER, "5,정하늘,여,29,999999")},
         RefusedByMySQL("{landing}/customer.csv, line 6, column 'budget_id': 999999 has no row in budget.budget_id")),
    # --- quantities --------------------------------------------------------------------------------------------
    Case("trade: a zero quantity", "trade", {TRADE: append(TRADE, "106,1,2,매수,0,2024-12-27 11:00")},
         GateFails(7, "quantity")),
    Case("trade: a negative quantity", "trade", {TRADE: append(TRADE, "106,1,2,매도,-5,2024-12-27 11:00")},
         GateFails(7, "quantity")),
    Case("stock price: a negative volume", "stock_price",
         {BARS: append(BARS, "3,2024-12-27 21:00:00+00:00,255.6,255.7,255.5,255.6,-1000,Apple,AAPL")},
         GateFails(5, "volume")),
    # --- dates ------------------------------------------------------------------------------------------------
    Case("trade: orders dated before the partitions start and in the future", "trade",
         {TRADE: append(TRADE, "106,1,2,매수,3,1999-12-31 11:00", "107,1,2,매수,3,2099-01-01 11:00")},
         OutsidePartitions(("1999-12-31", "2099-01-01"))),
    # --- long fields, SQL-looking text --------------------------------------------------------------------------
    Case("trade: a trade type longer than its column", "trade",
         {TRADE: append(TRADE, "106,1,2,매수매수매수매수매수,3,2024-12-27 11:00")},
         Rejected(TRADE, 7, "trade_type", "value is 10 characters long; at most 8 allowed")),
    Case("customer: a 101-character name", "customer", {CUSTOMER: append(CUSTOMER, "5," + "김" * 101 + ",여,29,100099")},
         Rejected(CUSTOMER, 6, "name", "value is 101 characters long; at most 100 allowed")),
    Case("customer: a 3 MB name (over DuckDB's line limit)", "customer",
         {CUSTOMER: append(CUSTOMER, f"5,{HUGE_NAME},여,29,100099")},
         Rejected(CUSTOMER, 6, "name", "longest value is in this column: 1,000,000 characters (at most 100 allowed)")),
    Case("trade: a quote that is never closed", "trade",
         {TRADE: append(TRADE, '106,1,2,"매수,3,2024-12-27 11:00', "107,1,2,매수,3,2024-12-27 11:05")},
         Rejected(TRADE, 7, "trade_type", "the record runs over lines 7-8")),
    Case("customer: SQL-looking names", "customer",
         {CUSTOMER: "\n".join([seed(CUSTOMER).split("\n")[0]] + [
             ",".join([r.split(",")[0], '"' + name.replace('"', '""') + '"', *r.split(",")[2:]])
             for r, name in zip(seed(CUSTOMER).split("\n")[1:], HOSTILE_NAMES)])},
         Loaded(values={"name": HOSTILE_NAMES}, same_as_seed=False)),
]


def of(*kinds) -> list[Case]:
    return [c for c in CASES if isinstance(c.expect, kinds)]


def params(*kinds) -> list:
    """The cases with these outcomes, as pytest parameters named by the case."""
    return [pytest.param(c, id=c.id) for c in of(*kinds)]


def test_the_corpus_covers_every_kind_of_bad_input():
    assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)
    assert {c.table for c in CASES} == set(TABLES)
    kinds = ["CP949", "UTF-16", "BOM", "CR only", "missing", "extra", "swapped", "semicolons", "index", "too few",
             "too many", "text where", "nan", "fractional", "thousands", "February", "hour 25", "empty file",
             "header-only",
             "repeated", "without", "blank lines", "unknown", "zero", "negative", "before the partitions",
             "longer than", "101-character", "3 MB", "quote", "SQL-looking"]
    missing = [k for k in kinds if not any(k in c.id for c in CASES)]
    assert not missing, missing


def landing_for(case: Case, folder: Path) -> Path:
    """The seed export with the case's files written over it."""
    return write_landing(folder, {**SEED_FILES, **case.files})


def rows(table: str, landing: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != SOURCE_FILE} for r in read_landing(TABLES[table], landing).to_pylist()]


# --- fast: the reader and the sensor, no server -------------------------------------------------------------


@pytest.mark.parametrize("case", params(Rejected))
def test_rejected_file_names_file_line_and_column(case, tmp_path):
    landing = landing_for(case, tmp_path / "landing")
    expect: Rejected = case.expect
    with pytest.raises(LandingFileError) as e:
        read_landing(TABLES[case.table], landing)
    first = e.value.problems[0]
    where = (str(landing / expect.file), expect.line, expect.column)
    assert (first.file, first.line, first.column) == where, str(e.value)
    assert expect.says.format(landing=landing) in first.message, str(e.value)
    assert f"{landing / expect.file}, line {expect.line}, column '{expect.column}': " in str(e.value)
    assert len(e.value.problems) == expect.problems, str(e.value)


@pytest.mark.parametrize("case", params(Loaded))
def test_arguably_fine_file_loads_every_row_verbatim(case, tmp_path):
    got = rows(case.table, landing_for(case, tmp_path / "landing"))
    good = rows(case.table, write_landing(tmp_path / "seed", SEED_FILES))
    expect: Loaded = case.expect
    if expect.same_as_seed:
        assert got == good
    else:
        assert len(got) == len(good)
        for column, values in expect.values.items():
            assert [r[column] for r in got] == values
        others = [k for k in good[0] if k not in expect.values]
        assert [{k: r[k] for k in others} for r in got] == [{k: r[k] for k in others} for r in good]


@pytest.mark.parametrize("case", params(RefusedByMySQL, GateFails, OutsidePartitions))
def test_semantic_failure_parses_with_every_row(case, tmp_path):
    """What only MySQL or the gate can refuse is valid for the contract: the reader returns every row as written."""
    got = rows(case.table, landing_for(case, tmp_path / "landing"))
    good = rows(case.table, write_landing(tmp_path / "seed", SEED_FILES))
    [content] = [v for k, v in case.files.items() if FILE_TABLE[k] == case.table]
    data_lines = [line for line in content.split("\n")[1:] if line]
    assert len(got) == len(data_lines), "one row per data line, none dropped"
    kept = good if data_lines else []  # a header-only export keeps no row: it reads as an empty table
    assert [r for r in got if r in good] == kept, "the good rows come through unchanged"
    if isinstance(case.expect, GateFails):
        [bad] = [r for r in got if r not in good]
        assert bad["_source_line"] == case.expect.line


def sensor_ticks(instance: dg.DagsterInstance, landing: Path):
    """A function that evaluates the landing sensor once, on ``landing``, from a cursor."""
    resource = LandingResource(path=str(landing))

    def tick(cursor: str | None) -> dg.SensorResult:
        return landing_files(dg.build_sensor_context(instance=instance, cursor=cursor,
                                                     resources={"landing": resource}, definitions=defs))
    return tick


def test_dates_outside_the_partitions_are_reported_by_the_sensor(tmp_path, capfd):
    [case] = of(OutsidePartitions)
    landing = landing_for(case, tmp_path / "landing")
    instance = dg.DagsterInstance.ephemeral()
    tick = sensor_ticks(instance, landing)
    first = tick(None)
    assert [r.job_name for r in first.run_requests] == ["dimensions"]
    record_loaded(instance, landing, "dimensions")
    capfd.readouterr()
    requests = tick(first.cursor).run_requests
    log = capfd.readouterr().err  # the sensor's log (Dagster's own handler writes to stderr)
    assert [r.partition_key_range for r in requests] == [dg.PartitionKeyRange(DAYS[0], DAYS[-1])], (
        "the good days still run")
    assert f"outside the daily partitions ({START_DATE} to today)" in log, log
    for day in case.expect.days:
        assert f"{day} (trade.csv)" in log, log


@pytest.mark.parametrize("content", [
    pytest.param(seed(TRADE).replace(",", ";"), id="semicolons"),
    pytest.param(drop_field(seed(TRADE), 5), id="no date column"),
    pytest.param(seed(TRADE).replace("2024-12-", "12/").replace("12/26", "12/26/2024"), id="dates in another format"),
])
def test_a_new_file_no_day_can_be_read_from_holds_the_days_back_and_is_named(content, tmp_path, capfd):
    """A fact file whose rows give no day is opened by no day's run: it is validated on its own and named at its
    line and column, by the sensor (which runs no day: every run of the table would read it) and by `stockmart
    run` (exit code 4). A header-only file is no problem."""
    from stockmart_assets.lib.landing.units import scan_landing, unplaced, unplaced_problems

    landing = write_landing(tmp_path / "landing", {**SEED_FILES, "trade_new.csv": content,
                                                   "trade_empty.csv": seed(TRADE).split("\n")[0] + "\n"})
    versions, days = scan_landing(landing)
    assert unplaced(versions, days) == {"trade": ["trade_empty.csv", "trade_new.csv"]}
    problem = unplaced_problems(landing, unplaced(versions, days))
    assert problem is not None and {p.file for p in problem.problems} == {str(landing / "trade_new.csv")}, problem
    assert f"{landing / 'trade_new.csv'}, line " in str(problem)

    instance = dg.DagsterInstance.ephemeral()
    tick = sensor_ticks(instance, landing)
    capfd.readouterr()
    result = tick(None)
    assert [r.job_name for r in result.run_requests] == ["dimensions"]
    log = capfd.readouterr().err  # the sensor's log (Dagster's own handler writes to stderr)
    assert "trade_new.csv is not loaded: no day can be read from it" in log, log
    assert f"{landing / 'trade_new.csv'}, line " in log, log
    record_loaded(instance, landing, "dimensions")
    result = tick(result.cursor)
    assert not result.run_requests, "no day runs while a file of its table cannot be read"
    assert "trade_new.csv" in result.skip_reason.skip_message, result.skip_reason
    result = tick(result.cursor)  # the file is read once per version: the next tick still holds the days back
    assert not result.run_requests and "trade_new.csv" in result.skip_reason.skip_message
    (landing / "trade_new.csv").unlink()
    result = tick(result.cursor)
    assert [r.partition_key_range for r in result.run_requests] == [dg.PartitionKeyRange(DAYS[0], DAYS[-1])]


# --- slow: MariaDB, Spark + Deequ, the DuckDB mart ------------------------------------------------------------


MART_TABLES = ["budget", "customer", "stocks", "trade", "stock_price"]
ALL = [*ALL_ASSETS, *quality_checks]


@dataclasses.dataclass
class Stage:
    """The good state every slow case starts from: the seed loaded into MySQL and published to the mart."""

    work: Path
    instance: dg.DagsterInstance
    url: str
    warehouse: str
    spark_starts: int
    state: dict = dataclasses.field(default_factory=dict)
    mart: dict = dataclasses.field(default_factory=dict)

    def run(self, landing: Path, keys, partition: str | None = None, days: list[str] | None = None):
        tags = {}
        if days:
            tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
        resources = {**build_resources("LOCAL"), "landing": LandingResource(path=str(landing))}
        return dg.materialize(ALL, selection=dg.AssetSelection.assets(*keys), resources=resources,
                              instance=self.instance, partition_key=partition, tags=tags, raise_on_error=False)

    def load_seed(self, tables=None, days=None) -> None:
        landing = write_landing(self.work / "seed", SEED_FILES)
        dims = [t for t in ("budget", "customer", "stocks") if tables is None or t in tables]
        facts = [t for t in ("trade", "stock_price") if tables is None or t in tables]
        if dims:
            result = self.run(landing, [[layer, t] for layer in ("raw", "mysql", "mart") for t in dims])
            assert result.success, failure(result)
        if facts:
            days = days or DAYS
            result = self.run(landing, [[layer, t] for layer in ("raw", "mysql", "mart") for t in facts],
                              days[0] if len(days) == 1 else None, days if len(days) > 1 else None)
            assert result.success, failure(result)

    def mart_content(self) -> dict:
        with duckdb.connect(self.warehouse, read_only=True) as con:
            return {t: con.execute(f"SELECT * FROM mart.{t} ORDER BY ALL").fetchall() for t in MART_TABLES}


def failure(result) -> str:
    return "\n".join(e.step_failure_data.error.message for e in result.all_events if e.is_step_failure)


def suite_results(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.asset_check_evaluation_data.asset_key.path[-1]: e.asset_check_evaluation_data for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.asset_check_evaluation_data.check_name == "deequ_suite"}


@pytest.fixture(scope="module")
def stage(mysql_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("corpus")
    with mysql_connect(mysql_server) as con, con.cursor() as cur:
        for name in reversed(TABLE_ORDER):
            cur.execute(f"DROP TABLE IF EXISTS `{name}`")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STOCKMART_MYSQL_URL", mysql_server)
        mp.setenv("STOCKMART_HOME", str(work / "home"))
        for name in ("STOCKMART_LAKE_DIR", "STOCKMART_LANDING_DIR", "STOCKMART_SPARK_MASTER"):
            mp.delenv(name, raising=False)
        # A session left running by earlier tests (the quality tests' session fixture) would be reused, and this
        # module would start none: start from no JVM, so the module starts exactly its own.
        quality_spark.stop_spark()
        s = Stage(work, dg.DagsterInstance.ephemeral(), mysql_server, str(work / "home" / "warehouse.duckdb"),
                  STARTS.count)
        # One JVM serves the module's runs, as `stockmart run` holds one across its runs.
        with quality_spark.held():
            s.load_seed()
            s.state, s.mart = table_state(mysql_server), s.mart_content()
            assert {t: n for t, (n, _) in s.state.items()} == {
                "budget": 4, "customer": 4, "stocks": 5, "trade": 5, "stock_price": 3}
            yield s


@pytest.fixture
def good_state(stage):
    """Each slow case starts from the good state; a case that changed it (by design or by failing) restores it."""
    yield stage
    changed = sorted(t for t, s in table_state(stage.url).items() if s != stage.state[t])
    if changed or stage.mart_content() != stage.mart:
        only_facts = changed and set(changed) <= {"trade", "stock_price"}
        stage.load_seed(changed or None, [DAY] if only_facts else None)
        assert table_state(stage.url) == stage.state and stage.mart_content() == stage.mart


def case_keys(case: Case) -> list[list[str]]:
    return [[layer, case.table] for layer in ("raw", "mysql", "mart")]


@pytest.mark.slow
@pytest.mark.mysql
@pytest.mark.parametrize("case", params(Rejected))
def test_rejected_file_fails_at_raw_and_leaves_mysql_and_mart(case, good_state, tmp_path):
    landing = landing_for(case, tmp_path / "landing")
    expect: Rejected = case.expect
    result = good_state.run(landing, case_keys(case), case.partition)
    assert not result.success
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    assert failed == [f"raw__{case.table}"], failed
    message = failure(result)
    where = f"{landing / expect.file}, line {expect.line}, column '{expect.column}': "
    assert where in message and expect.says.format(landing=landing) in message, message
    assert table_state(good_state.url) == good_state.state
    assert good_state.mart_content() == good_state.mart


@pytest.mark.slow
@pytest.mark.mysql
@pytest.mark.parametrize("case", params(RefusedByMySQL))
def test_broken_reference_is_rolled_back_naming_the_line(case, good_state, tmp_path):
    landing = landing_for(case, tmp_path / "landing")
    result = good_state.run(landing, case_keys(case), case.partition)
    assert not result.success
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    assert failed == [f"mysql__{case.table}"], failed
    assert case.expect.says.format(landing=landing) in failure(result), failure(result)
    assert table_state(good_state.url) == good_state.state
    assert good_state.mart_content() == good_state.mart


@pytest.mark.slow
@pytest.mark.mysql
@pytest.mark.spark
@pytest.mark.parametrize("case", params(GateFails))
def test_rule_breaking_day_reaches_mysql_but_never_the_mart(case, good_state, tmp_path):
    landing = landing_for(case, tmp_path / "landing")
    result = good_state.run(landing, case_keys(case), case.partition)
    assert not result.success
    suite = suite_results(result)[case.table]
    assert not suite.passed and case.expect.constraint in suite.description, suite.description
    state = table_state(good_state.url)
    assert state[case.table][0] == good_state.state[case.table][0] + 1, "the check runs after the MySQL write"
    assert {t: s for t, s in state.items() if t != case.table} == {
        t: s for t, s in good_state.state.items() if t != case.table}
    assert good_state.mart_content() == good_state.mart, "the day's mart partition keeps its previous content"
    # A run of the mart alone (as eager automation would start) is refused by the gate itself.
    alone = good_state.run(landing, [["mart", case.table]], case.partition)
    assert not alone.success and "quality gate closed" in failure(alone), failure(alone)
    assert good_state.mart_content() == good_state.mart


@pytest.mark.slow
@pytest.mark.mysql
@pytest.mark.spark
@pytest.mark.parametrize("case", params(Loaded, OutsidePartitions))
def test_arguably_fine_file_reaches_mysql_and_mart_verbatim(case, good_state, tmp_path):
    landing = landing_for(case, tmp_path / "landing")
    result = good_state.run(landing, case_keys(case), case.partition)
    assert result.success, failure(result)
    assert suite_results(result)[case.table].passed
    if isinstance(case.expect, Loaded) and not case.expect.same_as_seed:
        for column, values in case.expect.values.items():
            with mysql_connect(good_state.url) as con, con.cursor() as cur:
                key = ", ".join(TABLES[case.table].key)
                cur.execute(f"SELECT `{column}` FROM `{case.table}` ORDER BY {key}")
                assert [r[0] for r in cur.fetchall()] == values
            with duckdb.connect(good_state.warehouse, read_only=True) as con:
                assert [r[0] for r in con.execute(f"SELECT {column} FROM mart.{case.table} ORDER BY {key}").fetchall()
                        ] == values
        assert {t: s for t, s in table_state(good_state.url).items() if t != case.table} == {
            t: s for t, s in good_state.state.items() if t != case.table}
    else:
        assert table_state(good_state.url) == good_state.state, "every row as the good export's, none lost"
        assert good_state.mart_content() == good_state.mart


@pytest.mark.slow
def test_the_module_started_one_spark_jvm(stage):
    assert STARTS.count - stage.spark_starts == 1
