"""Great Expectations Data Docs of every validated file, rendered from `audit.check_result`.

Grain: one GX validation result, and one Data Docs page, per delivered file per run (owner: the
data platform team). The site lives in `$KDS_HOME/docs/gx/` (`index.html` lists the latest
results; each page shows every expectation of the dataset's suite with its severity, the rows
checked and the failing share).

Why the results are rebuilt from the audit instead of kept from GX: `validate.py` checks a file
batch by batch (memory stays bounded), so GX never holds one result for a whole file; the audit
row of each check already holds the file's totals and the expectation's arguments as they were at
run time. Each file's rows are turned back into a GX `ExpectationSuiteValidationResult`, put in
the validation results store of an ephemeral GX context, and GX's own `SiteBuilder` renders it
(`context.build_data_docs`, only the new pages and the index). The store is a filesystem cache of
the audit in `$KDS_HOME/gx/validations/` (GX serialises results slowly, so each is written once):
the audit stays the one store of record, and when the site or the cache is missing, the latest
`RESULTS_LIMIT` results are rebuilt from it and every page rendered again.

No personal data reaches the pages: GX only ever saw conformed data (pseudonym keys, no names),
and the results rebuilt here carry counts only: no unexpected values, no samples, no file message
(which may quote a cell). Building needs no network; viewing the pages styled needs the CSS and JS
that GX's templates load from public CDNs (offline they read fine, unstyled).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote

from pipelines.settings import Settings
from pipelines.specs import EXPECTATIONS_DIR, get_spec
from pipelines.validate import Check, load_checks
from pipelines.warehouse import Warehouse
from pipelines.warehouse.tables import AUDIT_CHECK, AUDIT_FILE, qualified

log = logging.getLogger(__name__)

SITE_NAME = "kds"
SITE_FOLDER = "gx"  # under Settings.docs
RESULTS_LIMIT = 200  # validation results listed in the Data Docs index (newest first; older pages stay linked from their run reports)
# Our severities in GX's own vocabulary, so the pages show them too.
GX_SEVERITY = {"block": "critical", "quarantine": "warning", "warn": "info"}

_FILE_COLUMNS = ("run_id", "dataset", "file_name", "sha256", "period", "status", "rows_in", "rows_loaded",
                 "rows_quarantined", "rows_duplicate", "finished_at")  # fmt: skip
_CHECK_COLUMNS = ("run_id", "sha256", "expectation_index", "expectation_type", "column_name", "severity",
                  "reason_code", "success", "element_count", "unexpected_count", "unexpected_percent",
                  "missing_count", "kwargs", "exception_message")  # fmt: skip


@dataclass(frozen=True)
class DocPage:
    """Where the Data Docs page of one file's checks is."""

    dataset: str
    file_name: str
    sha256: str
    run_id: str
    path: Path


def site_dir(settings: Settings) -> Path:
    return settings.docs / SITE_FOLDER


def results_dir(settings: Settings) -> Path:
    """GX's validation results store: a cache of the audit (counts only), outside the served docs."""
    return settings.home / "gx" / "validations"


def docs_url(settings: Settings, path: Path) -> str:
    """A link to a file under `docs/`: `KDS_DOCS_BASE_URL` + relative path when the folder is served
    by a web server (e.g. `https://kds.example.gov.vn/docs`), a `file://` URL otherwise."""
    base = os.environ.get("KDS_DOCS_BASE_URL", "").rstrip("/")
    try:
        relative = path.resolve().relative_to(settings.docs.resolve())
    except ValueError:
        return path.resolve().as_uri()
    if base:
        return f"{base}/{url_quote(relative.as_posix())}"
    return path.resolve().as_uri()


def _safe(text: str) -> str:
    """A path component GX can use as a key (no separators, no surprises in URLs)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def _checks_of(dataset: str) -> list[Check]:
    path = EXPECTATIONS_DIR / f"{dataset}.json"
    return load_checks(path) if path.exists() else []


def _suite(dataset: str) -> Any:
    from great_expectations.core.expectation_suite import ExpectationSuite

    try:
        title = get_spec(dataset).title
        notes = f"{title.vi} / {title.en}. Mức độ / severity: block = không công bố tệp / file not published; " \
                "quarantine = dòng bị cách ly / row quarantined; warn = chỉ cảnh báo / counted only."  # fmt: skip
    except Exception:  # noqa: BLE001 — a dataset dropped from schemas/ still has audit rows to show
        notes = dataset
    suite = ExpectationSuite(name=dataset, meta={"notes": notes})
    for check in _checks_of(dataset):
        suite.add_expectation_configuration(_configuration(check.type, check.kwargs, check.severity,
                                                           check.reason_code, check.description))  # fmt: skip
    return suite


def _configuration(type_: str, kwargs: dict[str, Any], severity: str, reason_code: str, description: str) -> Any:
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    return ExpectationConfiguration(
        type=type_,
        kwargs=kwargs,
        meta={"severity": severity, "reason_code": reason_code},
        notes=f"[{severity}] {reason_code}: {description}" if description else f"[{severity}] {reason_code}",
        severity=GX_SEVERITY.get(severity, "critical"),  # type: ignore[arg-type]
    )


def _kwargs_for(check: dict[str, Any], suite_checks: Sequence[Check]) -> dict[str, Any]:
    """The arguments recorded at run time; for rows written before they were, the suite's current ones."""
    if check.get("kwargs"):
        return dict(json.loads(str(check["kwargs"])))
    for c in suite_checks:
        if (c.type, c.column, c.reason_code) == (check["expectation_type"], check["column_name"], check["reason_code"]):
            return dict(c.kwargs)
    return {"column": check["column_name"]} if check.get("column_name") else {}


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return datetime.now(UTC)


