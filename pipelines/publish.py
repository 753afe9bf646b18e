"""Stage a file's conformed rows, settle duplicates and conflicts, and publish a lake partition.

Staging: conformed rows that passed the row checks are appended batch by batch to Parquet in
the run's scratch folder, so memory stays bounded whatever the file size. An embedded DuckDB
then settles the natural key over the whole file: exact duplicates are counted once, rows that
share a key with different values are all quarantined (`conflicting_key`), nobody guesses.

Publishing: `lake/<dataset>/v1/period=<P>/part-<scope>-<hash>.parquet`, written to a temporary name
and renamed, then `_manifest.json` (row counts, checksums, source files, run id) is written
last, atomically: it is the commit marker, and readers read only the files it lists.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.conform import ROW_NUMBER, business_columns
from pipelines.extract import period_label
from pipelines.faults import checkpoint
from pipelines.specs import DatasetSpec

LAKE_VERSION = "v1"
MANIFEST = "_manifest.json"

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field(ROW_NUMBER, pa.int64()),
        pa.field("reason_code", pa.string()),
        pa.field("reason_codes", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("record", pa.string()),
    ]
)

SETTLE_MEMORY_LIMIT = os.environ.get("KDS_SETTLE_MEMORY_LIMIT", "512MB")
RECORDS_SCHEMA = pa.schema([pa.field(ROW_NUMBER, pa.int64()), pa.field("record", pa.string())])


@dataclass
class Settled:
    """What the whole file came to after duplicates and conflicts were settled."""

    part: Path | None  # Parquet with the rows to publish (sorted by key), None when empty
    rows_loaded: int
    rows_duplicate: int
    quarantine: pa.Table  # QUARANTINE_SCHEMA rows, conform/check failures and conflicts


class Stage:
    """Scratch space of one file's processing; removed by `close`."""

    def __init__(self, folder: Path, spec: DatasetSpec, schema: pa.Schema) -> None:
        self.folder = folder
        self.spec = spec
        self.schema = schema
        folder.mkdir(parents=True, exist_ok=True)
        self._good = pq.ParquetWriter(folder / "good.parquet", schema)
        self._records = pq.ParquetWriter(folder / "records.parquet", RECORDS_SCHEMA)
        self._quarantine = pq.ParquetWriter(folder / "quarantine.parquet", QUARANTINE_SCHEMA)
        self.rows_good = 0

    def add(self, good: pa.Table, records: pa.Table, quarantined: pa.Table) -> None:
        if good.num_rows:
            self._good.write_table(good)
            self._records.write_table(records)
            self.rows_good += good.num_rows
        if quarantined.num_rows:
            self._quarantine.write_table(quarantined)

    def settle(self) -> Settled:
        """Apply the natural key to the whole file (bounded memory: DuckDB spills to disk)."""
        for writer in (self._good, self._records, self._quarantine):
            writer.close()
        key = [f'"{k}"' for k in self.spec.output_key]
        business = [f'"{c}"' for c in business_columns(self.spec)]
        con = duckdb.connect()
        try:
            con.execute(f"SET temp_directory = '{self.folder / 'spill'}'")
            # Bounded memory whatever the file size: past this DuckDB spills to the scratch folder.
            con.execute(f"SET memory_limit = '{SETTLE_MEMORY_LIMIT}'")
            con.execute("SET preserve_insertion_order = true")
            good = f"read_parquet('{self.folder / 'good.parquet'}')"
            con.execute(
                f"""
                CREATE TABLE settled AS
                WITH rows AS (
                    SELECT *, hash({", ".join(business)}) AS _content FROM {good}
                ), keys AS (
                    SELECT {", ".join(key)}, count(DISTINCT _content) AS _versions FROM rows GROUP BY ALL
                )
                SELECT rows.*,
                       CASE WHEN {" OR ".join(f"rows.{k} IS NULL" for k in key)} THEN 'missing_key'
                            WHEN keys._versions > 1 THEN 'conflicting_key' END AS _problem,
                       row_number() OVER (PARTITION BY {", ".join(f"rows.{k}" for k in key)}, _content
                                          ORDER BY rows."{ROW_NUMBER}") AS _copy
                FROM rows JOIN keys USING ({", ".join(key)})
                """
            )
            # Rows whose key is null never join `keys` (NULL = NULL is unknown): add them back.
            con.execute(
                f"""
                INSERT INTO settled
                SELECT *, hash({", ".join(business)}) AS _content, 'missing_key', 1
                FROM {good} WHERE {" OR ".join(f"{k} IS NULL" for k in key)}
                """
            )
            # fetchall(), not fetchone(): DuckDB 2 refuses new work while a result is unfinished.
            [(loaded,)] = con.execute("SELECT count(*) FROM settled WHERE _problem IS NULL AND _copy = 1").fetchall()
            [(dups,)] = con.execute("SELECT count(*) FROM settled WHERE _problem IS NULL AND _copy > 1").fetchall()
            rows_loaded, rows_duplicate = int(loaded), int(dups)
            part = None
            if rows_loaded:
                part = self.folder / "part.parquet"
                columns = ", ".join(f'"{n}"' for n in self.schema.names)
                con.execute(
                    f"""COPY (SELECT {columns} FROM settled WHERE _problem IS NULL AND _copy = 1
                              ORDER BY {", ".join(key)}) TO '{part}' (FORMAT parquet, COMPRESSION zstd)"""
                )
            conflicts = con.sql(
                f"""
                SELECT s."{ROW_NUMBER}", s._problem, s._problem,
                       CASE s._problem
                         WHEN 'missing_key' THEN 'the natural key ({", ".join(self.spec.natural_key)}) is empty'
                         ELSE 'another row of this file has the same {", ".join(self.spec.natural_key)} with different values; '
                              || 'rows ' || list_sort(list("{ROW_NUMBER}") OVER (PARTITION BY {", ".join(f"s.{k}" for k in key)}))::VARCHAR
                       END,
                       r.record
                FROM settled s JOIN read_parquet('{self.folder / "records.parquet"}') r USING ("{ROW_NUMBER}")
                WHERE s._problem IS NOT NULL
                """
            ).to_arrow_table()
            conflicts = conflicts.rename_columns(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA)
            earlier = pq.read_table(self.folder / "quarantine.parquet", schema=QUARANTINE_SCHEMA)
            quarantine = pa.concat_tables([earlier, conflicts]).sort_by(ROW_NUMBER)
        finally:
            con.close()
        return Settled(part=part, rows_loaded=rows_loaded, rows_duplicate=rows_duplicate, quarantine=quarantine)

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def partition_dir(lake: Path, spec: DatasetSpec, period: date) -> Path:
    return lake / spec.name / LAKE_VERSION / f"period={period_label(period, spec.granularity)}"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        checkpoint("lake.temp_written")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not leave half a file in a published folder
        raise


