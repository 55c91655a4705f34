"""What the local BigQuery emulator (PyPI local-bigquery 0.3.2, DuckDB 1.5.5) supports, as the mart code needs it.

Each test pins one finding; a test named `..._gap` or `..._differs_from_bigquery` pins a place where the
emulator is NOT BigQuery, so a change of emulator version that fixes (or breaks) it shows up here.

  a. partitioned + clustered table: create_table / get_table keep time_partitioning (DAY, field) and
     clustering_fields.
  b. load_table_from_dataframe (WRITE_APPEND) of DATE, TIMESTAMP, INT64, FLOAT64, NUMERIC, STRING (Korean) and
     NULLs, read back with query().to_dataframe() / to_arrow() over REST: identical values and types.
  c. DELETE with a DATE literal or a DATE @parameter, INSERT ... SELECT, MERGE with WHEN NOT MATCHED BY SOURCE
     AND ... THEN DELETE, and BEGIN TRANSACTION; ...; COMMIT TRANSACTION; in one query() all work; a failing
     statement inside the transaction rolls the whole script back (a script without one is not atomic).
  d. CREATE TABLE ... PARTITION BY ... CLUSTER BY ... AS SELECT, CREATE OR REPLACE TABLE, delete_table with
     not_found_ok all work.
  Gaps: `table$YYYYMMDD` decorators (query: 404; load: silently makes a separate table named `t$YYYYMMDD`);
  get_table().num_rows is not lowered by DELETE; the emulator accepts DATE-vs-'YYYY-MM-DD HH:MM:SS'
  comparisons that BigQuery rejects (dagster issue #13147), so a test passing here can fail on BigQuery.
"""

import datetime as dt
import importlib.util
import os
import socket
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest
from google.api_core.exceptions import BadRequest, Conflict, NotFound
from google.cloud import bigquery

from stockmart_assets_tests.support.bigquery_emulator import (  # noqa: F401  (fixtures)
    bigquery_emulator,
    bq_dataset,
    start_emulator,
)

pytestmark = [
    # No google-cloud-bigquery-storage here on purpose: reads go over REST, and the client says so each time.
    pytest.mark.filterwarnings("ignore:BigQuery Storage module not found"),
    pytest.mark.filterwarnings("ignore:Loading pandas DataFrame into BigQuery will require pandas-gbq"),
    pytest.mark.filterwarnings("ignore:(Loading|Retrieving) DataFrames via google-cloud-bigquery is deprecated"),
]

DAY = dt.date(2024, 12, 26)
DAY_PARAM = bigquery.ScalarQueryParameter("d", "DATE", DAY)


@pytest.fixture(scope="module")
def client(bigquery_emulator):
    client = bigquery_emulator.client()
    yield client
    client.close()


def run(client: bigquery.Client, sql: str, *params) -> bigquery.QueryJob:
    job = client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=list(params)))
    job.result()
    return job


def rows(client: bigquery.Client, table: str) -> list[tuple]:
    return sorted(tuple(row.values()) for row in client.query(f"SELECT * FROM `{table}`").result())


@pytest.fixture
def trades(client, bq_dataset) -> str:
    """A DAY-partitioned, ticker-clustered table with 2 rows on 2024-12-26 and 1 on 2024-12-27, and a staging
    table with a changed and a new row for 2024-12-26."""
    table = f"{bq_dataset}.trades"
    run(client, f"CREATE TABLE {table} (trade_date DATE, ticker STRING, qty INT64) "
                "PARTITION BY trade_date CLUSTER BY ticker")
    run(client, f"INSERT INTO {table} VALUES (DATE '2024-12-26', 'AAPL', 1), (DATE '2024-12-26', 'AMZN', 2), "
                "(DATE '2024-12-27', 'META', 3)")
    run(client, f"CREATE TABLE {bq_dataset}.staging AS SELECT * FROM UNNEST(["
                "STRUCT(DATE '2024-12-26' AS trade_date, 'AAPL' AS ticker, 10 AS qty), "
                "(DATE '2024-12-26', 'MSFT', 20)])")
    return table


BEFORE = [(DAY, "AAPL", 1), (DAY, "AMZN", 2), (dt.date(2024, 12, 27), "META", 3)]


