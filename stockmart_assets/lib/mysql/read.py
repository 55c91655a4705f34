"""MySQL's rows out, as Arrow in the contract's types: what the mart reads.

connectorx reads the result into Arrow in Rust (decoding a large day row by row in Python would cost more
than the read) and hands it over in record batches, so a day of any size passes through in bounded memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pyarrow as pa

from stockmart_assets.lib.day import Days
from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.mysql.ddl import q

BATCH_ROWS = 100_000


def stream_rows(params: dict, table: LandingTable, days: Days | None = None,
                batch_rows: int = BATCH_ROWS) -> pa.RecordBatchReader:
    """A table (or its rows on ``days``) out of MySQL in record batches of the contract's types, ordered by
    key. ``params`` are ``MySQLResource.connection_params()``. Nothing is read until the batches are."""
    import connectorx as cx

    cols = [c.name for c in table.columns]
    sql = f"SELECT {', '.join(q(c) for c in cols)} FROM {q(table.name)}{_window(table, days)}"
    sql += f" ORDER BY {', '.join(q(k) for k in table.key)}"
    url = (f"mysql://{quote(params['user'], safe='')}:{quote(params['password'], safe='')}"
           f"@{params['host']}:{params['port']}/{quote(params['database'], safe='')}")
    schema = arrow_schema(table)

    def batches() -> Iterator[pa.RecordBatch]:
        reader = cx.read_sql(url, sql, return_type="arrow_stream", batch_size=batch_rows)
        for batch in reader:
            if batch.num_rows:
                yield pa.RecordBatch.from_arrays([batch.column(c).cast(schema.field(c).type) for c in cols],
                                                 schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _window(table: LandingTable, days: Days | None) -> str:
    """The WHERE clause of ``days`` (validated days, not text from outside: safe to inline), or none."""
    if days is None:
        return ""
    return (f" WHERE {q(table.partition_column)} >= '{days.start:%Y-%m-%d %H:%M:%S}'"
            f" AND {q(table.partition_column)} < '{days.end:%Y-%m-%d %H:%M:%S}'")


def count_at_most(con, table: LandingTable, days: Days | None, limit: int) -> int:
    """How many rows ``table`` holds (on ``days``), counted no further than ``limit``: a bounded question,
    whatever the table's size (MySQL stops reading at the limit). ``con`` is a pymysql connection."""
    sql = f"SELECT 1 FROM {q(table.name)}{_window(table, days)}"
    with con.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM ({sql} LIMIT {int(limit)}) AS bounded")
        return int(cur.fetchone()[0])


def read_rows(params: dict, table: LandingTable, days: Days | None = None) -> pa.Table:
    """``stream_rows``, read whole: for tables known to be small."""
    return stream_rows(params, table, days).read_all()


def arrow_schema(table: LandingTable) -> pa.Schema:
    types = {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "VARCHAR": pa.string(),
             "TIMESTAMP": pa.timestamp("us"), "TIMESTAMPTZ": pa.timestamp("us")}
    fields = []
    for c in table.columns:
        if c.type.startswith("DECIMAL"):
            p, s = map(int, re.findall(r"\d+", c.type))
            fields.append(pa.field(c.name, pa.decimal128(p, s)))
        else:
            fields.append(pa.field(c.name, types[c.type]))
    return pa.schema(fields)