def _batch_id(file_row: dict[str, Any]) -> str:
    return _safe(f"{file_row.get('period') or 'no-period'}_{str(file_row['sha256'])[:12]}")


def page_path(settings: Settings, file_row: dict[str, Any]) -> Path:
    """Where GX's site builder puts the page of a file's result (its `ValidationResultIdentifier`
    as a path: suite / run name / run time / batch), computed without importing GX."""
    run_time = _aware(file_row.get("finished_at")).strftime("%Y%m%dT%H%M%S.%fZ")
    folder = site_dir(settings) / "validations" / str(file_row["dataset"]) / _safe(str(file_row["run_id"])) / run_time
    return folder / f"{_batch_id(file_row)}.html"


def file_result(file_row: dict[str, Any], checks: Sequence[dict[str, Any]], suite_checks: Sequence[Check] = ()) -> Any:
    """One file's checks (audit rows) as a GX `ExpectationSuiteValidationResult`: counts only."""
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.core.run_identifier import RunIdentifier

    results = []
    for c in sorted(checks, key=lambda c: (c.get("expectation_index") is None, c.get("expectation_index") or 0)):
        failed_to_run = bool(c.get("exception_message"))
        result: dict[str, Any] = {
            "element_count": int(c.get("element_count") or 0),
            "unexpected_count": int(c.get("unexpected_count") or 0),
            "unexpected_percent": float(c.get("unexpected_percent") or 0.0),
            "missing_count": int(c.get("missing_count") or 0),
            "partial_unexpected_list": [],  # by design: values never leave the pipeline
        }
        if c.get("column_name") is None or c["expectation_type"] == "expect_column_to_exist":
            result = {"observed_value": "present" if c.get("success") else "missing"}
        results.append(
            ExpectationValidationResult(
                success=bool(c.get("success")),
                expectation_config=_configuration(
                    str(c["expectation_type"]),
                    _kwargs_for(c, suite_checks),
                    str(c["severity"]),
                    str(c["reason_code"]),
                    "",
                ),
                result=result,
                exception_info={
                    "raised_exception": failed_to_run,
                    "exception_message": c.get("exception_message") if failed_to_run else None,
                    "exception_traceback": None,
                },
            )
        )
    passed = sum(bool(r.success) for r in results)
    run_id = RunIdentifier(run_name=str(file_row["run_id"]), run_time=_aware(file_row.get("finished_at")))
    period = file_row.get("period")
    batch = {
        "data_asset_name": f"{file_row['dataset']}: {file_row['file_name']}",
        "file": file_row["file_name"], "sha256": file_row["sha256"], "period": str(period) if period else None,
        "status": file_row.get("status"), "rows_in": file_row.get("rows_in"), "rows_loaded": file_row.get("rows_loaded"),
        "rows_quarantined": file_row.get("rows_quarantined"), "rows_duplicate": file_row.get("rows_duplicate"),
    }  # fmt: skip
    return ExpectationSuiteValidationResult(
        success=all(r.success for r in results),
        results=results,
        suite_name=str(file_row["dataset"]),
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": 100.0 * passed / len(results) if results else None,
        },
        meta={
            "great_expectations_version": gx.__version__,
            "run_id": run_id,
            "batch_spec": batch,
            "active_batch_definition": {
                "datasource_name": file_row["dataset"],
                "data_connector_name": "kds",
                "data_asset_name": file_row["file_name"],
                "batch_identifiers": {"period": batch["period"]},
            },  # fmt: skip
            "batch_markers": {"sha256": file_row["sha256"]},
        },
    )


def result_key(file_row: dict[str, Any]) -> Any:
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    return ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=str(file_row["dataset"])),
        run_id=RunIdentifier(run_name=_safe(str(file_row["run_id"])), run_time=_aware(file_row.get("finished_at"))),
        batch_identifier=_batch_id(file_row),
    )


