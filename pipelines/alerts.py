"""Alerts: one short message when a run fails or is blocked, or when a delivery is missing.

Who gets paged, and for what: the data platform team, for a `failed` run (infrastructure), a
`blocked` or `rejected` file (nothing published: someone must talk to the department) and a
`missing` delivery (a period past its due date with no file, see `pipelines/scoreboard.py`).
Warnings and quarantined rows never page: they are in the run report and `kds quarantine`.
One message per failed DAG run (naming every file that failed) and one per dataset with newly
overdue periods; each names the dataset, the period, the reason and where to look.

Channels are Airflow connections, read when sending (never at import, never from the repository);
each is optional, and an alert with no channel configured is still logged:
- `kds_smtp` (type smtp or email): host, port, login, password; extra `to` (comma-separated
  recipients), `from_email`, and the SMTP provider's `disable_ssl` / `disable_tls` / `timeout`
  (SSL by default, as the provider does).
- `kds_webhook` (type http): the URL as host (`https://hooks.example/…`) or schema + host + port
  + extra `endpoint`; other string extras are sent as headers (e.g. `Authorization`). The JSON body
  has `text` (what Slack, Mattermost, Google Chat and Teams incoming webhooks display) and the
  fields `kind`, `dataset`, `period`, `reason`, `where`.
Outside Airflow (tests, cron), `AIRFLOW_CONN_KDS_SMTP` / `AIRFLOW_CONN_KDS_WEBHOOK` in the
environment define them, as Airflow's own environment backend does.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import ssl
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)

SMTP_CONN_ID = "kds_smtp"
WEBHOOK_CONN_ID = "kds_webhook"
PAGING = ("failed", "blocked", "rejected")  # file statuses that page; `missing` pages from the watcher
KIND_VI = {"failed": "lỗi hệ thống", "blocked": "bị chặn", "rejected": "bị từ chối", "missing": "chưa nhận được"}
_MAX_REASON = 400
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{9,12}(?![0-9A-Za-z])")


def redact(text: str) -> str:
    """Mask anything shaped like a CMND/CCCD (9–12 digits) in a message that leaves the pipeline:
    a rejection message may quote a cell, and e-mail is not the restricted zone."""
    return _ID_LIKE.sub(lambda m: m.group(0)[:2] + "•" * (len(m.group(0)) - 2), text)


@dataclass(frozen=True)
class Alert:
    kind: str  # failed | blocked | rejected | missing
    dataset: str
    period: str | None
    reason: str
    where: str  # log URL, report and Data Docs paths

    @property
    def subject(self) -> str:
        period = f" {self.period}" if self.period else ""
        return f"[KDS] {self.dataset}{period}: {self.kind} ({KIND_VI.get(self.kind, self.kind)})"

    @property
    def text(self) -> str:
        reason = redact(" ".join(self.reason.split()))
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 1] + "…"
        return f"{self.subject}\nReason / Lý do: {reason}\nLook at / Xem: {self.where}"

    def payload(self) -> dict[str, Any]:
        body = asdict(self)
        body["reason"] = redact(self.reason)
        return {"text": self.text, **body}


# --- building alerts -------------------------------------------------------------------------


def _label(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def alert_for_files(dataset: str, files: Sequence[Mapping[str, Any]], where: str) -> Alert | None:
    """One alert for a run's files (dicts with status, file, period, message); None when nothing pages."""
    bad = [f for f in files if f.get("status") in PAGING]
    if not bad:
        return None
    kind = next(k for k in PAGING if any(f["status"] == k for f in bad))  # failed > blocked > rejected
    periods = sorted({_label(f["period"]) for f in bad if f.get("period")})
    period = ", ".join(periods[:3]) + (f" (+{len(periods) - 3})" if len(periods) > 3 else "") if periods else None
    reasons = [str(f.get("message") or f.get("status")) for f in bad]
    if len(bad) > 1:
        reasons = [f"{len(bad)} files not loaded"] + reasons
    return Alert(kind, dataset, period, "; ".join(reasons), where)


