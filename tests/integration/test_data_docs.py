"""Check results as data (audit.check_result) and GX Data Docs built from them after each run,
with no personal identifier anywhere under docs/."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipelines.quality import page_path
from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.validate import load_checks
from pipelines.warehouse import connect
from tests.fixtures.enterprise_files import CANARY_ID, T, april_rows, march_rows, write_csv, write_xlsx

pytestmark = pytest.mark.integration

CHECKS = load_checks(Path(__file__).resolve().parents[2] / "expectations" / "enterprises.json")


def landing(home: Path) -> Path:
    folder = home / "landing" / "enterprises"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with connect(load_settings().warehouse_url) as wh:
        return wh.query(sql, params)


def test_one_check_row_per_expectation_per_file_per_run(kds_home: Path) -> None:
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", march_rows())
    write_csv(landing(kds_home) / "doanh_nghiep_20250430.csv", april_rows())
    results = run_dataset("enterprises")
    rows = query(
        """SELECT run_id, sha256, expectation_index, expectation_type, column_name, severity, reason_code, success,
                  element_count, unexpected_count, unexpected_percent, kwargs, missing_count, exception_message
           FROM audit.check_result ORDER BY sha256, expectation_index"""
    )
    assert len(rows) == len(CHECKS) * len(results)
    assert len({r[0] for r in rows}) == 1
    for result in results:
        mine = [r for r in rows if r[1] == result.sha256]
        assert [r[2] for r in mine] == list(range(len(CHECKS)))
        for r, check in zip(mine, CHECKS, strict=True):
            assert (r[3], r[4], r[5], r[6]) == (check.type, check.column, check.severity, check.reason_code)
            assert json.loads(str(r[11])) == check.kwargs  # the arguments as they were at run time
            assert r[13] is None
            assert r[8] == result.rows_in  # every row read is checked (duplicates are settled after)
    march = next(r for r in results if r.file.endswith(".xlsx"))
    unknown_status = next(r for r in rows if r[1] == march.sha256 and r[6] == "unknown_status")
    assert (unknown_status[7], unknown_status[9]) == (False, 1)
    assert unknown_status[10] == pytest.approx(100 / unknown_status[8], abs=1e-3)
    # A null tax code (a bad check digit is nulled by the conformer) is counted once as missing by
    # the regex check, which skips nulls, and once as failing by the not-null check.
    regex = next(r for r in rows if r[1] == march.sha256 and r[6] == "invalid_tax_code")
    assert regex[12] == 1 and regex[9] == 0


def test_data_docs_page_per_file_after_the_run(kds_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", march_rows())
    with caplog.at_level(logging.INFO, logger="pipelines"):
        [result] = run_dataset("enterprises", run_id="enterprises-docs-test")
    site = kds_home / "docs" / "gx"
    index = (site / "index.html").read_text(encoding="utf-8")
    [(run_id, finished_at)] = query("SELECT run_id, finished_at FROM audit.file")
    page = page_path(load_settings(), {"dataset": "enterprises", "run_id": run_id, "period": result.period,
                                       "sha256": result.sha256, "finished_at": finished_at})  # fmt: skip
    assert page.exists(), sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert page.relative_to(site).as_posix() in index  # the index links to it
    html = page.read_text(encoding="utf-8")
    for check in CHECKS:
        assert check.column in html
    assert "Failed" in html  # two quarantine checks failed in this file
    assert (site / "expectations" / "enterprises.html").exists()
    assert f"Data Docs for doanh_nghiep_20250331.xlsx: {page.as_uri()}" in caplog.text  # reachable from the run's log
    assert "Run report: " in caplog.text and "Overview: " in caplog.text

    # Nothing new in the next run: the site is left as it is.
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*.html")}
    [again] = run_dataset("enterprises")
    assert again.status == "skipped_duplicate_file"
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*.html")} == before


def test_blocked_file_has_its_failing_page(kds_home: Path) -> None:
    rows = march_rows()
    for r in rows:
        r.cells[7] = "Xã Không Có"
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", rows)
    [result] = run_dataset("enterprises")
    assert result.status == "blocked"
    [(run_id, finished_at)] = query("SELECT run_id, finished_at FROM audit.file")
    page = page_path(load_settings(), {"dataset": "enterprises", "run_id": run_id, "period": result.period,
                                       "sha256": result.sha256, "finished_at": finished_at})  # fmt: skip
    html = page.read_text(encoding="utf-8")
    assert "place_status" in html and "Failed" in html


def test_no_identifier_reaches_the_docs(kds_home: Path) -> None:
    rows = march_rows()
    # The canary CCCD in the ID column (pseudonymised) and also typed into a column GX checks and
    # fails (status): GX saw it among the unexpected values; the docs must still not hold it.
    rows[8].cells[12] = CANARY_ID
    rows[8].cells[13] = f"Ngô Thị Kim {CANARY_ID}"
    assert rows[10].cells[14] == CANARY_ID and rows[10].tax_code == T[8]
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", rows)
    [result] = run_dataset("enterprises")
    assert result.status == "loaded" and result.rows_quarantined >= 1
    quarantined = query("SELECT record FROM restricted.quarantine WHERE reason_code = 'unknown_status'")
    assert CANARY_ID in str(quarantined)  # it is in the restricted zone, as it should be ...
    docs = [p for p in (kds_home / "docs").rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in docs) and (kds_home / "docs" / "index.html").exists()
    for path in docs:  # ... and nowhere under docs/: Data Docs, run report, overview
        data = path.read_bytes()
        assert CANARY_ID.encode() not in data, path
        assert "Ngô Thị Kim".encode() not in data, path
        assert "Lê Minh Châu".encode() not in data, path


def test_every_page_of_a_run_renders_even_beyond_the_index_limit(
    kds_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.quality

    monkeypatch.setattr(pipelines.quality, "RESULTS_LIMIT", 1)  # a backfill with more files than the index lists
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", march_rows())
    write_csv(landing(kds_home) / "doanh_nghiep_20250430.csv", april_rows())
    results = run_dataset("enterprises")
    files = query("SELECT run_id, period, sha256, finished_at FROM audit.file")
    pages = [
        page_path(load_settings(), {"dataset": "enterprises", "run_id": r, "period": p, "sha256": s, "finished_at": f})
        for r, p, s, f in files
    ]
    assert len(pages) == len(results) == 2 and all(p.exists() for p in pages)
    index = (kds_home / "docs" / "gx" / "index.html").read_text(encoding="utf-8")
    assert sum(p.name in index for p in pages) == 1
