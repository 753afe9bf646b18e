"""Quarantine review: list / show / export, formula neutralisation, and the round trip
export → fix in the spreadsheet → deliver again under the original name → period clean, audit chain."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook
from stdnum.vn import mst

from pipelines.cli import main as kds
from pipelines.quarantine import neutralise, reason_text
from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.specs import get_spec
from pipelines.warehouse import connect
from tests.fixtures.enterprise_files import (
    BAD_CHECK,
    CANARY_ID,
    FIRST_DATA_ROW_XLSX,
    T,
    march_rows,
    write_csv,
    write_xlsx,
)

pytestmark = pytest.mark.integration

SPEC = get_spec("enterprises")
DELIVERY = "doanh_nghiep_20250331.xlsx"


def landing(home: Path) -> Path:
    folder = home / "landing" / "enterprises"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with connect(load_settings().warehouse_url) as wh:
        return wh.query(sql, params)


def sheet_rows(path: Path) -> tuple[list[str], list[dict[str, object]]]:
    """The header and the data rows (as dicts) of an export's first sheet."""
    ws = load_workbook(path).worksheets[0]
    values = list(ws.iter_rows(values_only=True))
    h = next(i for i, row in enumerate(values) if row and row[0] == "Dòng trong tệp đã gửi")
    header = [str(c) for c in values[h]]
    return header, [dict(zip(header, row, strict=True)) for row in values[h + 1 :] if any(row)]


def test_list_and_show(kds_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_xlsx(landing(kds_home) / DELIVERY, march_rows())
    run_dataset("enterprises")
    assert kds(["quarantine", "list", "enterprises"]) == 0
    out = capsys.readouterr().out
    assert DELIVERY in out and "conflicting_key 2" in out and "unknown_status 1" in out and "unknown_place 1" in out
    assert f"{DELIVERY} [" in out  # the delivery in the audit chain

    assert kds(["quarantine", "show", "enterprises", "--limit", "2"]) == 0
    captured = capsys.readouterr()
    assert "personal data" in captured.err and "WARNING" in captured.err
    assert f"row {FIRST_DATA_ROW_XLSX + 3}: conflicting_key" in captured.out
    assert "Trùng mã định danh" in captured.out and "Mã số doanh nghiệp: " in captured.out
    assert "2 row(s)." in captured.out

    assert kds(["quarantine", "list", "enterprises", "--period", "2025-04-30"]) == 0
    assert "No quarantined rows for 2025-04-30" in capsys.readouterr().out


def test_export_one_sheet_per_file_with_original_headers_row_numbers_and_reasons(kds_home: Path) -> None:
    rows = march_rows()
    write_xlsx(landing(kds_home) / DELIVERY, rows)
    run_dataset("enterprises")
    assert kds(["quarantine", "export", "enterprises"]) == 0
    [path] = sorted((kds_home / "exports").glob("*.xlsx"))
    assert path.name == "doanh_nghiep_20250331_dong_can_sua.xlsx"
    header, data = sheet_rows(path)
    assert header[:2] == ["Dòng trong tệp đã gửi", "Lý do cần sửa"]
    assert header[2:-2] == [c.headers[0] for c in SPEC.columns]  # the Vietnamese headers of the layout
    expected = {
        FIRST_DATA_ROW_XLSX + i: r.fate.split(":")[1] for i, r in enumerate(rows) if r.fate.startswith("quarantine")
    }
    assert {d["Dòng trong tệp đã gửi"]: str(d["Mã lý do"]).split(";")[0] for d in data} == expected
    by_row = {d["Dòng trong tệp đã gửi"]: d for d in data}
    bad = by_row[FIRST_DATA_ROW_XLSX + 5]
    assert bad["Mã số doanh nghiệp"] == BAD_CHECK and bad["Tên doanh nghiệp"] == "Công ty TNHH Sai Mã"
    assert str(bad["Lý do cần sửa"]).startswith("Mã số doanh nghiệp (mã số thuế) không hợp lệ")
    status = by_row[FIRST_DATA_ROW_XLSX + 8]
    assert status["Tình trạng hoạt động"] == "Đang ngủ đông"
    assert "Tình trạng hoạt động không thuộc danh mục" in str(status["Lý do cần sửa"])
    # Only the quarantined rows: a loaded row (the canary's) is not in the department's sheet.
    assert all(CANARY_ID not in str(v) for d in data for v in d.values())
    legend = [r for r in load_workbook(path)["Giải thích"].iter_rows(values_only=True) if r[0]]
    assert ("unknown_status", reason_text("unknown_status", SPEC)) in [(r[0], r[1]) for r in legend]


def test_reason_sentences_fall_back_to_the_code() -> None:
    assert (
        reason_text("invalid_registered_date", SPEC)
        == "Giá trị ở cột «Ngày cấp GCN lần đầu» không đọc được hoặc sai định dạng."
    )
    assert reason_text("missing_employees", SPEC) == "Thiếu giá trị ở cột «Số lao động» (bắt buộc)."
    assert reason_text("invalid_no_such_column", SPEC) == "invalid_no_such_column"
    assert reason_text("some_new_rule", SPEC) == "some_new_rule"
    assert reason_text("some_new_rule") == "some_new_rule"


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x","y")', "+84905123456", "-1+2", "@SUM(A1:A2)", "\tcmd", "\rcmd"]
)
def test_neutralise(value: str) -> None:
    assert neutralise(value) == "'" + value
    assert neutralise("Công ty =ABC") == "Công ty =ABC"  # only a leading character matters
    assert neutralise(-5) == -5  # numbers are not formulas


