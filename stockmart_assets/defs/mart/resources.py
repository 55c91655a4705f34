"""The mart's warehouse: DuckDB locally, BigQuery in production, as one resource the mart's code asks for.

Both warehouses answer one protocol (``lib.warehouse.protocol``): the IO manager (``io_manager.py``), the checks,
the gate and the analytics all talk to the object ``get()`` returns.
Credentials come only through ``dg.EnvVar`` (BigQuery: a base64 service-account key, read by dagster-gcp's
``BigQueryResource``, or the machine's default credentials).
"""


from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field


if TYPE_CHECKING:
    from stockmart_assets.lib.warehouse.protocol import Warehouse

MART_POOL = "mart_warehouse"  # DuckDB has one writer at a time: mart steps queue on this pool


class MartWarehouse(dg.ConfigurableResource):
    """The warehouse the mart lives in; ``get()`` gives the object the code talks to."""

    schema_name: str = Field(default="mart", description="Schema (DuckDB) or dataset (BigQuery) of the mart")

    def get(self) -> "Warehouse":
        raise NotImplementedError


class DuckDBMart(MartWarehouse):
    database: str = Field(description="The DuckDB file")

    def get(self) -> "Warehouse":
        from stockmart_assets.lib.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(self.database, self.schema_name)


class BigQueryMart(MartWarehouse):
    project: str
    location: str | None = None
    gcp_credentials: str | None = Field(default=None, description="A base64 service-account key (dg.EnvVar)")
    api_endpoint: str | None = Field(default=None, description="A BigQuery API emulator (tests); None: Google's")

    def get(self) -> "Warehouse":
        from stockmart_assets.lib.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse(self.project, self.schema_name, client=self._client)

    @contextmanager
    def _client(self) -> Iterator:
        if self.api_endpoint:
            from stockmart_assets.lib.warehouse.bigquery import emulator_client

            client = emulator_client(self.project, self.api_endpoint, self.location)
            try:
                yield client
            finally:
                client.close()
            return
        from dagster_gcp import BigQueryResource

        with BigQueryResource(project=self.project, location=self.location,
                              gcp_credentials=self.gcp_credentials).get_client() as client:
            yield client
