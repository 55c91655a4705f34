"""Change capture from MySQL's row-based binlog (python-mysql-replication): which tables and days changed.

The server must log rows with their full images and column names: ``log_bin`` on, ``binlog_format=ROW``,
``binlog_row_image=FULL``, ``binlog_row_metadata=FULL``; the reader needs ``REPLICATION SLAVE`` and
``REPLICATION CLIENT``. A position is a binlog file and an offset; reading stops only at a transaction's end,
so a batch never splits a commit and the next read starts at a commit boundary.

stockmart's own loads write a row into ``_stockmart_loads`` in the same transaction as the rows they load
(``lib.mysql.load``): a transaction carrying that row is stockmart's and is not reported as a change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from stockmart_assets.lib.landing.contract import TABLES
from stockmart_assets.lib.mysql.ddl import LOADS_TABLE

REQUIRED = {"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL"}
SERVER_ID = 48_213  # the reader's replica id: any id the server and its real replicas do not use
# A statement that changes a table whole: its verb and the (first) table it names, comments skipped.
_DDL = re.compile(r"^\s*(?:/\*.*?\*/\s*)*(TRUNCATE|ALTER|DROP|RENAME|CREATE)\b(?:\s+TABLE)?"
                  r"(?:\s+IF\s+(?:NOT\s+)?EXISTS)?\s+(?:`?\w+`?\.)?`?(\w+)`?", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, order=True)
class Position:
    file: str
    offset: int

    def __str__(self) -> str:
        return f"{self.file}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> Position:
        file, _, offset = text.rpartition(":")
        return cls(file, int(offset))


@dataclass
class Changes:
    """What a stretch of binlog changed in the watched tables, stockmart's own loads left out."""

    start: Position
    end: Position
    events: Counter = field(default_factory=Counter)  # (table, insert/update/delete) -> rows
    days: dict[str, set[dt.date]] = field(default_factory=dict)  # partitioned table -> days touched
    tables: set[str] = field(default_factory=set)  # unpartitioned tables changed
    refresh: dict[str, str] = field(default_factory=dict)  # table -> the statement that changes it whole
    own_transactions: int = 0
    complete: bool = True  # False: more binlog follows (the batch was full)


def problems(cur) -> list[str]:
    """Why this server cannot be read for changes (empty when it can): the settings it lacks, by name."""
    cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + ", ".join(f"'{n}'" for n in REQUIRED) + ")")
    have = {name.lower(): str(value).upper() for name, value in cur.fetchall()}
    return [f"{name}={have.get(name, '(not supported)')} (needs {want})"
            for name, want in REQUIRED.items() if have.get(name) != want]


def current(cur) -> Position:
    """Where the binlog ends now."""
    try:
        cur.execute("SHOW BINARY LOG STATUS")  # MySQL 8.4+
    except Exception:  # noqa: BLE001: MariaDB and MySQL 8.0 know only the old name
        cur.execute("SHOW MASTER STATUS")
    file, offset = cur.fetchone()[:2]
    return Position(file, int(offset))


def available(cur) -> list[str]:
    """The binlog files the server still has, oldest first."""
    cur.execute("SHOW BINARY LOGS")
    return [row[0] for row in cur.fetchall()]


def read(connection: dict, database: str, start: Position, max_rows: int = 100_000) -> Changes:
    """The changes to ``database``'s watched tables from ``start`` to the end of the binlog, or to the first
    commit after ``max_rows`` changed rows (``complete`` False: read again from ``end``)."""
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.event import QueryEvent, RotateEvent, XidEvent
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    changes = Changes(start, start)
    watched = set(TABLES) | {LOADS_TABLE}
    stream = BinLogStreamReader(
        connection_settings=_settings(connection), server_id=SERVER_ID, blocking=False, resume_stream=True,
        log_file=start.file, log_pos=start.offset, only_schemas=[database], only_tables=sorted(watched),
        enable_logging=False,
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, QueryEvent, XidEvent, RotateEvent])
    pending: list = []  # the open transaction's row changes: kept only if it is not stockmart's
    rows = 0
    try:
        for event in stream:
            if isinstance(event, (WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent)):
                pending.append(event)
                continue
            if isinstance(event, QueryEvent):
                query = _text(event.query)
                if query.upper() == "BEGIN":
                    continue
                if changed := _changed_whole(query):  # TRUNCATE, ALTER, DROP, RENAME of a watched table
                    changes.refresh[changed] = " ".join(query.split())[:200]
            if isinstance(event, RotateEvent) and pending:
                continue
            # A transaction ended: a commit, a statement of its own (DDL), a rotation between transactions.
            rows += _apply(changes, pending)
            pending = []
            changes.end = Position(stream.log_file, stream.log_pos)
            if rows >= max_rows:
                changes.complete = False
                break
    finally:
        stream.close()
    return changes


def _text(query: str | bytes) -> str:
    return (query if isinstance(query, str) else query.decode("utf-8", "replace")).strip()


def _changed_whole(query: str) -> str | None:
    """The watched table a statement changes whole (a new, empty table changes nothing)."""
    match = _DDL.match(query)
    if match and match.group(2) in TABLES and match.group(1).upper() != "CREATE":
        return match.group(2)
    return None


def _settings(connection: dict) -> dict:
    return {"host": connection["host"], "port": int(connection["port"]), "user": connection["user"],
            "password": connection["password"]}


def _apply(changes: Changes, events: list) -> int:
    """Add one committed transaction's row events to ``changes``; returns the rows it changed."""
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent

    if any(e.table == LOADS_TABLE for e in events):
        changes.own_transactions += 1
        return 0
    rows = 0
    for event in events:
        table = TABLES[event.table]
        kind = {UpdateRowsEvent: "update", DeleteRowsEvent: "delete"}.get(type(event), "insert")
        changes.events[(event.table, kind)] += len(event.rows)
        rows += len(event.rows)
        if not table.partition_column:
            changes.tables.add(event.table)
            continue
        days = changes.days.setdefault(event.table, set())
        for row in event.rows:
            for image in ("before_values", "after_values", "values"):
                if image in row and (value := row[image].get(table.partition_column)) is not None:
                    days.add(value.date() if isinstance(value, dt.datetime) else value)
    return rows
