"""End to end on hand-written relic registers: every row's fate, the decision date against the
snapshot date, the rank against the deciding authority, SCD2 across the 2025 reorganisation."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.publish import partition_dir, verify_partition
from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.specs import get_spec
from pipelines.warehouse import connect
from tests.fixtures.relic_files import (
    FIRST_DATA_ROW_XLSX,
    HEADER_2025,
    march_rows,
    september_rows,
    write_xlsx,
)

pytestmark = pytest.mark.integration

SPEC = get_spec("cultural_relics")
MARCH, SEPTEMBER = date(2025, 3, 31), date(2025, 9, 30)


def landing(home: Path) -> Path:
    folder = home / "landing" / "cultural_relics"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with connect(load_settings().warehouse_url) as wh:
        return wh.query(sql, params)


def core_state() -> list[tuple[object, ...]]:
    return query(
        """SELECT name_folded, commune_code_2025, rank, relic_type, decision_no, decision_date, decided_by_rank,
                  is_rank_consistent_with_authority, valid_from, valid_to, is_current
           FROM core.cultural_relic ORDER BY name_folded, valid_from"""
    )


def test_march_snapshot_every_row_has_its_fate(kds_home: Path) -> None:
    rows = march_rows()
    write_xlsx(landing(kds_home) / "di_tich_20250331.xlsx", rows)

    [result] = run_dataset("cultural_relics")

    fates = Counter(r.fate.split(":")[0] for r in rows)
    assert result.status == "loaded", result.message
    assert result.period == MARCH and result.rows_in == len(rows)
    assert (result.rows_loaded, result.rows_quarantined, result.rows_duplicate) == (
        fates["loaded"], fates["quarantine"], fates["duplicate"])  # fmt: skip
    assert result.rows_in == result.rows_loaded + result.rows_quarantined + result.rows_duplicate

    numbers = dict(query("SELECT name_folded, _source_row_number FROM core.cultural_relic"))  # type: ignore[arg-type]
    expected_numbers = {r.name.casefold(): FIRST_DATA_ROW_XLSX + i for i, r in enumerate(rows) if r.fate == "loaded"}
    expected_numbers["chùa thập tháp"] = expected_numbers.pop(next(k for k in expected_numbers if "chïa" in k))
    assert numbers == expected_numbers  # the TCVN3 name is repaired before it becomes part of the key

    state = {s[0]: s for s in core_state()}
    banh_it = state["tháp bánh ít"]
    assert banh_it[1:8] == (
        "21964",
        "Quốc gia",
        "Kiến trúc nghệ thuật",
        "54-VH/QĐ",
        date(1982, 1, 12),
        "Quốc gia",
        True,
    )
    phu_my = state["đình phú mỹ"]  # aliases "Di tích lịch sử", "Di tích cấp tỉnh", a date written in words
    assert phu_my[2:8] == ("Cấp tỉnh", "Lịch sử", "1234/QĐ-UBND", date(2015, 3, 5), "Cấp tỉnh", True)
    assert state["cụm di tích tây sơn tam kiệt"][6:8] == ("Quốc gia đặc biệt", True)
    go_thanh = state["gò thành"]  # national rank decided by the provincial committee: flagged, kept
    assert go_thanh[2] == "Quốc gia" and go_thanh[6:8] == ("Cấp tỉnh", False)
    assert all(s[8] == MARCH and s[9] is None and s[10] for s in state.values())
    area = query("SELECT protected_area_m2 FROM core.cultural_relic WHERE name_folded = 'tháp bánh ít'")
    assert area == [(12500.5,)]

    checks = {
        c[0]: c[1:] for c in query("SELECT reason_code, severity, success, unexpected_count FROM audit.check_result")
    }
    assert checks["decision_after_snapshot"] == ("quarantine", False, 1)
    assert checks["rank_authority_mismatch"] == ("warn", False, 1)

    quarantined = query("SELECT _source_row_number, reason_code FROM restricted.quarantine ORDER BY 1")
    expected = {
        FIRST_DATA_ROW_XLSX + i: r.fate.split(":")[1] for i, r in enumerate(rows) if r.fate.startswith("quarantine")
    }
    assert dict(quarantined) == expected  # type: ignore[arg-type]

    folder = partition_dir(kds_home / "lake", SPEC, MARCH)
    verify_partition(folder)
    assert sum(pq.read_table(p).num_rows for p in folder.glob("part-*.parquet")) == result.rows_loaded


def test_decision_date_is_compared_with_the_snapshot_not_the_clock(kds_home: Path) -> None:
    """The same relic with a decision of 2025-04-01: after the March snapshot, fine in September's."""
    folder = landing(kds_home)
    future = [r for r in march_rows() if r.fate == "quarantine:decision_after_snapshot"]
    write_xlsx(folder / "di_tich_20250331.xlsx", future, period_text="31/03/2025")
    write_xlsx(folder / "di_tich_20250930.xlsx", future, period_text="30/09/2025")
    march, september = run_dataset("cultural_relics")
    assert (march.rows_loaded, march.rows_quarantined) == (0, 1)
    assert (september.rows_loaded, september.rows_quarantined) == (1, 0)


