"""End to end on hand-written enterprise exports: every row's fate, lineage, SCD2, idempotence."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.cli import main as kds
from pipelines.publish import partition_dir, verify_partition
from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.specs import get_spec
from pipelines.warehouse import connect
from tests.conftest import reset_warehouse
from tests.fixtures.enterprise_files import (
    CANARY_ID,
    FIRST_DATA_ROW_XLSX,
    HEADER,
    T,
    april_rows,
    march_rows,
    write_csv,
    write_xlsx,
)

pytestmark = pytest.mark.integration

SPEC = get_spec("enterprises")


def landing(home: Path) -> Path:
    folder = home / "landing" / "enterprises"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with connect(load_settings().warehouse_url) as wh:
        return wh.query(sql, params)


def core_state() -> list[tuple[object, ...]]:
    """The core table without run ids (which name the run, not the data)."""
    return query(
        """SELECT tax_code, status, charter_capital_vnd, employees, commune_code_pre2025, commune_code_2025,
                  valid_from, valid_to, is_current, _source_row_number
           FROM core.enterprise ORDER BY tax_code, valid_from"""
    )


def test_march_snapshot_every_row_has_its_fate(kds_home: Path) -> None:
    rows = march_rows()
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", rows, period_text="31/03/2025")

    [result] = run_dataset("enterprises")

    fates = Counter(r.fate.split(":")[0] for r in rows)
    assert result.status == "loaded", result.message
    assert result.rows_in == len(rows)
    assert result.rows_loaded == fates["loaded"]
    assert result.rows_duplicate == fates["duplicate"]
    assert result.rows_quarantined == fates["quarantine"]
    assert result.rows_in == result.rows_loaded + result.rows_quarantined + result.rows_duplicate

    loaded = {r.tax_code for r in rows if r.fate == "loaded"}
    state = core_state()
    assert {s[0] for s in state} == loaded
    assert all(s[8] for s in state) and all(s[6] == date(2025, 3, 31) for s in state)

    # Places resolved in both code systems, whatever the style (abbreviations, TCVN3 text).
    geo = {
        r[0]: r[1:]
        for r in query(
            "SELECT tax_code, commune_code_pre2025, district_code_pre2025, commune_code_2025 FROM core.enterprise"
        )
    }
    assert geo[T[0]] == ("21550", "540", "21601")  # P. Nhơn Bình, TP. Quy Nhơn → Phường Quy Nhơn Đông
    assert geo[T[1]][:2] == ("21952", "550")  # Thị trấn Tuy Phước typed in TCVN3
    assert geo[T[4]][:2] == ("21853", "548")  # Thị trấn Ngô Mây (Phù Cát), not Phường Ngô Mây

    # Lineage: the row number the department sees in Excel.
    numbers = {r[0]: r[1] for r in query("SELECT tax_code, _source_row_number FROM core.enterprise")}
    for i, row in enumerate(rows):
        if row.fate == "loaded":
            assert numbers[row.tax_code] == FIRST_DATA_ROW_XLSX + i

    # Values parsed from Vietnamese formats.
    t4 = query(
        "SELECT legal_form, registered_date, charter_capital_vnd, main_vsic, main_vsic_section FROM core.enterprise WHERE tax_code = ?",
        (T[4],),
    )
    assert t4 == [("Công ty cổ phần", date(2019, 3, 5), 2_000_000_000, "0111", "A")]

    # Quarantine: reason codes and Excel row numbers.
    quarantined = query(
        "SELECT _source_row_number, reason_code, reason_codes, record FROM restricted.quarantine ORDER BY 1"
    )
    expected = {
        FIRST_DATA_ROW_XLSX + i: r.fate.split(":")[1] for i, r in enumerate(rows) if r.fate.startswith("quarantine")
    }
    assert {q[0]: q[1] for q in quarantined} == expected
    assert all(json.loads(str(q[3]))["tax_code"] for q in quarantined)

    # Audit per file and run, with check results from GX.
    audit = query("SELECT status, rows_in, rows_loaded, rows_quarantined, rows_duplicate FROM audit.file")
    assert audit == [("loaded", result.rows_in, result.rows_loaded, result.rows_quarantined, result.rows_duplicate)]
    [(seconds,)] = query("SELECT seconds FROM audit.file")
    assert seconds and seconds > 0  # measured before the audit row is written with the load
    checks = query("SELECT reason_code, severity, success, unexpected_count FROM audit.check_result")
    by_reason = {c[0]: c for c in checks}
    assert by_reason["unknown_status"][2:] == (False, 1)
    assert by_reason["place_unresolved"][2] is True

    # The lake partition is published with its manifest and agrees with the warehouse.
    folder = partition_dir(kds_home / "lake", SPEC, date(2025, 3, 31))
    verify_partition(folder)
    lake_rows = sum(pq.read_table(p).num_rows for p in folder.glob("part-*.parquet"))
    assert lake_rows == result.rows_loaded
    assert not list(folder.glob(".*tmp*"))


def test_identifiers_never_leave_the_restricted_zone(kds_home: Path) -> None:
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", march_rows())
    [result] = run_dataset("enterprises")
    assert result.status == "loaded"
    for path in (kds_home / "lake").rglob("*"):
        if path.is_file():
            assert CANARY_ID.encode() not in path.read_bytes(), path
    canary_rows = query("SELECT representative_id_key FROM core.enterprise WHERE tax_code = ?", (T[8],))
    assert canary_rows and len(str(canary_rows[0][0])) == 64 and CANARY_ID not in str(canary_rows[0][0])
    for schema, table in query(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('core', 'mart', 'audit', 'ref')"
    ):
        for row in query(f'SELECT * FROM "{schema}"."{table}"'):
            assert CANARY_ID not in " ".join(map(str, row)), f"{schema}.{table}"
            assert "Ngô Thị Kim" not in " ".join(map(str, row)), f"{schema}.{table}"


def test_rerun_and_redelivery_change_nothing(kds_home: Path) -> None:
    path = write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", march_rows())
    [first] = run_dataset("enterprises")
    before = core_state()
    quarantine_before = query("SELECT count(*) FROM restricted.quarantine")

    [again] = run_dataset("enterprises")
    assert again.status == "skipped_duplicate_file" and again.rows_in == 0

    shutil.copy(path, landing(kds_home) / "doanh_nghiep_20250331_copy.xlsx")  # same bytes, new name
    results = run_dataset("enterprises")
    assert [r.status for r in results] == ["skipped_duplicate_file", "skipped_duplicate_file"]
    (landing(kds_home) / "doanh_nghiep_20250331_copy.xlsx").unlink()

    [forced] = run_dataset("enterprises", force=True)
    assert forced.status == "loaded"
    assert (forced.rows_loaded, forced.rows_quarantined) == (first.rows_loaded, first.rows_quarantined)
    assert core_state() == before
    assert query("SELECT count(*) FROM restricted.quarantine") == quarantine_before


def test_corrected_file_replaces_the_period_and_audit_shows_the_chain(kds_home: Path) -> None:
    folder = landing(kds_home)
    write_xlsx(folder / "doanh_nghiep_20250331.xlsx", march_rows())
    [first] = run_dataset("enterprises")
    fixed = [r for r in march_rows() if not r.fate.startswith("quarantine")]
    (folder / "doanh_nghiep_20250331.xlsx").unlink()
    write_csv(folder / "doanh_nghiep_20250331.csv", fixed)
    [second] = run_dataset("enterprises")
    assert second.status == "loaded" and second.rows_quarantined == 0
    assert query("SELECT count(*) FROM restricted.quarantine") == [(0,)]
    chain = query("SELECT sha256, replaces_sha256 FROM audit.file WHERE status = 'loaded' ORDER BY finished_at")
    assert chain[1] == (second.sha256, first.sha256)


def test_scd2_versions_in_order_and_out_of_order_agree(kds_home: Path) -> None:
    folder = landing(kds_home)
    write_xlsx(folder / "doanh_nghiep_20250331.xlsx", march_rows())
    write_csv(folder / "doanh_nghiep_20250430.csv", april_rows())
    results = run_dataset("enterprises")
    assert [r.status for r in results] == ["loaded", "loaded"], [r.message for r in results]
    in_order = core_state()
    versions = Counter(str(s[0]) for s in in_order)
    assert versions[T[0]] == 2  # status changed
    assert versions[T[4]] == 2  # capital changed
    assert versions[T[1]] == 1  # unchanged
    t7 = [s for s in in_order if s[0] == T[7]]
    assert t7 == [t7[0]] and t7[0][7] == date(2025, 4, 30) and t7[0][8] is False  # gone from the snapshot: closed
    t8 = [s for s in in_order if s[0] == T[8]]
    assert len(t8) == 1 and t8[0][3] == 9  # untracked attribute corrected in place
    assert query("SELECT count(*) FROM core.enterprise WHERE is_current AND tax_code = ?", (T[10],)) == [(1,)]
    keys = query("SELECT tax_code, count(*) FROM core.enterprise WHERE is_current GROUP BY 1 HAVING count(*) > 1")
    assert keys == []  # exactly once

    # A late-arriving earlier snapshot gives the same history as in order.
    shutil.rmtree(kds_home / "lake")
    reset_warehouse()
    (folder / "doanh_nghiep_20250331.xlsx").rename(kds_home / "march.xlsx")
    assert [r.status for r in run_dataset("enterprises")] == ["loaded"]
    (kds_home / "march.xlsx").rename(folder / "doanh_nghiep_20250331.xlsx")
    assert [r.status for r in run_dataset("enterprises")] == ["loaded", "skipped_duplicate_file"]
    assert core_state() == in_order


def test_blocked_file_publishes_nothing(kds_home: Path) -> None:
    rows = march_rows()
    for r in rows:
        r.cells[7] = "Xã Không Có"
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", rows)
    [result] = run_dataset("enterprises")
    assert result.status == "blocked"
    assert "place_unresolved" in result.message and "nothing published" in result.message
    assert not partition_dir(kds_home / "lake", SPEC, date(2025, 3, 31)).exists()
    assert query("SELECT count(*) FROM core.enterprise") == [(0,)]
    assert query("SELECT status FROM audit.file") == [("blocked",)]


def test_missing_required_column_rejects_the_file_in_one_line(kds_home: Path) -> None:
    header = [h if h != "Mã số doanh nghiệp" else "Mã số gì đó" for h in HEADER]
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", march_rows(), header=header)
    [result] = run_dataset("enterprises")
    assert result.status == "rejected"
    assert "doanh_nghiep_20250331.xlsx" in result.message and "Mã số doanh nghiệp" in result.message
    assert "\n" not in result.message
    assert query("SELECT status FROM audit.file") == [("rejected",)]


def test_cli_json_summary_and_exit_code(kds_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_xlsx(landing(kds_home) / "doanh_nghiep_20250331.xlsx", march_rows())
    (landing(kds_home) / "notes.txt").write_text("not a delivery", encoding="utf-8")
    code = kds(["run", "enterprises", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # the stray file is reported as rejected, so the run is not all green
    by_file = {o["file"]: o for o in out}
    assert by_file["notes.txt"]["status"] == "rejected"
    loaded = by_file["doanh_nghiep_20250331.xlsx"]
    assert set(loaded) == {"dataset", "file", "sha256", "status", "rows_in", "rows_loaded", "rows_quarantined",
                           "rows_duplicate", "message"}  # fmt: skip
    for o in out:
        assert o["rows_in"] == o["rows_loaded"] + o["rows_quarantined"] + o["rows_duplicate"]
    (landing(kds_home) / "notes.txt").unlink()
    assert kds(["run", "enterprises"]) == 0
    assert "skipped_duplicate_file" in capsys.readouterr().out
