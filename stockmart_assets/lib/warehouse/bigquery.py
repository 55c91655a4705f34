"""The production mart in BigQuery: a day (or any slice) replaced by one multi-statement transaction.

BigQuery has no transaction across a load job and a DELETE, so the rows are loaded into a staging table that
expires by itself (a crash leaves only that), then one ``BEGIN TRANSACTION; DELETE ...; INSERT ...; COMMIT``
script publishes them: BigQuery commits both or neither. Tables are created from the mart's declarations, with
DAY partitioning and clustering, so their columns keep their case and their types. Dates are compared as
DATE literals, never as TIMESTAMPs against a DATE column.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from stockmart_assets.lib.warehouse.tables import MartTable
from stockmart_assets.lib.warehouse.where import Where, where_sql

if TYPE_CHECKING:
    import pyarrow as pa
    from google.cloud import bigquery

_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
STAGING_TTL = dt.timedelta(hours=6)  # a crash leaves a staging table behind; BigQuery drops it after this


def emulator_client(project: str, api_endpoint: str, location: str | None = None) -> bigquery.Client:
    """An anonymous client of a BigQuery API emulator at ``api_endpoint``."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(project=project, location=location, credentials=AnonymousCredentials(),
                           client_options={"api_endpoint": api_endpoint})


class BigQueryWarehouse:
    dialect = "bigquery"

    def __init__(self, project: str, dataset: str = "mart",
                 client: Callable[[], AbstractContextManager[bigquery.Client]] | None = None):
        for name in (project, dataset):
            if not _NAME.match(name):
                raise ValueError(f"not a BigQuery project/dataset name: {name!r}")
        self.project, self.schema = project, dataset
        self._client_factory = client or self._default_client

    @contextmanager
    def _default_client(self) -> Iterator[bigquery.Client]:
        from google.cloud import bigquery

        client = bigquery.Client(project=self.project)
        try:
            yield client
        finally:
            client.close()

    @contextmanager
    def session(self) -> Iterator[None]:
        """Nothing to keep open: every call is a request of its own (the protocol's ``session``)."""
        yield

    @contextmanager
    def _client(self) -> Iterator[bigquery.Client]:
        with self._client_factory() as client:
            yield client

    def qualified(self, table: str) -> str:
        return f"`{self.project}.{self.schema}.{table}`"

    def quote(self, column: str) -> str:
        return f"`{column}`"

    def exists(self, table: str) -> bool:
        from google.api_core.exceptions import NotFound

        with self._client() as client:
            try:
                client.get_table(f"{self.project}.{self.schema}.{table}")
            except NotFound:
                return False
        return True

    def replace(self, table: MartTable, where: Where, rows: pa.Table | pa.RecordBatchReader | None = None,
                select_sql: str | None = None) -> int:
        from google.cloud import bigquery

        target, condition = self.qualified(table.name), where_sql(table, where, self.quote)
        cols = ", ".join(self.quote(c) for c in table.column_names)
        with self._client() as client:
            client.query(f"CREATE SCHEMA IF NOT EXISTS `{self.project}.{self.schema}`").result()
            client.query(table.bigquery_ddl(f"{self.project}.{self.schema}.{table.name}")).result()
            stage = None
            try:
                if rows is not None:
                    stage = f"{self.project}.{self.schema}._stage_{table.name}_{uuid.uuid4().hex[:12]}"
                    config = bigquery.LoadJobConfig(schema=table.bigquery_schema, write_disposition="WRITE_TRUNCATE",
                                                    source_format=bigquery.SourceFormat.PARQUET)
                    with tempfile.TemporaryFile() as staged_file:
                        _write_parquet(rows, table, staged_file)  # batch by batch: never whole in memory
                        staged_file.seek(0)
                        client.load_table_from_file(staged_file, stage, job_config=config).result()
                    staged = client.get_table(stage)
                    staged.expires = dt.datetime.now(dt.timezone.utc) + STAGING_TTL
                    client.update_table(staged, ["expires"])
                    select_sql = f"SELECT {cols} FROM `{stage}`"
                client.query(f"BEGIN TRANSACTION;\nDELETE FROM {target} WHERE {condition};\n"
                             f"INSERT INTO {target} ({cols}) SELECT {cols} FROM ({select_sql});\n"
                             "COMMIT TRANSACTION;").result()
            finally:
                if stage:
                    client.delete_table(stage, not_found_ok=True)
            return next(iter(client.query(f"SELECT COUNT(*) AS n FROM {target} WHERE {condition}").result()))["n"]

    def read(self, table: MartTable, where: Where, limit: int | None = None) -> pa.Table:
        if not self.exists(table.name):
            return table.arrow_schema.empty_table()
        cols = ", ".join(self.quote(c) for c in table.column_names)
        with self._client() as client:
            job = client.query(f"SELECT {cols} FROM {self.qualified(table.name)} "
                               f"WHERE {where_sql(table, where, self.quote)}"
                               + (f" LIMIT {int(limit)}" if limit is not None else ""))
            return job.result().to_arrow(create_bqstorage_client=False)

    def query(self, sql: str) -> list[tuple]:
        with self._client() as client:
            return [tuple(r.values()) for r in client.query(sql).result()]

    def define_view(self, name: str, select_sql: str) -> None:
        self.query(f"CREATE OR REPLACE VIEW {self.qualified(name)} AS {select_sql}")

    def define_window_function(self, name: str, select_sql: str) -> None:
        self.query(f"CREATE OR REPLACE TABLE FUNCTION {self.qualified(name)}(first_day DATE, last_day DATE) "
                   f"AS ({select_sql})")


def _write_parquet(rows: pa.Table | pa.RecordBatchReader, table: MartTable, file) -> None:
    """``rows`` as one parquet file in the table's declared types (which BigQuery loads into its columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = table.arrow_schema
    batches = rows.to_batches() if isinstance(rows, pa.Table) else rows
    with pq.ParquetWriter(file, schema) as writer:
        for batch in batches:
            writer.write_table(pa.Table.from_batches([batch]).select(table.column_names).cast(schema))