def alerts_for_missing(overdue: Mapping[str, Sequence[Any]], where: str) -> list[Alert]:
    """One alert per dataset with overdue periods (`scoreboard.PeriodScore` rows, oldest first)."""
    from pipelines.extract import period_label
    from pipelines.specs import CADENCES

    alerts = []
    for dataset, rows in sorted(overdue.items()):
        if not rows:
            continue
        latest = rows[-1]
        labels = [period_label(r.period, CADENCES[r.cadence]) for r in rows]
        shown = ", ".join(labels[-3:]) + (f" and {len(labels) - 3} earlier" if len(labels) > 3 else "")
        reason = (
            f"no file received from {latest.department} for {len(rows)} period(s) past their due date: {shown} "
            f"(latest due {latest.due_date.isoformat()}) / chưa nhận được tệp của {len(rows)} kỳ đã quá hạn"
        )
        alerts.append(Alert("missing", dataset, labels[-1], reason, where))
    return alerts


# --- sending -------------------------------------------------------------------------------


def get_connection(conn_id: str) -> Any | None:
    """The Airflow connection, or None when it is not defined (or Airflow is not installed)."""
    try:
        from airflow.sdk import Connection
    except ImportError:
        return None
    try:
        return Connection.get(conn_id)
    except Exception as exc:  # noqa: BLE001 — AirflowNotFoundException, or no secrets backend reachable
        log.debug("connection %s not available: %s", conn_id, exc)
        return None


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes")


def send_email(conn: Any, alert: Alert) -> None:
    extra = conn.extra_dejson or {}
    to = [a.strip() for a in re.split(r"[,;]", str(extra.get("to") or "")) if a.strip()]
    if not to:
        raise ValueError(f'connection {conn.conn_id}: set the recipients in its extra, e.g. {{"to": "ops@…"}}')
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = str(extra.get("from_email") or conn.login or "kds@localhost")
    message["To"] = ", ".join(to)
    message.set_content(alert.text)
    timeout = float(extra.get("timeout") or 30)
    port = int(conn.port or (25 if _flag(extra.get("disable_ssl")) else 465))
    if _flag(extra.get("disable_ssl")):
        server: smtplib.SMTP = smtplib.SMTP(conn.host, port, timeout=timeout)
        if not _flag(extra.get("disable_tls")):
            server.starttls(context=ssl.create_default_context())
    else:
        server = smtplib.SMTP_SSL(conn.host, port, timeout=timeout, context=ssl.create_default_context())
    with server:
        if conn.login and conn.password:
            server.login(conn.login, conn.password)
        server.send_message(message)


def webhook_url(conn: Any) -> str:
    host = str(conn.host or "")
    if host.startswith(("http://", "https://")):
        return host
    extra = conn.extra_dejson or {}
    port = f":{conn.port}" if conn.port else ""
    endpoint = str(extra.get("endpoint") or "")
    if endpoint and not endpoint.startswith("/"):
        endpoint = "/" + endpoint
    return f"{conn.schema or 'https'}://{host}{port}{endpoint}"


def post_webhook(conn: Any, alert: Alert) -> None:
    extra = conn.extra_dejson or {}
    headers = {k: v for k, v in extra.items() if k not in ("endpoint", "timeout") and isinstance(v, str)}
    headers["Content-Type"] = "application/json; charset=utf-8"
    request = urllib.request.Request(
        webhook_url(conn), data=json.dumps(alert.payload(), ensure_ascii=False).encode("utf-8"), headers=headers,
        method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=float(extra.get("timeout") or 10)) as response:
        if response.status >= 300:
            raise RuntimeError(f"webhook answered HTTP {response.status}")


