"""What the landing folder holds: file versions, and the CSV files no landing name matches."""

from stockmart_assets.lib.landing.scan import file_versions, unmatched_csv_files


def test_csv_files_no_landing_name_matches_are_listed_and_nothing_else(tmp_path):
    for name in ["trade.csv", "trade_1226.csv", "Trade.csv", "trades 2024.csv", "customer.CSV", "notes.txt",
                 "stock/AAPL_data.csv", "stock/AAPL.csv", "trade/day1.csv", "stocks/MSFT_data.csv",
                 "trade/2024-12/26.csv", ".cache/x.csv"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    (tmp_path / "folder.csv").mkdir()
    versions = file_versions(tmp_path)
    assert sorted(versions) == ["stock/AAPL_data.csv", "trade.csv", "trade/day1.csv", "trade_1226.csv"]
    assert unmatched_csv_files(tmp_path, versions) == ["Trade.csv", "customer.CSV", "trades 2024.csv",
                                                       "stock/AAPL.csv", "stocks/MSFT_data.csv",
                                                       "trade/2024-12/26.csv"]
    assert unmatched_csv_files(tmp_path / "missing", {}) == []