def _context(site: Path, results: Path) -> Any:
    """A throw-away GX context: suites in memory, validation results in `results`, one local Data
    Docs site in `site`."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    stores[defaults.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(results)},
    }
    config = DataContextConfig(
        stores=stores,
        expectations_store_name=defaults.expectations_store_name,
        validation_results_store_name=defaults.validation_results_store_name,
        checkpoint_store_name=defaults.checkpoint_store_name,
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "validation_results_limit": RESULTS_LIMIT,
                },
                # GX applies the index's limit to page rendering too; the pages of a run must render
                # even when it has more files than the index lists (a backfill): pages get no limit.
                "site_section_builders": {"validations": {"validation_results_limit": None}},
            }
        },
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@contextmanager
def _site_lock(site: Path) -> Iterator[None]:
    """Two runs finishing together must not interleave their writes of the index."""
    site.mkdir(parents=True, exist_ok=True)
    import fcntl

    with (site / ".build.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _validated_files(wh: Warehouse, *, run_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Files that have check results: those of one run, or the latest `limit`."""
    f, c = qualified(AUDIT_FILE.qualified), qualified(AUDIT_CHECK.qualified)
    where = "AND f.run_id = ?" if run_id is not None else ""
    rows = wh.query(
        f"""SELECT {", ".join(f"f.{x}" for x in _FILE_COLUMNS)} FROM {f} f
            WHERE EXISTS (SELECT 1 FROM {c} c WHERE c.run_id = f.run_id AND c.sha256 = f.sha256) {where}
            ORDER BY f.finished_at DESC{f" LIMIT {int(limit)}" if limit else ""}""",
        (run_id,) if run_id is not None else (),
    )
    return [dict(zip(_FILE_COLUMNS, r, strict=True)) for r in rows]


def _checks(wh: Warehouse, files: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    if not files:
        return {}
    oldest = min(_aware(f["finished_at"]) for f in files)
    f, c = qualified(AUDIT_FILE.qualified), qualified(AUDIT_CHECK.qualified)
    rows = wh.query(
        f"""SELECT {", ".join(f"c.{x}" for x in _CHECK_COLUMNS)} FROM {c} c
            JOIN {f} f ON f.run_id = c.run_id AND f.sha256 = c.sha256 WHERE f.finished_at >= ?""",
        (oldest,),
    )
    by_file: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        row = dict(zip(_CHECK_COLUMNS, r, strict=True))
        by_file.setdefault((str(row["run_id"]), str(row["sha256"])), []).append(row)
    return by_file


def build_data_docs(wh: Warehouse, settings: Settings, run_id: str | None = None) -> list[DocPage]:
    """Render the Data Docs pages of a run's validated files (all latest files when `run_id` is None,
    or when the site does not exist yet) and the site index; returns the pages of the run's files."""
    site = site_dir(settings)
    if not wh.table_exists(AUDIT_CHECK.qualified):
        return []
    latest = _validated_files(wh, limit=RESULTS_LIMIT)
    wanted = _validated_files(wh, run_id=run_id) if run_id is not None else latest
    if not wanted:
        return []  # nothing was validated in this run (skipped, rejected): the site is unchanged
    results = results_dir(settings)
    with _site_lock(site):
        full = run_id is None or not (site / "index.html").exists() or not any(results.glob("*/*"))
        store = list({(f["run_id"], f["sha256"]): f for f in [*latest, *wanted]}.values()) if full else wanted
        checks = _checks(wh, store)
        context = _context(site, results)
        suites: dict[str, list[Check]] = {}
        # Every suite, not only this run's: the index drops the pages of suites missing from the store.
        for dataset in sorted({str(f["dataset"]) for f in store} | {p.stem for p in EXPECTATIONS_DIR.glob("*.json")}):
            context.suites.add(_suite(dataset))
            suites[dataset] = _checks_of(dataset)
        keys = {}
        for f in store:
            key = result_key(f)
            context.validation_results_store.set(
                key, file_result(f, checks.get((str(f["run_id"]), str(f["sha256"])), []), suites[str(f["dataset"])])
            )
            keys[(str(f["run_id"]), str(f["sha256"]))] = key
        if full:
            context.build_data_docs(site_names=[SITE_NAME])
        else:
            from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

            targets = [keys[(str(f["run_id"]), str(f["sha256"]))] for f in wanted]
            targets += [ExpectationSuiteIdentifier(name=d) for d in sorted({str(f["dataset"]) for f in wanted})]
            context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=targets)
    return [
        DocPage(str(f["dataset"]), str(f["file_name"]), str(f["sha256"]), str(f["run_id"]), page_path(settings, f))
        for f in wanted
    ]
