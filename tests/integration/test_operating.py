"""Operating it: the scoreboard mart and `kds status`, the reports after a run, and the alerts of the
DAGs (a blocked ingest pages once, a successful one never; the watcher pages once per missing period)
through a local SMTP server and webhook."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import pytest

from pipelines.cli import main as kds
from pipelines.marts import build_marts
from pipelines.report import run_report_path, write_overview
from pipelines.run import run_dataset
from pipelines.scoreboard import LOCAL
from pipelines.settings import load_settings
from pipelines.warehouse import connect
from tests.alert_servers import smtp_connection, smtp_server, webhook_connection, webhook_server
from tests.conftest import REPO
from tests.fixtures.enterprise_files import CANARY_ID, april_rows, march_rows, write_csv, write_xlsx

pytestmark = pytest.mark.integration

MARCH, APRIL = "doanh_nghiep_20250331.xlsx", "doanh_nghiep_20250430.csv"


def landing(home: Path) -> Path:
    folder = home / "landing" / "enterprises"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def arrived(file_name: str, at: datetime) -> None:
    """Pretend the pipeline first saw a file at `at` (fixtures are loaded today, not in 2025)."""
    with connect(load_settings().warehouse_url) as wh, wh.transaction():
        wh.execute("UPDATE audit.file SET finished_at = ? WHERE file_name = ?", (at, file_name))


def delivered_in_2025(home: Path) -> None:
    write_xlsx(landing(home) / MARCH, march_rows())
    write_csv(landing(home) / APRIL, april_rows())
    assert [r.status for r in run_dataset("enterprises")] == ["loaded", "loaded"]
    arrived(MARCH, datetime(2025, 4, 1, 1, 5, tzinfo=LOCAL))  # due 2 April: on time
    arrived(APRIL, datetime(2025, 5, 3, 9, 0, tzinfo=LOCAL))  # due 2 May: a day late


def test_scoreboard_mart_is_built_with_the_marts(kds_home: Path) -> None:
    delivered_in_2025(kds_home)
    with connect(load_settings().warehouse_url) as wh:
        counts = build_marts(wh, reference_date=date(2025, 5, 5))
        rows = wh.query(
            """SELECT period, due_date, timeliness, days_late, rows_loaded, rows_quarantined, quality_score, reference_date
               FROM mart.data_delivery_scoreboard WHERE dataset = 'enterprises' ORDER BY period"""
        )
    # Daily cadence: every day from 31 March to 4 May (the last day that ended before 5 May).
    assert counts["mart.data_delivery_scoreboard"] >= len(rows) == 35
    by_period = {r[0]: r[1:] for r in rows}
    assert by_period[date(2025, 3, 31)] == (
        date(2025, 4, 2),
        "on_time",
        None,
        6,
        5,
        round(100 * 6 / 11, 1),
        date(2025, 5, 5),
    )
    assert by_period[date(2025, 4, 30)][:6] == (date(2025, 5, 2), "late", 1, 6, 0, 100.0)
    assert by_period[date(2025, 4, 1)][1:3] == ("missing", None) and by_period[date(2025, 4, 1)][5] == 0.0
    assert by_period[date(2025, 5, 2)][1] == "missing"  # due 4 May
    assert [by_period[date(2025, 5, d)][1] for d in (3, 4)] == ["pending", "pending"]


def test_kds_status_prints_the_scoreboard_and_where_the_overview_is(
    kds_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    delivered_in_2025(kds_home)
    assert kds(["status", "--as-of", "2025-05-05"]) == 0
    out = capsys.readouterr().out
    assert "Delivery scoreboard as of 2025-05-05" in out
    line = next(x for x in out.splitlines() if "enterprises" in x and "daily" in x)
    assert "2025-04-30 loaded" in line and "31 (latest 2025-05-02)" in line  # 1 on time, 1 late, 31 missing
    assert f"Overview report: {(kds_home / 'docs' / 'index.html').as_uri()}" in out
    assert "Data Docs: " in out
    assert kds(["status", "--json", "--as-of", "2025-05-05"]) == 0
    assert '"missing": 31' in capsys.readouterr().out


def test_status_and_quarantine_before_any_run(kds_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kds(["status"]) == 0
    assert kds(["quarantine", "list", "enterprises"]) == 0
    out = capsys.readouterr().out
    assert "No warehouse yet" in out or ("never delivered" in out and "No quarantined rows." in out)


def test_a_run_writes_its_report_and_the_overview(kds_home: Path) -> None:
    write_xlsx(landing(kds_home) / MARCH, march_rows())
    [result] = run_dataset("enterprises", run_id="enterprises-report-test")
    page = run_report_path(load_settings(), "enterprises-report-test")
    html = page.read_text(encoding="utf-8")
    assert MARCH in html and "Trùng mã định danh" in html and "Data Docs</a>" in html
    overview = (kds_home / "docs" / "index.html").read_text(encoding="utf-8")
    assert "runs/enterprises-report-test.html" in overview and "gx/index.html" in overview
    assert CANARY_ID not in html + overview
    t0 = time.monotonic()
    with connect(load_settings().warehouse_url) as wh:
        write_overview(wh, load_settings(), date(2025, 5, 5))
    assert time.monotonic() - t0 < 10


# --- Airflow: alerts -------------------------------------------------------------------------


def _dag(dag_id: str):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors
    return bag.get_dag(dag_id)


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with smtp_server() as smtp, webhook_server() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_KDS_SMTP", smtp_connection(smtp.port))
        monkeypatch.setenv("AIRFLOW_CONN_KDS_WEBHOOK", webhook_connection(hook.port))
        yield smtp, hook


@pytest.mark.slow
def test_a_blocked_ingest_pages_once_and_a_good_one_never(kds_home: Path, airflow_db: Path, channels) -> None:  # type: ignore[no-untyped-def]
    smtp, hook = channels
    rows = march_rows()
    for r in rows:
        r.cells[7] = "Xã Không Có"
    write_xlsx(landing(kds_home) / MARCH, rows)

    run = _dag("ingest_enterprises").test(logical_date=None)

    assert str(run.state) == "failed"
    assert len(hook.messages) == 1 and len(smtp.messages) == 1
    body = hook.messages[0]["json"]
    assert (body["kind"], body["dataset"], body["period"]) == ("blocked", "enterprises", "2025-03-31")
    assert "place_unresolved" in body["reason"] and "nothing published" in body["reason"]
    assert "/dags/ingest_enterprises/runs/" in body["where"] and "docs/runs/" in body["where"]
    assert smtp.messages[0]["message"]["Subject"] == "[KDS] enterprises 2025-03-31: blocked (bị chặn)"

    (landing(kds_home) / MARCH).unlink()
    write_xlsx(landing(kds_home) / MARCH, march_rows())  # quarantined rows: no page
    run = _dag("ingest_enterprises").test(logical_date=None)
    assert str(run.state) == "success"
    assert len(hook.messages) == 1 and len(smtp.messages) == 1


@pytest.mark.slow
def test_watch_deliveries_pages_once_per_missing_period(kds_home: Path, airflow_db: Path, channels) -> None:  # type: ignore[no-untyped-def]
    smtp, hook = channels
    delivered_in_2025(kds_home)

    run = _dag("watch_deliveries").test(logical_date=None, run_conf={"as_of": "2025-04-05"})
    assert str(run.state) == "success"
    [body] = [m["json"] for m in hook.messages]
    assert (body["kind"], body["dataset"], body["period"]) == ("missing", "enterprises", "2025-04-02")
    assert "2 period(s)" in body["reason"] and "Sở Tài chính" in body["reason"]  # 1 and 2 April
    assert body["where"].startswith((kds_home / "docs" / "index.html").as_uri())
    assert len(smtp.messages) == 1

    # The same check again: nothing new is overdue, nothing is sent.
    _dag("watch_deliveries").test(logical_date=None, run_conf={"as_of": "2025-04-05"})
    assert len(hook.messages) == 1
    # A day later, one more day is overdue: one more message, about that day only.
    _dag("watch_deliveries").test(logical_date=None, run_conf={"as_of": "2025-04-06"})
    assert len(hook.messages) == 2 and hook.messages[1]["json"]["period"] == "2025-04-03"
    assert "1 period(s)" in hook.messages[1]["json"]["reason"]
    with connect(load_settings().warehouse_url) as wh:
        assert wh.query("SELECT count(*) FROM audit.alert WHERE dataset = 'enterprises'") == [(3,)]
    assert "Data delivery scoreboard as of 2025-04-06" in (kds_home / "docs" / "index.html").read_text(encoding="utf-8")
