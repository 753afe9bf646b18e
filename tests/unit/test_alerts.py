"""Alerts: one short message per failed/blocked run or missing delivery, sent through a local SMTP
server and a local webhook (127.0.0.1, free ports); warnings never page; a broken channel never
hides the alert."""

from __future__ import annotations

import logging
from datetime import date, datetime
from types import SimpleNamespace

import pytest

from pipelines import alerts
from pipelines.scoreboard import FileEvent, Promise, overdue, score_periods
from tests.alert_servers import smtp_connection, smtp_server, webhook_connection, webhook_server

pytestmark = pytest.mark.unit

WHERE = "http://127.0.0.1:8080/dags/ingest_enterprises/runs/r1/tasks/ingest · file:///kds/docs/runs/r1.html"


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with smtp_server() as smtp, webhook_server() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_KDS_SMTP", smtp_connection(smtp.port))
        monkeypatch.setenv("AIRFLOW_CONN_KDS_WEBHOOK", webhook_connection(hook.port))
        yield smtp, hook


@pytest.fixture
def no_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_KDS_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_KDS_WEBHOOK", raising=False)


BLOCKED = {"status": "blocked", "file": "doanh_nghiep_20250331.xlsx", "period": date(2025, 3, 31),
           "message": "doanh_nghiep_20250331.xlsx: nothing published: place_unresolved: failed for 12 of 12 rows"}  # fmt: skip


def test_warnings_and_quarantines_never_page() -> None:
    files = [
        {
            "status": "loaded",
            "file": "a.xlsx",
            "period": date(2025, 3, 31),
            "message": "6 loaded, 5 quarantined; 3 with warnings",
        },
        {"status": "skipped_duplicate_file", "file": "b.xlsx", "period": date(2025, 3, 31), "message": "identical"},
    ]
    assert alerts.alert_for_files("enterprises", files, WHERE) is None


def test_one_alert_per_run_names_dataset_period_reason_and_where() -> None:
    rejected = {"status": "rejected", "file": "doanh_nghiep_20250430.csv", "period": date(2025, 4, 30),
                "message": "doanh_nghiep_20250430.csv: row 9: '052090001234' is not a date"}  # fmt: skip
    alert = alerts.alert_for_files("enterprises", [BLOCKED, rejected, {"status": "loaded", "file": "x"}], WHERE)
    assert alert is not None
    assert alert.kind == "blocked"  # the worst of the run: failed > blocked > rejected
    assert alert.period == "2025-03-31, 2025-04-30"
    assert alert.subject == "[KDS] enterprises 2025-03-31, 2025-04-30: blocked (bị chặn)"
    assert "2 files not loaded" in alert.reason and "place_unresolved" in alert.reason
    lines = alert.text.splitlines()
    assert len(lines) == 3 and lines[2].endswith(WHERE)
    assert "052090001234" not in alert.text and "05••••••••••" in alert.text  # an ID in a message is masked
    assert "052090001234" not in str(alert.payload())


def test_a_long_reason_is_cut() -> None:
    alert = alerts.Alert("failed", "enterprises", None, "x" * 5000, WHERE)
    assert len(alert.text) < 700


def test_missing_deliveries_one_alert_per_dataset() -> None:
    promise = Promise("labour_supply", "Sở Nội vụ", "monthly", 5)
    events = [
        FileEvent("labour_supply", "f.xlsx", "s", date(2025, 1, 1), "loaded", finished_at=datetime(2025, 2, 3, 1))
    ]
    rows = score_periods(promise, events, reference=date(2025, 6, 10))
    [alert] = alerts.alerts_for_missing(overdue(rows), "file:///kds/docs/index.html")
    assert (alert.kind, alert.dataset, alert.period) == ("missing", "labour_supply", "2025-05")  # Feb–May
    assert "4 period(s)" in alert.reason and "Sở Nội vụ" in alert.reason and "latest due 2025-06-05" in alert.reason
    assert "2025-03, 2025-04, 2025-05 and 1 earlier" in alert.reason
    assert alerts.alerts_for_missing({}, "x") == []