def test_export_neutralises_formula_cells(kds_home: Path) -> None:
    rows = march_rows()
    injected = ['=HYPERLINK("http://evil.example","bấm vào đây")', "+1+1", "-2+3", "@SUM(1,2)"]
    for row, text in zip([rows[8], rows[6]], injected[:2], strict=True):  # unknown_status, unknown_place rows
        row.cells[2] = text  # the enterprise name
    rows[8].cells[6] = injected[2]  # its street address
    rows[6].cells[6] = injected[3]
    write_csv(landing(kds_home) / "doanh_nghiep_20250331.csv", rows)  # text as typed, no spreadsheet semantics
    run_dataset("enterprises")
    [path] = kds_quarantine_export(kds_home)
    ws = load_workbook(path).worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    for text in injected:
        [cell] = [c for c in cells if c.value.endswith(text)]
        assert cell.value == "'" + text and cell.data_type == "s"
    assert not [c for c in cells if c.data_type == "f"]  # no formula anywhere
    assert all(not str(c.value).startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)


def kds_quarantine_export(home: Path, *extra: str) -> list[Path]:
    assert kds(["quarantine", "export", "enterprises", "--out", str(home / "out"), *extra]) == 0
    return sorted((home / "out").glob("*.xlsx"))


def test_round_trip_export_fix_redeliver(kds_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = landing(kds_home)
    rows = march_rows()
    write_xlsx(folder / DELIVERY, rows)
    [first] = run_dataset("enterprises")
    assert first.rows_quarantined == 5

    # The steward exports the whole file with the rows to fix highlighted, for the department.
    [path] = kds_quarantine_export(kds_home, "--full")
    assert path.name == "doanh_nghiep_20250331_toan_bo_de_sua.xlsx"
    header, data = sheet_rows(path)
    assert len(data) == len(rows)
    assert [d["Dòng trong tệp đã gửi"] for d in data] == [FIRST_DATA_ROW_XLSX + i for i in range(len(rows))]

    # The department fixes each highlighted row in the spreadsheet ...
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    col = {name: i + 1 for i, name in enumerate(header)}
    to_delete = []
    for r in range(1, ws.max_row + 1):
        codes = str(ws.cell(r, col["Mã lý do"]).value or "")
        if not codes or r <= 6:
            continue
        if "conflicting_key" in codes and ws.cell(r, col["Vốn điều lệ (đồng)"]).value == "900.000.000":
            to_delete.append(r)  # keep one of the two versions of the enterprise
        if "invalid_tax_code" in codes:
            ws.cell(r, col["Mã số doanh nghiệp"]).value = BAD_CHECK[:-1] + mst.calc_check_digit(BAD_CHECK[:-1])
        if "unknown_place" in codes:
            ws.cell(r, col["Xã/Phường"]).value = "Xã Phước Lộc"
        if "unknown_status" in codes:
            ws.cell(r, col["Tình trạng hoạt động"]).value = "Đang hoạt động"
        for name in ("Lý do cần sửa", "Mã lý do", "Chi tiết kỹ thuật"):
            ws.cell(r, col[name]).value = None
    for r in reversed(to_delete):
        ws.delete_rows(r)
    # ... and saves it under the name of the delivery, which replaces the first file in the landing zone.
    (folder / DELIVERY).unlink()
    wb.save(folder / DELIVERY)

    [second] = run_dataset("enterprises")
    assert second.status == "loaded", second.message
    assert (second.rows_quarantined, second.rows_loaded, second.rows_duplicate) == (0, 10, 1)
    assert f"replaces {first.sha256[:12]}" in second.message
    assert query("SELECT count(*) FROM restricted.quarantine WHERE period = DATE '2025-03-31'") == [(0,)]
    current = {str(r[0]) for r in query("SELECT tax_code FROM core.enterprise WHERE is_current")}
    assert current == {
        T[0],
        T[1],
        T[2],
        T[3],
        T[4],
        T[6],
        T[7],
        T[8],
        T[9],
        BAD_CHECK[:-1] + mst.calc_check_digit(BAD_CHECK[:-1]),
    }
    assert query("SELECT commune_code_pre2025 FROM core.enterprise WHERE tax_code = ?", (T[3],)) != [(None,)]

    # The audit chain: the first delivery, replaced by the corrected one.
    chain = query(
        "SELECT sha256, replaces_sha256, rows_quarantined FROM audit.file WHERE status = 'loaded' ORDER BY finished_at"
    )
    assert chain == [(first.sha256, None, 5), (second.sha256, first.sha256, 0)]
    assert kds(["quarantine", "list", "enterprises"]) == 0
    out = capsys.readouterr().out
    assert "No quarantined rows." in out
    assert f"{DELIVERY} [{first.sha256[:8]}] (loaded" in out
    assert f"→ replaced by {DELIVERY} [{second.sha256[:8]}] (loaded" in out and "0 quarantined)" in out
    assert kds(["status", "--history"]) == 0
    assert f"→ replaced by {DELIVERY} [{second.sha256[:8]}]" in capsys.readouterr().out
    assert Counter(str(r[0]) for r in query("SELECT status FROM audit.file")) == {"loaded": 2}