def send(alert: Alert, *, smtp_conn_id: str = SMTP_CONN_ID, webhook_conn_id: str = WEBHOOK_CONN_ID) -> list[str]:
    """Send to every configured channel; returns those that accepted it. Never raises: an alert
    that cannot be sent is logged (with its text), so it does not hide the failure it reports."""
    sent = []
    channels = [(smtp_conn_id, send_email), (webhook_conn_id, post_webhook)]
    configured = 0
    for conn_id, deliver in channels:
        conn = get_connection(conn_id)
        if conn is None:
            continue
        configured += 1
        try:
            deliver(conn, alert)
            sent.append(conn_id)
        except Exception as exc:  # noqa: BLE001 — a broken channel must not mask the alert or the others
            log.error("alert via %s failed (%s: %s); the alert was:\n%s", conn_id, type(exc).__name__, exc, alert.text)
    if not configured:
        log.warning("no alert channel configured (Airflow connections %s, %s); the alert was:\n%s",
                    smtp_conn_id, webhook_conn_id, alert.text)  # fmt: skip
    else:
        log.info("alert sent via %s: %s", ", ".join(sent) or "nothing", alert.subject)
    return sent


# --- Airflow wiring (called by the notifier in dagfactory and by the watcher task) --------------


def attach_files(exc: BaseException, files: Iterable[Mapping[str, Any]], run_id: str | None = None) -> BaseException:
    """Carry the run's file outcomes (and run id) on the exception that fails the task, for the
    failure callback in the same process: no warehouse round trip while the warehouse may be what failed."""
    exc.kds_files = [dict(f) for f in files]  # type: ignore[attr-defined]
    exc.kds_run_id = run_id  # type: ignore[attr-defined]
    return exc


def notify_task_failure(context: Mapping[str, Any]) -> Alert:
    """A task failed for good (no retry left): one alert for the DAG run."""
    from pipelines.report import run_report_path
    from pipelines.settings import load_settings

    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag_id = str(getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "") or "")
    dataset = dag_id.removeprefix("ingest_")
    exc = context.get("exception")
    files = list(getattr(exc, "kds_files", None) or [])
    where = [str(getattr(ti, "log_url", "") or "")]
    run_id = getattr(exc, "kds_run_id", None)
    if run_id:
        try:
            settings = load_settings()
            from pipelines.quality import docs_url

            where.append(docs_url(settings, run_report_path(settings, str(run_id))))
        except Exception:  # noqa: BLE001 — the link is a courtesy
            pass
    where_text = " · ".join(w for w in where if w) or f"Airflow DAG {dag_id}"
    alert = alert_for_files(dataset, files, where_text)
    if alert is None:
        params = context.get("params") or {}
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else "the task failed"
        alert = Alert("failed", dataset or dag_id, params.get("period") or None, reason.splitlines()[0], where_text)
    send(alert)
    return alert


# --- the record of missing-delivery alerts (so each overdue period pages once) ------------------


def _alert_table() -> Any:
    from pipelines.warehouse.tables import make_table

    return make_table(
        "audit", "alert", "Một dòng mỗi kỳ thiếu đã cảnh báo / One row per missing period alerted (pages once)",
        ("dataset", "text", "Bộ dữ liệu / Dataset"),
        ("kind", "text", "missing"),
        ("period", "date", "Kỳ dữ liệu / Period"),
        ("due_date", "date", "Hạn giao / Due date"),
        ("channels", "text", "Kênh đã gửi / Channels that accepted the alert"),
        ("sent_at", "timestamp", "Thời điểm gửi (UTC) / Sent at (UTC)"),
    )  # fmt: skip


ALERT_TABLE = "audit.alert"


def already_alerted(wh: Any) -> set[tuple[str, date]]:
    from pipelines.warehouse.tables import qualified

    if not wh.table_exists(ALERT_TABLE):
        return set()
    return {
        (str(d), p) for d, p in wh.query(f"SELECT dataset, period FROM {qualified(ALERT_TABLE)} WHERE kind = 'missing'")
    }


def record_alerted(wh: Any, rows: Iterable[Any], channels: Sequence[str], sent_at: datetime | None = None) -> None:
    from pipelines.warehouse.tables import qualified

    wh.ensure([_alert_table()])
    at = sent_at or datetime.now(UTC)
    with wh.transaction():
        for r in rows:
            wh.execute(
                f"INSERT INTO {qualified(ALERT_TABLE)} (dataset, kind, period, due_date, channels, sent_at) "
                "VALUES (?, 'missing', ?, ?, ?, ?)",
                (r.dataset, r.period, r.due_date, ", ".join(channels), at),
            )
