"""Run one dataset end to end: the code behind both `kds run` and the Airflow DAGs.

For each delivery in the landing zone (oldest period first): skip it if the same bytes were
already loaded; archive it; read it in batches; conform and check each batch; settle keys over
the whole file; publish the lake partition; load the warehouse with quarantine and audit in one
transaction. Every source row ends loaded, quarantined or counted as an exact duplicate, and
every file ends with one status and a one-line message.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import shutil
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines import extract, load, publish
from pipelines.conform import ROW_NUMBER, ConformedBatch, Conformer
from pipelines.faults import checkpoint
from pipelines.settings import Settings, load_settings
from pipelines.sources.files import SourceError, open_source
from pipelines.specs import DatasetSpec, get_spec
from pipelines.validate import BatchFailures, Validator
from pipelines.warehouse import Warehouse, connect

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]  # (file name, data rows read so far)

STATUSES = ("loaded", "skipped_duplicate_file", "rejected", "blocked", "failed")
# Rows read, conformed and checked at a time: the knob for peak memory (smaller) vs speed (larger).
BATCH_ROWS = int(os.environ.get("KDS_BATCH_ROWS", "50000"))


@dataclass
class FileResult:
    """The outcome of one delivered file; `to_json` is the `kds run --json` shape (DESIGN §4)."""

    dataset: str
    file: str
    sha256: str
    status: str
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    message: str = ""
    period: date | None = None
    rows_warned: int = 0
    seconds: float = 0.0
    drift: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        keys = ("dataset", "file", "sha256", "status", "rows_in", "rows_loaded", "rows_quarantined",
                "rows_duplicate", "message")  # fmt: skip
        return {k: asdict(self)[k] for k in keys}

    @property
    def ok(self) -> bool:
        return self.status in ("loaded", "skipped_duplicate_file")


def new_run_id(dataset: str) -> str:
    return f"{dataset}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _period_matches(delivery: extract.Delivery, spec: DatasetSpec, wanted: str | None) -> bool:
    if wanted is None or delivery.period is None:
        return True
    label = extract.period_label(delivery.period, spec.granularity)
    return wanted in (label, label.replace("-", ""))


def run_dataset(
    name: str,
    settings: Settings | None = None,
    *,
    period: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
    trigger: str = "cli",
    try_number: int = 1,
    run_id: str | None = None,
) -> list[FileResult]:
    """Process every delivery of a dataset (optionally one period); returns one result per file."""
    settings = settings or load_settings()
    spec = get_spec(name)
    run_id = run_id or new_run_id(name)
    started = datetime.now(UTC)
    deliveries = [d for d in extract.discover(spec, settings.landing) if _period_matches(d, spec, period)]
    results: list[FileResult] = []
    with connect(settings.warehouse_url) as wh, _scratch(settings.work, run_id):
        load.ensure_warehouse(wh, [spec])
        for delivery in deliveries:
            result = _process(wh, spec, settings, delivery, run_id=run_id, force=force, progress=progress)
            log.info("%s %s: %s — %s", spec.name, delivery.name, result.status, result.message)
            results.append(result)
        failed = [r for r in results if not r.ok]
        load.record_run(
            wh,
            {
                "run_id": run_id, "dataset": spec.name, "trigger": trigger, "try_number": try_number,
                "status": "failed" if failed else "success", "files": len(results),
                "rows_in": sum(r.rows_in for r in results), "rows_loaded": sum(r.rows_loaded for r in results),
                "rows_quarantined": sum(r.rows_quarantined for r in results),
                "rows_duplicate": sum(r.rows_duplicate for r in results),
                "message": "; ".join(f"{r.file}: {r.message}" for r in failed)
                or (f"{len(results)} file(s)" if results else "no delivery in the landing zone"),
                "pseudonym_key_id": settings.pseudonym_key_id, "started_at": started,
                "finished_at": datetime.now(UTC),
            },
        )  # fmt: skip
        if any(r.status != "skipped_duplicate_file" for r in results):  # something new to show
            from pipelines.report import publish_run_docs

            publish_run_docs(wh, settings, run_id)  # Data Docs, run report, overview; logs where; never raises
    return results


@contextmanager
def _scratch(work: Path, run_id: str) -> Iterator[None]:
    """Hold `work/<run_id>.lock` while the run lives; remove the scratch of runs that died without
    cleaning up (SIGKILL, OOM, power loss): it holds staged rows with identifiers in clear. The OS
    releases a dead process's lock, so a lock taken without waiting marks a dead run."""
    work.mkdir(parents=True, exist_ok=True)
    with (work / f"{run_id}.lock").open("a+b") as claim:
        fcntl.flock(claim, fcntl.LOCK_EX)
        for lock in work.glob("*.lock"):
            if lock.stem == run_id:
                continue
            with lock.open("a+b") as other:
                try:
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live run
                shutil.rmtree(work / lock.stem, ignore_errors=True)
                lock.unlink(missing_ok=True)
        try:
            yield
        finally:
            shutil.rmtree(work / run_id, ignore_errors=True)
            (work / f"{run_id}.lock").unlink(missing_ok=True)


