"""The landing contract: valid exports parse with Korean intact; every malformed kind names file, line, column."""

import pytest

from stockmart_assets.lib.landing.contract import BUDGET, CUSTOMER, STOCK_PRICE, TRADE
from stockmart_assets.lib.day import Days
from stockmart_assets.lib.landing.problems import LandingFileError
from stockmart_assets.lib.landing.reader import read_landing
from stockmart_assets.lib.landing.units import scan_landing
from stockmart_assets_tests.conftest import SEED_FILES, write_landing

TRADE_HEADER = "주문id,고객id,주식,거래종류,주문량,주문일시\n"


def days_of(landing) -> list[str]:
    """The days the landing files touch, as the sensor and `stockmart run` find them."""
    return sorted({d for days in scan_landing(landing)[1].values() for d in days})


def test_seed_format_parses_with_korean_text_intact(seed_landing):
    customers = read_landing(CUSTOMER, seed_landing).to_pylist()
    assert [c["name"] for c in customers] == ["김민수", "이영희", "박성준", "최수정"]
    assert [c["sex"] for c in customers] == ["남", "여", "남", "여"]
    assert customers[0] | {"_source_file": None} == {
        "customer_id": 1, "name": "김민수", "sex": "남", "age": 32, "budget_id": 100001,
        "_source_file": None, "_source_line": 2}
    trades = read_landing(TRADE, seed_landing).to_pylist()
    assert [t["trade_type"] for t in trades] == ["매수", "매도", "매수", "매도", "매수"]
    assert read_landing(BUDGET, seed_landing).num_rows == 4


def test_partition_takes_the_days_rows_from_every_file(tmp_path):
    landing = write_landing(tmp_path, {
        "trade.csv": TRADE_HEADER + "1,1,1,매수,1,2024-12-26 09:00\n2,1,1,매도,2,2024-12-27 09:00\n",
        "trade_2.csv": TRADE_HEADER + "3,1,1,매수,3,2024-12-27 23:59\n4,1,1,매수,4,2024-12-28 00:00",
    })
    assert days_of(landing) == ["2024-12-26", "2024-12-27", "2024-12-28"]
    day = read_landing(TRADE, landing, Days.of(["2024-12-27"]))
    assert day["order_id"].to_pylist() == [2, 3]
    assert day["_source_line"].to_pylist() == [3, 2]


def test_bars_belong_to_their_utc_date(tmp_path):
    header = ",Datetime,Close,High,Low,Open,Volume,Company,ticker\n"
    landing = write_landing(tmp_path, {"stock/X_data.csv": header
                                       + "0,2024-12-26 19:30:00-05:00,1,1,1,1,5,X Corp,X\n"
                                       + "1,2024-12-26 18:00:00-05:00,1,1,1,1,5,X Corp,X\n"})
    assert days_of(landing) == ["2024-12-26", "2024-12-27"]
    [bar] = read_landing(STOCK_PRICE, landing, Days.of(["2024-12-27"])).to_pylist()
    assert bar["ts"].isoformat() == "2024-12-27T00:30:00"


def test_english_header_bom_crlf_and_missing_final_newline_are_accepted(tmp_path):
    landing = write_landing(tmp_path, {
        "trade.csv": b"\xef\xbb\xbforder_id,customer_id,stock_id,trade_type,quantity,order_datetime\r\n"
                     + "7,1,2,매수,30,2024-12-26 09:15\r\n8,1,2,매도,5,2024-12-26 09:16".encode()})
    assert read_landing(TRADE, landing)["order_id"].to_pylist() == [7, 8]


def test_header_only_file_is_an_empty_table(tmp_path):
    landing = write_landing(tmp_path, {"trade.csv": TRADE_HEADER})
    assert read_landing(TRADE, landing).num_rows == 0


