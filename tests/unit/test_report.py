"""The report's charts and pages: inline SVG, escaped labels, no network resources, empty states,
and the overview and run report rendered from a hand-made audit in a throw-away DuckDB."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipelines import report
from pipelines.load import ensure_warehouse, record_file, record_run
from pipelines.settings import load_settings
from pipelines.warehouse import connect

pytestmark = pytest.mark.unit


def test_stacked_bars_escape_labels_and_show_values() -> None:
    svg = report.stacked_bars(
        [("<script>alert(1)</script>", {"loaded": 1200.0, "quarantined": 300.0})], ("loaded", "quarantined")
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") == 2 and "1.200" in svg and "1.500" in svg  # Vietnamese thousands separator
    assert "(80.0%)" in svg and "Đã nạp / Loaded" in svg


def test_charts_without_data_say_so() -> None:
    assert "Chưa có dữ liệu" in report.stacked_bars([], ("loaded",))
    assert "Nothing quarantined" in report.bar_table([])
    assert "No scored period yet" in report.line_chart({})
    assert report.sparkline([]) == ""


def test_line_chart_one_point_and_many() -> None:
    one = report.line_chart({"enterprises": [(date(2025, 3, 31), 90.0)]})
    assert one.count("<circle") == 1 and "<polyline" not in one
    many = report.line_chart(
        {"a": [(date(2025, 1, 1), 100.0), (date(2025, 2, 1), 50.0)], "b": [(date(2025, 1, 1), 0.0)]}
    )
    assert many.count("<circle") == 3 and many.count("<polyline") == 1


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KDS_HOME", str(tmp_path / "kds"))
    monkeypatch.setenv("KDS_PSEUDONYM_KEY", "test-pseudonym-key-0123456789abcdef0123456789abcdef")
    monkeypatch.delenv("KDS_WAREHOUSE_URL", raising=False)
    return tmp_path / "kds"


def test_pages_are_self_contained_and_hold_no_ids(home: Path) -> None:
    settings = load_settings()
    at = datetime(2025, 4, 1, 1, 0, tzinfo=UTC)
    with connect(settings.warehouse_url) as wh:
        ensure_warehouse(wh, [])
        record_run(wh, {"run_id": "r1", "dataset": "enterprises", "trigger": "cli", "try_number": 1, "status": "failed",
                        "files": 1, "rows_in": 0, "rows_loaded": 0, "rows_quarantined": 0, "rows_duplicate": 0,
                        "message": "x.csv: row 9: '052090001234' is not a date", "started_at": at, "finished_at": at})  # fmt: skip
        with wh.transaction():
            record_file(wh, {"run_id": "r1", "dataset": "enterprises", "file_name": "doanh_nghiep_20250331.csv",
                             "sha256": "ab" * 32, "period": date(2025, 3, 31), "scope": "all", "status": "rejected",
                             "rows_in": 0, "rows_loaded": 0, "rows_quarantined": 0, "rows_duplicate": 0,
                             "message": "row 9: '052090001234' is not a date", "finished_at": at})  # fmt: skip
        run_page = report.write_run_report(wh, settings, "r1")
        overview = report.write_overview(wh, settings, date(2025, 4, 10))
    assert run_page == home / "docs" / "runs" / "r1.html" and overview == home / "docs" / "index.html"
    for page in (run_page, overview):
        html = page.read_text(encoding="utf-8")
        assert "052090001234" not in html  # a rejection message quoting an ID is masked
        assert "<script" not in html
        assert not re.search(r"""(src|href)=["']https?://""", html)  # nothing fetched from the network
        assert "<svg" in html or page == run_page
        assert 'lang="vi"' in html
    html = overview.read_text(encoding="utf-8")
    assert "Bảng theo dõi giao nộp dữ liệu" in html and "Data delivery scoreboard as of 2025-04-10" in html
    assert 'href="runs/r1.html"' in html  # the last runs link to their reports
    run_html = run_page.read_text(encoding="utf-8")
    assert "Bị từ chối / Rejected" in run_html and "Tệp không đọc được" in run_html  # what to do about it
