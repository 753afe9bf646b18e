"""Task bodies for the Airflow DAGs: each DAG task is one call into this module.

Airflow is imported inside the functions only, so `pipelines` stays usable without it.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def ingest_task(dataset: str, context: Any) -> list[dict[str, Any]]:
    """Run one dataset for a DAG run and fail loudly: a data problem (rejected or blocked file)
    fails without retry, since retrying cannot fix a file; an infrastructure failure retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipelines.run import run_dataset

    params = context.get("params") or {}
    ti = context.get("ti")
    dag_run = context.get("dag_run")
    try_number = int(getattr(ti, "try_number", 1) or 1)
    run_id = f"{dataset}-{getattr(dag_run, 'run_id', 'manual')}-try{try_number}"
    period = params.get("period") or None
    results = run_dataset(
        dataset, period=period, force=bool(params.get("force")), trigger="airflow", try_number=try_number, run_id=run_id
    )
    for r in results:
        log.info(
            "%s %s: %s (in %d, loaded %d, quarantined %d, duplicate %d) %s",
            r.dataset, r.file, r.status, r.rows_in, r.rows_loaded, r.rows_quarantined, r.rows_duplicate, r.message,
        )  # fmt: skip
    if not results:
        log.info("%s: no new delivery in the landing zone", dataset)
    infra = [r for r in results if r.status == "failed"]
    data = [r for r in results if r.status in ("rejected", "blocked")]
    if infra:
        raise RuntimeError("; ".join(r.message for r in infra))
    if data:
        raise AirflowFailException("; ".join(f"{r.status}: {r.message}" for r in data))
    return [r.to_json() for r in results]


def refresh_reference_task() -> dict[str, int]:
    """Reload the `ref` schema from the vendored code lists (idempotent)."""
    from pipelines.refdata import refresh_reference
    from pipelines.settings import load_settings
    from pipelines.warehouse import connect

    with connect(load_settings().warehouse_url) as wh:
        counts = refresh_reference(wh)
    for table, rows in counts.items():
        log.info("%s: %d rows", table, rows)
    return counts


def build_marts_task() -> dict[str, int]:
    """Rebuild the indicator marts from core and ref (one transaction)."""
    from pipelines.marts import build_marts
    from pipelines.settings import load_settings
    from pipelines.warehouse import connect

    with connect(load_settings().warehouse_url) as wh:
        counts = build_marts(wh)
    for table, rows in counts.items():
        log.info("%s: %d rows", table, rows)
    return counts
