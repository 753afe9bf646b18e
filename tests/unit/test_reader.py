"""File reader (pipelines.sources.files) on department files built in tmp_path: encodings,
delimiters, title / numbering / footer rows, merged headers, legacy fonts, drift, broken files."""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from pipelines.sources import ROW_NUMBER, SourceError, SourceReader, open_source
from pipelines.specs import DatasetSpec, get_spec
from pipelines.text import clean_text, clean_texts, encode_legacy

pytestmark = pytest.mark.unit

HEADER = [
    "STT",
    "Mã số doanh nghiệp",
    "Tên doanh nghiệp",
    "Loại hình doanh nghiệp",
    "Ngày cấp GCN lần đầu",
    "Địa chỉ trụ sở",
    "Xã/Phường",
    "Quận/Huyện",
    "Mã ngành kinh tế chính",
    "Vốn điều lệ (đồng)",
    "Số lao động",
    "Tình trạng hoạt động",
    "Người đại diện theo pháp luật",
    "Số định danh người đại diện",
]
NAMES = [
    "Công ty TNHH Thương mại Bình Định",
    "Công ty cổ phần Thủy sản Quy Nhơn",
    "Doanh nghiệp tư nhân Hoài Nhơn",
    "Công ty TNHH Du lịch Nhơn Lý",
]


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    return get_spec("enterprises")


def data_row(i: int) -> list[Any]:
    return [
        i + 1,
        f"{4100000000 + i:010d}",
        NAMES[i % len(NAMES)] + f" {i}",
        "Công ty cổ phần",
        "05/03/2024",
        f"Số {i} Lê Lợi",
        "Phường Nhơn Bình",
        "TP. Quy Nhơn",
        "4711",
        "1.500.000.000",
        12,
        "Đang hoạt động",
        "Nguyễn Văn An",
        f"052{i:09d}",
    ]


def table(n: int) -> list[list[Any]]:
    return [list(HEADER)] + [data_row(i) for i in range(n)]


