"""End to end on hand-written monthly tourism reports: every row's fate, areas at two levels, the
period written inside the file, a period replaced by a corrected report."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from pipelines.cli import main as kds
from pipelines.publish import partition_dir, verify_partition
from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.specs import get_spec
from pipelines.warehouse import connect
from tests.fixtures.tourism_monthly_files import (
    FIRST_DATA_ROW_XLSX,
    august_2025_rows,
    december_rows,
    write_csv,
    write_xlsx,
)

pytestmark = pytest.mark.integration

SPEC = get_spec("tourism_monthly")


def landing(home: Path) -> Path:
    folder = home / "landing" / "tourism_monthly"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with connect(load_settings().warehouse_url) as wh:
        return wh.query(sql, params)


def test_december_report_every_row_has_its_fate(kds_home: Path) -> None:
    rows = december_rows()
    # Delivered in January under January's name; the title says December, and wins.
    write_xlsx(landing(kds_home) / "bao_cao_du_lich_202501.xlsx", rows, period_text="Tháng 12 năm 2024")

    [result] = run_dataset("tourism_monthly")

    fates = Counter(r.fate.split(":")[0] for r in rows)
    assert result.status == "loaded", result.message
    assert result.period == date(2024, 12, 1)
    assert "from the file's title wins" in result.message
    assert (result.rows_in, result.rows_loaded, result.rows_duplicate, result.rows_quarantined) == (
        len(rows), fates["loaded"], fates["duplicate"], fates["quarantine"])  # fmt: skip

    loaded = query(
        """SELECT area_name, area_level, area_code, district_code_pre2025, commune_code_pre2025, commune_code_2025,
                  period, _source_row_number FROM core.tourism_monthly ORDER BY _source_row_number"""
    )
    expected = [(FIRST_DATA_ROW_XLSX + i, r.area) for i, r in enumerate(rows) if r.fate == "loaded"]
    assert [(x[7], (x[1], x[2])) for x in loaded] == expected
    for x in loaded:  # a district row: its district code, no commune code (marts add it up by district)
        assert x[3] == x[2] and x[4] is None and x[5] is None and x[6] == date(2024, 12, 1)

    quarantined = dict(query("SELECT _source_row_number, reason_code FROM restricted.quarantine"))
    assert quarantined == {
        FIRST_DATA_ROW_XLSX + i: r.fate.split(":")[1] for i, r in enumerate(rows) if r.fate.startswith("quarantine")
    }

    # Figures parsed from Vietnamese formats; the checked gaps are stored.
    quy_nhon = query(
        """SELECT visitors_total, visitors_international, visitors_domestic, occupancy_pct,
                  revenue_total_million_vnd, visitors_total_gap, revenue_total_gap_million_vnd
           FROM core.tourism_monthly WHERE area_code = '540'"""
    )
    assert quy_nhon == [(512_340, 41_200, 471_140, 68.5, 1_338_870.7, 0, 0.0)]
    vinh_thanh = query("SELECT revenue_total_gap_million_vnd FROM core.tourism_monthly WHERE area_code = '546'")
    assert vinh_thanh[0][0] == pytest.approx(0.3)

    checks = {c[0]: c[1:] for c in query("SELECT reason_code, success, unexpected_count FROM audit.check_result")}
    assert checks["visitors_total_mismatch"] == (False, 1)
    assert checks["place_unresolved"][0] is True

    verify_partition(partition_dir(kds_home / "lake", SPEC, date(2024, 12, 1)))


def test_commune_report_after_the_reorganisation(kds_home: Path) -> None:
    rows = august_2025_rows()
    write_csv(landing(kds_home) / "bao_cao_du_lich_202508.csv", rows)
    [result] = run_dataset("tourism_monthly")
    assert result.status == "loaded" and result.rows_loaded == len(rows), result.message
    got = dict(query("SELECT area_name, area_level || ':' || area_code FROM core.tourism_monthly"))
    assert got == {r.area_name: f"{r.area[0]}:{r.area[1]}" for r in rows if r.area}
    # The old district row has no commune; the commune rows have their 2025 code.
    assert query("SELECT commune_code_2025 FROM core.tourism_monthly WHERE area_level = 'district_pre2025'") == [
        (None,)
    ]


def test_the_period_column_wins_over_the_file_name(kds_home: Path) -> None:
    """Without a title, a file named for January whose rows all say December is loaded into
    December (SOURCES.md: the period inside the file wins), and the message says so."""
    rows = [r for r in december_rows() if r.fate == "loaded"]
    write_csv(landing(kds_home) / "bao_cao_du_lich_202501.csv", rows)
    [result] = run_dataset("tourism_monthly")
    assert result.status == "loaded", result.message
    assert result.rows_loaded == len(rows)
    assert "column period wins over 2025-01-01" in result.message
    assert query("SELECT DISTINCT period FROM core.tourism_monthly") == [(date(2024, 12, 1),)]
    assert partition_dir(kds_home / "lake", SPEC, date(2024, 12, 1)).exists()
    assert not partition_dir(kds_home / "lake", SPEC, date(2025, 1, 1)).exists()


def test_corrected_report_replaces_the_month(kds_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = landing(kds_home)
    write_xlsx(folder / "bao_cao_du_lich_202412.xlsx", december_rows(), period_text="12/2024")
    assert kds(["run", "tourism_monthly"]) == 0
    first = query("SELECT count(*) FROM core.tourism_monthly")[0][0]
    fixed = [r for r in december_rows() if r.fate == "loaded"]
    (folder / "bao_cao_du_lich_202412.xlsx").unlink()
    write_csv(folder / "bao_cao_du_lich_202412.csv", fixed)
    capsys.readouterr()
    assert kds(["run", "tourism_monthly", "--json"]) == 0
    [out] = json.loads(capsys.readouterr().out)
    assert out["status"] == "loaded" and out["rows_loaded"] == len(fixed) == first
    assert query("SELECT count(*) FROM core.tourism_monthly") == [(len(fixed),)]
    assert query("SELECT count(*) FROM restricted.quarantine WHERE dataset = 'tourism_monthly'") == [(0,)]
