"""The warehouse interface the engine talks to, and `connect(url)` to pick a backend.

Storage is injected: the engine only uses the small `Warehouse` interface below; the DuckDB
(embedded default) and PostgreSQL backends differ in DDL dialect, bulk load and locking only.
SQL is written once with `?` placeholders; identifiers come from specs and are quoted.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from pipelines.warehouse.tables import SCHEMAS, Table, create_statements, qualified, quote


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message says what and where."""


class Warehouse(ABC):
    dialect: str
    url: str

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""

    @abstractmethod
    def insert_arrow(self, table: str, data: pa.Table | pa.RecordBatchReader) -> int:
        """Bulk-insert Arrow data into `schema.table` (columns by name); returns rows inserted."""

    @abstractmethod
    def lock(self, name: str) -> None:
        """Serialise writers of one (dataset, period) inside the current transaction."""

    @abstractmethod
    def close(self) -> None: ...

    def ensure(self, tables: Sequence[Table]) -> None:
        """Create the schemas and tables (idempotent), with comments."""
        with self.transaction():
            for schema in SCHEMAS:
                self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
            for table in tables:
                for statement in create_statements(table, self.dialect):
                    self.execute(statement)

    def table_exists(self, table: str) -> bool:
        schema, _, name = table.partition(".")
        rows = self.query(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", (schema, name)
        )
        return bool(rows[0][0])

    def count(self, table: str, where: str = "", params: Sequence[Any] = ()) -> int:
        sql = f"SELECT count(*) FROM {qualified(table)}" + (f" WHERE {where}" if where else "")
        return int(self.query(sql, params)[0][0])

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(url: str, *, read_only: bool = False) -> Warehouse:
    """Open the warehouse named by `KDS_WAREHOUSE_URL` (duckdb:///path or postgresql+psycopg://…)."""
    scheme = url.split(":", 1)[0]
    if scheme == "duckdb":
        from pipelines.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(url, read_only=read_only)
    if scheme.startswith("postgresql"):
        from pipelines.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse(url)
    raise WarehouseError(f"KDS_WAREHOUSE_URL {scheme}:… is not supported; use duckdb:///path or postgresql+psycopg://…")
