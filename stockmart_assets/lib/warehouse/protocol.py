"""What the mart's code asks of a warehouse: DuckDB (LOCAL) and BigQuery (PROD) both answer it.

The IO manager, the quality checks, the gate and the analytics talk to this and nothing else, so a behaviour
(a day replaced in one transaction, a read of a run's days) is written once per warehouse, here.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from stockmart_assets.lib.warehouse.tables import MartTable
from stockmart_assets.lib.warehouse.where import Where

if TYPE_CHECKING:
    import pyarrow as pa


class Warehouse(Protocol):
    dialect: str  # sqlglot's name of its SQL: "duckdb", "bigquery"
    schema: str  # the schema (DuckDB) or dataset (BigQuery) of the mart's tables

    def qualified(self, table: str) -> str:
        """The table's name as a query writes it."""

    def quote(self, column: str) -> str:
        """A column name as a query writes it."""

    def session(self) -> AbstractContextManager[None]:
        """A block whose calls (by the thread that opens it) may share one connection: a step that makes several
        calls opens one. Each write is still its own transaction."""

    def exists(self, table: str) -> bool: ...

    def replace(self, table: MartTable, where: Where, rows: pa.Table | pa.RecordBatchReader | None = None,
                select_sql: str | None = None) -> int:
        """Make the rows of ``table`` that ``where`` covers exactly ``rows`` (or ``select_sql``'s result), all at
        once: a crash leaves the previous rows. ``rows`` may be a stream of record batches, read once and
        never held whole. The table is created from its declaration first. Returns the number of rows
        ``where`` covers afterwards."""

    def read(self, table: MartTable, where: Where, limit: int | None = None) -> pa.Table:
        """The rows of ``table`` that ``where`` covers (the first ``limit``), in the declared columns."""

    def query(self, sql: str) -> list[tuple]: ...

    def define_view(self, name: str, select_sql: str) -> None:
        """Create or replace view ``name`` as ``select_sql``."""

    def define_window_function(self, name: str, select_sql: str) -> None:
        """Create or replace table function ``name(first_day DATE, last_day DATE)`` returning ``select_sql``,
        which reads its parameters as ``first_day`` and ``last_day``."""
