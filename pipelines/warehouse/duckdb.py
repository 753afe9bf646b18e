"""The embedded default warehouse: one DuckDB file, one writer at a time.

DuckDB allows a single read-write process per file; Airflow tasks that write share a pool with
one slot, and `kds` commands open the file only for the duration of a run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.warehouse import Warehouse, WarehouseError
from pipelines.warehouse.tables import qualified


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        path = url.split("duckdb:///", 1)[-1] if url.startswith("duckdb:///") else ":memory:"
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = self._open(path, read_only)
        self._depth = 0

    @staticmethod
    def _open(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
        # Another process (a run, `kds status`) may hold the file for a moment: wait briefly,
        # then say plainly who to wait for instead of showing DuckDB's lock error.
        deadline = time.monotonic() + 30
        while True:
            try:
                return duckdb.connect(path, read_only=read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise WarehouseError(
                        f"{path}: the DuckDB warehouse is in use by another process (a run or an Airflow task); "
                        f"wait for it to finish ({exc})"
                    ) from exc
                time.sleep(0.5)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(sql, list(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._con.execute(sql, list(params)).fetchall()

    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self._con.execute(sql, list(params)).to_arrow_table()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:  # nested: part of the outer transaction
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._con.begin()
        self._depth = 1
        try:
            yield
        except BaseException:
            self._con.rollback()
            raise
        else:
            self._con.commit()
        finally:
            self._depth = 0

    def insert_arrow(self, table: str, data: pa.Table | pa.RecordBatchReader) -> int:
        names = data.schema.names
        cols = ", ".join(f'"{n}"' for n in names)
        self._con.register("_kds_insert", data)
        try:
            row = self._con.execute(
                f"INSERT INTO {qualified(table)} ({cols}) SELECT {cols} FROM _kds_insert"
            ).fetchone()
        finally:
            self._con.unregister("_kds_insert")
        return int(row[0]) if row else 0

    def lock(self, name: str) -> None:
        """DuckDB has one writer per file: the file lock already serialises runs."""

    def close(self) -> None:
        self._con.close()