@contextmanager
def _partition_lock(folder: Path) -> Iterator[None]:
    """One publisher of a partition at a time, across processes (two runs of one period on PostgreSQL,
    or scopes of one period in parallel): another run's temporary file is never taken for a crashed
    run's, and manifest updates never overwrite each other. The OS drops the lock of a killed process."""
    with (folder.parent / f".{folder.name}.lock").open("a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def publish(
    lake: Path, spec: DatasetSpec, period: date, scope: str, part: Path | None, *, source: dict[str, Any], run_id: str
) -> Path:
    """Publish (or replace) the scope's part of a period partition; the manifest commits it.

    `part` None publishes an empty scope (a delivered file whose rows were all quarantined):
    the previous part of that scope is withdrawn, since the department's latest delivery wins.
    """
    folder = partition_dir(lake, spec, period)
    folder.mkdir(parents=True, exist_ok=True)
    with _partition_lock(folder):
        return _publish(folder, spec, period, scope, part, source=source, run_id=run_id)


def _publish(
    folder: Path, spec: DatasetSpec, period: date, scope: str, part: Path | None, *, source: dict[str, Any], run_id: str
) -> Path:
    for stale in folder.glob(".*.tmp-*"):  # left by a run killed before its rename
        stale.unlink(missing_ok=True)
    manifest = read_manifest(folder) or {
        "dataset": spec.name,
        "period": period_label(period, spec.granularity),
        "parts": {},
    }
    parts: dict[str, Any] = manifest["parts"]
    before = {p["file"] for p in parts.values()}
    name: str | None = None
    if part is not None:
        # The name carries the content hash: the previous manifest keeps pointing at the previous
        # file until the new manifest replaces it, so a reader never sees a half-published part.
        data = part.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        name = f"part-{scope}-{sha[:16]}.parquet"
        _write_atomic(folder / name, data)
        parts[scope] = {
            "file": name,
            "rows": pq.ParquetFile(folder / name).metadata.num_rows,
            "sha256": sha,
            "source": source,
            "run_id": run_id,
        }
    else:
        parts.pop(scope, None)
    checkpoint("lake.before_manifest")
    manifest["rows"] = sum(p["rows"] for p in parts.values())
    manifest["run_id"] = run_id
    try:
        _write_atomic(
            folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        )
    except BaseException:
        if name is not None and name not in before:  # not published: leave the folder as it was
            (folder / name).unlink(missing_ok=True)
        raise
    listed = {p["file"] for p in parts.values()}
    for leftover in folder.glob("part-*.parquet"):
        if leftover.name not in listed:
            leftover.unlink()
    return folder


def published_files(lake: Path, spec: DatasetSpec, period: date) -> list[Path]:
    """The Parquet files a reader may read for a period: only those the manifest lists."""
    folder = partition_dir(lake, spec, period)
    manifest = read_manifest(folder)
    if manifest is None:
        return []
    return [folder / p["file"] for _, p in sorted(manifest["parts"].items())]


def verify_partition(folder: Path) -> None:
    """Raise if a listed file is missing or its checksum differs (used by tests and `kds status`)."""
    manifest = read_manifest(folder)
    if manifest is None:
        raise FileNotFoundError(f"{folder}: no {MANIFEST}; the partition is not published")
    for p in manifest["parts"].values():
        if _file_sha256(folder / p["file"]) != p["sha256"]:
            raise ValueError(f"{folder / p['file']}: checksum differs from the manifest")
