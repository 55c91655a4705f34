"""The production mart in BigQuery: dagster-gcp's IO manager, made atomic, and a resource for in-warehouse SQL.

dagster-gcp replaces a partition with a DELETE job followed by a separate load job (a crash between them loses
the partition), compares a DATE partition column with TIMESTAMP literals ("Could not cast literal",
dagster-io/dagster#13147), upper-cases the columns of tables it creates (#14129) and never writes PARTITION BY.
So here every table is created first from the mart's declared schema (DAY partitioning, clustering by ticker);
rows are loaded into a staging table that expires by itself; and one multi-statement transaction deletes the
slice and inserts the staged rows: BigQuery commits both or neither. Credentials come only through
``dg.EnvVar`` (a base64 service-account key, or the environment's default credentials).
"""

import datetime as dt
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_gcp import BigQueryIOManager
from dagster_gcp.bigquery.io_manager import BigQueryClient
from pydantic import Field

from stockmart_assets.mart.tables import MART_TABLES, MartTable

if TYPE_CHECKING:
    import pyarrow as pa
    from google.cloud import bigquery

_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
STAGING_TTL = dt.timedelta(hours=6)  # a crash leaves a staging table behind; BigQuery drops it after this


def make_client(project: str | None, location: str | None = None, api_endpoint: str | None = None) -> "bigquery.Client":
    """A BigQuery client; with ``api_endpoint`` (a local emulator) it connects anonymously to that endpoint."""
    from google.cloud import bigquery

    if api_endpoint:
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(project=project, location=location, credentials=AnonymousCredentials(),
                               client_options={"api_endpoint": api_endpoint})
    return bigquery.Client(project=project, location=location)


def _schema(table: MartTable) -> list:
    from google.cloud import bigquery

    return [bigquery.SchemaField(c.name, c.type, description=c.description) for c in table.columns]


def _literal(value) -> str:
    """A SQL literal for a key value (dates and identifiers only: nothing from file contents)."""
    if value is None:
        return "NULL"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str) and _NAME.match(value):
        return f"'{value}'"
    raise ValueError(f"unsupported key value {value!r}")


def replace_atomically(client: "bigquery.Client", project: str, dataset: str, table: MartTable, where: str,
                       rows: "pa.Table | None" = None, select_sql: str | None = None) -> int:
    """Make the rows of ``table`` matching ``where`` exactly ``rows`` (or ``select_sql``'s result), atomically."""
    from google.cloud import bigquery

    for name in (project, dataset):
        if not _NAME.match(name):
            raise ValueError(f"not a BigQuery project/dataset name: {name!r}")
    target = f"`{project}.{dataset}.{table.name}`"
    client.query(f"CREATE SCHEMA IF NOT EXISTS `{project}.{dataset}`").result()
    client.query(table.bigquery_ddl(f"{project}.{dataset}.{table.name}")).result()
    cols = ", ".join(f"`{c}`" for c in table.column_names)
    stage = None
    try:
        if rows is not None:
            stage = f"{project}.{dataset}._stage_{table.name}_{uuid.uuid4().hex[:12]}"
            job = client.load_table_from_dataframe(
                rows.select(table.column_names).to_pandas(), stage,
                job_config=bigquery.LoadJobConfig(schema=_schema(table), write_disposition="WRITE_TRUNCATE"))
            job.result()
            staged = client.get_table(stage)
            staged.expires = dt.datetime.now(dt.timezone.utc) + STAGING_TTL
            client.update_table(staged, ["expires"])
            select_sql = f"SELECT {cols} FROM `{stage}`"
        client.query(
            f"BEGIN TRANSACTION;\nDELETE FROM {target} WHERE {where};\n"
            f"INSERT INTO {target} ({cols}) SELECT {cols} FROM ({select_sql});\nCOMMIT TRANSACTION;"
        ).result()
    finally:
        if stage:
            client.delete_table(stage, not_found_ok=True)
    count = client.query(f"SELECT COUNT(*) AS n FROM {target} WHERE {where}").result()
    return next(iter(count))["n"]


def _select(table_slice: TableSlice, each_partition: bool = False) -> str:
    cols = ", ".join(table_slice.columns) if table_slice.columns else "*"
    where = (" AND ".join(f"{d.partition_expr} = DATE '{{partition}}'" for d in table_slice.partition_dimensions)
             if each_partition and table_slice.partition_dimensions else _slice_where(table_slice))
    return f"SELECT {cols} FROM `{table_slice.database}.{table_slice.schema}.{table_slice.table}` WHERE {where}"


def _slice_where(table_slice: TableSlice) -> str:
    if not table_slice.partition_dimensions:
        return "TRUE"
    clauses = []
    for dim in table_slice.partition_dimensions:
        start, end = dim.partitions
        clauses.append(f"{dim.partition_expr} >= DATE '{start.date().isoformat()}' "
                       f"AND {dim.partition_expr} < DATE '{end.date().isoformat()}'")
    return " AND ".join(clauses)


class AtomicBigQueryClient(BigQueryClient):
    """dagster-gcp's client with the delete folded into the handler's single transaction."""

    @staticmethod
    def delete_table_slice(context, table_slice, connection) -> None:
        return None  # done atomically with the insert in ArrowBigQueryTypeHandler

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        """What DbIOManager shows as an output's "Query": true of each partition, not of the run's range."""
        return _select(table_slice, each_partition=True)

    @staticmethod
    @contextmanager
    def connect(context, table_slice):
        config = context.resource_config or {}
        client = make_client(config.get("project"), config.get("location"), config.get("api_endpoint"))
        try:
            yield client
        finally:
            client.close()