MALFORMED = {
    "missing column": (TRADE_HEADER.replace(",주문량", ""), 1, "주문량"),
    "extra column": (TRADE_HEADER.replace("\n", ",memo\n"), 1, "memo"),
    "reordered columns": (TRADE_HEADER.replace("고객id,주식", "주식,고객id"), 1, "주식"),
    "unknown header": (TRADE_HEADER.replace("주문량", "수량"), 1, "수량"),
    "wrong type": (TRADE_HEADER + "1,1,1,매수,1,2024-12-26 09:00\n2,abc,1,매수,1,2024-12-26 09:00\n", 3,
                   "customer_id"),
    "bad date": (TRADE_HEADER + "1,1,1,매수,1,2024-02-30 09:00\n", 2, "order_datetime"),
    "date in another format": (TRADE_HEADER + "1,1,1,매수,1,26/12/2024 09:00\n", 2, "order_datetime"),
    "too few fields": (TRADE_HEADER + "1,1,1,매수,1,2024-12-26 09:00\n2,1,1,매수,1\n", 3, "order_datetime"),
    "too many fields": (TRADE_HEADER + "1,1,1,매수,1,2024-12-26 09:00,x\n", 2, None),
    "missing key": (TRADE_HEADER + ",1,1,매수,1,2024-12-26 09:00\n", 2, "order_id"),
    "duplicate key": (TRADE_HEADER + "1,1,1,매수,1,2024-12-26 09:00\n1,2,1,매도,1,2024-12-27 09:00\n", 3,
                      "order_id"),
    "too long": (TRADE_HEADER + "1,1,1," + "매" * 9 + ",1,2024-12-26 09:00\n", 2, "trade_type"),
    "not utf-8": ((TRADE_HEADER + "1,1,1,").encode() + "매수".encode("cp949") + b",1,2024-12-26 09:00\n", 2,
                  None),
    "empty file": ("", 1, None),
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_file_names_file_line_and_column(tmp_path, kind):
    content, line, column = MALFORMED[kind]
    landing = write_landing(tmp_path, {**{k: v for k, v in SEED_FILES.items() if k != "trade.csv"},
                                       "trade.csv": content})
    with pytest.raises(LandingFileError) as e:
        read_landing(TRADE, landing)
    message = str(e.value)
    assert "trade.csv" in message and f"line {line}" in message, message
    if column:
        assert f"column '{column}'" in message, message


def test_each_day_is_written_to_its_own_file_exactly_as_read(tmp_path):
    """What the raw stage keeps in the lake: per day, the rows read_landing gives for that day, with the
    day's count, the files its rows came from and its first rows."""
    import pyarrow.parquet as pq

    from stockmart_assets.lib.day import WHOLE, Day
    from stockmart_assets.lib.landing import reader

    landing = landing_folder(tmp_path)
    days = Days.of(["2024-12-26", "2024-12-27", "2024-12-28", "2024-12-29"])
    landed = reader.write_landing(TRADE, landing, days, tmp_path / "out", preview_rows=1)
    assert list(landed) == list(days)
    for day, written in landed.items():
        expected = read_landing(TRADE, landing, Days(day, day))
        assert same(pq.read_table(written.path), expected), day
        assert written.rows == expected.num_rows
        assert written.files == tuple(sorted(set(expected["_source_file"].to_pylist())))
        assert same(written.preview, expected.slice(0, 1))
    assert landed[Day.of("2024-12-29")].rows == 0 and pq.read_table(landed[Day.of("2024-12-29")].path).num_rows == 0
    whole = reader.write_landing(CUSTOMER, landing, None, tmp_path / "whole")
    assert same(pq.read_table(whole[WHOLE].path), read_landing(CUSTOMER, landing))


def same(a, b) -> bool:
    """The same columns, types and rows (a parquet file may mark a column NOT NULL where Arrow does not)."""
    return ([(f.name, f.type) for f in a.schema] == [(f.name, f.type) for f in b.schema]
            and a.to_pylist() == b.to_pylist())


def landing_folder(tmp_path):
    return write_landing(tmp_path / "landing", {
        **{name: SEED_FILES[name] for name in ("customer.csv",)},
        "trade.csv": TRADE_HEADER + "1,1,1,매수,1,2024-12-26 09:00\n2,1,1,매도,2,2024-12-27 09:00\n",
        "trade_2.csv": TRADE_HEADER + "3,1,1,매수,3,2024-12-27 23:59\n4,1,1,매수,4,2024-12-28 00:00",
    })


def test_every_row_keeps_its_line_across_files_of_many_row_groups(tmp_path):
    """Files large enough to be read in parallel, in several parts: every row still carries the line it is on
    in its own file, and a duplicate deep in the second file is named at its line and its first occurrence's."""
    from stockmart_assets.lib.landing.generator import generate

    per_day = 250_000  # about two of DuckDB's row groups per file
    generate(tmp_path, customers=5, days=2, trades_per_day=per_day, bars=False, split_trades_by_day=True)
    first, second = sorted(tmp_path.glob("trade_*.csv"))
    rows = read_landing(TRADE, tmp_path)
    for path in (first, second):
        mine = rows.filter(rows["_source_file"].to_numpy(zero_copy_only=False) == str(path))
        # The generator numbers orders 1.. in file order, one a line after the header: line = order id + 1 - the
        # orders of the files before.
        offsets = {line - order for order, line in zip(mine["order_id"].to_pylist(), mine["_source_line"].to_pylist())}
        assert mine.num_rows == per_day and offsets == {1 - (0 if path == first else per_day)}, (path, offsets)

    lines = second.read_text(encoding="utf-8").splitlines(keepends=True)
    late = 200_001  # the second file's line of order per_day + 200_000; it takes order 150_000's id
    lines[late - 1] = lines[late - 1].replace(f"{per_day + late - 1},", "150000,", 1)
    second.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(LandingFileError) as e:
        read_landing(TRADE, tmp_path)
    [problem] = e.value.problems
    assert (problem.file, problem.line, problem.column) == (str(second), late, "order_id"), problem
    assert f"also on {first} line 150001" in problem.message, problem.message


def test_a_fact_table_without_files_has_no_rows_and_a_missing_dimension_export_is_named(tmp_path):
    """Trades without price bars (or bars without trades) is a landing folder a user has: the days of the table
    that has no file have no rows, as with a header-only file. A dimension export must be there."""
    from stockmart_assets.lib.landing.reader import write_landing as write_days

    landing = write_landing(tmp_path / "landing", {k: v for k, v in SEED_FILES.items() if not k.startswith("stock/")})
    days = Days.of(["2024-12-26", "2024-12-27"])
    written = write_days(STOCK_PRICE, landing, days, tmp_path / "lake")
    assert {day.key: landed.rows for day, landed in written.items()} == {"2024-12-26": 0, "2024-12-27": 0}
    assert read_landing(STOCK_PRICE, landing).schema.names == [*STOCK_PRICE.column_names, "_source_file",
                                                                 "_source_line"]
    (landing / "customer.csv").unlink()
    with pytest.raises(LandingFileError, match=r"customer.csv, line 1: no customer file in the landing folder"):
        read_landing(CUSTOMER, landing)


@pytest.mark.parametrize("header, column, says", [
    (",Datetime,Adj Close,Close,High,Low,Open,Volume,Company,ticker", "Adj Close",
     "unexpected extra column in header (column 3)"),
    (",Datetime,Close,High,Low,Open,Volume,Company,ticker,Dividends", "Dividends",
     "unexpected extra column in header (column 10)"),
    (",Datetime,Close,High,Low,Volume,Company,ticker", "Open", "column 6 missing from header"),
])
def test_a_header_one_column_off_is_one_problem_at_that_column(tmp_path, header, column, says):
    """yfinance's 'Adj Close' (or a column left out) is named alone, not as every later column misplaced."""
    landing = write_landing(tmp_path, {"stock/AAPL_data.csv": header + "\n"})
    with pytest.raises(LandingFileError) as e:
        read_landing(STOCK_PRICE, landing)
    [problem] = e.value.problems
    assert (problem.line, problem.column) == (1, column) and problem.message.startswith(says), str(e.value)


def test_a_line_with_several_surplus_fields_is_one_problem(tmp_path):
    """DuckDB rejects such a line once per surplus field; the user reads it once, with the whole count."""
    landing = write_landing(tmp_path, {**SEED_FILES, "customer.csv": SEED_FILES["customer.csv"].rstrip("\n")
                                       + "\n9,정하늘,여,30,100001,x,y,z,w\n"})
    with pytest.raises(LandingFileError) as e:
        read_landing(CUSTOMER, landing)
    [problem] = e.value.problems
    assert (problem.line, problem.column) == (6, "(extra field 6)") and problem.message.endswith("Found: 9"), (
        str(e.value))


def test_every_files_bad_header_is_named_at_once(tmp_path):
    """Headers are checked before any row, over all of a table's files: fixing them takes one round, not one a file."""
    header = SEED_FILES["trade.csv"].split("\n")[0]
    landing = write_landing(tmp_path, {**SEED_FILES, "trade_a.csv": header.replace(",", ";") + "\n",
                                       "trade_b.csv": header.replace("주문량", "수량") + "\n"})
    with pytest.raises(LandingFileError) as e:
        read_landing(TRADE, landing)
    assert {p.file.rsplit("/", 1)[-1] for p in e.value.problems} == {"trade_a.csv", "trade_b.csv"}, str(e.value)