def _process(
    wh: Warehouse,
    spec: DatasetSpec,
    settings: Settings,
    delivery: extract.Delivery,
    *,
    run_id: str,
    force: bool,
    progress: Progress | None,
) -> FileResult:
    t0 = time.monotonic()
    result = FileResult(dataset=spec.name, file=delivery.name, sha256=delivery.sha256, status="failed",
                        period=delivery.period)  # fmt: skip
    try:
        if not force and load.file_already_loaded(wh, spec.name, delivery.sha256):
            # The same bytes, under any name: a no-op, and no audit row (files stay in landing).
            result.status = "skipped_duplicate_file"
            result.message = "identical file already loaded (same sha256); nothing to do"
            return result
        if delivery.problem:
            result.status, result.message = "rejected", delivery.problem
        else:
            _ingest(wh, spec, settings, delivery, result, run_id=run_id, progress=progress)
    except SourceError as exc:  # name the file as the department delivered it, not the archive copy
        archived = f"{delivery.sha256}{delivery.path.suffix.lower()}"
        result.status, result.message = "rejected", str(exc).replace(archived, delivery.name)
    except Exception as exc:  # noqa: BLE001 — any failure must end as an audited, readable status
        result.status = "failed"
        result.message = f"{delivery.name}: {type(exc).__name__}: {exc}".splitlines()[0]
        log.error("%s failed:\n%s", delivery.name, traceback.format_exc())
    result.seconds = round(time.monotonic() - t0, 3)
    if result.status not in ("loaded", "blocked"):  # those wrote their audit row with their data/checks
        with wh.transaction():
            load.record_file(wh, _file_row(result, delivery, run_id))
    return result


def _file_row(
    result: FileResult, delivery: extract.Delivery, run_id: str, replaces: str | None = None
) -> dict[str, Any]:
    return {
        "run_id": run_id, "dataset": result.dataset, "file_name": result.file, "sha256": result.sha256,
        "period": result.period, "scope": delivery.scope, "status": result.status, "rows_in": result.rows_in,
        "rows_loaded": result.rows_loaded, "rows_quarantined": result.rows_quarantined,
        "rows_duplicate": result.rows_duplicate, "rows_warned": result.rows_warned,
        "drift": ", ".join(result.drift) or None, "message": result.message, "replaces_sha256": replaces,
        "seconds": result.seconds, "finished_at": datetime.now(UTC),
    }  # fmt: skip


def _period_from_hint(hint: str | None, spec: DatasetSpec) -> date | None:
    """The period written inside the file ("Kỳ báo cáo: 03/2024"), which wins over the file name."""
    if not hint:
        return None
    from pipelines.parse import ParseError, parse_date, parse_month, parse_year

    parsers: dict[str, Callable[[str], date | int]] = {"day": parse_date, "month": parse_month, "year": parse_year}
    try:
        value = parsers[spec.granularity](hint)
    except ParseError:
        return None
    return date(value, 1, 1) if isinstance(value, int) else value


