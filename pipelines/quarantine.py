"""Quarantine review: what a data steward and a department need to fix quarantined rows.

Data: `restricted.quarantine`, one row per quarantined source row of the current delivery of each
(dataset, period, scope), with its reason codes and the row as delivered (JSON). It holds personal
data: stewards only, never BI. Owners: the data platform team, with the department of each dataset.

- `by_file`: per delivered file, its quarantined rows counted by reason (`kds quarantine list`);
- `rows`: the rows with their reasons (`kds quarantine show`);
- `export`: one spreadsheet per source file for the department (`kds quarantine export`): the
  original columns under their Vietnamese headers (from the spec), the row number the department
  sees in Excel, and each row's reason as a plain Vietnamese sentence. With `full=True` the sheet
  holds every row of the delivered file (re-read from the raw archive) with the quarantined ones
  marked, so the department can correct them in place and send the whole file again: a delivery
  replaces its period, so a file holding only the corrected rows would replace the period with
  just those rows;
- `chains`: the deliveries of each period as the audit saw them (file → replaced by → …).

Every text cell that Excel would read as a formula (starting with = + - @, tab or CR) is written
with a leading single quote, so opening an export never runs anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pipelines.specs import DatasetSpec, get_spec
from pipelines.warehouse.tables import AUDIT_FILE, QUARANTINE, qualified

PERSONAL_DATA_WARNING = (
    "CẢNH BÁO / WARNING: dữ liệu cách ly chứa thông tin cá nhân (họ tên, số định danh, địa chỉ) — chỉ dùng để "
    "đối soát với đơn vị gửi, không chia sẻ, không đưa vào báo cáo. / Quarantined rows hold personal data: use "
    "them only to settle the rows with the department; do not share them or put them in reports."
)

# What a department reads for each reason code (plain Vietnamese; the code stays in its own column).
REASONS: dict[str, str] = {
    "conflicting_key": "Trùng mã định danh với một dòng khác trong cùng tệp nhưng nội dung khác nhau; "
    "giữ lại một dòng đúng và xoá dòng còn lại.",
    "invalid_tax_code": "Mã số doanh nghiệp (mã số thuế) không hợp lệ: sai chữ số kiểm tra hoặc không đủ 10 chữ số "
    "(chi nhánh: 10-3 chữ số).",
    "missing_tax_code": "Thiếu mã số doanh nghiệp (mã số thuế).",
    "missing_name": "Thiếu tên.",
    "unknown_legal_form": "Loại hình doanh nghiệp không thuộc 5 loại hình theo Luật Doanh nghiệp 2020.",
    "missing_status": "Thiếu tình trạng hoạt động.",
    "unknown_status": "Tình trạng hoạt động không thuộc danh mục (ví dụ: Đang hoạt động, Tạm ngừng kinh doanh, "
    "Đã giải thể).",
    "implausible_charter_capital": "Vốn điều lệ nằm ngoài khoảng hợp lý (từ 0 đến 100.000 tỷ đồng).",
    "implausible_employees": "Số lao động nằm ngoài khoảng hợp lý (từ 0 đến 200.000 người).",
    "unknown_place": "Không tìm thấy xã/phường này trong danh mục đơn vị hành chính; kiểm tra chính tả tên "
    "xã/phường và huyện.",
    "ambiguous_place": "Tên xã/phường trùng với nhiều nơi; ghi thêm huyện/thị xã/thành phố để xác định đúng nơi.",
    "code_name_mismatch": "Mã xã/phường và tên xã/phường không khớp nhau.",
    "unknown_code": "Mã đơn vị hành chính không có trong danh mục.",
    "missing_place": "Thiếu xã/phường.",
    "place_unresolved": "Không xác định được địa bàn (xã/phường) của dòng.",
    "split_commune_unallocated": "Xã cũ đã được chia từ 01/7/2025, không xác định được thuộc xã mới nào; "
    "ghi rõ xã/phường mới.",
    "invalid_representative_id": "Số định danh cá nhân (CCCD 12 số hoặc CMND 9 số) của người đại diện không hợp lệ.",
    "period_mismatch": "Kỳ báo cáo ghi trong dòng không khớp với kỳ của tệp.",
    "review_year_not_period": "Năm rà soát ghi trong tệp khác với năm trong tên tệp.",
    # tourism
    "beds_below_rooms": "Số giường nhỏ hơn số phòng; mỗi phòng có ít nhất một giường.",
    "implausible_beds": "Số giường nằm ngoài khoảng hợp lý (từ 1 đến 20.000).",
    "implausible_rooms": "Số phòng nằm ngoài khoảng hợp lý (từ 1 đến 5.000).",
    "star_rating_not_hotel": "Hạng sao chỉ dành cho khách sạn; loại hình cơ sở hoặc hạng sao đang ghi sai.",
    "guest_nights_below_overnight": "Số ngày khách lưu trú nhỏ hơn số khách lưu trú; mỗi khách ở ít nhất một đêm.",
    "overnight_exceeds_total": "Số khách lưu trú lớn hơn tổng lượt khách.",
    "visitors_total_mismatch": "Tổng lượt khách không bằng khách quốc tế cộng khách nội địa.",
    "revenue_total_mismatch": "Tổng doanh thu không bằng tổng các khoản doanh thu thành phần.",
    "occupancy_out_of_range": "Công suất sử dụng phòng phải từ 0 đến 100%.",
    "implausible_count": "Số lượt khách của địa bàn trong tháng nằm ngoài khoảng hợp lý (từ 0 đến 5 triệu).",
    "implausible_revenue": "Doanh thu của địa bàn trong tháng nằm ngoài khoảng hợp lý (từ 0 đến 10.000 tỷ đồng).",
    # labour, poor households
    "under_working_age": "Người chưa đủ 15 tuổi tính đến cuối tháng báo cáo; kiểm tra ngày sinh.",
    "implausible_unemployed_months": "Số tháng thất nghiệp nằm ngoài khoảng hợp lý (từ 0 đến 600).",
    "implausible_income": "Thu nhập bình quân đầu người/tháng nằm ngoài khoảng hợp lý (từ 0 đến 100 triệu đồng); "
    "kiểm tra đơn vị (theo năm, theo hộ).",
    "implausible_members": "Số nhân khẩu của hộ nằm ngoài khoảng hợp lý (từ 1 đến 30).",
    "invalid_deprivation_count": "Tổng số chỉ số thiếu hụt phải từ 0 đến 12.",
    # land, culture
    "non_positive_area": "Diện tích thửa đất phải lớn hơn 0 m².",
    "implausible_parcel_key": "Số tờ bản đồ phải từ 1 đến 9.999.",
    "invalid_land_use_code_system": "Hệ mã mục đích sử dụng đất phải là TT25_2014 hoặc TT08_2024.",
    "decision_after_snapshot": "Ngày quyết định xếp hạng sau ngày chốt số liệu của kỳ báo cáo; kiểm tra lại ngày quyết định.",
}
# Reason codes built from a column name (`invalid_<column>` etc.): the sentence names the header.
_PATTERNS = (
    ("invalid_", "Giá trị ở cột «{header}» không đọc được hoặc sai định dạng."),
    ("missing_", "Thiếu giá trị ở cột «{header}» (bắt buộc)."),
    ("unknown_", "Giá trị ở cột «{header}» không thuộc danh mục cho phép."),
    ("implausible_", "Giá trị ở cột «{header}» nằm ngoài khoảng hợp lý."),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ROW_HEADER = "Dòng trong tệp đã gửi"
_REASON_HEADER = "Lý do cần sửa"
_CODES_HEADER = "Mã lý do"
_DETAIL_HEADER = "Chi tiết kỹ thuật"


def reason_text(code: str, spec: DatasetSpec | None = None) -> str:
    """The Vietnamese sentence for a reason code: from REASONS, else from its column's header
    (`invalid_<column>` …), else the description the dataset's suite gives the check (English),
    else the code itself."""
    if code in REASONS:
        return REASONS[code]
    if spec is not None:
        for prefix, template in _PATTERNS:
            if code.startswith(prefix):
                column = code[len(prefix) :]
                try:
                    return template.format(header=spec.column(column).headers[0])
                except KeyError:
                    break
        described = _suite_descriptions(spec.name).get(code)
        if described:
            return described
    return code


@cache
def _suite_descriptions(dataset: str) -> dict[str, str]:
    from pipelines.specs import EXPECTATIONS_DIR
    from pipelines.validate import SuiteError, load_checks

    try:
        return {
            c.reason_code: c.description for c in load_checks(EXPECTATIONS_DIR / f"{dataset}.json") if c.description
        }
    except SuiteError:
        return {}


def reasons_text(codes: str, spec: DatasetSpec | None = None) -> str:
    """`a;b` → the sentences of a and b, once each."""
    seen = dict.fromkeys(c for c in codes.split(";") if c)
    return " ".join(reason_text(c, spec) for c in seen)


def neutralise(value: Any) -> Any:
    """A text cell Excel would treat as a formula gets a leading single quote (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class FileQuarantine:
    dataset: str
    period: date
    scope: str
    file_name: str
    sha256: str
    run_id: str
    rows: int
    by_reason: dict[str, int]


@dataclass(frozen=True)
class QuarantinedRow:
    period: date
    file_name: str
    sha256: str
    row_number: int
    reason_code: str
    reason_codes: str
    detail: str
    record: dict[str, Any]


@dataclass
class Step:
    """One audit.file row in a period's chain of deliveries."""

    file_name: str
    sha256: str
    status: str
    finished_at: datetime
    rows_quarantined: int
    replaces_sha256: str | None


@dataclass
class Chain:
    dataset: str
    period: date | None
    scope: str
    steps: list[Step] = field(default_factory=list)

    def text(self) -> str:
        """`a.xlsx (loaded …, 5 quarantined) → replaced by b.csv (loaded …, 0 quarantined)`."""
        parts = []
        for i, s in enumerate(self.steps):
            when = _local(s.finished_at)
            what = f"{s.file_name} [{s.sha256[:8]}] ({s.status} {when}"
            what += f", {s.rows_quarantined} quarantined)" if s.status == "loaded" else ")"
            if i and s.status == "loaded" and s.replaces_sha256:
                what = "replaced by " + what
            elif i:
                what = "then " + what
            parts.append(what)
        return " → ".join(parts)


def _local(at: datetime | None) -> str:
    from datetime import UTC

    from pipelines.scoreboard import LOCAL

    if at is None:
        return "?"
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def _where(dataset: str, period: date | None, file_name: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = ["dataset = ?"]
    params: list[Any] = [dataset]
    if period is not None:
        clauses.append("period = ?")
        params.append(period)
    if file_name is not None:
        clauses.append("file_name = ?")
        params.append(file_name)
    return " AND ".join(clauses), params


def by_file(wh: Any, dataset: str, period: date | None = None) -> list[FileQuarantine]:
    """Quarantined rows per delivered file, counted by main reason, oldest period first."""
    if not wh.table_exists(QUARANTINE.qualified):
        return []
    where, params = _where(dataset, period, None)
    found = wh.query(
        f"""SELECT period, scope, file_name, _source_file_sha256, _run_id, reason_code, count(*)
            FROM {qualified(QUARANTINE.qualified)} WHERE {where}
            GROUP BY period, scope, file_name, _source_file_sha256, _run_id, reason_code
            ORDER BY period, scope, file_name, reason_code""",
        params,
    )
    files: dict[tuple[Any, ...], dict[str, int]] = {}
    for p, scope, name, sha, run_id, reason, n in found:
        files.setdefault((p, scope, name, sha, run_id), {})[str(reason)] = int(n)
    return [
        FileQuarantine(dataset, p, scope, name, sha, run_id, sum(reasons.values()), reasons)
        for (p, scope, name, sha, run_id), reasons in files.items()
    ]


def rows(
    wh: Any, dataset: str, period: date | None = None, file_name: str | None = None, limit: int | None = None
) -> list[QuarantinedRow]:
    """The quarantined rows (restricted: personal data) in file and row order."""
    if not wh.table_exists(QUARANTINE.qualified):
        return []
    where, params = _where(dataset, period, file_name)
    sql = f"""SELECT period, file_name, _source_file_sha256, _source_row_number, reason_code, reason_codes, detail, record
              FROM {qualified(QUARANTINE.qualified)} WHERE {where}
              ORDER BY period, file_name, _source_row_number"""
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [
        QuarantinedRow(
            p, name, sha, int(n), str(code), str(codes or code), str(detail or ""), json.loads(str(rec or "{}"))
        )
        for p, name, sha, n, code, codes, detail, rec in wh.query(sql, params)
    ]


def chains(wh: Any, dataset: str | None = None) -> list[Chain]:
    """Each period's deliveries in the order the pipeline saw them (identical re-deliveries are
    no-ops and leave no row); a loaded file's `replaces_sha256` links it to the one it replaced."""
    if not wh.table_exists(AUDIT_FILE.qualified):
        return []
    sql = f"""SELECT dataset, period, scope, file_name, sha256, status, finished_at, rows_quarantined, replaces_sha256
              FROM {qualified(AUDIT_FILE.qualified)}"""
    params: list[Any] = []
    if dataset is not None:
        sql += " WHERE dataset = ?"
        params.append(dataset)
    sql += " ORDER BY dataset, period, scope, finished_at"
    out: dict[tuple[Any, ...], Chain] = {}
    for ds, p, scope, name, sha, status, at, q, replaces in wh.query(sql, params):
        chain = out.setdefault((ds, p, scope), Chain(ds, p, scope or "all"))
        chain.steps.append(Step(name, sha, status, at, int(q or 0), replaces))
    return list(out.values())


# --- export --------------------------------------------------------------------------------


def _period_text(period: date, spec: DatasetSpec) -> str:
    return {"day": period.strftime("%d/%m/%Y"), "month": period.strftime("%m/%Y"), "year": str(period.year)}[
        spec.granularity
    ]


def _full_rows(settings: Any, spec: DatasetSpec, sha256: str, file_name: str) -> list[tuple[int, dict[str, Any]]]:
    """Every data row of the delivered file, as the reader cleaned it (the quarantine's `record`)."""
    from pipelines.conform import ROW_NUMBER
    from pipelines.sources.files import open_source

    raw = settings.raw / spec.name / f"{sha256}{Path(file_name).suffix.lower()}"
    if not raw.exists():
        raise FileNotFoundError(f"{file_name}: the archived delivery {raw} is missing; cannot export the whole file")
    out = []
    with open_source(raw, spec) as reader:
        for batch in reader.batches():
            frame = batch.frame
            cols = [c for c in frame.columns if c != ROW_NUMBER]
            for number, values in zip(frame[ROW_NUMBER].tolist(), frame[cols].to_numpy(dtype=object), strict=True):
                out.append((int(number), {c: v for c, v in zip(cols, values, strict=True) if v is not None and v == v}))
    return out


def export(
    wh: Any,
    settings: Any,
    dataset: str,
    out: Path | None = None,
    *,
    period: date | None = None,
    full: bool = False,
) -> list[Path]:
    """One .xlsx per source file with quarantined rows, for the department; returns the paths."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    spec = get_spec(dataset)
    folder = Path(out) if out is not None else settings.exports
    folder.mkdir(parents=True, exist_ok=True)
    columns = [c for c in spec.columns]
    headers = [_ROW_HEADER, _REASON_HEADER, *(c.headers[0] for c in columns), _CODES_HEADER, _DETAIL_HEADER]
    flagged = PatternFill("solid", fgColor="FFF2CC")
    bold = Font(bold=True)
    written = []
    for f in by_file(wh, dataset, period):
        quarantined = {r.row_number: r for r in rows(wh, dataset, f.period, f.file_name) if r.sha256 == f.sha256}
        if full:
            body = [(n, record, quarantined.get(n)) for n, record in _full_rows(settings, spec, f.sha256, f.file_name)]
        else:
            body = [(n, r.record, r) for n, r in sorted(quarantined.items())]
        wb = Workbook()
        ws = wb.active
        ws.title = "Dữ liệu"
        what = "toàn bộ tệp, các dòng cần sửa được tô màu" if full else "các dòng cần sửa"
        title = [
            [f"{spec.department}"],
            [f"{spec.title.vi}: {what} / rows to fix"],
            [f"Tệp đã gửi: {f.file_name} — {f.rows} dòng bị cách ly"],
            [f"Kỳ báo cáo: {_period_text(f.period, spec)}"],
            [],
        ]
        for line in title:
            ws.append([neutralise(v) for v in line])
        ws.append(headers)
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font = bold
        for number, record, problem in body:
            reason = reasons_text(problem.reason_codes, spec) if problem else None
            values = [number, reason, *(record.get(c.name) for c in columns),
                      problem.reason_codes if problem else None, problem.detail if problem else None]  # fmt: skip
            ws.append([neutralise(v) for v in values])
            if problem:
                for cell in ws[ws.max_row]:
                    cell.fill = flagged
        ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
        widths = [12, 48, *(max(14, min(40, len(c.headers[0]) + 4)) for c in columns), 24, 48]
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        for row in ws.iter_rows(min_row=header_row + 1, min_col=2, max_col=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        legend = wb.create_sheet("Giải thích")
        legend.append(["Mã lý do / Reason code", "Giải thích / What to fix"])
        for cell in legend[1]:
            cell.font = bold
        for code in sorted({c for r in quarantined.values() for c in r.reason_codes.split(";") if c}):
            legend.append([code, neutralise(reason_text(code, spec))])
        legend.append([])
        for note in (
            f"Cột «{_ROW_HEADER}» là số dòng khi mở tệp {f.file_name} bằng Excel.",
            "Sửa các dòng được tô màu, giữ nguyên tiêu đề cột, rồi gửi lại TOÀN BỘ tệp của kỳ này với đúng tên tệp "
            f"đã gửi ({f.file_name}): tệp gửi lại sẽ thay thế toàn bộ dữ liệu của kỳ.",
            "Ô có dấu ' ở đầu: dấu này được thêm để Excel không chạy công thức; xoá nó nếu giá trị thật không có.",
        ):
            legend.append([note])
        legend.column_dimensions["A"].width = 30
        legend.column_dimensions["B"].width = 100
        suffix = "toan_bo_de_sua" if full else "dong_can_sua"
        name = f"{re.sub(r'[^0-9A-Za-z_.-]+', '_', Path(f.file_name).stem)}_{suffix}.xlsx"
        path = folder / name
        tmp = path.with_name(f".{name}.tmp")
        wb.save(tmp)
        tmp.replace(path)
        written.append(path)
    return written


def reason_counts(wh: Any, dataset: str | None = None) -> list[tuple[str, str, int]]:
    """(dataset, reason code, rows) of the current quarantine: counts only, no row content."""
    if not wh.table_exists(QUARANTINE.qualified):
        return []
    sql = f"SELECT dataset, reason_code, count(*) FROM {qualified(QUARANTINE.qualified)}"
    params: list[Any] = []
    if dataset is not None:
        sql += " WHERE dataset = ?"
        params.append(dataset)
    sql += " GROUP BY dataset, reason_code ORDER BY count(*) DESC, dataset, reason_code"
    return [(str(d), str(r), int(n)) for d, r, n in wh.query(sql, params)]


def describe(files: Sequence[FileQuarantine]) -> list[list[str]]:
    """Table rows for `kds quarantine list`."""
    table = [["period", "file", "rows", "reasons"]]
    for f in files:
        reasons = ", ".join(f"{code} {n}" for code, n in sorted(f.by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
        table.append([str(f.period), f.file_name, str(f.rows), reasons])
    return table