def test_send_reaches_both_channels_once(channels) -> None:  # type: ignore[no-untyped-def]
    smtp, hook = channels
    alert = alerts.alert_for_files("enterprises", [BLOCKED], WHERE)
    assert alert is not None
    assert alerts.send(alert) == ["kds_smtp", "kds_webhook"]
    [mail] = smtp.messages
    assert mail["to"] == ["<ops@kds.test>"]
    message = mail["message"]
    assert message["Subject"] == "[KDS] enterprises 2025-03-31: blocked (bị chặn)"
    assert "place_unresolved" in message.get_content() and WHERE in message.get_content()
    [post] = hook.messages
    assert post["path"] == "/hooks/kds"
    assert post["headers"]["Authorization"] == "Bearer test-token"
    body = post["json"]
    assert body["kind"] == "blocked" and body["dataset"] == "enterprises" and body["period"] == "2025-03-31"
    assert body["text"] == alert.text and body["where"] == WHERE


def test_no_channel_configured_logs_the_alert(no_channels, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    alert = alerts.Alert("missing", "labour_supply", "2025-04", "no file", "x")
    with caplog.at_level(logging.WARNING, logger="pipelines.alerts"):
        assert alerts.send(alert) == []
    assert "no alert channel configured" in caplog.text and alert.subject in caplog.text


def test_a_broken_channel_does_not_stop_the_other(channels, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    smtp, hook = channels
    hook.status = 500
    alert = alerts.Alert("failed", "enterprises", "2025-03-31", "disk full", "x")
    with caplog.at_level(logging.ERROR, logger="pipelines.alerts"):
        assert alerts.send(alert) == ["kds_smtp"]
    assert len(smtp.messages) == 1 and len(hook.messages) == 1
    assert "alert via kds_webhook failed" in caplog.text and "disk full" in caplog.text


def test_failure_callback_reads_the_run_from_the_exception(channels, kds_home_env) -> None:  # type: ignore[no-untyped-def]
    smtp, hook = channels
    exc = alerts.attach_files(RuntimeError("blocked: ..."), [BLOCKED], "enterprises-manual__x-try1")
    ti = SimpleNamespace(dag_id="ingest_enterprises", log_url="http://127.0.0.1:8080/dags/ingest_enterprises/runs/x")
    alert = alerts.notify_task_failure({"ti": ti, "exception": exc, "params": {}})
    assert alert.kind == "blocked" and alert.dataset == "enterprises" and alert.period == "2025-03-31"
    assert "http://127.0.0.1:8080/dags/ingest_enterprises/runs/x" in alert.where
    assert "runs/enterprises-manual__x-try1.html" in alert.where
    assert len(smtp.messages) == 1 and len(hook.messages) == 1


def test_failure_callback_without_run_details(channels, kds_home_env) -> None:  # type: ignore[no-untyped-def]
    smtp, hook = channels
    ti = SimpleNamespace(dag_id="build_marts", log_url="http://x/log")
    alert = alerts.notify_task_failure({"ti": ti, "exception": ValueError("relation core.enterprise does not exist\nmore"),
                                        "params": {}})  # fmt: skip
    assert (alert.kind, alert.dataset) == ("failed", "build_marts")
    assert alert.reason == "ValueError: relation core.enterprise does not exist"
    assert hook.messages[0]["json"]["kind"] == "failed"


@pytest.mark.parametrize(
    ("conn", "url"),
    [
        (
            {"host": "https://hooks.example.vn/services/T0/B0", "schema": None, "port": None, "extra": {}},
            "https://hooks.example.vn/services/T0/B0",
        ),
        (
            {"host": "chat.kds.local", "schema": "https", "port": 8443, "extra": {"endpoint": "hooks/abc"}},
            "https://chat.kds.local:8443/hooks/abc",
        ),
        ({"host": "127.0.0.1", "schema": "", "port": None, "extra": {}}, "https://127.0.0.1"),
    ],
)
def test_webhook_url(conn: dict, url: str) -> None:  # type: ignore[type-arg]
    fake = SimpleNamespace(host=conn["host"], schema=conn["schema"], port=conn["port"], extra_dejson=conn["extra"])
    assert alerts.webhook_url(fake) == url


@pytest.fixture
def kds_home_env(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KDS_HOME", str(tmp_path / "kds"))
    monkeypatch.setenv("KDS_PSEUDONYM_KEY", "test-pseudonym-key-0123456789abcdef0123456789abcdef")
    return tmp_path / "kds"
