"""Load a published lake partition into the warehouse, with its quarantine and audit, atomically.

One transaction per file: the core change (by load mode), the file's quarantined rows and its
audit rows commit together, so the audit never claims a load the tables do not hold, and a
re-run after any crash converges. Writes are a pure function of (dataset, period, scope).

Load modes:
- `replace_period`: the period's rows of the file's scope are replaced.
- `snapshot`: the table holds the latest snapshot of each scope; an older period never
  overwrites a newer one.
- `scd2`: each snapshot is merged as of its date. A change of a tracked column closes the current
  version (`valid_to` = snapshot date) and opens a new one; other columns are corrected in place;
  an entity missing from a full snapshot is closed. A snapshot older than the latest one merged
  (a late or corrected delivery) rolls the table back to before its date and replays the
  published snapshots from the lake in order, so the result never depends on arrival order.

Bridge tables (`load.bridges` in the spec, e.g. one row per land parcel per land-use code) are
built from the same published part, in Arrow, and replaced together with the core rows: same
transaction, same period/scope condition, same bulk insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.conform import FILE_SHA, PERIOD
from pipelines.faults import checkpoint
from pipelines.specs import BridgeSpec, DatasetSpec
from pipelines.warehouse import Warehouse
from pipelines.warehouse.tables import (
    AUDIT_CHECK,
    AUDIT_FILE,
    AUDIT_RUN,
    FIXED_TABLES,
    QUARANTINE,
    bridge_tables,
    core_table,
    qualified,
    quote,
)


def ensure_warehouse(wh: Warehouse, specs: Sequence[DatasetSpec]) -> None:
    wh.ensure([*FIXED_TABLES, *(core_table(s) for s in specs), *(t for s in specs for t in bridge_tables(s))])


def file_already_loaded(wh: Warehouse, dataset: str, sha256: str) -> bool:
    rows = wh.query(
        f"SELECT count(*) FROM {qualified(AUDIT_FILE.qualified)} WHERE dataset = ? AND sha256 = ? AND status = 'loaded'",
        (dataset, sha256),
    )
    return bool(rows[0][0])


def previous_delivery(wh: Warehouse, dataset: str, period: date, scope: str, sha256: str) -> str | None:
    """The file this delivery replaces: the last one loaded for the same period and scope."""
    rows = wh.query(
        f"""SELECT sha256 FROM {qualified(AUDIT_FILE.qualified)}
            WHERE dataset = ? AND period = ? AND scope = ? AND status = 'loaded' AND sha256 <> ?
            ORDER BY finished_at DESC LIMIT 1""",
        (dataset, period, scope, sha256),
    )
    return str(rows[0][0]) if rows else None


def _read(files: Sequence[Path]) -> pa.Table:
    tables = [pq.read_table(f) for f in files]
    return pa.concat_tables(tables) if tables else pa.table({})


def _with_meta(table: pa.Table, scope: str, run_id: str) -> pa.Table:
    n = table.num_rows
    table = table.append_column("_scope", pa.array([scope] * n, pa.string()))
    return table.append_column("_run_id", pa.array([run_id] * n, pa.string()))


def _load_replace(wh: Warehouse, spec: DatasetSpec, period: date, scope: str, part: Path | None, run_id: str) -> None:
    for table in (spec.target_table, *(b.table for b in spec.bridges)):
        wh.execute(f"DELETE FROM {qualified(table)} WHERE {quote(PERIOD)} = ? AND _scope = ?", (period, scope))
    if part is not None:
        _insert_file(wh, spec.target_table, part, scope, run_id)
        _insert_bridges(wh, spec, part, scope, run_id)


def _insert_file(wh: Warehouse, table: str, part: Path, scope: str, run_id: str) -> None:
    """Stream a Parquet file into a table batch by batch (memory bounded by the batch size)."""
    parquet = pq.ParquetFile(part)
    schema = parquet.schema_arrow
    out_schema = schema.append(pa.field("_scope", pa.string())).append(pa.field("_run_id", pa.string()))

    def batches() -> Any:
        for batch in parquet.iter_batches(batch_size=100_000):
            yield from _with_meta(pa.Table.from_batches([batch], schema), scope, run_id).to_batches()

    wh.insert_arrow(table, pa.RecordBatchReader.from_batches(out_schema, batches()))


def _load_snapshot(wh: Warehouse, spec: DatasetSpec, period: date, scope: str, part: Path | None, run_id: str) -> None:
    target = qualified(spec.target_table)
    newer = wh.query(f"SELECT count(*) FROM {target} WHERE _scope = ? AND {quote(PERIOD)} > ?", (scope, period))
    if newer[0][0]:
        return  # the warehouse already holds a newer snapshot of this scope; the lake keeps this one
    for table in (spec.target_table, *(b.table for b in spec.bridges)):
        wh.execute(f"DELETE FROM {qualified(table)} WHERE _scope = ?", (scope,))
    if part is not None:
        _insert_file(wh, spec.target_table, part, scope, run_id)
        _insert_bridges(wh, spec, part, scope, run_id)


def bridge_batch(bridge: BridgeSpec, key: Sequence[str], batch: pa.RecordBatch) -> pa.Table:
    """A batch of entities → their bridge rows: each "+"-joined value of `bridge.column` becomes a
    row with the key, its ordinal, the matching item of each parallel column and the carried
    columns. A null or empty cell gives no row; a parallel cell must have as many items (an empty
    item, as in "phi_nong_nghiep+", is a null)."""
    column = batch.column(bridge.column)
    lists = pc.split_pattern(pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column), "+")
    parents = pc.list_parent_indices(lists)
    offsets = lists.offsets.to_numpy()
    ordinal = np.arange(offsets[0], offsets[-1]) - offsets[parents.to_numpy()] + 1
    out: dict[str, Any] = {k: pc.take(batch.column(k), parents) for k in key}
    out["ordinal"] = pa.array(ordinal, pa.int64())
    out[bridge.value] = pc.list_flatten(lists)
    lengths = pc.fill_null(pc.list_value_length(lists), 0)
    for source, name in bridge.parallel.items():
        items = pc.split_pattern(batch.column(source), "+")
        if not pc.all(pc.equal(pc.fill_null(pc.list_value_length(items), 0), lengths)).as_py():
            raise ValueError(f"{source}: a cell does not have one '+' item per value of {bridge.column}")
        flat = pc.list_flatten(items)
        out[name] = pc.if_else(pc.equal(flat, ""), pa.scalar(None, flat.type), flat)  # an empty item is unknown
    for name in (*bridge.carry, PERIOD):
        out[name] = pc.take(batch.column(name), parents)
    return pa.table(out)


def _insert_bridges(wh: Warehouse, spec: DatasetSpec, part: Path, scope: str, run_id: str) -> None:
    """The bridge rows of a published part, streamed batch by batch like the core rows."""
    parquet = pq.ParquetFile(part)
    for bridge, table in zip(spec.bridges, bridge_tables(spec), strict=True):
        schema = pa.schema([pa.field(c.name, _ARROW_TYPES[c.type]) for c in table.columns])

        def batches(bridge: BridgeSpec = bridge, schema: pa.Schema = schema) -> Any:
            for batch in parquet.iter_batches(batch_size=100_000):
                rows = _with_meta(bridge_batch(bridge, spec.output_key, batch), scope, run_id)
                yield from rows.select(schema.names).cast(schema).to_batches()

        wh.insert_arrow(bridge.table, pa.RecordBatchReader.from_batches(schema, batches()))


_ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
}


_STAGE = "kds_stage"


def _scd2_apply(wh: Warehouse, spec: DatasetSpec, snapshot: date, files: Sequence[Path], run_id: str) -> None:
    table = core_table(spec)
    target = qualified(spec.target_table)
    keys = [quote(k) for k in spec.output_key]
    tracked = [quote(spec.output_column(t)) for t in spec.tracked]
    data = _read(files)
    bookkeeping = {"valid_from", "valid_to", "is_current", "_scope", "_run_id"}
    attrs = [c for c in table.column_names if c not in bookkeeping]
    wh.execute(f"DROP TABLE IF EXISTS {_STAGE}")
    wh.execute(f"CREATE TEMP TABLE {_STAGE} AS SELECT {', '.join(map(quote, attrs))} FROM {target} WHERE false")
    if data.num_rows:
        wh.insert_arrow(_STAGE, data.select(attrs))
    same_key = " AND ".join(f"s.{k} = t.{k}" for k in keys)
    same_tracked = " AND ".join(f"s.{c} IS NOT DISTINCT FROM t.{c}" for c in tracked)
    # 1. Close current versions whose tracked values changed, or whose entity left the snapshot.
    wh.execute(
        f"""UPDATE {target} AS t SET valid_to = ?, is_current = false
            WHERE t.is_current AND NOT EXISTS (SELECT 1 FROM {_STAGE} s WHERE {same_key} AND {same_tracked})""",
        (snapshot,),
    )
    # 2. Correct untracked attributes and lineage of versions that stay current.
    untracked = [quote(c) for c in attrs if quote(c) not in tracked and quote(c) not in keys]
    if untracked:
        wh.execute(
            f"""UPDATE {target} AS t SET {", ".join(f"{c} = s.{c}" for c in untracked)}, _run_id = ?
                FROM {_STAGE} s WHERE t.is_current AND {same_key}""",
            (run_id,),
        )
    # 3. Open a version for every entity of the snapshot without a current one.
    cols = ", ".join(map(quote, attrs))
    wh.execute(
        f"""INSERT INTO {target} ({cols}, valid_from, valid_to, is_current, _scope, _run_id)
            SELECT {", ".join(f"s.{quote(c)}" for c in attrs)}, ?, NULL, true, 'all', ?
            FROM {_STAGE} s WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.is_current AND {same_key})""",
        (snapshot, run_id),
    )
    wh.execute(f"DROP TABLE IF EXISTS {_STAGE}")


def _load_scd2(
    wh: Warehouse, spec: DatasetSpec, period: date, lake_periods: dict[date, list[Path]], run_id: str
) -> None:
    target = qualified(spec.target_table)
    # Roll back to the state before `period`, then replay the published snapshots from there on.
    wh.execute(f"DELETE FROM {target} WHERE valid_from >= ?", (period,))
    wh.execute(f"UPDATE {target} SET valid_to = NULL, is_current = true WHERE valid_to >= ?", (period,))
    for snapshot in sorted(p for p in lake_periods if p >= period):
        _scd2_apply(wh, spec, snapshot, lake_periods[snapshot], run_id)


def load_file(
    wh: Warehouse,
    spec: DatasetSpec,
    *,
    period: date,
    scope: str,
    part: Path | None,
    lake_periods: dict[date, list[Path]],
    quarantine: pa.Table,
    file_row: dict[str, Any],
    checks: Sequence[dict[str, Any]],
) -> None:
    """Load one delivered file's result into core, restricted and audit in one transaction.

    `part` is the published Parquet of this file's scope (None if no row survived);
    `lake_periods` maps every published period to its files (used by scd2 replay).
    """
    run_id = str(file_row["run_id"])
    with wh.transaction():
        wh.lock(f"{spec.name}:{period.isoformat()}")
        if spec.load_mode == "replace_period":
            _load_replace(wh, spec, period, scope, part, run_id)
        elif spec.load_mode == "snapshot":
            _load_snapshot(wh, spec, period, scope, part, run_id)
        else:
            _load_scd2(wh, spec, period, lake_periods, run_id)
        replace_quarantine(wh, spec, period, scope, quarantine, file_name=str(file_row["file_name"]),
                           sha256=str(file_row["sha256"]), run_id=run_id)  # fmt: skip
        record_file(wh, file_row, checks)
        checkpoint("warehouse.before_commit")


def replace_quarantine(
    wh: Warehouse,
    spec: DatasetSpec,
    period: date,
    scope: str,
    rows: pa.Table,
    *,
    file_name: str,
    sha256: str,
    run_id: str,
) -> None:
    """The quarantine of a (dataset, period, scope) is that of its latest delivery."""
    wh.execute(
        f"DELETE FROM {qualified(QUARANTINE.qualified)} WHERE dataset = ? AND period = ? AND scope = ?",
        (spec.name, period, scope),
    )
    if not rows.num_rows:
        return
    n = rows.num_rows

    def const(value: Any, dtype: pa.DataType) -> pa.Array:
        return pa.array([value] * n, dtype)

    table = rows.append_column("dataset", const(spec.name, pa.string()))
    table = table.append_column("period", const(period, pa.date32()))
    table = table.append_column("scope", const(scope, pa.string()))
    table = table.append_column("file_name", const(file_name, pa.string()))
    table = table.append_column(FILE_SHA, const(sha256, pa.string()))
    table = table.append_column("_run_id", const(run_id, pa.string()))
    assert set(table.schema.names) == set(QUARANTINE.column_names), table.schema.names
    wh.insert_arrow(QUARANTINE.qualified, table.select(QUARANTINE.column_names))


def record_file(wh: Warehouse, row: dict[str, Any], checks: Sequence[dict[str, Any]] = ()) -> None:
    _insert_dicts(wh, AUDIT_FILE.qualified, AUDIT_FILE.column_names, [row])
    if checks:
        _insert_dicts(wh, AUDIT_CHECK.qualified, AUDIT_CHECK.column_names, checks)


def record_run(wh: Warehouse, row: dict[str, Any]) -> None:
    with wh.transaction():
        _insert_dicts(wh, AUDIT_RUN.qualified, AUDIT_RUN.column_names, [row])


def _insert_dicts(wh: Warehouse, table: str, columns: list[str], rows: Sequence[dict[str, Any]]) -> None:
    placeholders = ", ".join("?" for _ in columns)
    cols = ", ".join(quote(c) for c in columns)
    for row in rows:  # audit rows: a handful per file
        wh.execute(f"INSERT INTO {qualified(table)} ({cols}) VALUES ({placeholders})", [row.get(c) for c in columns])