class ArrowBigQueryTypeHandler(DbTypeHandler["pa.Table"]):
    def handle_output(self, context: dg.OutputContext, table_slice: TableSlice, obj: "pa.Table", connection):
        rows = replace_atomically(connection, table_slice.database, table_slice.schema,
                                  MART_TABLES[table_slice.table], _slice_where(table_slice), rows=obj)
        # A partitioned asset records each day's rows itself: a range's count would land on every day.
        return {"storage": "bigquery"} if table_slice.partition_dimensions else {
            "dagster/row_count": obj.num_rows, "rows_in_slice": rows, "storage": "bigquery"}

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection) -> "pa.Table":
        return connection.query(_select(table_slice)).result().to_arrow(
            create_bqstorage_client=False)

    @property
    def supported_types(self):
        import pyarrow as pa

        return [pa.Table]


class MartBigQueryIOManager(BigQueryIOManager):
    """dagster-gcp's BigQuery IO manager for the mart: Arrow tables, declared schemas, atomic replaces."""

    api_endpoint: str | None = Field(default=None, description="A BigQuery API emulator (tests); None: Google's.")

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [ArrowBigQueryTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        return DbIOManager(db_client=AtomicBigQueryClient(gcp_credentials=self.gcp_credentials),
                           io_manager_name="MartBigQueryIOManager", database=self.project, schema=self.dataset,
                           type_handlers=self.type_handlers())


class BigQueryWarehouse(dg.ConfigurableResource):
    """Runs the mart's analytics SQL inside BigQuery and keeps the quality tables there."""

    project: str
    schema_name: str = "mart"  # the dataset
    location: str | None = None
    gcp_credentials: str | None = None  # base64 service-account key, from dg.EnvVar
    api_endpoint: str | None = None
    dialect: str = "bigquery"

    @contextmanager
    def _client(self) -> Iterator["bigquery.Client"]:
        credentials = nullcontext()
        if self.gcp_credentials and not self.api_endpoint:
            from dagster_gcp.bigquery.utils import setup_gcp_creds

            credentials = setup_gcp_creds(self.gcp_credentials)  # the key as a temporary file, for this block
        with credentials:
            client = make_client(self.project, self.location, self.api_endpoint)
            try:
                yield client
            finally:
                client.close()

    def replace_day(self, table: MartTable, day: str, select_sql: str) -> int:
        with self._client() as client:
            return replace_atomically(client, self.project, self.schema_name, table,
                                      f"`{table.partition_column}` = {_literal(dt.date.fromisoformat(day))}",
                                      select_sql=select_sql)

    def replace_rows(self, table: MartTable, key: dict, rows: "pa.Table") -> None:
        where = " AND ".join(f"`{c}` IS NULL" if v is None else f"`{c}` = {_literal(v)}" for c, v in key.items())
        with self._client() as client:
            replace_atomically(client, self.project, self.schema_name, table, where, rows=rows)

    def verification_summary(self, table: str, partition: str | None):
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        day = "partition_date IS NULL" if partition is None else "partition_date = @day"
        params = [bigquery.ScalarQueryParameter("t", "STRING", table)]
        if partition:
            params.append(bigquery.ScalarQueryParameter("day", "DATE", dt.date.fromisoformat(partition)))
        sql = (f"SELECT MIN(run_time) AS t0, COUNT(*) AS n, COUNTIF(check_level = 'Error' AND constraint_status "
               f"<> 'Success') AS failed FROM `{self.project}.{self.schema_name}.verification_results` "
               f"WHERE table_name = @t AND suite = 'deequ_suite' AND {day}")
        with self._client() as client:
            try:
                row = next(iter(client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=params)).result()))
            except NotFound:
                return None, 0, 0
        return row["t0"], row["n"], row["failed"]

    def table_sizes(self, tables: list[MartTable]) -> list[tuple[str, int, int | None]]:
        """(table, rows, days) of each of ``tables`` that exists; days is None for an unpartitioned table."""
        from google.api_core.exceptions import NotFound

        sizes = []
        with self._client() as client:
            for table in tables:
                days = f"COUNT(DISTINCT `{table.partition_column}`)" if table.partition_column else "NULL"
                try:
                    row = next(iter(client.query(f"SELECT COUNT(*) AS n, {days} AS d FROM "
                                                 f"`{self.project}.{self.schema_name}.{table.name}`").result()))
                except NotFound:
                    continue
                sizes.append((table.name, row["n"], row["d"]))
        return sizes

    def read_days(self, table: MartTable, days: list[str]) -> "pa.Table":
        """The rows of ``table`` on ``days``, as Arrow."""
        from google.cloud import bigquery

        params = [bigquery.ArrayQueryParameter("days", "DATE", [dt.date.fromisoformat(d) for d in days])]
        sql = (f"SELECT * FROM `{self.project}.{self.schema_name}.{table.name}` "
               f"WHERE `{table.partition_column}` IN UNNEST(@days)")
        with self._client() as client:
            job = client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=params))
            return job.result().to_arrow(create_bqstorage_client=False)

    def query(self, sql: str) -> list[tuple]:
        with self._client() as client:
            return [tuple(r.values()) for r in client.query(sql).result()]