def _ingest(
    wh: Warehouse,
    spec: DatasetSpec,
    settings: Settings,
    delivery: extract.Delivery,
    result: FileResult,
    *,
    run_id: str,
    progress: Progress | None,
) -> None:
    assert delivery.period is not None
    started = time.monotonic()
    raw_path = extract.archive(delivery, settings.raw, spec.name)
    reader = open_source(raw_path, spec, batch_rows=BATCH_ROWS)
    reader_name = delivery.name
    period = delivery.period
    notes = []
    batches = reader.batches()
    first = next(batches, None)
    # The period written inside the file wins over its name (SOURCES.md): a "Kỳ báo cáo" title row,
    # else the spec's period column (its most common value in the first batch; stray rows of
    # other periods are then quarantined by the conformer as period_mismatch).
    hint, where = reader.layout.period_hint, "title"
    if hint is None and spec.period_column and first is not None and spec.period_column in first.frame:
        values = first.frame[spec.period_column].dropna()
        hint, where = (str(values.mode().iat[0]) if len(values) else None), f"column {spec.period_column}"
    inside = _period_from_hint(hint, spec)
    if inside is not None and inside != period:
        notes.append(
            f"period {inside.isoformat()} from the file's {where} wins over {period.isoformat()} from its name"
        )
        period = result.period = inside
    conformer = Conformer(spec, period, delivery.sha256, settings.pseudonym_key)
    validator = Validator(spec)
    stage = publish.Stage(settings.work / run_id / delivery.sha256[:16], spec, conformer.schema)
    if progress:
        progress(reader_name, 0)
    try:
        for batch in itertools.chain([first] if first is not None else [], batches):  # closed below
            raw = batch.frame.reset_index(drop=True)
            conformed = conformer.conform(raw)
            failures = validator.validate(conformed.frame)
            good, records, quarantined, warned = _split(raw, conformed, failures, conformer.schema)
            stage.add(good, records, quarantined)
            result.rows_in += len(raw)
            result.rows_warned += warned
            if progress:
                progress(reader_name, result.rows_in)
        # Known only once the file has been read: columns with values but no header, bad bytes.
        result.drift = list(reader.layout.drift)
        notes += [w.replace(raw_path.name, delivery.name) for w in reader.warnings]
        settled = stage.settle()
        result.rows_loaded, result.rows_duplicate = settled.rows_loaded, settled.rows_duplicate
        result.rows_quarantined = settled.quarantine.num_rows
        checks = [_check_row(t, run_id, spec.name, delivery.sha256) for t in validator.totals]
        if validator.blocking:
            result.status = "blocked"
            result.message = f"{delivery.name}: nothing published: {validator.summary()}"
            result.seconds = round(time.monotonic() - started, 3)
            with wh.transaction():
                load.record_file(wh, _file_row(result, delivery, run_id), checks)
            return
        folder = publish.publish(
            settings.lake, spec, period, delivery.scope, settled.part,
            source={"file": delivery.name, "sha256": delivery.sha256}, run_id=run_id,
        )  # fmt: skip
        checkpoint("lake.published")
        lake_periods = _published_periods(settings, spec) if spec.load_mode == "scd2" else {}
        replaces = load.previous_delivery(wh, spec.name, period, delivery.scope, delivery.sha256)
        result.status = "loaded"
        result.message = "; ".join(
            [f"{result.rows_loaded} loaded, {result.rows_quarantined} quarantined, {result.rows_duplicate} duplicate"]
            + ([f"{result.rows_warned} with warnings"] if result.rows_warned else [])
            + ([f"unknown columns kept in raw: {', '.join(result.drift)}"] if result.drift else [])
            + ([f"replaces {replaces[:12]}"] if replaces else [])
            + notes
        )
        result.seconds = round(time.monotonic() - started, 3)  # the audit row is written with the load
        published = publish.published_files(settings.lake, spec, period)
        part = next((f for f in published if f.name.startswith(f"part-{delivery.scope}-")), None)
        load.load_file(
            wh, spec, period=period, scope=delivery.scope, part=part, lake_periods=lake_periods,
            quarantine=settled.quarantine, file_row=_file_row(result, delivery, run_id, replaces), checks=checks,
        )  # fmt: skip
        log.info("published %s", folder)
    finally:
        reader.close()
        stage.close()