# --- the emulator itself ---------------------------------------------------------------------------------------


def test_project_venv_has_no_bigquery_storage():
    # With google-cloud-bigquery-storage installed, to_dataframe()/to_arrow() of large results go to Google's
    # Storage Read API endpoint, not to the emulator's REST endpoint.
    assert importlib.util.find_spec("google.cloud.bigquery_storage") is None


def test_emulator_listens_on_loopback_and_stops_its_process_group(tmp_path):
    emulator = start_emulator(tmp_path)
    try:
        assert emulator.endpoint.startswith("http://127.0.0.1:")
        port = int(emulator.endpoint.rsplit(":", 1)[1])
        with emulator.client() as c:
            assert [tuple(r.values()) for r in c.query("SELECT 1 AS x, '김민수' AS name").result()] == [(1, "김민수")]
        pid = emulator.process.pid
        assert os.getpgid(pid) == pid  # its own process group
    finally:
        emulator.stop()
    assert emulator.process is None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    assert "Application shutdown complete" in emulator.log_tail()


# --- a. partitioned and clustered tables -----------------------------------------------------------------------


def test_a_create_table_keeps_time_partitioning_and_clustering(client, bq_dataset):
    table = bigquery.Table(f"{client.project}.{bq_dataset}.trades", schema=[
        bigquery.SchemaField("trade_date", "DATE", mode="REQUIRED"),
        bigquery.SchemaField("ticker", "STRING"),
        bigquery.SchemaField("qty", "INT64"),
    ])
    table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field="trade_date")
    table.clustering_fields = ["ticker"]
    client.create_table(table)

    got = client.get_table(f"{bq_dataset}.trades")
    assert got.time_partitioning.type_ == "DAY"
    assert got.time_partitioning.field == "trade_date"
    assert got.clustering_fields == ["ticker"]
    assert [(f.name, f.field_type, f.mode) for f in got.schema] == [
        ("trade_date", "DATE", "REQUIRED"), ("ticker", "STRING", "NULLABLE"), ("qty", "INTEGER", "NULLABLE")]
    with pytest.raises(Conflict, match="Already Exists"):
        client.create_table(table)
    client.create_table(table, exists_ok=True)


# --- b. load_table_from_dataframe and reading back -------------------------------------------------------------


def test_b_load_dataframe_and_read_back_exactly(client, bq_dataset):
    table = f"{bq_dataset}.trades"
    client.create_table(bigquery.Table(f"{client.project}.{table}", schema=[
        bigquery.SchemaField("trade_date", "DATE"),
        bigquery.SchemaField("traded_at", "TIMESTAMP"),
        bigquery.SchemaField("order_id", "INT64"),
        bigquery.SchemaField("price", "FLOAT64"),
        bigquery.SchemaField("amount", "NUMERIC"),
        bigquery.SchemaField("name", "STRING"),
        bigquery.SchemaField("side", "STRING"),
    ]))
    frame = pd.DataFrame({
        "trade_date": [dt.date(2024, 12, 26), dt.date(2024, 12, 27), None],
        "traded_at": pd.to_datetime(["2024-12-26 09:15:00.123456", "2024-12-27 14:22:59.999999", None], utc=True),
        "order_id": pd.array([101, 2**62, None], dtype="Int64"),
        "price": [258.9790954589844, 0.1 + 0.2, None],
        "amount": [Decimal("7769.372863769"), Decimal("-12345678901234567890.123456789"), None],
        "name": ["김민수", "이영희", None],
        "side": ["매수", "매도", ""],
    })
    config = bigquery.LoadJobConfig(write_disposition=bigquery.WriteDisposition.WRITE_APPEND)
    assert client.load_table_from_dataframe(frame, table, job_config=config).result().output_rows == 3

    sql = f"SELECT * FROM {table} ORDER BY order_id"
    back = client.query(sql).to_dataframe(create_bqstorage_client=False)
    assert {c: str(t) for c, t in back.dtypes.items()} == {
        "trade_date": "dbdate", "traded_at": "datetime64[us, UTC]", "order_id": "Int64", "price": "float64",
        "amount": "object", "name": "object", "side": "object"}
    expected = [
        (dt.date(2024, 12, 26), pd.Timestamp("2024-12-26 09:15:00.123456", tz="UTC"), 101, 258.9790954589844,
         Decimal("7769.372863769"), "김민수", "매수"),
        (dt.date(2024, 12, 27), pd.Timestamp("2024-12-27 14:22:59.999999", tz="UTC"), 2**62, 0.1 + 0.2,
         Decimal("-12345678901234567890.123456789"), "이영희", "매도"),
    ]
    records = [tuple(r) for r in back.astype(object).itertuples(index=False)]
    # NULLs sort first in ascending order, as on BigQuery (DuckDB's own default is NULLS LAST).
    assert all(pd.isna(v) for v in records[0][:6]) and records[0][6] == ""
    assert records[1:] == expected

    arrow = client.query(sql).to_arrow(create_bqstorage_client=False)
    assert arrow.schema.types == [pa.date32(), pa.timestamp("us", tz="UTC"), pa.int64(), pa.float64(),
                                  pa.decimal128(38, 9), pa.string(), pa.string()]
    assert [tuple(r.values()) for r in arrow.to_pylist()] == [(None,) * 6 + ("",)] + [
        (e[0], e[1].to_pydatetime(), *e[2:]) for e in expected]

    # Appending again adds rows; a frame with a column the table lacks is refused (no schema evolution).
    client.load_table_from_dataframe(frame.head(1), table, job_config=config).result()
    assert client.query(f"SELECT count(*) FROM {table}").to_arrow(create_bqstorage_client=False)[0][0].as_py() == 4
    with pytest.raises(BadRequest, match="Cannot add fields"):
        client.load_table_from_dataframe(frame.assign(extra=1), table, job_config=config).result()


