"""Task bodies for the Airflow DAGs: each DAG task is one call into this module.

Airflow is imported inside the functions only, so `pipelines` stays usable without it.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

log = logging.getLogger(__name__)


def ingest_task(dataset: str, context: Any) -> list[dict[str, Any]]:
    """Run one dataset for a DAG run and fail loudly: a data problem (rejected or blocked file)
    fails without retry, since retrying cannot fix a file; an infrastructure failure retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipelines.alerts import attach_files
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
    # The failure notifier (dagfactory) reads the files' outcomes from the exception: one alert per run.
    files = [{"status": r.status, "file": r.file, "period": r.period, "message": r.message} for r in results]
    if infra:
        raise attach_files(RuntimeError("; ".join(r.message for r in infra)), files, run_id)
    if data:
        raise attach_files(AirflowFailException("; ".join(f"{r.status}: {r.message}" for r in data)), files, run_id)
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


def build_marts_task(reference_date: date | None = None) -> dict[str, int]:
    """Rebuild the indicator marts from core and ref, and the delivery scoreboard as of
    `reference_date` (default today in the province: this is the edge), in one transaction."""
    from pipelines.marts import build_marts
    from pipelines.scoreboard import local_today
    from pipelines.settings import load_settings
    from pipelines.warehouse import connect

    with connect(load_settings().warehouse_url) as wh:
        counts = build_marts(wh, reference_date=reference_date or local_today())
    for table, rows in counts.items():
        log.info("%s: %d rows", table, rows)
    return counts


def reference_date_of(context: Any) -> date:
    """The date a scheduled check is about: the `as_of` Param, else the run's logical date, else
    when it was due to run (manual runs may have no logical date), in the province's time zone."""
    from datetime import datetime

    from pipelines.scoreboard import LOCAL, local_today

    params = context.get("params") or {}
    if params.get("as_of"):
        return date.fromisoformat(str(params["as_of"]))
    dag_run = context.get("dag_run")
    for attr in ("logical_date", "run_after"):
        value = context.get(attr) or getattr(dag_run, attr, None)
        if isinstance(value, datetime):
            return value.astimezone(LOCAL).date()
    return local_today()


def watch_deliveries_task(context: Any) -> dict[str, Any]:
    """Find periods past their due date with no file, alert once per newly overdue period (one
    message per dataset), and refresh the overview report as of the same date."""
    from pipelines import alerts, scoreboard
    from pipelines.quality import docs_url
    from pipelines.report import write_overview
    from pipelines.settings import load_settings
    from pipelines.warehouse import connect

    reference = reference_date_of(context)
    settings = load_settings()
    sent: dict[str, list[str]] = {}
    with connect(settings.warehouse_url) as wh:
        rows, _, _ = scoreboard.compute(wh, reference)
        done = alerts.already_alerted(wh)
        late = {
            dataset: [r for r in missing if (dataset, r.period) not in done]
            for dataset, missing in scoreboard.overdue(rows).items()
        }
        late = {d: rs for d, rs in late.items() if rs}
        overview = write_overview(wh, settings, reference)
        where = f"{docs_url(settings, overview)} (kds status)"
        for alert in alerts.alerts_for_missing(late, where):
            channels = alerts.send(alert)
            sent[alert.dataset] = channels
            if channels:  # not sent anywhere: try again at the next check
                alerts.record_alerted(wh, late[alert.dataset], channels)
    for dataset, missing in late.items():
        log.info("%s: %d period(s) overdue without a file, latest %s", dataset, len(missing), missing[-1].period)
    log.info("Overview: %s", docs_url(settings, overview))
    return {"reference_date": reference.isoformat(), "overdue": {d: len(rs) for d, rs in late.items()}, "sent": sent}
