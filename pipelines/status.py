"""What `kds status` shows: per dataset, the last delivery, its outcome and how fresh the data is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pipelines.settings import Settings
from pipelines.specs import DatasetSpec, available_datasets, get_spec
from pipelines.warehouse import connect
from pipelines.warehouse.tables import AUDIT_FILE, AUDIT_RUN, qualified

_CADENCE_DAYS = {"daily": 1, "monthly": 31, "annual": 366}


def freshness(spec: DatasetSpec, period: date | None, today: date) -> str:
    """`fresh` while the last loaded period is within its cadence plus the delivery deadline."""
    if period is None:
        return "no data"
    due = period + timedelta(days=_CADENCE_DAYS[spec.cadence] + spec.deadline_days)
    if today <= due:
        return "fresh"
    return f"stale ({(today - due).days} d overdue)"


def dataset_status(settings: Settings, today: date | None = None) -> list[dict[str, Any]]:
    today = today or datetime.now(UTC).date()
    rows = []
    with connect(settings.warehouse_url, read_only=True) as wh:
        have_audit = wh.table_exists(AUDIT_FILE.qualified)
        for name in available_datasets():
            spec = get_spec(name)
            last = None
            loaded_period = None
            last_run = None
            if have_audit:
                found = wh.query(
                    f"""SELECT file_name, period, status, rows_in, rows_loaded, rows_quarantined, message, finished_at
                        FROM {qualified(AUDIT_FILE.qualified)} WHERE dataset = ? ORDER BY finished_at DESC LIMIT 1""",
                    (name,),
                )
                last = found[0] if found else None
                p = wh.query(
                    f"SELECT max(period) FROM {qualified(AUDIT_FILE.qualified)} WHERE dataset = ? AND status = 'loaded'",
                    (name,),
                )
                loaded_period = p[0][0]
                r = wh.query(
                    f"SELECT max(finished_at) FROM {qualified(AUDIT_RUN.qualified)} WHERE dataset = ?", (name,)
                )
                last_run = r[0][0]
            rows.append(
                {
                    "dataset": name,
                    "department": spec.department,
                    "last_file": last[0] if last else None,
                    "period": last[1] if last else None,
                    "status": last[2] if last else None,
                    "rows_in": last[3] if last else None,
                    "rows_loaded": last[4] if last else None,
                    "share_quarantined": (last[5] / last[3]) if last and last[3] else None,
                    "message": last[6] if last else None,
                    "last_loaded_period": loaded_period,
                    "freshness": freshness(spec, loaded_period, today),
                    "last_run_at": last_run.strftime("%Y-%m-%d %H:%M") if last_run else None,
                }
            )
    return rows


def delivery_scoreboard(settings: Settings, reference: date) -> tuple[list[Any], list[Any]]:
    """The scoreboard lines (`scoreboard.DatasetScore`) as of `reference`, and the audit chain of
    deliveries of every period (`quarantine.Chain`), read-only."""
    from pipelines.quarantine import chains
    from pipelines.scoreboard import compute

    with connect(settings.warehouse_url, read_only=True) as wh:
        _, lines, _ = compute(wh, reference)
        return lines, chains(wh)