def _published_periods(settings: Settings, spec: DatasetSpec) -> dict[date, list[Any]]:
    root = settings.lake / spec.name / publish.LAKE_VERSION
    periods: dict[date, list[Any]] = {}
    for folder in sorted(root.glob("period=*")):
        label = folder.name.split("=", 1)[1]
        value = date.fromisoformat(
            label if len(label) == 10 else f"{label}-01" if len(label) == 7 else f"{label}-01-01"
        )
        files = publish.published_files(settings.lake, spec, value)
        if files:
            periods[value] = files
    return periods


def _check_row(totals: Any, run_id: str, dataset: str, sha: str) -> dict[str, Any]:
    return {
        "run_id": run_id, "dataset": dataset, "sha256": sha, "expectation_type": totals.check.type,
        "column_name": totals.check.column, "severity": totals.check.severity,
        "reason_code": totals.check.reason_code, "success": totals.success,
        "element_count": totals.element_count, "unexpected_count": totals.unexpected_count,
        "unexpected_percent": round(totals.unexpected_percent, 4), "expectation_index": totals.check.index,
        "kwargs": json.dumps(totals.check.kwargs, ensure_ascii=False, sort_keys=True),
        "missing_count": totals.missing_count, "exception_message": totals.exceptions[0] if totals.exceptions else None,
    }  # fmt: skip


def _split(
    raw: pd.DataFrame, conformed: ConformedBatch, failures: BatchFailures, schema: pa.Schema
) -> tuple[pa.Table, pa.Table, pa.Table, int]:
    """Split a batch into rows to stage and rows to quarantine (with every reason of each row)."""
    reasons: dict[int, list[tuple[str, str]]] = {}
    for p in conformed.problems:
        if p.severity == "quarantine":
            reasons.setdefault(p.row, []).append((p.reason_code, f"{p.column}: {p.detail}" if p.column else p.detail))
    for row, checks in failures.quarantine.items():
        for c in checks:
            reasons.setdefault(row, []).append((c.reason_code, c.description or c.type))
    warned = len({p.row for p in conformed.problems if p.severity == "warn"} | set(failures.warned))
    bad = sorted(reasons)
    mask = pd.Series(True, index=raw.index)
    mask.iloc[bad] = False
    frame = conformed.frame[mask.to_numpy()]
    good = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    records = pa.table(
        {ROW_NUMBER: raw.loc[mask, ROW_NUMBER].astype("int64").to_numpy(), "record": _records(raw[mask])},
        schema=publish.RECORDS_SCHEMA,
    )
    q_rows = raw.iloc[bad]
    quarantined = pa.table(
        {
            ROW_NUMBER: pa.array(q_rows[ROW_NUMBER].astype("int64").tolist(), pa.int64()),
            "reason_code": [_unique(reasons[i])[0][0] for i in bad],
            "reason_codes": [";".join(code for code, _ in _unique(reasons[i])) for i in bad],
            "detail": [" | ".join(detail for _, detail in _unique(reasons[i])) for i in bad],
            "record": _records(q_rows),
        },
        schema=publish.QUARANTINE_SCHEMA,
    )
    return good, records, quarantined, warned


def _unique(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for code, detail in items:
        seen.setdefault(code, detail)
    return list(seen.items())


def _records(frame: pd.DataFrame) -> list[str]:
    """The row as delivered (cleaned cells), as JSON, for the restricted quarantine."""
    cols = [c for c in frame.columns if c != ROW_NUMBER]
    values = frame[cols].to_numpy(dtype=object)
    return [
        json.dumps({c: v for c, v in zip(cols, row, strict=True) if v is not None and v == v}, ensure_ascii=False)
        for row in values
    ]