def test_b_load_job_config_can_create_a_partitioned_clustered_table(client, bq_dataset):
    config = bigquery.LoadJobConfig(time_partitioning=bigquery.TimePartitioning(field="trade_date"),
                                    clustering_fields=["ticker"])
    frame = pd.DataFrame({"trade_date": [DAY], "ticker": ["AAPL"], "qty": [1]})
    client.load_table_from_dataframe(frame, f"{bq_dataset}.t", job_config=config).result()
    got = client.get_table(f"{bq_dataset}.t")
    assert (got.time_partitioning.type_, got.time_partitioning.field, got.clustering_fields) == (
        "DAY", "trade_date", ["ticker"])


# --- c. DML ----------------------------------------------------------------------------------------------------


def test_c_delete_with_date_literal(client, trades):
    assert run(client, f"DELETE FROM {trades} WHERE trade_date = DATE '2024-12-26'").num_dml_affected_rows == 2
    assert rows(client, trades) == BEFORE[2:]


def test_c_delete_with_date_parameter(client, trades):
    assert run(client, f"DELETE FROM {trades} WHERE trade_date = @d", DAY_PARAM).num_dml_affected_rows == 2
    assert rows(client, trades) == BEFORE[2:]


def test_c_date_vs_datetime_string_differs_from_bigquery(client, trades):
    # dagster-gcp deletes/selects a daily partition with
    #   partition_expr >= '2024-12-26 00:00:00' AND partition_expr < '2024-12-27 00:00:00'.
    # On BigQuery, with a DATE column, that is 400 'Could not cast literal "2024-12-26 00:00:00" to type DATE'
    # (dagster issue #13147); the emulator (DuckDB) casts it and matches. Use a TIMESTAMP column or
    # partition_expr="TIMESTAMP(trade_date)" for the BigQuery IO manager; don't rely on this test's leniency.
    sql = (f"DELETE FROM {trades} WHERE trade_date >= '2024-12-26 00:00:00' "
           "AND trade_date < '2024-12-27 00:00:00'")
    assert run(client, sql).num_dml_affected_rows == 2
    # BigQuery also rejects DATE '2024-12-26 00:00:00' (Invalid DATE literal); the emulator accepts it.
    assert [tuple(r.values()) for r in client.query("SELECT DATE '2024-12-26 00:00:00'").result()] == [(DAY,)]


