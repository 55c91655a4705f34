"""The market data's blocking checks: the day's lake file against its rules (``lib.market.checks``)."""

import dagster as dg

from stockmart_assets.lib.day import Day
from stockmart_assets.lib.deequ.suites import Suite
from stockmart_assets.lib.lake import lake_file, read_parquet
from stockmart_assets.lib.market.checks import BAR_SUITE, CANDLE_SUITE, violations
from stockmart_assets.partitions import daily_partitions

YFINANCE_BARS_KEY = dg.AssetKey(["market", "yfinance_bars"])
UPBIT_CANDLES_KEY = dg.AssetKey(["market", "upbit_candles"])
YFINANCE_LAKE_PATH = "yfinance/stock_price"
UPBIT_LAKE_PATH = "upbit/candles"
BARS_CHECK = "bars_consistent"
CANDLES_CHECK = "ohlc_consistent"


def check_result(results: list[dict], rows: int) -> dg.AssetCheckResult:
    failed = [r for r in results if r["failing_rows"]]
    lines = ["| rule | bad rows | bad when |", "|---|---|---|"]
    lines += [f"| {r['rule']} | {r['failing_rows']} | `{r['predicate'].replace('|', '/')}` |" for r in results]
    return dg.AssetCheckResult(
        passed=not failed, severity=dg.AssetCheckSeverity.ERROR,
        description=("; ".join(f"{r['rule']}: {r['failing_rows']} bad row(s)" for r in failed)
                     if failed else f"all {len(results)} rules hold on {rows} row(s)"),
        metadata={"rows_checked": rows, "rules": dg.MetadataValue.md("\n".join(lines)),
                  **({"failing_rows": dg.MetadataValue.json(
                      {r["rule"]: {"count": r["failing_rows"], "sample": r["sample"]} for r in failed})}
                     if failed else {})},
    )


def _build_check(asset_key: dg.AssetKey, name: str, suite: Suite, lake_path: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key, name=name, blocking=True, partitions_def=daily_partitions,
        required_resource_keys={"lake_io_manager"},
        description=(f"Rules on the day's lake file (`{lake_path}`): " + "; ".join(r.description for r in suite.rules)
                     + ". A failure names the bad rows and stops what depends on the asset in the same run."),
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        day = Day.of(context.partition_key)
        path = lake_file(context.resources.lake_io_manager.base_dir, lake_path, day)
        if not path.exists():
            raise dg.Failure(description=f"no lake file for {day} at {path}: materialize "
                                         f"{asset_key.to_user_string()} [{day}] first", allow_retries=False)
        table = read_parquet(path)  # local or gs://: read through the lake, then checked in DuckDB
        return check_result(violations(suite, table, day), table.num_rows)

    return _check


market_checks = [
    _build_check(YFINANCE_BARS_KEY, BARS_CHECK, BAR_SUITE, YFINANCE_LAKE_PATH),
    _build_check(UPBIT_CANDLES_KEY, CANDLES_CHECK, CANDLE_SUITE, UPBIT_LAKE_PATH),
]
