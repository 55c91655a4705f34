"""The operational tables' DDL, derived from the landing contract so a column is declared once.

The business model's keys (customer→budget, trade→customer, trade→stocks) are real primary and foreign keys
here. Keys are NOT NULL; other columns may be NULL in MySQL
because the trading service also writes rows straight into these tables, and catching an incomplete row is
the quality layer's job (its completeness rules), not a load error without a line number.
"""

from __future__ import annotations

import re

from stockmart_assets.lib.landing.contract import TABLES, Column, LandingTable

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def q(name: str) -> str:
    if not _IDENT.match(name):  # every identifier comes from the contract; guard anyway
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f"`{name}`"


# Parents before children (the contract declares them so): the order tables are created in, dropped in reverse.
TABLE_ORDER = tuple(TABLES)

_TYPES = {"BIGINT": "BIGINT", "INTEGER": "INT", "DOUBLE": "DOUBLE", "TIMESTAMP": "DATETIME",
          "TIMESTAMPTZ": "DATETIME"}


def mysql_type(column: Column) -> str:
    if column.type == "VARCHAR":
        return f"VARCHAR({column.max_length or 255})"
    if re.fullmatch(r"DECIMAL\(\d+,\d+\)", column.type):
        return column.type
    return _TYPES[column.type]


def create_table_sql(table: LandingTable) -> str:
    lines = []
    for c in table.columns:
        null = "NOT NULL" if (c.required or c.name in table.key) else "NULL"
        lines.append(f"`{c.name}` {mysql_type(c)} {null}")
    lines.append(f"PRIMARY KEY ({', '.join(f'`{k}`' for k in table.key)})")
    if table.partition_column and table.partition_column not in table.key[:1]:
        lines.append(f"KEY `ix_{table.name}_{table.partition_column}` (`{table.partition_column}`)")
    for column, parent, parent_column in table.parents:
        lines.append(
            f"CONSTRAINT `fk_{table.name}_{column}` FOREIGN KEY (`{column}`) "
            f"REFERENCES `{parent}` (`{parent_column}`)"
        )
    body = ",\n  ".join(lines)
    return (
        f"CREATE TABLE IF NOT EXISTS `{table.name}` (\n  {body}\n) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    )


# stockmart's own loads, one row each, written in the load's transaction: change capture (``binlog``) knows
# a transaction carrying one is stockmart's and not a change made by the trading service.
LOADS_TABLE = "_stockmart_loads"
LOADS_TABLE_SQL = (
    f"CREATE TABLE IF NOT EXISTS `{LOADS_TABLE}` (`load_id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
    "`table_name` VARCHAR(64) NOT NULL, `first_day` DATE NULL, `last_day` DATE NULL, `loaded_at` DATETIME(6) NOT NULL"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
)


def record_load(cursor, table: str, first_day=None, last_day=None) -> None:
    """Mark the open transaction as stockmart's load of ``table`` (its days, when partitioned)."""
    cursor.execute(f"INSERT INTO `{LOADS_TABLE}` (table_name, first_day, last_day, loaded_at) "
                   "VALUES (%s, %s, %s, UTC_TIMESTAMP(6))", (table, first_day, last_day))


def create_all(cursor) -> None:
    for name in TABLE_ORDER:
        cursor.execute(create_table_sql(TABLES[name]))
    cursor.execute(LOADS_TABLE_SQL)