def test_c_insert_select_from_staging(client, trades):
    dataset = trades.split(".")[0]
    job = run(client, f"INSERT INTO {trades} SELECT * FROM {dataset}.staging WHERE trade_date = @d", DAY_PARAM)
    assert (job.statement_type, job.num_dml_affected_rows) == ("INSERT", 2)
    assert rows(client, trades) == sorted(BEFORE + [(DAY, "AAPL", 10), (DAY, "MSFT", 20)])


def test_c_merge_upsert_and_delete_missing_in_the_partition(client, trades):
    dataset = trades.split(".")[0]
    job = run(client, f"""
        MERGE {trades} t USING {dataset}.staging s
        ON t.trade_date = s.trade_date AND t.ticker = s.ticker
        WHEN MATCHED THEN UPDATE SET qty = s.qty
        WHEN NOT MATCHED THEN INSERT (trade_date, ticker, qty) VALUES (s.trade_date, s.ticker, s.qty)
        WHEN NOT MATCHED BY SOURCE AND t.trade_date = @d THEN DELETE""", DAY_PARAM)
    assert (job.statement_type, job.num_dml_affected_rows) == ("MERGE", 3)  # 1 updated, 1 inserted, 1 deleted
    # AMZN (same day, not in staging) is deleted; META (another day) is kept.
    assert rows(client, trades) == [(DAY, "AAPL", 10), (DAY, "MSFT", 20), (dt.date(2024, 12, 27), "META", 3)]


REPLACE_PARTITION = """
BEGIN TRANSACTION;
DELETE FROM {trades} WHERE trade_date = @d;
INSERT INTO {trades} SELECT {columns} FROM {source} WHERE trade_date = @d;
COMMIT TRANSACTION;
"""


def test_c_transaction_script_replaces_a_partition(client, trades):
    dataset = trades.split(".")[0]
    sql = REPLACE_PARTITION.format(trades=trades, columns="*", source=f"{dataset}.staging")
    job = run(client, sql, DAY_PARAM)
    assert job.statement_type == "SCRIPT"
    assert rows(client, trades) == [(DAY, "AAPL", 10), (DAY, "MSFT", 20), (dt.date(2024, 12, 27), "META", 3)]


@pytest.mark.parametrize(("columns", "source", "error", "message"), [
    ("*", "missing_table", NotFound, "Not found: Table .*missing_table was not found"),
    ("trade_date, ticker, CAST(ticker AS INT64)", "staging", BadRequest, "Could not convert string 'AAPL' to INT64"),
], ids=["missing-table", "runtime-cast-error"])
def test_c_failed_transaction_rolls_back_the_delete(client, trades, columns, source, error, message):
    dataset = trades.split(".")[0]
    sql = REPLACE_PARTITION.format(trades=trades, columns=columns, source=f"{dataset}.{source}")
    with pytest.raises(error, match=message):
        run(client, sql, DAY_PARAM)
    assert rows(client, trades) == BEFORE


def test_c_script_without_transaction_is_not_atomic(client, trades):
    # The control for the test above: the DELETE really runs before the failing statement.
    dataset = trades.split(".")[0]
    sql = f"DELETE FROM {trades} WHERE trade_date = @d; INSERT INTO {trades} SELECT * FROM {dataset}.missing_table;"
    with pytest.raises(NotFound):
        run(client, sql, DAY_PARAM)
    assert rows(client, trades) == BEFORE[2:]


def test_c_exception_handler_with_rollback(client, trades):
    sql = f"""
        BEGIN
          BEGIN TRANSACTION;
          DELETE FROM {trades} WHERE trade_date = @d;
          SELECT ERROR('boom');
          COMMIT TRANSACTION;
        EXCEPTION WHEN ERROR THEN
          ROLLBACK TRANSACTION;
          RAISE USING MESSAGE = @@error.message;
        END;"""
    with pytest.raises(BadRequest, match="boom"):
        run(client, sql, DAY_PARAM)
    assert rows(client, trades) == BEFORE


# --- d. DDL through query() ------------------------------------------------------------------------------------


