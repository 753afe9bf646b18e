"""Generator of the enterprise register export of Sở Tài chính (`doanh_nghiep_YYYYMMDD.xlsx|csv`).

Data: a full snapshot of enterprises with head office in the province, one row per enterprise (tax
code), as the business-registration office delivers it (SOURCES.md "enterprises"). Owner of the
real data: Sở Tài chính (formerly Sở Kế hoạch và Đầu tư, whose name the title rows carry for periods
before 2025-03-01). Periods before 2025-07-01 describe Bình Định with its districts (communes drawn
from `admin_units_pre2025.csv`, weighted towards Quy Nhơn); later periods describe the new Gia Lai
without districts (2025 communes, ~60 % on former Bình Định territory, tax-office prefix 41 there and
59 on former Gia Lai territory, the latter unverified as DOMAIN §2 says).

Defect rates (per distinct row, independent, deterministic by seed; `DEFECT_RATES`):

| defect | rate | what the row carries |
|---|---|---|
| exact_duplicate | 0.5 % | a verbatim copy follows within 30 rows (adds a data row) |
| conflict | 0.3 % | the tax code of an earlier row with other status/capital/address/industry |
| tax_code_formatted | 1 % | spaces or dashes inside the tax code ("4100 258 821", "41 00258821") |
| tax_code_bad_check_digit | 0.3 % | a wrong 10th digit |
| representative_id_spaces | 1 % | "052 085 001234" |
| representative_id_lost_zero | 3 % | the CCCD as a number of 11 digits (a numeric cell in xlsx) |
| representative_id_cmnd | 2 % | an old 9-digit CMND instead of the CCCD |
| blank_required | 0.3 % | one of tax code / name / registration date / status is empty |
| unknown_place | 0.3 % | a commune name in no list (obsolete, typo, industrial zone) |
| stale_place_name | 3 % | after 2025-07-01 only: the old (pre-2025) commune name |
| legal_form_alias | 3 % | "TNHH 1TV", "CTCP", "DNTN", … (aliases of the spec) |
| status_alias | 1 % | "Hoạt động", "Tạm ngừng", … (aliases of the spec) |
| legacy_cell | 0.5 % | one text cell typed in the file's legacy font (TCVN3 or VNI) |
| nfd_cell | 0.5 % | one text cell in decomposed Unicode |
| whitespace | 1 % | stray leading/trailing/double blanks in one text cell |
| date_variant | 5 % | a date not in the file's house style (incl. "ngày 5 tháng 3 năm 2024", serials) |
| money_variant | 5 % | capital not in the house style ("1.500.000.000 đ", "1,5 tỷ", plain digits) |
| place_style_variant | 10 % | commune/district written unlike the house style ("Tp Quy Nhơn", "Qui Nhơn", "H. Tuy Phước") |

`GenerationStats.defects` counts distinct rows (exact-duplicate copies are not counted again). A
cell-level defect (legacy_cell, nfd_cell, whitespace, place_style_variant) is counted only when it
changed the cell, so its count can fall below the rate. Also counted: legacy_text (rows with any
legacy-font cell, whole-column ones included) and vsic_lost_zero (a 0xxx code in a numeric VSIC
column). Branches ("-001", 3 % of rows) and blank optional cells are not defects.

Every file also has a house style (date format, money format, place-name style) and file-level
choices (`LAYOUT_RATES`, per file): xlsx always 1–8 title rows, CSV 1–3 title rows in 25 % of files;
a numbering row "(1) (2) …" (xlsx 35 %, CSV 10 %); a footer with "Tổng cộng: N doanh nghiệp" and
signatures (xlsx 70 %, CSV 15 %); a two-row merged header (xlsx 15 %); header aliases and line breaks
(30 %); shuffled column order (20 %); an extra "STT" column (40 %), "Ghi chú" (30 %), "Số điện thoại"
(10 %); a whole text column typed in a legacy font (15 %); all text in NFD (10 %); old tone placement
"Hoà"/"Thuỷ" throughout (30 %); names in upper case (30 %); addresses with commune/district/province
appended (25 %); VSIC codes as number cells, losing the leading zero of 0xxx codes (xlsx 20 %).
CSV files: UTF-8 35 %, UTF-8 with BOM 30 %, UTF-16 LE with BOM 15 % (tab-delimited 70 %), Windows-1258
20 % (no TCVN3 text there: its glyph bytes do not exist in cp1258; VNI is used instead); comma 60 % /
semicolon 40 %; CRLF 85 %.

Generation is row by row with bounded buffers (recent rows for duplicates and conflicts), so memory
does not grow with the number of rows.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pipelines.generate.common import (
    PLACE_HOUSE_STYLES,
    PROGRESS_EVERY,
    REORGANISATION_DATE,
    Cell,
    Commune,
    CsvDialect,
    CsvTableWriter,
    GeneratedFiles,
    GenerationStats,
    Person,
    Rng,
    Styled,
    TaxCodeAllocator,
    TitleLine,
    Unit,
    Weighted,
    XlsxTableWriter,
    check_fmt,
    choose_csv_dialect,
    choose_title_lines,
    cmnd,
    corrupt_check_digit,
    default_fmt,
    derive,
    dotted,
    ensure_out_dir,
    file_name,
    format_date,
    format_id_spaced,
    format_money,
    format_tax_code_noisy,
    legacy,
    legacy_fits_cp1258,
    legacy_truth,
    letterhead,
    numbering_row,
    old_communes,
    old_tone,
    parse_period,
    person_name,
    random_date,
    random_person,
    random_place_style,
    style_place,
    text_defects,
    vietnamese_long_date,
    write_stats,
)
from pipelines.specs import get_spec

DATASET = "enterprises"
FILE_PREFIX = "doanh_nghiep"
DEFAULT_ROWS = 9_000  # DOMAIN §6: about 8,000–10,000 active enterprises
DEFAULT_PERIOD = date(2025, 3, 31)  # before the reorganisation: districts present
EARLIEST_REGISTRATION = date(2000, 1, 1)
FINANCE_DEPARTMENT_FROM = date(2025, 3, 1)  # Sở KH&ĐT merged into Sở Tài chính (approximate date)

DEFECT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "exact_duplicate": 0.005,
        "conflict": 0.003,
        "tax_code_formatted": 0.01,
        "tax_code_bad_check_digit": 0.003,
        "representative_id_spaces": 0.01,
        "representative_id_lost_zero": 0.03,
        "representative_id_cmnd": 0.02,
        "blank_required": 0.003,
        "unknown_place": 0.003,
        "stale_place_name": 0.03,
        "legal_form_alias": 0.03,
        "status_alias": 0.01,
        "legacy_cell": 0.005,
        "nfd_cell": 0.005,
        "whitespace": 0.01,
        "date_variant": 0.05,
        "money_variant": 0.05,
        "place_style_variant": 0.10,
    }
)
LAYOUT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "csv_title_rows": 0.25,
        "xlsx_numbering_row": 0.35,
        "csv_numbering_row": 0.10,
        "xlsx_footer": 0.70,
        "csv_footer": 0.15,
        "xlsx_two_row_header": 0.15,
        "header_aliases": 0.30,
        "shuffled_columns": 0.20,
        "extra_stt": 0.40,
        "extra_ghi_chu": 0.30,
        "extra_phone": 0.10,
        "legacy_column": 0.15,
        "nfd_file": 0.10,
        "old_tone_file": 0.30,
        "upper_names": 0.30,
        "full_address": 0.25,
        "xlsx_vsic_numeric": 0.20,
    }
)
XLSX_MAX_ROWS = 1_000_000  # leaves room under Excel's 1,048,576 for titles, duplicates and footer
BRANCH_RATE = 0.03  # branches ("-001") among the rows: not a defect
LEGACY_COLUMNS = ("name", "address", "representative_name")
EXTRA_COLUMNS = {"stt": "STT", "ghi_chu": "Ghi chú", "phone": "Số điện thoại"}

LEGAL_FORMS = Weighted(
    [
        ("Công ty TNHH một thành viên", 42),
        ("Công ty TNHH hai thành viên trở lên", 22),
        ("Công ty cổ phần", 14),
        ("Doanh nghiệp tư nhân", 21.7),
        ("Công ty hợp danh", 0.3),
    ]
)
STATUSES = Weighted(
    [
        ("Đang hoạt động", 86),
        ("Tạm ngừng kinh doanh", 5.5),
        ("Không hoạt động tại địa chỉ đã đăng ký", 3),
        ("Đang làm thủ tục giải thể", 1.5),
        ("Đã giải thể", 3),
        ("Bị thu hồi GCN", 1),
    ]
)
_CLOSING_STATUSES = frozenset({"Đang làm thủ tục giải thể", "Đã giải thể", "Bị thu hồi GCN"})


@dataclass(frozen=True)
class Profile:
    """A line of business: words for the name, VSIC level-4 codes, and who runs it."""

    keywords: tuple[str, ...]
    vsic: tuple[str, ...]
    weight: float
    forms: frozenset[str] = frozenset({"1TV", "2TV", "CP", "TN"})


PROFILES = (
    Profile(("Thương mại", "Thương mại Dịch vụ", "Thương mại và Dịch vụ", "TM-DV", "Thương mại Tổng hợp",
             "Xuất nhập khẩu"), ("4610", "4620", "4632", "4633", "4641", "4649", "4659", "4663", "4669",
                                 "4690", "4711", "4719", "4722", "4752", "4759", "4771", "4791"), 28),
    Profile(("Xây dựng", "Xây dựng Thương mại", "Tư vấn Xây dựng", "Đầu tư Xây dựng", "Xây dựng và Thương mại"),
            ("4101", "4102", "4211", "4212", "4221", "4222", "4229", "4291", "4299", "4311", "4312", "4321",
             "4322", "4329", "4330", "4390", "7110"), 20),
    Profile(("Thủy sản", "Chế biến Thủy sản", "Hải sản", "Nuôi trồng Thủy sản"),
            ("0311", "0312", "0321", "1020", "4632"), 5),
    Profile(("Gỗ", "Chế biến Gỗ", "Lâm sản", "Sản xuất Đồ gỗ", "Lâm nghiệp"),
            ("1610", "1621", "1622", "1629", "3100", "0220", "4663"), 5),
    Profile(("Vận tải", "Vận tải và Du lịch", "Logistics", "Vận tải Biển"),
            ("4933", "4932", "5210", "5229", "5012", "5224"), 5),
    Profile(("Du lịch", "Khách sạn", "Nhà hàng", "Du lịch và Dịch vụ", "Khách sạn Du lịch"),
            ("5510", "5590", "5610", "5630", "7911", "7912", "7990"), 7),
    Profile(("Bất động sản", "Đầu tư", "Đầu tư và Phát triển", "Phát triển Đô thị"),
            ("6810", "6820", "4101", "4102"), 3, frozenset({"1TV", "2TV", "CP"})),
    Profile(("Công nghệ", "Tin học", "Phần mềm", "Viễn thông", "Giải pháp Công nghệ"),
            ("6201", "6202", "6209", "6311", "4651", "4652", "6190"), 3, frozenset({"1TV", "2TV", "CP"})),
    Profile(("Nông nghiệp", "Nông sản", "Chăn nuôi", "Thức ăn Chăn nuôi"),
            ("0111", "0118", "0145", "0146", "1061", "1080", "4620"), 4),
    Profile(("Cơ khí", "Kỹ thuật", "Điện", "Cơ điện", "Cơ khí Xây dựng"),
            ("2511", "2592", "2599", "3312", "3320", "4321", "4322"), 4),
    Profile(("Vật liệu Xây dựng", "Đá Granite", "Khai thác Đá", "Khoáng sản"),
            ("0810", "2392", "2395", "2396", "4663"), 4),
    Profile(("Môi trường", "Công trình Đô thị", "Cấp thoát nước"),
            ("3600", "3700", "3811", "3821", "8130"), 1, frozenset({"1TV", "2TV", "CP"})),
    Profile(("Giáo dục", "Đào tạo", "Giáo dục và Đào tạo"), ("8512", "8559", "8560"), 2),
    Profile(("Y tế", "Dược phẩm", "Thiết bị Y tế", "Dược"), ("8620", "4772", "2100", "4649"), 2),
    Profile(("Năng lượng", "Điện mặt trời", "Năng lượng Tái tạo"), ("3511", "3512"), 1,
            frozenset({"1TV", "2TV", "CP"})),
    Profile(("May mặc", "Dệt may", "May"), ("1410", "4641"), 1),
    Profile(("Thực phẩm", "Nước mắm", "Rượu", "Bánh tráng", "Chế biến Thực phẩm"),
            ("1079", "1101", "1104", "1071", "1075"), 2),
    Profile(("Quảng cáo", "In ấn", "Truyền thông"), ("7310", "1811", "1812"), 1),
    Profile(("Dịch vụ", "Dịch vụ Bảo vệ", "Vệ sinh Công nghiệp", "Dịch vụ Tổng hợp"),
            ("8121", "8129", "8010", "9610", "8299"), 1),
    Profile(("Ô tô", "Sửa chữa Ô tô", "Xe máy", "Ô tô và Xe máy"), ("4511", "4520", "4541", "4542"), 2),
    Profile(("Xăng dầu", "Kinh doanh Xăng dầu"), ("4730", "4661"), 3, frozenset({"TN", "1TV"})),
    Profile(("Vàng bạc", "Vàng bạc Đá quý", "Kim hoàn"), ("4773", "3211"), 1, frozenset({"TN"})),
    Profile(("Tư vấn", "Kiểm toán", "Luật", "Kế toán"), ("6910", "6920", "7020", "7320"), 2,
            frozenset({"1TV", "2TV", "CP", "HD"})),
)  # fmt: skip
_FORM_KEYS = {
    "Công ty TNHH một thành viên": "1TV",
    "Công ty TNHH hai thành viên trở lên": "2TV",
    "Công ty cổ phần": "CP",
    "Doanh nghiệp tư nhân": "TN",
    "Công ty hợp danh": "HD",
}
BRANDS = (
    "Hoàng Phát", "Phú Tài", "Thành Công", "An Phú", "Minh Khang", "Tấn Phát", "Quang Minh", "Bình Minh",
    "Hưng Thịnh", "Đại Phát", "Thịnh Phát", "Phước Lộc", "Tân Hưng", "Việt Úc", "Trường Thịnh", "Nam Việt",
    "Đại Dương", "Hải Âu", "Sao Mai", "Phương Nam", "Hoàng Long", "Kim Long", "Thiên Phú", "Anh Khoa",
    "Bảo Ngọc", "Nhật Minh", "Thái Bình Dương", "Toàn Thắng", "Vạn Phúc", "Thuận An", "Hòa Bình",
    "Thủy Tiên", "Đông Á", "Lộc Phát", "Phát Đạt", "Gia Huy", "An Khang", "Trung Nam", "Sông Côn",
    "Hà Thanh", "Phương Mai", "Ghềnh Ráng", "Cù Mông", "Thị Nại", "Quy Nhơn", "Bình Định", "Tây Sơn",
    "Nhơn Hội", "Miền Trung", "Duyên Hải", "Tam Quan", "Hoài Nhơn", "Đất Võ", "Vĩnh Hưng", "Tín Nghĩa",
    "Phúc Thịnh", "Đức Thành", "Hồng Phúc", "Quốc Bảo", "Thành Đạt", "Hòa Phát Đạt", "Khánh An",
    "Tường Vy", "Hưng Long", "Mỹ Thuận", "Tân Thành", "Ngọc Thủy", "Hoàng Gia", "Sài Gòn - Quy Nhơn",
)  # fmt: skip
_DNTN_MIDDLES = ("Thanh", "Minh", "Kim", "Ngọc", "Quốc", "Hồng", "Tấn", "Xuân")
QUY_NHON_STREETS = (
    "Trần Hưng Đạo", "Lê Hồng Phong", "Nguyễn Huệ", "Hùng Vương", "Tây Sơn", "Nguyễn Thái Học", "Lê Lợi",
    "An Dương Vương", "Điện Biên Phủ", "Nguyễn Tất Thành", "Phạm Hùng", "Ngô Mây", "Trần Phú", "Xuân Diệu",
    "Lý Thường Kiệt", "Bạch Đằng", "Quang Trung", "Lê Duẩn", "Võ Thị Sáu", "Hoàng Văn Thụ", "Nguyễn Lữ",
    "Phan Bội Châu", "Tăng Bạt Hổ", "Ngô Gia Tự", "Lê Thánh Tôn", "Chương Dương", "Nguyễn Văn Cừ",
    "Đào Tấn", "Mai Xuân Thưởng", "Lạc Long Quân", "Hàm Nghi", "Trần Quang Diệu", "Bà Triệu",
)  # fmt: skip
TOWN_STREETS = (
    "Quang Trung", "Trần Hưng Đạo", "Lê Lợi", "Nguyễn Huệ", "Hai Bà Trưng", "Lê Duẩn", "Quốc lộ 1A",
    "Quốc lộ 19", "Nguyễn Trân", "Đào Duy Từ", "Hùng Vương", "Trần Phú", "Võ Văn Dũng",
)  # fmt: skip
VILLAGES = (
    "An Hòa", "Phú Thạnh", "Trung Lương", "Vĩnh Lợi", "Mỹ Thuận", "Đại Hữu", "Tân An", "Thuận Hạnh",
    "Hòa Hiệp", "Kim Tây", "Lộc Thượng", "Xuân Phong", "Phú Mỹ", "Tân Lập", "Hội Thạnh", "Bình Lâm",
)  # fmt: skip
# Commune names found in real registers that match no list: merged away before 2025, typos, zones.
UNKNOWN_PLACES = (
    "Phường Lê Lợi", "Phường Lý Thường Kiệt", "Phường Lê Hồng Phong", "Phường Trần Hưng Đạo",
    "KCN Phú Tài", "KKT Nhơn Hội", "Phường Nhơn Bìhn", "Xã Phước Thắgn", "Khu kinh tế Nhơn Hội",
)  # fmt: skip
UNKNOWN_PLACES_2025 = (*UNKNOWN_PLACES, "Phường Quy Nhơn Trung", "Xã Tuy Phước Trung")
GHI_CHU = ("Chuyển trụ sở", "Thay đổi người đại diện", "Tăng vốn điều lệ", "Đã đối chiếu", "Chi nhánh",
           "Tạm ngừng đến hết năm", "Chưa nộp báo cáo")  # fmt: skip
OTHER_PROVINCE_PREFIXES = ("01", "03", "04")  # branches of companies headquartered in Hà Nội, HCMC, Đà Nẵng

# District weights for enterprise head offices (pre-2025 Bình Định; old Gia Lai only after 2025-07).
DISTRICT_WEIGHTS = {
    "540": 45, "549": 10, "543": 9, "550": 8, "548": 7, "547": 6, "545": 6, "544": 3, "542": 1.5,
    "546": 1.5, "551": 1.5,
    "622": 40, "623": 8, "624": 5,
}  # fmt: skip
OTHER_GIA_LAI_DISTRICT_WEIGHT = 3.4
GIA_LAI_SHARE_AFTER_2025 = 0.40
URBAN_WEIGHT = 3.0  # phường and thị trấn host more enterprises than xã


@dataclass(slots=True)
class Enterprise:
    tax_code: str
    name: str
    legal_form: str
    registered: date
    last_changed: date | None
    address: str
    commune: Commune
    vsic: str
    capital: int | None  # none for most branches (they have no charter capital of their own)
    employees: int | None
    status: str
    rep: Person
    clean_key: bool = True  # key may be reused by a conflict


@dataclass(frozen=True)
class HouseStyle:
    """Everything decided once per file."""

    fmt: str
    post_2025: bool
    columns: tuple[str, ...]
    headers: tuple[str, ...]
    two_row_header: tuple[tuple[str, int, int], ...]  # (group title, first col, last col), 1-based
    title_lines: tuple[TitleLine, ...]
    numbering: bool
    footer: bool
    date_style: str
    money_style: str
    place_prefix: str
    place_modifier: str
    upper_names: bool
    full_address: bool
    old_tone: bool
    nfd_all: bool
    legacy_encoding: str | None  # the font used for legacy cells in this file (None: not possible)
    legacy_column: str | None
    vsic_numeric: bool
    dialect: CsvDialect | None
    sheet_title: str


def _place_pool(period: date) -> tuple[Weighted[Commune], bool]:
    post = period >= REORGANISATION_DATE
    communes = [
        c
        for c in old_communes()
        if (post or c.province_code == "52") and not (post and c.new_unit is None)  # Canh Hiệp: no target
    ]

    def urban(c: Commune) -> float:
        return URBAN_WEIGHT if c.unit.unit_type in ("phuong", "thi_tran") else 1.0

    district_totals: dict[str, float] = {}
    for c in communes:
        district_totals[c.district.code] = district_totals.get(c.district.code, 0.0) + urban(c)
    pairs = [
        (
            c,
            DISTRICT_WEIGHTS.get(c.district.code, OTHER_GIA_LAI_DISTRICT_WEIGHT)
            * urban(c)
            / district_totals[c.district.code],
        )
        for c in communes
    ]  # a district gets its weight; inside it, phường and thị trấn count URBAN_WEIGHT times a xã
    if post:  # scale the two territories to their shares
        totals = {p: sum(w for c, w in pairs if c.province_code == p) for p in ("52", "64")}
        share = {"52": 1 - GIA_LAI_SHARE_AFTER_2025, "64": GIA_LAI_SHARE_AFTER_2025}
        pairs = [(c, w * share[c.province_code] / totals[c.province_code]) for c, w in pairs]
    return Weighted(pairs), post


class EnterpriseFactory:
    """Builds canonical enterprise records (no defects), one at a time."""

    def __init__(self, seed: int, period: date, rows: int = DEFAULT_ROWS) -> None:
        self.rng = derive(seed, DATASET, "records")
        self.period = period
        self.places, self.post_2025 = _place_pool(period)
        lead = "0" if rows < 800_000 else ""  # 41 0xx…: ~900,000 codes; beyond that the whole range
        self.allocators = {p: TaxCodeAllocator(derive(seed, DATASET, "tax", p), p, lead) for p in ("41", "59")}
        self.outside = {p: TaxCodeAllocator(derive(seed, DATASET, "tax", p), p, "") for p in OTHER_PROVINCE_PREFIXES}
        self.profiles = {
            key: Weighted((p, p.weight) for p in PROFILES if key in p.forms) for key in _FORM_KEYS.values()
        }
        years = range(EARLIEST_REGISTRATION.year, period.year + 1)
        self.years = Weighted((y, 1 + 0.3 * (y - EARLIEST_REGISTRATION.year)) for y in years)
        self.parents: deque[Enterprise] = deque(maxlen=200)
        self.branch_counts: dict[str, int] = {}

    def _registered(self) -> date:
        year = self.years.draw(self.rng)
        start = max(date(year, 1, 1), EARLIEST_REGISTRATION)
        return random_date(self.rng, start, min(date(year, 12, 31), self.period))

    def _change_date(self, registered: date) -> date | None:
        """A later registered change, at least a month after registration when there is room."""
        start = min(registered + timedelta(days=30), self.period)
        if start <= registered:
            return None
        return random_date(self.rng, start, self.period)

    def _capital(self, form_key: str) -> int:
        lo, hi = {"TN": (1e8, 5e9), "1TV": (1e8, 2e10), "2TV": (5e8, 3e10), "CP": (1e9, 5e10), "HD": (1e8, 5e9)}[
            form_key
        ]
        x = lo * (hi / lo) ** (self.rng.random() ** 1.6)  # most enterprises are small
        step = 100_000_000 if x < 1e9 else 500_000_000 if x < 1e10 else 1_000_000_000
        return int(min(max(round(x / step) * step, 100_000_000), 50_000_000_000))

    def _address(self, commune: Commune) -> str:
        rng = self.rng
        kind = commune.unit.unit_type
        if commune.district.code == "540" and kind == "phuong":
            r = rng.random()
            street = rng.pick(QUY_NHON_STREETS)
            if r < 0.55:
                return f"{rng.choice(['Số ', ''])}{rng.randint(1, 450)} {street}"
            if r < 0.75:
                return f"{rng.randint(1, 300)}/{rng.randint(1, 40)} {street}"
            if r < 0.9:
                return f"Tổ {rng.randint(1, 60)}, khu vực {rng.randint(1, 12)}"
            if commune.unit.bare in ("Trần Quang Diệu", "Bùi Thị Xuân"):
                return f"Lô {rng.choice('ABCD')}{rng.randint(1, 30)}, KCN Phú Tài"
            return f"Số {rng.randint(1, 200)} đường {street}"
        if kind in ("phuong", "thi_tran"):
            r = rng.random()
            if r < 0.6:
                return f"{rng.choice(['Số ', ''])}{rng.randint(1, 300)} {rng.pick(TOWN_STREETS)}"
            return f"{rng.choice(['Khối', 'Khu phố', 'Tổ dân phố'])} {rng.randint(1, 12)}"
        if rng.chance(0.7):
            return f"Thôn {rng.pick(VILLAGES)}"
        return f"Thôn {rng.randint(1, 9)}"

    def _name(self, form_key: str, profile: Profile, rep: Person) -> str:
        rng = self.rng
        kw = rng.pick(profile.keywords)
        brand = rng.pick(BRANDS)
        r = rng.random()
        if form_key == "TN":
            if r < 0.3:
                parts = rep.name.split()
                middle = parts[1] if len(parts) > 2 and parts[1] not in ("Văn", "Thị") else rng.pick(_DNTN_MIDDLES)
                brand = f"{middle} {parts[-1]}"
            prefix = "DNTN" if rng.chance(0.15) else "Doanh nghiệp tư nhân"
            return f"{prefix} {kw} {brand}" if r < 0.85 else f"{prefix} {brand}"
        if form_key == "HD":
            if "Luật" in kw:
                return f"Công ty Luật hợp danh {brand}"
            return f"Công ty hợp danh {kw} {brand}"
        if form_key == "CP":
            prefix = "Công ty CP" if rng.chance(0.15) else "Công ty cổ phần"
        elif form_key == "1TV" and r < 0.25:
            prefix = "Công ty TNHH MTV" if r < 0.15 else "Công ty TNHH Một thành viên"
        else:
            prefix = "Công ty TNHH"
        return f"{prefix} {kw} {brand}" if rng.chance(0.8) else f"{prefix} {brand}"

    def new(self) -> Enterprise:
        rng = self.rng
        commune = self.places.draw(rng)
        home = "064" if commune.province_code == "64" else "052"
        registered = self._registered()
        rep = random_person(rng, (1950, min(2000, registered.year - 20)), home)
        if rng.chance(BRANCH_RATE):
            return self._branch(commune, registered, rep)
        form = LEGAL_FORMS.draw(rng)
        form_key = _FORM_KEYS[form]
        profile = self.profiles[form_key].draw(rng)
        status = STATUSES.draw(rng)
        last_changed = None
        if status in _CLOSING_STATUSES or rng.chance(0.7):
            last_changed = self._change_date(registered)
        capital = self._capital(form_key)
        employees = None
        if rng.chance(0.8):
            mu = 1.3 + 0.35 * math.log10(capital / 1e8)
            employees = max(1, min(5000, int(math.exp(rng.gauss(mu, 0.9)))))
        prefix = "59" if commune.province_code == "64" else "41"
        record = Enterprise(
            tax_code=self.allocators[prefix].next(),
            name=self._name(form_key, profile, rep),
            legal_form=form,
            registered=registered,
            last_changed=last_changed,
            address=self._address(commune),
            commune=commune,
            vsic=rng.pick(profile.vsic),
            capital=capital,
            employees=employees,
            status=status,
            rep=rep,
        )
        if form_key != "TN":
            self.parents.append(record)
        return record

    def _branch(self, commune: Commune, registered: date, rep: Person) -> Enterprise:
        rng = self.rng
        if self.parents and rng.chance(0.6):
            parent = rng.pick(self.parents)
            parent_code, parent_name, form = parent.tax_code, parent.name, parent.legal_form
            vsic = parent.vsic
            registered = max(registered, parent.registered)
        else:  # head office in another province
            parent_code = self.outside[rng.pick(OTHER_PROVINCE_PREFIXES)].next()
            form = rng.choice(["Công ty cổ phần", "Công ty TNHH một thành viên", "Công ty TNHH hai thành viên trở lên"])
            short = "Công ty cổ phần" if form == "Công ty cổ phần" else "Công ty TNHH"
            profile = self.profiles[_FORM_KEYS[form]].draw(rng)
            parent_name = f"{short} {rng.pick(profile.keywords)} {rng.pick(BRANDS)}"
            vsic = rng.pick(profile.vsic)
        n = self.branch_counts.get(parent_code, 0) + 1
        self.branch_counts[parent_code] = n
        place = (
            self.places.draw(rng).unit.bare if rng.chance(0.3) else ("Bình Định" if not self.post_2025 else "Gia Lai")
        )
        name = f"Chi nhánh {parent_name}" + (f" tại {place}" if rng.chance(0.7) else f" - {place}")
        status = STATUSES.draw(rng)
        last_changed = self._change_date(registered) if rng.chance(0.6) else None
        if status in _CLOSING_STATUSES and last_changed is None:
            last_changed = self._change_date(registered)
        return Enterprise(
            tax_code=f"{parent_code}-{n:03d}",
            name=name,
            legal_form=form,
            registered=registered,
            last_changed=last_changed,
            address=self._address(commune),
            commune=commune,
            vsic=vsic,
            capital=self._capital("1TV") if rng.chance(0.3) else None,
            employees=max(1, int(math.exp(rng.gauss(1.5, 0.8)))) if rng.chance(0.7) else None,
            status=status,
            rep=rep,
        )

    def conflicting(self, earlier: Enterprise) -> Enterprise:
        """The same tax code delivered again with different values."""
        rng = self.rng
        changes: dict[str, Any] = {}
        what = rng.sample(["status", "capital", "address", "vsic", "rep"], k=rng.randint(1, 2))
        if "status" in what:
            changes["status"] = rng.choice([s for s in STATUSES.items if s != earlier.status])
        if "capital" in what or not changes:
            changes["capital"] = (earlier.capital or 0) + rng.choice([1, 2, 5, 10]) * 100_000_000
        if "address" in what:
            changes["address"] = self._address(earlier.commune)
        if "vsic" in what:
            changes["vsic"] = rng.choice([v for p in PROFILES for v in p.vsic if v != earlier.vsic])
        if "rep" in what:
            changes["rep"] = random_person(rng, (1950, 2000))
        changes["last_changed"] = self._change_date(earlier.registered) or earlier.last_changed
        later = dataclasses.replace(earlier, **changes)
        if all(getattr(later, f) == getattr(earlier, f) for f in ("status", "capital", "address", "vsic")):
            later.capital = (earlier.capital or 0) + 500_000_000  # a tracked value must differ
        return later


def _house_style(seed: int, period: date, fmt: str) -> HouseStyle:
    rng = derive(seed, DATASET, "layout", fmt)
    spec = get_spec(DATASET)
    xlsx = fmt == "xlsx"
    post = period >= REORGANISATION_DATE
    columns = [c.name for c in spec.columns if not (post and c.name == "district_name")]
    if rng.chance(LAYOUT_RATES["shuffled_columns"]):
        for _ in range(rng.randint(1, 4)):
            i, j = rng.randrange(len(columns)), rng.randrange(len(columns))
            columns[i], columns[j] = columns[j], columns[i]
    if rng.chance(LAYOUT_RATES["extra_stt"]):
        columns.insert(0, "stt")
    if rng.chance(LAYOUT_RATES["extra_phone"]):
        columns.insert(rng.randint(len(columns) // 2, len(columns)), "phone")
    if rng.chance(LAYOUT_RATES["extra_ghi_chu"]):
        columns.append("ghi_chu")

    aliases = rng.chance(LAYOUT_RATES["header_aliases"])
    upper_headers = rng.chance(0.2)
    headers = []
    for col in columns:
        if col in EXTRA_COLUMNS:
            header = EXTRA_COLUMNS[col]
        else:
            options = spec.column(col).headers
            header = rng.pick(options[1:]) if aliases and len(options) > 1 and rng.chance(0.4) else options[0]
            if xlsx and aliases and len(header) > 14 and rng.chance(0.5):  # a line break typed in the cell
                words = header.split(" ")
                cut = max(1, len(words) // 2)
                header = " ".join(words[:cut]) + "\n" + " ".join(words[cut:])
        headers.append(header.upper() if upper_headers else header)

    groups: list[tuple[str, int, int]] = []
    if xlsx and rng.chance(LAYOUT_RATES["xlsx_two_row_header"]):
        for title, members in (
            ("Ngày đăng ký", ("registered_date", "last_changed_date")),
            ("Địa bàn", ("commune_name", "district_name")),
            ("Thông tin người đại diện", ("representative_name", "representative_id")),
        ):
            idx = [columns.index(m) for m in members if m in columns]
            if len(idx) == len(members) and max(idx) - min(idx) == len(idx) - 1:
                groups.append((title, min(idx) + 1, max(idx) + 1))
        if not groups:  # keep the two-row header even when the groups' columns were shuffled apart
            groups.append(("Thông tin doanh nghiệp", 1, 2))

    province = "GIA LAI" if post else "BÌNH ĐỊNH"
    department = "SỞ TÀI CHÍNH" if period >= FINANCE_DEPARTMENT_FROM else "SỞ KẾ HOẠCH VÀ ĐẦU TƯ"
    two_col = rng.chance(0.5)
    candidates = letterhead(province, department, "PHÒNG ĐĂNG KÝ KINH DOANH", two_col)
    candidates += [
        (4, TitleLine("")),
        (0, TitleLine(f"DANH SÁCH DOANH NGHIỆP ĐĂNG KÝ TRÊN ĐỊA BÀN TỈNH {province}")),
        (1, TitleLine(f"Kỳ báo cáo: {period.day:02d}/{period.month:02d}/{period.year}")),
        (6, TitleLine("Đơn vị tính: đồng")),
    ]
    if xlsx:
        n_titles = rng.randint(1, 8)
    elif rng.chance(LAYOUT_RATES["csv_title_rows"]):
        n_titles = rng.randint(1, 3)
    else:
        n_titles = 0
    titles = choose_title_lines(rng, candidates, min(n_titles, len(candidates)))

    dialect = None if xlsx else choose_csv_dialect(rng)
    legacy_encoding: str | None = "tcvn3" if rng.chance(0.6) else "vni"
    if dialect is not None and dialect.encoding == "cp1258":
        fitting = [enc for enc in ("vni", "tcvn3") if legacy_fits_cp1258(enc)]
        legacy_encoding = fitting[0] if fitting else None
    legacy_column = None
    if legacy_encoding and rng.chance(LAYOUT_RATES["legacy_column"]):
        legacy_column = rng.pick(LEGACY_COLUMNS)

    date_styles = (
        Weighted([("excel", 45), ("dmy", 35), ("dmy_unpadded", 5), ("iso", 10), ("serial", 5)])
        if xlsx
        else Weighted([("dmy", 60), ("iso", 20), ("dmy_unpadded", 15), ("serial", 5)])
    )
    money_styles = (
        Weighted([("number", 50), ("dots", 25), ("dots_d", 10), ("plain", 10), ("dots_vnd", 5)])
        if xlsx
        else Weighted([("plain", 40), ("dots", 35), ("dots_d", 15), ("dots_vnd", 10)])
    )
    place_prefix = PLACE_HOUSE_STYLES.draw(rng)
    place_modifier = Weighted([("none", 85), ("no_diacritics", 5), ("upper", 5), ("qui", 5)]).draw(rng)
    return HouseStyle(
        fmt=fmt,
        post_2025=post,
        columns=tuple(columns),
        headers=tuple(headers),
        two_row_header=tuple(groups),
        title_lines=tuple(titles),
        numbering=rng.chance(LAYOUT_RATES["xlsx_numbering_row" if xlsx else "csv_numbering_row"]),
        footer=rng.chance(LAYOUT_RATES["xlsx_footer" if xlsx else "csv_footer"]),
        date_style=date_styles.draw(rng),
        money_style=money_styles.draw(rng),
        place_prefix=place_prefix,
        place_modifier=place_modifier,
        upper_names=rng.chance(LAYOUT_RATES["upper_names"]),
        full_address=rng.chance(LAYOUT_RATES["full_address"]),
        old_tone=rng.chance(LAYOUT_RATES["old_tone_file"]),
        nfd_all=rng.chance(LAYOUT_RATES["nfd_file"]),
        legacy_encoding=legacy_encoding,
        legacy_column=legacy_column,
        vsic_numeric=xlsx and rng.chance(LAYOUT_RATES["xlsx_vsic_numeric"]),
        dialect=dialect,
        sheet_title=rng.choice(["Sheet1", "DSDN", "Danh sách DN", f"DN_{period:%m%Y}", "Báo cáo"]),
    )


_BLANKABLE = Weighted([("name", 3), ("registered_date", 3), ("status", 2), ("tax_code", 2)])
_BLANKABLE_IN_CONFLICT = Weighted([("name", 3), ("registered_date", 3), ("status", 2)])  # keep the key
_TEXT_COLUMNS = ("name", "address", "representative_name", "commune_name", "district_name", "status", "legal_form")


class RowRenderer:
    """Turns a canonical record into the cells of one file row, with this row's defects."""

    def __init__(self, style: HouseStyle, seed: int, stats: GenerationStats) -> None:
        self.style = style
        self.rng = derive(seed, DATASET, "defects")
        self.stats = stats
        self.xlsx = style.fmt == "xlsx"
        spec = get_spec(DATASET)
        self.legal_aliases = _invert(spec.column("legal_form").aliases)
        self.status_aliases = _invert(spec.column("status").aliases)
        self.rates = dict(DEFECT_RATES)
        if style.legacy_encoding is None:
            self.rates["legacy_cell"] = 0.0
        if not style.post_2025:
            self.rates["stale_place_name"] = 0.0
        self.stt = 0
        self.text_columns = [c for c in _TEXT_COLUMNS if c in style.columns]
        self.legacy_targets = [
            c for c in ("name", "address", "representative_name", "commune_name") if c in style.columns
        ]

    def _place(self, unit: Unit, p: float) -> tuple[str, bool]:
        """(written name, deviates from the house style)."""
        if self.rng.chance(p):
            prefix, modifier = random_place_style(self.rng, unit)
            return style_place(unit, prefix, modifier), True
        return style_place(unit, self.style.place_prefix, self.style.place_modifier), False

    def _date(self, d: date | None, deviate: bool) -> Cell | Styled:
        if d is None:
            return None
        style = self.style.date_style
        if deviate:
            style = self.rng.choice(
                [s for s in ("dmy", "dmy_unpadded", "iso", "words", "serial", "excel") if s != style]
            )
        value = format_date(d, style, xlsx=self.xlsx)
        if isinstance(value, int):
            return Styled(value, "0")
        return value

    def render(self, e: Enterprise, row_number: int, conflict: bool) -> list[Cell | Styled]:
        rng, rates, style, stats = self.rng, self.rates, self.style, self.stats
        hit: list[str] = []

        # identifiers
        tax = e.tax_code
        if not conflict and e.clean_key and rng.chance(rates["tax_code_bad_check_digit"]):
            tax = corrupt_check_digit(tax, rng)
            e.clean_key = False
            hit.append("tax_code_bad_check_digit")
            stats.example("tax_code_bad_check_digit", row=row_number, written=tax, intended=e.tax_code)
        if rng.chance(rates["tax_code_formatted"]):
            tax = format_tax_code_noisy(tax, rng)
            hit.append("tax_code_formatted")
            stats.example("tax_code_formatted", row=row_number, written=tax, intended=e.tax_code)

        rep_id: Cell | Styled = e.rep.id_number
        r = rng.random()
        t1 = rates["representative_id_lost_zero"]
        t2 = t1 + rates["representative_id_cmnd"]
        t3 = t2 + rates["representative_id_spaces"]
        if r < t1:
            rep_id = int(e.rep.id_number) if self.xlsx else str(int(e.rep.id_number))
            hit.append("representative_id_lost_zero")
        elif r < t2:
            rep_id = cmnd(rng, e.rep.id_number[:3])
            hit.append("representative_id_cmnd")
        elif r < t3:
            rep_id = format_id_spaced(e.rep.id_number, rng)
            hit.append("representative_id_spaces")
        elif rng.chance(0.02):
            rep_id = None  # optional column: an honest blank, not a defect

        # enumerations
        legal_form = e.legal_form
        if legal_form in self.legal_aliases and rng.chance(rates["legal_form_alias"]):
            legal_form = rng.pick(self.legal_aliases[legal_form])
            hit.append("legal_form_alias")
        status = e.status
        if status in self.status_aliases and rng.chance(rates["status_alias"]):
            status = rng.pick(self.status_aliases[status])
            hit.append("status_alias")

        # dates and money
        date_dev = rng.chance(rates["date_variant"])
        dev_last = date_dev and e.last_changed is not None and rng.chance(0.5)
        registered = self._date(e.registered, date_dev and not dev_last)
        last_changed = self._date(e.last_changed, dev_last)
        if date_dev:
            hit.append("date_variant")
        money_style = style.money_style
        if rng.chance(rates["money_variant"]):
            money_style = rng.choice([s for s in ("dots", "dots_d", "dots_vnd", "plain", "words") if s != money_style])
            hit.append("money_variant")
        capital: Cell | Styled = None
        if e.capital is not None:
            capital_value = format_money(e.capital, money_style, xlsx=self.xlsx)
            capital = Styled(capital_value, "#,##0") if isinstance(capital_value, int) else capital_value

        # places
        commune_unit = e.commune.new_unit if style.post_2025 and e.commune.new_unit else e.commune.unit
        p_place = rates["place_style_variant"] if style.post_2025 else 1 - math.sqrt(1 - rates["place_style_variant"])
        commune, dev1 = self._place(commune_unit, p_place)
        district, dev2 = self._place(e.commune.district, p_place)  # two place cells: ~rate per row
        if dev1 or (dev2 and not style.post_2025):
            hit.append("place_style_variant")
        if style.post_2025 and rng.chance(rates["stale_place_name"]) and e.commune.unit.name != commune_unit.name:
            commune = style_place(e.commune.unit, style.place_prefix)
            hit.append("stale_place_name")
            stats.example("stale_place_name", row=row_number, written=commune, intended=commune_unit.name)
        if rng.chance(rates["unknown_place"]):
            commune = rng.pick(UNKNOWN_PLACES_2025 if style.post_2025 else UNKNOWN_PLACES)
            hit.append("unknown_place")
            stats.example("unknown_place", row=row_number, written=commune, intended=commune_unit.name)

        address = e.address
        if style.full_address:
            tail = commune_unit.name.replace("Phường", "phường").replace("Xã", "xã").replace("Thị trấn", "thị trấn")
            if style.post_2025:
                address = f"{address}, {tail}, tỉnh Gia Lai"
            else:
                address = f"{address}, {tail}, {e.commune.district.name}, tỉnh Bình Định"

        name = e.name.upper() if style.upper_names else e.name
        vsic: Cell = e.vsic
        if style.vsic_numeric:
            vsic = int(e.vsic)
            if e.vsic.startswith("0"):
                hit.append("vsic_lost_zero")

        values: dict[str, Cell | Styled] = {
            "tax_code": tax,
            "name": name,
            "legal_form": legal_form,
            "registered_date": registered,
            "last_changed_date": last_changed,
            "address": address,
            "commune_name": commune,
            "district_name": district,
            "main_vsic": vsic,
            "charter_capital_vnd": capital,
            "employees": e.employees,
            "status": status,
            "representative_name": e.rep.name,
            "representative_id": rep_id,
        }
        if "stt" in style.columns:
            self.stt += 1
            values["stt"] = self.stt
        if "ghi_chu" in style.columns:
            values["ghi_chu"] = rng.pick(GHI_CHU) if rng.chance(0.08) else None
        if "phone" in style.columns:
            values["phone"] = _phone(rng) if rng.chance(0.7) else None

        if rng.chance(rates["blank_required"]):
            field = (_BLANKABLE_IN_CONFLICT if conflict else _BLANKABLE).draw(rng)
            stats.example("blank_required", row=row_number, column=field)
            values[field] = None
            if field == "tax_code":
                e.clean_key = False
            hit.append("blank_required")

        # text: house habits first, then one-cell defects
        if style.old_tone:
            for col in ("name", "address", "representative_name"):
                v = values[col]
                if isinstance(v, str):
                    values[col] = old_tone(v)
        legacy_done = False
        if style.legacy_column and isinstance(values[style.legacy_column], str):
            original = str(values[style.legacy_column])
            encoded = legacy(original, str(style.legacy_encoding))
            if encoded != original:
                values[style.legacy_column] = encoded
                legacy_done = True
                stats.example("legacy_text", limit=40, row=row_number, column=style.legacy_column, written=encoded,
                              intended=legacy_truth(original, str(style.legacy_encoding)),
                              encoding=style.legacy_encoding)  # fmt: skip
        if style.legacy_encoding and rng.chance(rates["legacy_cell"]):
            col = rng.pick(self.legacy_targets)
            cell = values[col]
            if isinstance(cell, str):
                encoded = legacy(cell, style.legacy_encoding)
                if encoded != cell:
                    values[col] = encoded
                    legacy_done = True
                    hit.append("legacy_cell")
                    stats.example("legacy_text", limit=40, row=row_number, column=col, written=encoded,
                                  intended=legacy_truth(cell, style.legacy_encoding),
                                  encoding=style.legacy_encoding)  # fmt: skip
        if legacy_done:
            hit.append("legacy_text")
        hit += text_defects(values, rng, rates, nfd_columns=self.text_columns, space_columns=self.text_columns,
                            nfd_all_columns=self.text_columns if style.nfd_all else ())  # fmt: skip

        for defect in hit:
            stats.count(defect)
        return [values[c] for c in style.columns]


