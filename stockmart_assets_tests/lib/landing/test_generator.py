"""The synthetic landing generator: exact format, valid keys, determinism, bounded memory."""

from __future__ import annotations

import csv
import gc
import tracemalloc
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from stockmart_assets.lib.landing import contract, generator
from stockmart_assets.lib.landing.generator import generate, main

START = date(2024, 12, 26)  # a Thursday: the 3 days below are Thu, Fri, Sat


def read(path: Path) -> tuple[list[str], list[list[str]]]:
    raw = path.read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    header, *rows = list(csv.reader(raw.decode("utf-8").splitlines()))
    return header, rows


def all_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("landing")
    counts = generate(out, customers=50, tickers=7, days=3, trades_per_day=500, start_date=START, seed=42)
    return out, counts


def test_writes_every_contract_file_and_nothing_else(landing):
    out, _ = landing
    tickers = ["AAPL", "AMZN", "GOOGL", "META", "MSFT", "TK0006", "TK0007"]
    assert sorted(all_bytes(out)) == sorted(
        ["budget.csv", "customer.csv", "stocks.csv", "trade.csv"] + [f"stock/{t}_data.csv" for t in tickers]
    )


def test_headers_match_contract(landing):
    out, _ = landing
    for name, table in [("budget.csv", contract.BUDGET), ("customer.csv", contract.CUSTOMER),
                        ("stocks.csv", contract.STOCKS), ("trade.csv", contract.TRADE)]:
        assert read(out / name)[0] == [c.header for c in table.columns]
    assert (out / "stock/AAPL_data.csv").read_text(encoding="utf-8").splitlines()[0] == (
        ",Datetime,Close,High,Low,Open,Volume,Company,ticker")
    assert read(out / "trade.csv")[0] == ["주문id", "고객id", "주식", "거래종류", "주문량", "주문일시"]


def test_row_counts(landing):
    out, counts = landing
    weekdays = 2  # Thu 26th, Fri 27th; Sat 28th has no bars
    assert counts == {"budget": 50, "customer": 50, "stocks": 7, "trade": 1500, "stock_price": 7 * weekdays * 390}
    assert len(read(out / "budget.csv")[1]) == len(read(out / "customer.csv")[1]) == 50
    assert len(read(out / "stocks.csv")[1]) == 7
    assert len(read(out / "trade.csv")[1]) == 1500
    assert sum(len(read(p)[1]) for p in (out / "stock").glob("*_data.csv")) == counts["stock_price"]


def test_people_and_stocks_values(landing):
    out, _ = landing
    budgets = read(out / "budget.csv")[1]
    assert all(1_000_000 <= int(b) <= 50_000_000 for _, b in budgets)
    customers = read(out / "customer.csv")[1]
    assert [int(c[0]) for c in customers] == list(range(1, 51))
    for _, name, sex, age, _ in customers:
        assert len(name) == 3 and all("가" <= ch <= "힣" for ch in name)
        assert sex in ("남", "여") and 19 <= int(age) <= 80
    stocks = read(out / "stocks.csv")[1]
    assert stocks[:5] == [["1", "apple", "AAPL"], ["2", "amazon", "AMZN"], ["3", "google", "GOOGL"],
                          ["4", "meta", "META"], ["5", "microsoft", "MSFT"]]
    assert stocks[5:] == [["6", "company6", "TK0006"], ["7", "company7", "TK0007"]]


def test_keys_unique_and_foreign_keys_valid(landing):
    out, _ = landing
    budget_ids = [int(r[0]) for r in read(out / "budget.csv")[1]]
    customers = read(out / "customer.csv")[1]
    stock_ids = {int(r[0]) for r in read(out / "stocks.csv")[1]}
    trades = read(out / "trade.csv")[1]
    assert len(set(budget_ids)) == len(budget_ids)
    assert sorted(int(c[4]) for c in customers) == sorted(budget_ids)  # 1:1 customer <-> budget account
    assert len(stock_ids) == 7
    order_ids = [int(t[0]) for t in trades]
    assert order_ids == list(range(1, 1501))  # unique and increasing
    customer_ids = {int(c[0]) for c in customers}
    assert {int(t[1]) for t in trades} <= customer_ids
    assert {int(t[2]) for t in trades} <= stock_ids
    assert {t[3] for t in trades} == {"매수", "매도"}
    assert all(1 <= int(t[4]) <= 1000 for t in trades)


def test_trade_times_sorted_within_requested_days(landing):
    out, _ = landing
    trades = read(out / "trade.csv")[1]
    stamps = [datetime.strptime(t[5], contract.TRADE.timestamp_format) for t in trades]
    assert all(len(t[5]) == 16 for t in trades)  # YYYY-MM-DD HH:MM
    assert stamps == sorted(stamps)
    per_day = Counter(s.date() for s in stamps)
    assert per_day == {START + timedelta(days=i): 500 for i in range(3)}