def test_d_ctas_partition_by_cluster_by(client, trades):
    dataset = trades.split(".")[0]
    job = run(client, f"CREATE TABLE {dataset}.copy PARTITION BY trade_date CLUSTER BY ticker AS "
                      f"SELECT * FROM {trades}")
    assert job.statement_type == "CREATE_TABLE_AS_SELECT"
    got = client.get_table(f"{dataset}.copy")
    assert (got.time_partitioning.type_, got.time_partitioning.field, got.clustering_fields) == (
        "DAY", "trade_date", ["ticker"])
    assert rows(client, f"{dataset}.copy") == BEFORE
    with pytest.raises(Conflict, match="Already Exists: Table"):
        run(client, f"CREATE TABLE {dataset}.copy AS SELECT * FROM {trades}")


def test_d_create_or_replace_table(client, trades):
    dataset = trades.split(".")[0]
    run(client, f"CREATE TABLE {dataset}.copy AS SELECT * FROM {trades}")
    run(client, f"CREATE OR REPLACE TABLE {dataset}.copy PARTITION BY trade_date CLUSTER BY ticker AS "
                f"SELECT * FROM {trades} WHERE qty > 1")
    got = client.get_table(f"{dataset}.copy")
    assert (got.time_partitioning.field, got.clustering_fields) == ("trade_date", ["ticker"])
    assert rows(client, f"{dataset}.copy") == BEFORE[1:]
    # Partitioning on a TIMESTAMP column by day.
    run(client, f"CREATE OR REPLACE TABLE {dataset}.ts PARTITION BY DATE(traded_at) AS "
                "SELECT TIMESTAMP '2024-12-26 09:15:00+00' AS traded_at, 1 AS qty")
    got = client.get_table(f"{dataset}.ts")
    assert (got.time_partitioning.type_, got.time_partitioning.field) == ("DAY", "traded_at")


def test_d_delete_table_not_found_ok(client, trades):
    client.delete_table(trades, not_found_ok=True)
    client.delete_table(trades, not_found_ok=True)
    with pytest.raises(NotFound):
        client.delete_table(trades)
    with pytest.raises(NotFound):
        client.get_table(trades)


# --- known gaps ------------------------------------------------------------------------------------------------


def test_gap_partition_decorators(client, trades):
    dataset = trades.split(".")[0]
    with pytest.raises(NotFound, match=r"Table .*trades\$20241226 was not found"):
        run(client, f"SELECT count(*) FROM `{trades}$20241226`")
    # A load into trades$20241226 with WRITE_TRUNCATE should replace that partition; the emulator instead
    # makes (or replaces) a separate table literally named "trades$20241226" and leaves `trades` alone.
    frame = pd.DataFrame({"trade_date": [DAY], "ticker": ["ZZZZ"], "qty": [9]})
    config = bigquery.LoadJobConfig(write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE)
    client.load_table_from_dataframe(frame, f"{trades}$20241226", job_config=config).result()
    assert rows(client, trades) == BEFORE
    assert sorted(t.table_id for t in client.list_tables(dataset)) == ["staging", "trades", "trades$20241226"]


def test_gap_num_rows_not_lowered_by_delete(client, trades):
    run(client, f"DELETE FROM {trades} WHERE trade_date = @d", DAY_PARAM)
    assert client.get_table(trades).num_rows == 3  # BigQuery says 1: count with SELECT count(*) instead
    partitions = client.query(f"SELECT partition_id, total_rows FROM {trades.split('.')[0]}"
                              ".INFORMATION_SCHEMA.PARTITIONS WHERE table_name = 'trades'").result()
    assert sorted(tuple(r.values()) for r in partitions) == [("20241227", 1)]


def test_struct_field_names_are_kept(client, bq_dataset):
    # Said to be lost by some emulator builds; local-bigquery 0.3.2 keeps them in results and table schemas.
    run(client, f"CREATE TABLE {bq_dataset}.s AS SELECT STRUCT(1 AS a, '매수' AS b) AS s, [STRUCT(2 AS c)] AS arr")
    schema = client.get_table(f"{bq_dataset}.s").schema
    assert [(f.name, f.field_type, f.mode, [g.name for g in f.fields]) for f in schema] == [
        ("s", "RECORD", "NULLABLE", ["a", "b"]), ("arr", "RECORD", "REPEATED", ["c"])]
    assert [dict(r) for r in client.query(f"SELECT * FROM {bq_dataset}.s").result()] == [
        {"s": {"a": 1, "b": "매수"}, "arr": [{"c": 2}]}]