def write_csv(
    path: Path, rows: list[list[Any]], encoding: str = "utf-8", delimiter: str = ",", newline: str = "\n"
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def windows_1258_form(text: str) -> str:
    """Text as Windows-1258 holds it: â ê ô ă ơ ư đ precomposed, most tone marks combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            ch.encode("cp1258")
        except UnicodeEncodeError:
            marks = unicodedata.normalize("NFD", ch)
            shape = "".join(m for m in marks[1:] if m in "\u0302\u0306\u031b")
            tone = "".join(m for m in marks[1:] if m not in "\u0302\u0306\u031b")
            ch = unicodedata.normalize("NFC", marks[0] + shape) + tone
        out.append(ch)
    return "".join(out)


def write_xlsx(path: Path, rows: list[list[Any]], hidden_first: bool = False) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    if hidden_first:
        sheet.title = "Hướng dẫn"
        sheet.append(["Sheet ẩn, không phải dữ liệu"])
        sheet.sheet_state = "hidden"
        sheet = workbook.create_sheet("Dữ liệu")
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def read(path: Path, spec: DatasetSpec, **kwargs: Any) -> tuple[SourceReader, pd.DataFrame]:
    reader = open_source(path, spec, **kwargs)
    frames = [b.frame for b in reader.batches()]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return reader, frame


# --------------------------------------------------------------------------------- basics


def test_utf8_csv_maps_columns_and_cleans_cells(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(3)
    rows[1][2] = "  Công ty   TNHH\nBình Định  "
    rows[2][10] = ""
    reader, frame = read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    layout = reader.layout
    assert layout.header_row == 1
    assert layout.columns["tax_code"] == 1 and layout.columns["representative_id"] == 13
    assert layout.encoding == "utf-8" and layout.delimiter == ","
    assert layout.drift == [] and layout.missing_optional == ["last_changed_date"]
    assert list(frame.columns) == [*layout.columns, ROW_NUMBER]
    assert frame["name"].tolist()[0] == "Công ty TNHH Bình Định"
    assert frame["employees"].tolist() == ["12", None, "12"]
    assert frame["tax_code"].tolist() == ["4100000000", "4100000001", "4100000002"]
    assert frame[ROW_NUMBER].tolist() == [2, 3, 4]
    assert frame[ROW_NUMBER].dtype == "int64"
    assert all(frame[c].dtype == object for c in layout.columns)
    assert reader.rows_read == 3 and reader.warnings == []


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),  # with BOM, as Excel's "Unicode text"
        ("utf-16-le", "utf-16"),  # without BOM
        ("cp1258", "cp1258"),
    ],
)
def test_csv_encodings(tmp_path: Path, spec: DatasetSpec, encoding: str, reported: str) -> None:
    rows = table(4)
    if encoding == "cp1258":
        rows = [[windows_1258_form(c) if isinstance(c, str) else c for c in r] for r in rows]
    delimiter = "\t" if encoding.startswith("utf-16") else ","
    path = write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows, encoding, delimiter)
    reader, frame = read(path, spec)
    assert reader.layout.encoding == reported
    assert reader.layout.delimiter == delimiter
    assert frame["name"].tolist()[1] == NAMES[1] + " 1"
    assert frame["status"].tolist() == ["Đang hoạt động"] * 4
    assert frame[ROW_NUMBER].tolist() == [2, 3, 4, 5]
    assert all(unicodedata.is_normalized("NFC", v) for v in frame["address"])


def test_semicolon_crlf_and_quoted_newlines(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(3)
    rows[2][5] = "Số 1,\r\nđường Lê Lợi;\nphường Nhơn Bình"  # a cell over three lines
    path = write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows, delimiter=";", newline="\r\n")
    reader, frame = read(path, spec)
    assert reader.layout.delimiter == ";"
    assert frame["address"].tolist()[1] == "Số 1, đường Lê Lợi; phường Nhơn Bình"
    # a quoted multi-line cell counts as one row, as in Excel
    assert frame[ROW_NUMBER].tolist() == [2, 3, 4]
    assert frame["tax_code"].tolist()[2] == "4100000002"


def test_injection_shaped_text_stays_literal(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(4)
    for row, text in zip(rows[1:], ("'); DROP TABLE x; --", "=1+1", "+84 256", "@SUM(A1)"), strict=True):
        row[2] = text
    _, frame = read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    assert frame["name"].tolist() == ["'); DROP TABLE x; --", "=1+1", "+84 256", "@SUM(A1)"]


def test_excel_sep_line(tmp_path: Path, spec: DatasetSpec) -> None:
    path = tmp_path / "doanh_nghiep_20240301.csv"
    body = io.StringIO()
    csv.writer(body, delimiter="|").writerows(table(2))
    path.write_text("sep=|\n" + body.getvalue(), encoding="utf-8")
    reader, frame = read(path, spec)
    assert reader.layout.delimiter == "|"
    assert frame[ROW_NUMBER].tolist() == [2, 3]  # Excel hides the sep= line


def test_ragged_rows(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(4)
    rows[1] = rows[1][:10]  # short: the last columns are blank
    rows[2] = rows[2] + ["", ""]  # long but empty: nothing to report
    rows[3] = rows[3] + ["", "ghi chú thêm"]  # long with a value: drift
    reader, frame = read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    assert len(frame) == 4
    assert frame["employees"].tolist()[0] is None and frame["status"].tolist()[0] is None
    assert frame["status"].tolist()[1:] == ["Đang hoạt động"] * 3
    assert reader.layout.drift == ["(no header) column P"]
    assert any("column P" in w and "row 4" in w for w in reader.warnings)


def test_legacy_fonts_and_nfd_cells(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(3)
    rows[1][6] = encode_legacy("Phường Nhơn Bình", "tcvn3")
    rows[2][6] = encode_legacy("Phường Nhơn Bình", "vni")
    rows[3][6] = unicodedata.normalize("NFD", "Phường Nhơn Bình")
    rows[1][12] = encode_legacy("Nguyễn Thị Hồng", "tcvn3")
    assert rows[1][6] != "Phường Nhơn Bình" and rows[2][6] != "Phường Nhơn Bình"
    for name, write in (("csv", write_csv), ("xlsx", write_xlsx)):
        _, frame = read(write(tmp_path / f"doanh_nghiep_20240301.{name}", rows), spec)
        assert frame["commune_name"].tolist() == ["Phường Nhơn Bình"] * 3
        assert frame["representative_name"].tolist()[0] == "Nguyễn Thị Hồng"


def test_legacy_font_header(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(1)
    rows[0] = [encode_legacy(h, "tcvn3") for h in HEADER]
    reader, frame = read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    assert len(reader.layout.columns) == 13 and len(frame) == 1


# ------------------------------------------------------------------------- real Excel shapes


def official_xlsx(tmp_path: Path, n: int = 3) -> Path:
    rows: list[list[Any]] = [
        ["ỦY BAN NHÂN DÂN TỈNH BÌNH ĐỊNH", None, None, None, None, None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
        ["SỞ TÀI CHÍNH", None, None, None, None, None, None, "Độc lập - Tự do - Hạnh phúc"],
        [],
        ["DANH SÁCH DOANH NGHIỆP ĐANG HOẠT ĐỘNG"],
        ["Kỳ báo cáo: 03/2024"],
        HEADER,
        [f"({i})" for i in range(1, 15)],
    ]
    rows += [data_row(i) for i in range(n)]
    rows += [
        ["Tổng cộng", None, None, None, None, None, None, None, None, 4_500_000_000, 36],
        [],
        [None, "Người lập biểu", None, None, None, None, None, None, None, "Quy Nhơn, ngày 5 tháng 4 năm 2024"],
        [None, "(Ký, ghi rõ họ tên)", None, None, None, None, None, None, None, "Thủ trưởng đơn vị"],
        [],
        [None, "Trần Thị Bích", None, None, None, None, None, None, None, "Lê Văn Cường"],
    ]
    return write_xlsx(tmp_path / "doanh_nghiep_20240301.xlsx", rows)


def test_xlsx_title_numbering_footer(tmp_path: Path, spec: DatasetSpec) -> None:
    reader, frame = read(official_xlsx(tmp_path), spec)
    layout = reader.layout
    assert layout.header_row == 6
    assert layout.title_lines == [
        "ỦY BAN NHÂN DÂN TỈNH BÌNH ĐỊNH CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "SỞ TÀI CHÍNH Độc lập - Tự do - Hạnh phúc",
        "DANH SÁCH DOANH NGHIỆP ĐANG HOẠT ĐỘNG",
        "Kỳ báo cáo: 03/2024",
    ]
    assert layout.period_hint == "03/2024"
    assert layout.encoding is None and layout.delimiter is None
    assert frame[ROW_NUMBER].tolist() == [8, 9, 10]  # the rows Excel shows
    assert frame["tax_code"].tolist() == ["4100000000", "4100000001", "4100000002"]
    assert frame["employees"].tolist() == ["12"] * 3  # Excel numbers come as text
    assert reader.rows_skipped == {"blank": 0, "numbering": 1, "footer": 6, "title": 5}
    assert reader.warnings == []


def test_xlsx_values_as_text(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(4)
    rows[1][13] = 52012345678  # a CCCD stored as a number, lost its leading zero
    rows[2][13] = 52012345678.0
    rows[1][4] = datetime(2024, 3, 5)
    rows[2][4] = date(2024, 3, 6)
    rows[3][4] = datetime(2024, 3, 7, 10, 30)
    rows[1][9] = 1.5e9
    rows[2][9] = 3.125  # three decimals: not to be read as 3125
    rows[3][9] = 0.1 + 0.2
    rows[4][9] = True
    _, frame = read(write_xlsx(tmp_path / "doanh_nghiep_20240301.xlsx", rows), spec)
    assert frame["representative_id"].tolist()[:2] == ["52012345678", "52012345678"]
    assert frame["registered_date"].tolist()[:3] == ["2024-03-05", "2024-03-06", "2024-03-07 10:30:00"]
    assert frame["charter_capital_vnd"].tolist() == ["1500000000", "3.1250", "0.3", "TRUE"]


def test_first_visible_sheet(tmp_path: Path, spec: DatasetSpec) -> None:
    path = write_xlsx(tmp_path / "doanh_nghiep_20240301.xlsx", table(2), hidden_first=True)
    reader, frame = read(path, spec)
    assert len(frame) == 2 and reader.layout.header_row == 1


def test_merged_two_row_header(tmp_path: Path, spec: DatasetSpec) -> None:
    # "Ngày đăng ký" merged over "Ngày cấp GCN lần đầu | Ngày thay đổi gần nhất"; the unit of the
    # capital in the row under its name; every other header merged down over both rows
    upper: list[Any] = [*HEADER[:4], "Ngày đăng ký", None, *HEADER[5:]]
    lower: list[Any] = [None] * len(upper)
    lower[4], lower[5] = "Ngày cấp GCN lần đầu", "Ngày thay đổi gần nhất"
    upper[10], lower[10] = "Vốn điều lệ", "(đồng)"
    rows: list[list[Any]] = [["DANH SÁCH DOANH NGHIỆP"], upper, lower]
    for i in range(2):
        row = data_row(i)
        rows.append([*row[:5], "01/04/2024", *row[5:]])
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    sheet.merge_cells("E2:F2")
    sheet.merge_cells("A2:A3")
    path = tmp_path / "doanh_nghiep_20240301.xlsx"
    workbook.save(path)
    reader, frame = read(path, spec)
    layout = reader.layout
    assert layout.header_row == 3
    assert layout.columns["registered_date"] == 4 and layout.columns["last_changed_date"] == 5
    assert layout.columns["address"] == 6 and layout.columns["commune_name"] == 7
    assert layout.columns["charter_capital_vnd"] == 10
    assert layout.title_lines == ["DANH SÁCH DOANH NGHIỆP"] and layout.drift == []
    assert frame["registered_date"].tolist() == ["05/03/2024"] * 2
    assert frame["last_changed_date"].tolist() == ["01/04/2024"] * 2
    assert frame[ROW_NUMBER].tolist() == [4, 5]


def test_blank_rows_inside_data_and_prefilled_numbers(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(4)
    rows.insert(3, [])
    rows.insert(3, [""] * 14)
    rows.insert(3, ["  ", None, None])
    rows.append([99] + [None] * 13)  # a template row with only its number
    reader, frame = read(write_xlsx(tmp_path / "doanh_nghiep_20240301.xlsx", rows), spec)
    assert frame[ROW_NUMBER].tolist() == [2, 3, 7, 8]
    assert reader.rows_skipped["blank"] == 4


def test_unknown_column_is_drift_stt_is_not(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = [[*r, "x"] for r in table(2)]
    rows[0][-1] = "Ghi chú"
    reader, frame = read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    assert reader.layout.drift == ["Ghi chú"]
    assert "Ghi chú" not in frame.columns and len(frame) == 2


def test_header_without_diacritics_and_aliases(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(1)
    rows[0][1] = "Ma so thue"
    rows[0][2] = "TÊN DOANH NGHIỆP"
    rows[0][9] = "Vốn điều lệ\n(VNĐ)"
    reader, _ = read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    assert reader.layout.columns["tax_code"] == 1
    assert reader.layout.columns["name"] == 2
    assert reader.layout.columns["charter_capital_vnd"] == 9


def test_period_hint_forms(tmp_path: Path, spec: DatasetSpec) -> None:
    for title, hint in (
        ("BÁO CÁO THÁNG 3 NĂM 2024", "THÁNG 3 NĂM 2024"),
        ("Danh sách doanh nghiệp năm 2024", "năm 2024"),
        ("Số liệu tính đến ngày 31/12/2024", "31/12/2024"),
        ("DANH SÁCH DOANH NGHIỆP", None),
    ):
        path = write_csv(tmp_path / "doanh_nghiep_20240301.csv", [[title], *table(1)])
        reader, _ = read(path, spec)
        assert reader.layout.period_hint == hint, title


# ------------------------------------------------------------------------------ footers


@pytest.mark.parametrize("total", ["TỔNG CỘNG", "Tổng số:", "Cộng", encode_legacy("Tổng cộng", "tcvn3"), "Tong cong"])
def test_total_row_with_many_cells_ends_data(tmp_path: Path, spec: DatasetSpec, total: str) -> None:
    rows = table(3)
    rows.append([total, "", "", "", "", "", "", "", "", "4.500.000.000", "36", "", "", ""])
    rows.append(["Người lập biểu"])
    reader, frame = read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    assert len(frame) == 3 and reader.rows_skipped["footer"] == 2


def test_footer_false_alarm_keeps_the_rows(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(2)
    rows.append(["Cộng huyện", "", "", "", "", "", "", "", "", "3.000.000.000"])  # a subtotal, not a footer
    rows.append(["Cộng:", "", "", "", "", "", "", "", "", "3.000.000.000"])
    rows += [data_row(i) for i in range(2, 4)]
    reader, frame = read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    # "Cộng huyện" is not a footer phrase: a data row (the conformer quarantines it); "Cộng:" is,
    # but data follows, so it is put back as data and reported
    assert frame[ROW_NUMBER].tolist() == [2, 3, 4, 5, 6, 7]
    assert any("row 5 looked like the end of the table" in w for w in reader.warnings)
    assert reader.rows_skipped["footer"] == 0


def test_company_names_that_start_like_footers_are_data(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(3)
    for row, name in zip(rows[1:], ("Công ty Kế toán Việt", "Tổng công ty Xây dựng", "Cộng Hòa Group"), strict=True):
        row[0] = None  # no STT: the name column comes first
        row[2], row[1] = row[1], name
    rows[0][1], rows[0][2] = rows[0][2], rows[0][1]
    reader, frame = read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    assert frame["name"].tolist() == ["Công ty Kế toán Việt", "Tổng công ty Xây dựng", "Cộng Hòa Group"]
    assert reader.warnings == [] and reader.rows_skipped["footer"] == 0


# ---------------------------------------------------------------------------- rejections


def test_missing_required_column_message(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = [["UBND TỈNH BÌNH ĐỊNH"], ["DANH SÁCH"], [], ["Kỳ báo cáo: 03/2025"]]
    rows += [[c for i, c in enumerate(r) if i != 1] for r in table(2)]
    path = write_xlsx(tmp_path / "doanh_nghiep_20250301.xlsx", rows)
    with pytest.raises(SourceError) as info:
        open_source(path, spec)
    assert info.value.reason == "missing_column"
    assert str(info.value) == (
        "doanh_nghiep_20250301.xlsx: required column 'Mã số doanh nghiệp' (tax_code) not found in the header "
        "on row 5; add it or rename the header (accepted: Mã số doanh nghiệp, Mã số thuế, MST, Mã DN, Mã số DN)"
    )


def test_several_missing_columns_one_line(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = [[c for i, c in enumerate(r) if i not in (1, 11)] for r in table(1)]
    with pytest.raises(SourceError) as info:
        open_source(write_csv(tmp_path / "doanh_nghiep_20250301.csv", rows), spec)
    message = str(info.value)
    assert "\n" not in message and "'Mã số doanh nghiệp' (tax_code)" in message
    assert "also missing: 'Tình trạng hoạt động' (status)" in message


def test_duplicate_header(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = [[*r, r[1]] for r in table(2)]
    rows[0][-1] = "MST"
    with pytest.raises(SourceError) as info:
        open_source(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    assert info.value.reason == "duplicate_column"
    assert "columns B and O" in str(info.value) and "(tax_code)" in str(info.value)


def test_no_header(tmp_path: Path, spec: DatasetSpec) -> None:
    path = write_csv(tmp_path / "doanh_nghiep_20240301.csv", [["a", "b", "c"], ["1", "2", "3"]])
    with pytest.raises(SourceError) as info:
        open_source(path, spec)
    assert info.value.reason == "no_header"
    assert str(info.value).startswith("doanh_nghiep_20240301.csv: no header row found in the first 30 rows")
    assert "'Mã số doanh nghiệp'" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  \n", b"\xff\xfe"])
def test_empty_csv(tmp_path: Path, spec: DatasetSpec, content: bytes) -> None:
    path = tmp_path / "doanh_nghiep_20240301.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        open_source(path, spec)
    assert info.value.reason == "empty_file" and "doanh_nghiep_20240301.csv" in str(info.value)


def test_empty_xlsx(tmp_path: Path, spec: DatasetSpec) -> None:
    with pytest.raises(SourceError) as info:
        open_source(write_xlsx(tmp_path / "doanh_nghiep_20240301.xlsx", []), spec)
    assert info.value.reason == "empty_file"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_header_only_is_a_file_with_no_rows(tmp_path: Path, spec: DatasetSpec, suffix: str) -> None:
    write = write_csv if suffix == ".csv" else write_xlsx
    reader = open_source(write(tmp_path / f"doanh_nghiep_20240301{suffix}", table(0)), spec)
    assert list(reader.batches()) == []
    assert reader.layout.columns["tax_code"] == 1 and reader.rows_read == 0


def test_unsupported_and_corrupt_files(tmp_path: Path, spec: DatasetSpec) -> None:
    xls = tmp_path / "doanh_nghiep_20240301.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(SourceError) as info:
        open_source(xls, spec)
    assert info.value.reason == "unsupported_format" and "save it as .xlsx" in str(info.value)
    fake = tmp_path / "doanh_nghiep_20240301.xlsx"
    fake.write_text("Mã số doanh nghiệp,Tên doanh nghiệp\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        open_source(fake, spec)
    assert info.value.reason == "unreadable" and str(info.value).startswith("doanh_nghiep_20240301.xlsx: ")


# ----------------------------------------------------------------------------- bad bytes


def test_invalid_utf8_bytes_are_replaced_and_reported(tmp_path: Path, spec: DatasetSpec) -> None:
    path = write_csv(tmp_path / "doanh_nghiep_20240301.csv", table(5))
    data = path.read_bytes().replace("Số 3 Lê Lợi".encode(), b"S\xff 3 L\xc3 L\xe1i")
    path.write_bytes(data)
    reader, frame = read(path, spec)
    assert reader.layout.encoding == "utf-8" and len(frame) == 5
    assert "\ufffd" in frame["address"].tolist()[3]
    assert any("(address)" in w and "first on row 5" in w for w in reader.warnings)


def test_nul_bytes_are_removed(tmp_path: Path, spec: DatasetSpec) -> None:
    path = write_csv(tmp_path / "doanh_nghiep_20240301.csv", table(3))
    path.write_bytes(path.read_bytes().replace(b"Nhon", b"Nh\x00on").replace("Lê Lợi".encode(), "Lê\x00 Lợi".encode()))
    reader, frame = read(path, spec)
    assert frame["address"].tolist()[0] == "Số 0 Lê Lợi"
    assert any("NUL" in w for w in reader.warnings)


def test_cell_over_one_mebibyte_rejects_the_file(tmp_path: Path, spec: DatasetSpec) -> None:
    rows = table(3)
    rows[2][5] = "x" * (1 << 20 | 1)
    with pytest.raises(SourceError) as info:
        read(write_csv(tmp_path / "doanh_nghiep_20240301.csv", rows), spec)
    assert info.value.reason == "too_large_cell" and "row 3" in str(info.value)


def test_unclosed_quote_rejects_the_file(tmp_path: Path, spec: DatasetSpec) -> None:
    body = io.StringIO()
    csv.writer(body).writerows(table(1500))
    text = body.getvalue().replace("Số 3 Lê Lợi", '"Số 3 Lê Lợi', 1)
    path = tmp_path / "doanh_nghiep_20240301.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as info:  # the rest of the file is inside row 5's quote: not 4 rows
        read(path, spec)
    assert info.value.reason == "unclosed_quote" and "row 5, column F" in str(info.value)


# ------------------------------------------------------------------------------- streaming


def test_big_file_streams_in_batches(tmp_path: Path, spec: DatasetSpec) -> None:
    path = tmp_path / "doanh_nghiep_20240301.csv"
    required = [1, 2, 3, 4, 5, 6, 8, 9, 11]  # the required columns only: a narrow file reads faster
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([HEADER[i] for i in required])
        row = [data_row(7)[i] for i in required]
        for i in range(120_000):
            row[0] = f"{4100000000 + i:010d}"
            writer.writerow(row)
    reader = open_source(path, spec)
    sizes, last = [], 1
    for batch in reader.batches():
        numbers = batch.frame[ROW_NUMBER]
        assert numbers.iloc[0] == last + 1 and numbers.is_monotonic_increasing
        last = int(numbers.iloc[-1])
        sizes.append(len(batch.frame))
    assert sizes == [50_000, 50_000, 20_000] and last == 120_001
    with pytest.raises(RuntimeError):
        next(reader.batches())


def test_reader_closes_the_file(tmp_path: Path, spec: DatasetSpec) -> None:
    path = write_xlsx(tmp_path / "doanh_nghiep_20240301.xlsx", table(2))
    with open_source(path, spec) as reader:
        assert reader.layout.header_row == 1
    path.unlink()  # nothing holds it open


def test_clean_texts_matches_clean_text() -> None:
    """The reader cleans cells with the vectorised `clean_texts`; it must agree with `clean_text`."""
    rng = random.Random(3)
    pool = list("aăâđeêioôơuưyAĂÂĐOƠƯ àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
    pool += list("0123456789 ,.-\t\n\u00a0\u2003") + ["\u0301", "\u0323", "×", "§", "Þ", "ø", "ä", "\ufffd", "\x00"]
    values: list[str | None] = [None, "", "  "]
    for _ in range(4_000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 10)))
        values.append(unicodedata.normalize("NFD", text) if rng.random() < 0.3 else text)
    values += [encode_legacy(w, enc) for w in ("Bình Định", "Hộ nghèo", "TỈNH") for enc in ("tcvn3", "vni")]
    assert clean_texts(values) == [clean_text(v) for v in values]