def test_scd2_across_the_reorganisation_in_order_and_out_of_order(kds_home: Path) -> None:
    folder = landing(kds_home)
    write_xlsx(folder / "di_tich_20250331.xlsx", march_rows())
    write_xlsx(folder / "di_tich_20250930.xlsx", september_rows(), header=HEADER_2025)
    results = run_dataset("cultural_relics")
    assert [r.status for r in results] == ["loaded", "loaded"], [r.message for r in results]
    in_order = core_state()
    versions = Counter(str(s[0]) for s in in_order)
    # Same relic, written in capitals under its new commune: one version (name corrected in place).
    assert versions["tháp bánh ít"] == 1
    assert query("SELECT name FROM core.cultural_relic WHERE name_folded = 'tháp bánh ít'") == [("THÁP BÁNH ÍT",)]
    # Raised to national rank: a new version from the September snapshot.
    phu_my = [s for s in in_order if s[0] == "đình phú mỹ"]
    assert [(s[2], s[8], s[9], s[10]) for s in phu_my] == [
        ("Cấp tỉnh", MARCH, SEPTEMBER, False), ("Quốc gia", SEPTEMBER, None, True)]  # fmt: skip
    # Gone from the register: closed. Newly ranked: opened.
    go_thanh = [s for s in in_order if s[0] == "gò thành"]
    assert [(s[9], s[10]) for s in go_thanh] == [(SEPTEMBER, False)]
    assert [(s[8], s[10]) for s in in_order if s[0] == "đền thờ đào duy từ"] == [(SEPTEMBER, True)]
    assert query("SELECT name_folded FROM core.cultural_relic WHERE is_current GROUP BY 1 HAVING count(*) > 1") == []

    # A re-run changes nothing; a late-arriving March snapshot gives the same history.
    assert [r.status for r in run_dataset("cultural_relics")] == ["skipped_duplicate_file"] * 2
    assert core_state() == in_order
    shutil.rmtree(kds_home / "lake")
    from tests.conftest import reset_warehouse

    reset_warehouse()
    (folder / "di_tich_20250331.xlsx").rename(kds_home / "march.xlsx")
    assert [r.status for r in run_dataset("cultural_relics")] == ["loaded"]
    (kds_home / "march.xlsx").rename(folder / "di_tich_20250331.xlsx")
    assert [r.status for r in run_dataset("cultural_relics")] == ["loaded", "skipped_duplicate_file"]
    assert core_state() == in_order


def test_an_unplaceable_file_publishes_nothing(kds_home: Path) -> None:
    rows = march_rows()
    for r in rows:
        r.cells[7] = "Xã Không Có"
    write_xlsx(landing(kds_home) / "di_tich_20250331.xlsx", rows)
    [result] = run_dataset("cultural_relics")
    assert result.status == "blocked" and "place_unresolved" in result.message
    assert query("SELECT count(*) FROM core.cultural_relic") == [(0,)]


def test_generated_snapshots_end_as_their_ground_truth_says(kds_home: Path) -> None:
    """Three snapshots of one generated history: every fate exact; SCD2 keeps one current version per relic."""
    from pipelines.generate import generate
    from pipelines.generate.cultural_relics import QUARANTINING_DEFECTS
    from tests.fixtures.generated import expected_fates

    stats = []
    for day in (None, "2025-09-30", "2026-06-30"):
        stats += generate("cultural_relics", landing(kds_home), seed=5, period=day).stats  # type: ignore[attr-defined]
    results = run_dataset("cultural_relics")
    assert [r.status for r in results] == ["loaded"] * 3, [r.message for r in results]
    for result, s in zip(results, stats, strict=True):
        expected = expected_fates(s, QUARANTINING_DEFECTS)
        assert (result.rows_loaded, result.rows_quarantined, result.rows_duplicate) == (
            expected["loaded"], expected["quarantined"], expected["duplicate"])  # fmt: skip
    assert query("SELECT count(*) FROM core.cultural_relic WHERE is_current") == [(results[-1].rows_loaded,)]
    assert (
        query(
            "SELECT name_folded FROM core.cultural_relic WHERE is_current GROUP BY commune_code_2025, 1 HAVING count(*) > 1"
        )
        == []
    )