def test_bars_ohlc_consistent_weekdays_only(landing):
    out, _ = landing
    for path in (out / "stock").glob("*_data.csv"):
        ticker = path.name.removesuffix("_data.csv")
        rows = read(path)[1]
        assert [int(r[0]) for r in rows] == list(range(len(rows)))  # running 0-based index
        stamps = [datetime.fromisoformat(r[1]) for r in rows]
        assert all(r[1].endswith("+00:00") for r in rows) and stamps == sorted(stamps)
        per_day = Counter(s.date() for s in stamps)
        assert per_day == {date(2024, 12, 26): 390, date(2024, 12, 27): 390}  # no Saturday bars
        assert all((14, 30) <= (s.hour, s.minute) <= (20, 59) for s in stamps)
        for _, _, close, high, low, open_, volume, company, tick in rows:
            c, h, lo, o = (float(v) for v in (close, high, low, open_))
            assert h >= max(o, c) and lo <= min(o, c) and lo > 0
            assert int(volume) >= 0 and tick == ticker
        assert rows[0][7] in ("Apple", "Amazon", "Google", "Meta", "Microsoft", "Company6", "Company7")


def test_deterministic_by_seed(tmp_path):
    kwargs = dict(customers=30, tickers=6, days=4, trades_per_day=300)
    generate(tmp_path / "a", seed=7, **kwargs)
    generate(tmp_path / "b", seed=7, **kwargs)
    generate(tmp_path / "c", seed=8, **kwargs)
    a, b, c = (all_bytes(tmp_path / x) for x in "abc")
    assert a == b
    assert a.keys() == c.keys() and all(a[name] != c[name] for name in a if name != "stocks.csv")


def test_split_trades_by_day_same_rows(tmp_path):
    generate(tmp_path / "one", days=3, trades_per_day=100, bars=False, seed=3)
    counts = generate(tmp_path / "split", days=3, trades_per_day=100, bars=False, seed=3, split_trades_by_day=True)
    files = sorted((tmp_path / "split").glob("trade_*.csv"))
    assert [f.name for f in files] == ["trade_2024-12-26.csv", "trade_2024-12-27.csv", "trade_2024-12-28.csv"]
    assert not (tmp_path / "split" / "trade.csv").exists() and not (tmp_path / "split" / "stock").exists()
    header, rows = read(tmp_path / "one" / "trade.csv")
    split_rows = []
    for f in files:
        h, day_rows = read(f)
        assert h == header and {r[5][:10] for r in day_rows} == {f.name[6:16]}
        split_rows += day_rows
    assert split_rows == rows and counts["trade"] == 300 and counts["stock_price"] == 0


def test_many_chunks_keep_keys_valid(tmp_path, monkeypatch):
    monkeypatch.setattr(generator, "CHUNK_ROWS", 7)
    generate(tmp_path, customers=30, days=2, trades_per_day=25, bars=False)
    budget_ids = [int(r[0]) for r in read(tmp_path / "budget.csv")[1]]
    customers = read(tmp_path / "customer.csv")[1]
    assert len(set(budget_ids)) == 30 and [int(c[4]) for c in customers] == budget_ids
    assert [int(c[0]) for c in customers] == list(range(1, 31))
    trades = read(tmp_path / "trade.csv")[1]
    assert [int(t[0]) for t in trades] == list(range(1, 51))
    assert [t[5] for t in trades] == sorted(t[5] for t in trades)


def test_no_temp_files_left_when_writing_fails(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("crash mid-write")
        yield  # pragma: no cover

    monkeypatch.setattr(generator, "_trade_chunks", boom)
    with pytest.raises(RuntimeError):
        generate(tmp_path, bars=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["budget.csv", "customer.csv", "stocks.csv"]


def test_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("STOCKMART_LANDING_DIR", raising=False)
    argv = [str(tmp_path / "cli"), "--customers", "5", "--tickers", "2", "--days", "2", "--trades-per-day", "10",
            "--start-date", "2025-01-03", "--seed", "1", "--no-bars", "--split-trades-by-day"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "5 customer" in out and "20 trade" in out
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == [
        "budget.csv", "customer.csv", "stocks.csv", "trade_2025-01-03.csv", "trade_2025-01-04.csv"]
    assert len(read(tmp_path / "cli" / "customer.csv")[1]) == 5
    # OUT_DIR falls back to $STOCKMART_LANDING_DIR; without either the CLI refuses.
    monkeypatch.setenv("STOCKMART_LANDING_DIR", str(tmp_path / "env"))
    assert main(["--tickers", "1", "--days", "1"]) == 0
    assert len(read(tmp_path / "env" / "stock" / "AAPL_data.csv")[1]) == 390
    monkeypatch.delenv("STOCKMART_LANDING_DIR")
    with pytest.raises(SystemExit):
        main([])


def _peak_bytes(out: Path, trades: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        generate(out, days=1, trades_per_day=trades, bars=False)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_trades(tmp_path, monkeypatch):
    # Small chunks so both runs span many chunks (the default is sized for speed, not for a quick test).
    monkeypatch.setattr(generator, "CHUNK_ROWS", 5_000)
    _peak_bytes(tmp_path / "warm-up", 1_000)  # first-call allocations (imports, caches) are not per-trade
    small = _peak_bytes(tmp_path / "small", 20_000)
    large = _peak_bytes(tmp_path / "large", 200_000)
    assert large < 2 * small + 256 * 1024, (small, large)
    assert (tmp_path / "large" / "trade.csv").stat().st_size > 5 * (tmp_path / "small" / "trade.csv").stat().st_size