def _invert(aliases: Mapping[str, str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for alias, value in aliases.items():
        result.setdefault(value, []).append(alias)
    return result


def _phone(rng: Rng) -> str:
    if rng.chance(0.5):
        return f"0256 {rng.randint(3_000_000, 3_999_999)}"
    return f"0{rng.choice(['90', '91', '93', '94', '96', '97', '98', '35', '36', '38', '39', '79', '77'])}{rng.randrange(10**7):07d}"


def _footer(style: HouseStyle, width: int, data_rows: int, period: date, rng: Rng) -> list[list[Cell]]:
    right = max(width - 3, 1)
    place = "Gia Lai" if style.post_2025 else rng.choice(["Quy Nhơn", "Bình Định"])
    signed = period + timedelta(days=rng.randint(1, 6))

    def at(*cells: tuple[int, str]) -> list[Cell]:
        row: list[Cell] = [None] * width
        for col, text in cells:
            row[min(col, width - 1)] = text
        return row

    rows: list[list[Cell]] = [[]]
    rows.append([f"Tổng cộng: {dotted(data_rows)} doanh nghiệp"])
    rows.append([])
    rows.append(at((right, f"{place}, {vietnamese_long_date(signed)}")))
    rows.append(at((1, "Người lập biểu"), (right, "Thủ trưởng đơn vị")))
    rows.append(at((1, "(Ký, ghi rõ họ tên)"), (right, "(Ký tên, đóng dấu)")))
    rows += [[], []]
    rows.append(at((1, person_name(rng, "F")), (right, person_name(rng, "M"))))
    return rows


def generate_enterprises(
    out_dir: Path,
    rows: int | None = None,
    seed: int = 42,
    *,
    period: str | date | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    stats_out: Path | None = None,
) -> GeneratedFiles:
    """Write `doanh_nghiep_YYYYMMDD.xlsx|csv` into out_dir and return its path (with `.stats`)."""
    n_rows = DEFAULT_ROWS if rows is None else int(rows)
    if n_rows < 0:
        raise ValueError("rows must be >= 0")
    when = parse_period(period, DEFAULT_PERIOD)
    if when < date(2005, 1, 1):
        raise ValueError(f"period {when} is before the register this generator imitates (2005 on)")
    kind = check_fmt(fmt or default_fmt(n_rows))
    if kind == "xlsx" and n_rows > XLSX_MAX_ROWS:
        raise ValueError(
            f"an xlsx sheet holds {XLSX_MAX_ROWS:,} data rows here (Excel's limit is 1,048,576); use fmt='csv'"
        )
    out = ensure_out_dir(out_dir)
    path = out / file_name(FILE_PREFIX, when, "daily", kind)

    style = _house_style(seed, when, kind)
    stats = GenerationStats(dataset=DATASET, file=path.name, fmt=kind, period=when.isoformat(), seed=seed, rows=n_rows)
    renderer = RowRenderer(style, seed, stats)
    stats.rates = dict(renderer.rates)
    factory = EnterpriseFactory(seed, when, n_rows)
    flow = derive(seed, DATASET, "flow")
    width = len(style.columns)

    writer: XlsxTableWriter | CsvTableWriter
    if kind == "xlsx":
        writer = XlsxTableWriter(path, style.sheet_title, width)
    else:
        assert style.dialect is not None
        writer = CsvTableWriter(path, style.dialect, width)
    try:
        data_rows = _write_table(writer, style, factory, renderer, flow, n_rows, stats, progress)
        if style.footer:
            footer = _footer(style, width, data_rows, when, flow)
            for row in footer:
                writer.append(row, pad=kind == "csv" and bool(row))
            stats.layout["footer_rows"] = len(footer)
        else:
            stats.layout["footer_rows"] = 0
    finally:
        writer.close()
    if progress is not None and stats.data_rows % PROGRESS_EVERY:
        progress(stats.data_rows)

    stats.layout.update(
        {
            "columns": list(style.columns),
            "headers": list(style.headers),
            "extra_columns": [EXTRA_COLUMNS[c] for c in style.columns if c in EXTRA_COLUMNS],
            "title_rows": len(style.title_lines),
            "numbering_row": style.numbering,
            "two_row_header": bool(style.two_row_header),
            "date_style": style.date_style,
            "money_style": style.money_style,
            "place_style": f"{style.place_prefix}/{style.place_modifier}",
            "upper_names": style.upper_names,
            "full_address": style.full_address,
            "old_tone": style.old_tone,
            "nfd_file": style.nfd_all,
            "legacy_encoding": style.legacy_encoding,
            "legacy_column": style.legacy_column,
            "vsic_numeric": style.vsic_numeric,
            "district_column": "district_name" in style.columns,
        }
    )
    if style.dialect is not None:
        stats.layout.update(style.dialect.describe())
    else:
        stats.layout["sheet"] = style.sheet_title
    result = GeneratedFiles([path], [stats])
    if stats_out is not None:
        write_stats(result.stats, Path(stats_out), out, DATASET)
    return result


def _write_table(
    writer: XlsxTableWriter | CsvTableWriter,
    style: HouseStyle,
    factory: EnterpriseFactory,
    renderer: RowRenderer,
    flow: Rng,
    n_rows: int,
    stats: GenerationStats,
    progress: Callable[[int], None] | None,
) -> int:
    width = len(style.columns)
    csv_file = style.fmt == "csv"
    row_no = 0
    for line in style.title_lines:
        row_no += 1
        if line.right:
            half = max(width // 2, 1)
            title_cells: list[Cell] = [None] * width
            title_cells[0] = line.text
            title_cells[min(half, width - 1)] = line.right
            writer.append(title_cells, bold=True)
            writer.merge(row_no, 1, row_no, max(half, 1))
            writer.merge(row_no, min(half, width - 1) + 1, row_no, width)
        elif line.text:
            writer.append([line.text], pad=csv_file, bold=True)
            writer.merge(row_no, 1, row_no, width)
        else:
            writer.append([], pad=csv_file)
    header_row = row_no + 1
    if style.two_row_header:
        grouped = {c: title for title, a, b in style.two_row_header for c in range(a, b + 1)}
        top: list[Cell] = []
        bottom: list[Cell] = []
        for i, header in enumerate(style.headers, start=1):
            if i in grouped:
                first = min(a for t, a, b in style.two_row_header if t == grouped[i])
                top.append(grouped[i] if i == first else None)
                bottom.append(header)
            else:
                top.append(header)
                bottom.append(None)
        assert isinstance(writer, XlsxTableWriter)
        writer.append(top, bold=True)
        writer.append(bottom, bold=True)
        for i in range(1, width + 1):
            if i not in grouped:
                writer.merge(header_row, i, header_row + 1, i)
        for _title, a, b in style.two_row_header:
            if b > a:
                writer.merge(header_row, a, header_row, b)
        row_no += 2
    else:
        writer.append(list(style.headers), bold=True)
        row_no += 1
    if style.numbering:
        writer.append(numbering_row(width))
        row_no += 1
    first_data_row = row_no + 1
    stats.layout.update({"header_row": header_row, "header_rows": row_no - header_row + 1 - int(style.numbering)})
    stats.layout["first_data_row"] = first_data_row

    recent: deque[Enterprise] = deque(maxlen=500)  # candidates for a conflicting re-delivery
    pending: list[tuple[int, int, list[Cell | Styled]]] = []  # heap of exact duplicates (due, seq, cells)
    conflict_keys: set[str] = set()
    written = 0

    def emit(cells: Sequence[Cell | Styled]) -> None:
        nonlocal written
        writer.append(cells)
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)

    for i in range(n_rows):
        conflict = False
        record: Enterprise | None = None
        if recent and flow.chance(DEFECT_RATES["conflict"]):
            candidates = [r for r in recent if r.clean_key]
            if candidates:
                earlier = flow.pick(candidates)
                recent.remove(earlier)
                record = factory.conflicting(earlier)
                conflict = True
                stats.conflict_rows += 1
                conflict_keys.add(earlier.tax_code)
                stats.count("conflict")
        if record is None:
            record = factory.new()
            recent.append(record)
        cells = renderer.render(record, first_data_row + written, conflict)
        emit(cells)
        if flow.chance(DEFECT_RATES["exact_duplicate"]):
            heapq.heappush(pending, (i + flow.randint(0, 30), i, cells))
        while pending and pending[0][0] <= i:
            emit(heapq.heappop(pending)[2])
            stats.exact_duplicates += 1
    while pending:
        emit(heapq.heappop(pending)[2])
        stats.exact_duplicates += 1
    if stats.exact_duplicates:
        stats.count("exact_duplicate", stats.exact_duplicates)
    stats.conflicting_keys = len(conflict_keys)
    stats.data_rows = written
    stats.layout["last_data_row"] = first_data_row + written - 1
    return written


def vsic_codes() -> frozenset[str]:
    return frozenset(v for p in PROFILES for v in p.vsic)


__all__ = [
    "DATASET",
    "DEFAULT_PERIOD",
    "DEFAULT_ROWS",
    "DEFECT_RATES",
    "LAYOUT_RATES",
    "generate_enterprises",
    "vsic_codes",
]
