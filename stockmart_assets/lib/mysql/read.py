"""MySQL's rows out, as Arrow in the contract's types: what the mart and the profiles read."""

from __future__ import annotations

import re
from urllib.parse import quote

import pyarrow as pa

from stockmart_assets.lib.day import Days
from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.mysql.ddl import q


def read_rows(params: dict, table: LandingTable, days: Days | None = None) -> pa.Table:
    """A table (or its rows on ``days``) out of MySQL, as Arrow in the contract's types, ordered by key.

    connectorx reads the result straight into Arrow, in Rust: decoding a large day row by row in Python would
    cost more than the read. ``params`` are ``MySQLResource.connection_params()``.
    """
    import connectorx as cx

    cols = [c.name for c in table.columns]
    sql = f"SELECT {', '.join(q(c) for c in cols)} FROM {q(table.name)}"
    if days is not None:  # the window of validated days, not text from outside: safe to inline
        sql += (f" WHERE {q(table.partition_column)} >= '{days.start:%Y-%m-%d %H:%M:%S}'"
                f" AND {q(table.partition_column)} < '{days.end:%Y-%m-%d %H:%M:%S}'")
    sql += f" ORDER BY {', '.join(q(k) for k in table.key)}"
    url = (f"mysql://{quote(params['user'], safe='')}:{quote(params['password'], safe='')}"
           f"@{params['host']}:{params['port']}/{quote(params['database'], safe='')}")
    schema = arrow_schema(table)
    data = cx.read_sql(url, sql, return_type="arrow")
    if data.num_rows == 0:
        return schema.empty_table()
    return pa.Table.from_arrays([data.column(c).cast(schema.field(c).type) for c in cols], schema=schema)


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

