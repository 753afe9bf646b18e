"""Generator of the annual poverty-review export (`ra_soat_ho_ngheo_YYYY.xlsx`).

Data: the result of the year's review of poor and near-poor households (rà soát hộ nghèo, hộ cận
nghèo) under the 2022–2025 multidimensional standard (Decree 07/2021/NĐ-CP): one row per reviewed
household with its area type, members, income per person, the 12 deprivation marks, their total
and the classification (SOURCES.md "poor_households"). Owner of the real data: Sở Lao động – Thương
binh và Xã hội until 2025, then Sở Nông nghiệp và Môi trường / Sở Nội vụ. Default: the end-2023
review, 50,000 reviewed households with about 13,400 poor and 13,300 near-poor (DOMAIN §6), xlsx.

Households are drawn class first, then made to fit it: a poor household has an income at or under
the line of its area type (from `pipelines.datasets.poor_households.STANDARDS`, the same table the
pipeline checks against) and 3 or more deprivations; a near-poor one fewer than 3; an average one
an income between the line and the top of the average band; and so on. Reviewed households are
concentrated in rural and mountain communes; heads in the mountain districts are mostly Ba Na,
Hrê or Chăm. Shares are illustrative, not statistics.

Defect rates (per distinct row, deterministic by seed; `DEFECT_RATES`). "Hard" defects make the
pipeline quarantine the row and are mutually exclusive per row, so every fate of a generated file
is predictable from `GenerationStats.defects` (see `QUARANTINING_DEFECTS`); "warn" defects are
loaded and flagged; the rest are variants the pipeline must read.

| defect | rate | kind | what the row carries |
|---|---|---|---|
| exact_duplicate | 0.3 % | — | a verbatim copy follows within 30 rows (adds a data row) |
| conflict | 0.2 % | hard | the code of an earlier clean row with another income or classification (both quarantined) |
| household_code_blank | 0.1 % | hard | no household code (`missing_household_code`) |
| mark_invalid | 0.1 % | hard | a mark that is neither yes nor no: "xx", "?", "2" (`invalid_deprived_NN`) |
| members_zero | 0.05 % | hard | 0 members (`implausible_members`) |
| income_implausible | 0.05 % | hard | the income typed with three zeros too many (`implausible_income`) |
| income_unreadable | 0.05 % | hard | "1.2tr/tháng", "không rõ" (`invalid_income_per_capita_vnd`) |
| area_unknown | 0.05 % | hard | "Miền núi", "Ven biển" (`unknown_area_type`) |
| classification_unknown | 0.05 % | hard | "Hộ khá", "Chưa phân loại" (`unknown_classification`) |
| unknown_place | 0.1 % | hard | a commune name in no list (`unknown_place`) |
| classification_disagrees | 1.5 % | warn | a classification the standard does not give (`classification_disagrees_with_standard`) |
| count_mismatch | 0.8 % | warn | a total one off the marks (`deprivation_count_mismatch`) |
| head_id_blank | 1 % | warn | no ID of the head (`missing_head_id`) |
| income_blank | 0.2 % | warn | no income (`classification_not_checkable`) |
| head_id_lost_zero / _cmnd / _spaces | 3 / 3 / 1 % | variant | the head's CCCD as a number, the old CMND, with spaces |
| head_id_lost_two_zeros | (of lost_zero) | hard | a CCCD of provinces 001–009 as a number of 10 digits (`invalid_head_id`) |
| mark_variant | 1 % | variant | one mark not in the file's style ("X" in an "x" file, "có", "1", "✓") |
| enum_alias | 3 % | variant | "Nghèo", "Cận nghèo", "HCN", "NT", "TT", … (aliases of the spec) |
| money_variant | 3 % | variant | an income not in the house style ("1.200.000 đ", "1,2 triệu", plain) |
| stale_place_name | 3 % | variant | a review after the 2025 reorganisation: the old commune name |
| place_style_variant | 8 % | variant | commune/district written unlike the house style |
| legacy_cell, nfd_cell, whitespace | 0.3 / 0.3 / 1 % | variant | one text cell in TCVN3/VNI (name or village), NFD, or with stray blanks |

File-level choices (`LAYOUT_RATES`): indicator headers as "Thiếu hụt 1…12" or as the indicator
names, under a merged group title in xlsx; the mark style ("x", "X", "1"/"0", "có"/"không", "✓");
a "Năm rà soát" column; title rows, numbering row, footer, extra STT / note columns, header aliases,
a legacy-font name or village column, NFD text; CSV dialects (`common.choose_csv_dialect`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType

from pipelines.datasets.poor_households import AVERAGE, NEAR_POOR, NOT_POOR, POOR, RURAL, URBAN, standard_for
from pipelines.generate.common import (
    CCCD_PROVINCES,
    PLACE_HOUSE_STYLES,
    REORGANISATION_DATE,
    Cell,
    Commune,
    GeneratedFiles,
    GenerationStats,
    PersonIds,
    Styled,
    TableFile,
    TableLayout,
    TitleLine,
    Unit,
    Weighted,
    check_fmt,
    choose_csv_dialect,
    choose_headers,
    choose_title_lines,
    communes_at,
    cp1258_encodable,
    derive,
    dotted,
    ensure_out_dir,
    file_name,
    format_money,
    is_urban,
    legacy,
    legacy_fits_cp1258,
    old_communes,
    period_of,
    person_id_cell,
    person_name,
    random_place_style,
    signature_footer,
    style_place,
    text_defects,
    unit_at,
    write_stats,
)
from pipelines.specs import get_spec

DATASET = "poor_households"
FILE_PREFIX = "ra_soat_ho_ngheo"
DEFAULT_ROWS = 50_000  # households reviewed in a year (DOMAIN §6 gives the poor and near-poor among them)
DEFAULT_PERIOD = date(2023, 1, 1)  # the end-2023 review: 13,384 poor and 13,326 near-poor households
NEW_DEPARTMENT_FROM = 2025  # reviews from 2025 on: Sở Nông nghiệp và Môi trường

# Classification of the reviewed households (end-2023: ~26.8 % poor and ~26.6 % near-poor of 50,000).
CLASSES = Weighted(
    [(POOR, 26.8), (NEAR_POOR, 26.6), ("Hộ thoát nghèo", 7.0), ("Hộ thoát cận nghèo", 6.0), (AVERAGE, 20.0),
     (NOT_POOR, 13.6)]
)  # fmt: skip

DEFECT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "exact_duplicate": 0.003,
        "conflict": 0.002,
        "household_code_blank": 0.001,
        "mark_invalid": 0.001,
        "members_zero": 0.0005,
        "income_implausible": 0.0005,
        "income_unreadable": 0.0005,
        "area_unknown": 0.0005,
        "classification_unknown": 0.0005,
        "unknown_place": 0.001,
        "classification_disagrees": 0.015,
        "count_mismatch": 0.008,
        "head_id_blank": 0.01,
        "income_blank": 0.002,
        "head_id_lost_zero": 0.03,
        "head_id_cmnd": 0.03,
        "head_id_spaces": 0.01,
        "mark_variant": 0.01,
        "enum_alias": 0.03,
        "money_variant": 0.03,
        "stale_place_name": 0.03,
        "place_style_variant": 0.08,
        "legacy_cell": 0.003,
        "nfd_cell": 0.003,
        "whitespace": 0.01,
    }
)
HARD_DEFECTS = (
    "household_code_blank", "mark_invalid", "members_zero", "income_implausible", "income_unreadable",
    "area_unknown", "classification_unknown", "unknown_place",
)  # fmt: skip
QUARANTINING_DEFECTS = (*HARD_DEFECTS, "head_id_lost_two_zeros")
LAYOUT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "indicator_names": 0.5,  # else "Thiếu hụt 1" … "Thiếu hụt 12"
        "xlsx_group_header": 0.6,
        "review_year_column": 0.6,
        "csv_title_rows": 0.25,
        "xlsx_numbering_row": 0.5,
        "csv_numbering_row": 0.10,
        "xlsx_footer": 0.8,
        "csv_footer": 0.15,
        "header_aliases": 0.25,
        "upper_headers": 0.15,
        "extra_stt": 0.7,
        "extra_ghi_chu": 0.3,
        "legacy_column": 0.10,
        "nfd_file": 0.05,
    }
)
MARK_STYLES = Weighted([(("x", None), 45), (("X", None), 15), (("1", None), 10), (("1", "0"), 10), (("có", "không"), 10),
                        (("x", "0"), 5), (("✓", None), 5)])  # fmt: skip
MARK_VARIANTS = ("x", "X", "1", "có", "Có", "✓", "v")
INVALID_MARKS = ("xx", "?", "2", "x?")
EXTRA_COLUMNS = {"stt": "STT", "ghi_chu": "Ghi chú"}
GHI_CHU = ("Hộ có người khuyết tật", "Hộ có người cao tuổi neo đơn", "Hộ mới tách", "Phát sinh mới", "Đề nghị xét lại")
GROUP_TITLE = "Các chỉ số thiếu hụt dịch vụ xã hội cơ bản"
INDICATOR_NAMES = (
    "Việc làm", "Người phụ thuộc", "Dinh dưỡng", "Bảo hiểm y tế", "Trình độ giáo dục của người lớn",
    "Tình trạng đi học của trẻ em", "Chất lượng nhà ở", "Diện tích nhà ở bình quân đầu người", "Nguồn nước sinh hoạt",
    "Nhà tiêu hợp vệ sinh", "Sử dụng dịch vụ viễn thông", "Phương tiện phục vụ tiếp cận thông tin",
)  # fmt: skip
# How often each indicator is deprived among poor households (relative weights, illustrative).
INDICATOR_WEIGHTS = (8, 7, 3, 9, 6, 2, 6, 5, 5, 8, 3, 6)
UNKNOWN_AREAS = ("Miền núi", "Ven biển", "Hải đảo")
UNKNOWN_CLASSES = ("Hộ khá", "Chưa phân loại", "Hộ giàu")
UNREADABLE_INCOME = ("1.2tr/tháng", "không rõ", "chưa có", "1,2tr/ng")
UNKNOWN_PLACES = ("Xã Phước Thắgn", "Phường Lê Lợi", "Xã Nhơn Hải Đông", "Thôn Hòa Hội", "Phường Nhơn Bìhn")
VILLAGE_NAMES = ("An Hòa", "Phú Thạnh", "Trung Lương", "Vĩnh Lợi", "Mỹ Thuận", "Đại Hữu", "Tân An", "Thuận Hạnh",
                 "Hòa Hiệp", "Kim Tây", "Lộc Thượng", "Xuân Phong", "Phú Mỹ", "Tân Lập", "Hội Thạnh", "Bình Lâm")  # fmt: skip

# Districts of pre-2025 Bình Định: approximate populations (thousands) × how much more often a
# household there is reviewed (mountain districts have the highest poverty rates). Illustrative.
DISTRICT_WEIGHTS = {
    "540": 290 * 0.3, "543": 210, "548": 190, "549": 180 * 0.8, "550": 180, "545": 170 * 1.2, "547": 120,
    "544": 85 * 1.5, "542": 30 * 6, "546": 30 * 6, "551": 28 * 6,
}  # fmt: skip
GIA_LAI_SHARE_AFTER_2025 = 0.6  # reviews of the new province after the merger: former Gia Lai has more poor
MOUNTAIN_DISTRICTS = frozenset({"542", "546", "551"})
MINORITIES = {"542": Weighted([("Hrê", 55), ("Ba Na", 45)]), "546": Weighted([("Ba Na", 100)]),
              "551": Weighted([("Chăm", 70), ("Ba Na", 30)]), "64": Weighted([("Gia Rai", 60), ("Ba Na", 40)])}  # fmt: skip
MINORITY_FAMILY = {"Ba Na": ("Đinh", "Đinh", "Hồ"), "Hrê": ("Đinh", "Phạm"), "Chăm": ("Mang", "Lê")}
JRAI_FAMILY = ("Rơ Mah", "Ksor", "Siu", "Rơ Châm", "Kpă", "Nay", "Puih")


@dataclass(frozen=True)
class Household:
    code: str
    head_name: str
    head_id: str
    head_old_id: str
    ethnicity: str
    commune: Commune
    village: str
    area: str  # Thành thị | Nông thôn
    members: int
    income: int
    deprived: frozenset[int]  # 1..12
    classification: str


def _round_income(x: float) -> int:
    return int(round(x / 10_000) * 10_000)


class HouseholdFactory:
    """Builds canonical reviewed households (consistent with the standard, no defects)."""

    def __init__(self, seed: int, period: date) -> None:
        self.rng = derive(seed, DATASET, "households")
        self.period = period
        self.review_day = date(period.year, 12, 1)  # reviews run in the last quarter
        standard = standard_for(period.year) or standard_for(2025)
        assert standard is not None
        self.standard = standard
        self.places = _place_pool(self.review_day)
        self.ids = PersonIds(derive(seed, DATASET, "ids"))
        self.counters: dict[str, int] = {}
        self.indicators = Weighted(zip(range(1, 13), INDICATOR_WEIGHTS, strict=True))

    def _deprived(self, low: int, high: int) -> frozenset[int]:
        rng = self.rng
        n = rng.randint(low, high)
        chosen: set[int] = set()
        while len(chosen) < n:
            chosen.add(self.indicators.draw(rng))
        return frozenset(chosen)

    def _income(self, klass: str, area: str) -> tuple[int, frozenset[int]]:
        rng, s = self.rng, self.standard
        line, top = s.income_line_vnd[area], s.average_line_vnd[area]
        cut = s.min_deprivations_poor
        if klass == POOR:
            return _round_income(rng.uniform(0.35, 1.0) * line), self._deprived(
                cut, min(12, cut + rng.choice((0, 0, 1, 1, 2, 4)))
            )
        if klass == NEAR_POOR or (klass == "Hộ thoát nghèo" and rng.chance(0.3)):
            return _round_income(rng.uniform(0.5, 1.0) * line), self._deprived(0, cut - 1)
        if klass in (AVERAGE, "Hộ thoát nghèo"):
            return _round_income(rng.uniform(line + 10_000, top)), self._deprived(0, 3)
        if klass == "Hộ thoát cận nghèo":
            return _round_income(rng.uniform(line + 10_000, 1.5 * top)), self._deprived(0, 2)
        return _round_income(rng.uniform(top + 10_000, 3 * top)), self._deprived(0, 1)

    def new(self) -> Household:
        rng = self.rng
        commune = self.places.draw(rng)
        unit = unit_at(commune, self.review_day)
        area = URBAN if is_urban(unit) else RURAL
        klass = CLASSES.draw(rng)
        income, deprived = self._income(klass, area)
        n = self.counters.get(unit.code, 0) + 1
        self.counters[unit.code] = n
        sex = "M" if rng.chance(0.72) else "F"
        born = rng.randint(self.period.year - 88, self.period.year - 22)
        home = "064" if commune.province_code == "64" else "052"
        province = CCCD_PROVINCES[home].draw(rng)
        ethnicity = self._ethnicity(commune, klass)
        members = 1 if rng.chance(0.12) else min(10, 2 + int(rng.expovariate(1 / 2.2)))
        return Household(
            code=f"{unit.code}-{n:05d}", head_name=self._name(sex, ethnicity), head_id=self.ids.cccd(born, sex, province),
            head_old_id=self.ids.cmnd(province), ethnicity=ethnicity, commune=commune, village=self._village(commune),
            area=area, members=members, income=income, deprived=deprived, classification=klass,
        )  # fmt: skip

    def _ethnicity(self, commune: Commune, klass: str) -> str:
        rng = self.rng
        group = "64" if commune.province_code == "64" else commune.district.code
        if group in MINORITIES and rng.chance(0.75 if klass in (POOR, NEAR_POOR) else 0.5):
            return MINORITIES[group].draw(rng)
        if commune.district.code in ("544", "547") and rng.chance(0.06):
            return "Ba Na"
        return "Kinh"

    def _name(self, sex: str, ethnicity: str) -> str:
        rng = self.rng
        name = person_name(rng, sex)
        if ethnicity in MINORITY_FAMILY:
            return " ".join([rng.pick(MINORITY_FAMILY[ethnicity]), *name.split(" ")[1:]])
        if ethnicity == "Gia Rai":
            return f"{rng.pick(JRAI_FAMILY)} {name.split(' ')[-1]}"
        return name

    def _village(self, commune: Commune) -> str:
        rng = self.rng
        if is_urban(commune.unit):
            return f"{rng.choice(('Tổ', 'Khu vực', 'Khối', 'Tổ dân phố'))} {rng.randint(1, 12)}"
        if commune.district.code in MOUNTAIN_DISTRICTS and rng.chance(0.5):
            return f"Làng {rng.randint(1, 9)}"
        return f"Thôn {rng.pick(VILLAGE_NAMES)}" if rng.chance(0.7) else f"Thôn {rng.randint(1, 9)}"

    def conflicting(self, earlier: Household) -> Household:
        """The same household code delivered twice with another classification (and its income)."""
        rng = self.rng
        others = [k for k in CLASSES.items if k != earlier.classification]
        klass = rng.pick(others)
        income, deprived = self._income(klass, earlier.area)
        return replace(earlier, classification=klass, income=income, deprived=deprived)


def _place_pool(review_day: date) -> Weighted[Commune]:
    post = review_day >= REORGANISATION_DATE
    per_district: dict[str, float] = {}
    for c in old_communes():
        per_district[c.district.code] = per_district.get(c.district.code, 0) + (1.0 if is_urban(c.unit) else 2.0)

    def weight(c: Commune) -> float:
        rural = 1.0 if is_urban(c.unit) else 2.0  # reviewed households are mostly rural
        if c.province_code == "64":
            return GIA_LAI_SHARE_AFTER_2025 * 1000 * rural / per_district[c.district.code] / 17 if post else 0.0
        share = 1 - GIA_LAI_SHARE_AFTER_2025 if post else 1.0
        total = sum(DISTRICT_WEIGHTS.values())
        return share * 1000 * DISTRICT_WEIGHTS.get(c.district.code, 30) / total * rural / per_district[c.district.code]

    return communes_at(review_day, weight)


@dataclass(frozen=True)
class HouseStyle:
    layout: TableLayout
    post_2025: bool
    indicator_names: bool  # headers "Việc làm" … rather than "Thiếu hụt 1" …
    mark_yes: str
    mark_no: str | None
    money_style: str
    place_prefix: str
    place_modifier: str
    legacy_encoding: str | None
    legacy_column: str | None
    nfd_all: bool
    footer: bool


def _house_style(seed: int, period: date, fmt: str) -> HouseStyle:
    rng = derive(seed, DATASET, "layout", fmt)
    spec = get_spec(DATASET)
    xlsx = fmt == "xlsx"
    post = date(period.year, 12, 1) >= REORGANISATION_DATE
    columns = [c.name for c in spec.columns if not (post and c.name == "district_name")]
    if not rng.chance(LAYOUT_RATES["review_year_column"]):
        columns.remove("review_year")
    if rng.chance(LAYOUT_RATES["extra_stt"]):
        columns.insert(0, "stt")
    if rng.chance(LAYOUT_RATES["extra_ghi_chu"]):
        columns.append("ghi_chu")
    names = rng.chance(LAYOUT_RATES["indicator_names"])

    def accepted(col: str) -> tuple[str, ...]:
        if col in EXTRA_COLUMNS:
            return (EXTRA_COLUMNS[col],)
        if col.startswith("deprived_"):
            i = int(col[-2:])
            return (INDICATOR_NAMES[i - 1],) if names else (f"Thiếu hụt {i}",)
        return spec.column(col).headers

    headers = choose_headers(
        rng, accepted, columns, xlsx=xlsx, aliases=rng.chance(LAYOUT_RATES["header_aliases"]),
        upper=rng.chance(LAYOUT_RATES["upper_headers"]),
    )  # fmt: skip
    groups: tuple[tuple[str, int, int], ...] = ()
    if xlsx and rng.chance(LAYOUT_RATES["xlsx_group_header"]):
        first = columns.index("deprived_01") + 1
        groups = ((GROUP_TITLE, first, first + 11),)
    province = "GIA LAI" if post else "BÌNH ĐỊNH"
    department = (
        "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG" if period.year >= NEW_DEPARTMENT_FROM else "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"
    )
    candidates: list[tuple[int, TitleLine]] = [
        (2, TitleLine(f"ỦY BAN NHÂN DÂN TỈNH {province}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")),
        (2, TitleLine(department, "Độc lập - Tự do - Hạnh phúc")),
        (4, TitleLine("")),
        (0, TitleLine(f"KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {period.year}")),
        (1, TitleLine("(Theo chuẩn nghèo đa chiều giai đoạn 2022 - 2025 quy định tại Nghị định số 07/2021/NĐ-CP)")),
        (5, TitleLine("Biểu số 01")),
    ]
    if xlsx:
        n_titles = rng.randint(2, 6)
    elif rng.chance(LAYOUT_RATES["csv_title_rows"]):
        n_titles = rng.randint(1, 3)
    else:
        n_titles = 0
    dialect = None if xlsx else choose_csv_dialect(rng)
    legacy_encoding: str | None = "tcvn3" if rng.chance(0.6) else "vni"
    if dialect is not None and dialect.encoding == "cp1258":
        legacy_encoding = next((e for e in ("vni", "tcvn3") if legacy_fits_cp1258(e)), None)
    legacy_column = None
    if legacy_encoding and rng.chance(LAYOUT_RATES["legacy_column"]):
        legacy_column = rng.pick(("head_name", "village", "commune_name"))
    yes, no = MARK_STYLES.draw(rng)
    if dialect is not None and dialect.encoding == "cp1258" and not cp1258_encodable(yes):
        yes = "x"  # "✓" does not exist in Windows-1258
    layout = TableLayout(
        fmt=fmt,
        columns=tuple(columns),
        headers=tuple(headers),
        title_lines=tuple(choose_title_lines(rng, candidates, min(n_titles, len(candidates)))),
        header_groups=groups,
        numbering=rng.chance(LAYOUT_RATES["xlsx_numbering_row" if xlsx else "csv_numbering_row"]),
        dialect=dialect,
        sheet_title=rng.choice(["Sheet1", "Tổng hợp", f"KQ rà soát {period.year}", "Danh sách hộ"]),
    )
    money = (Weighted([("number", 50), ("dots", 35), ("plain", 15)]) if xlsx
             else Weighted([("dots", 50), ("plain", 50)])).draw(rng)  # fmt: skip
    return HouseStyle(
        layout=layout, post_2025=post, indicator_names=names, mark_yes=yes, mark_no=no, money_style=money,
        place_prefix=PLACE_HOUSE_STYLES.draw(rng),
        place_modifier=Weighted([("none", 85), ("no_diacritics", 5), ("upper", 5), ("qui", 5)]).draw(rng),
        legacy_encoding=legacy_encoding, legacy_column=legacy_column, nfd_all=rng.chance(LAYOUT_RATES["nfd_file"]),
        footer=rng.chance(LAYOUT_RATES["xlsx_footer" if xlsx else "csv_footer"]),
    )  # fmt: skip


def _aliases(column: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for alias, value in get_spec(DATASET).column(column).aliases.items():
        result.setdefault(value, []).append(alias)
    return result


TEXT_COLUMNS = ("head_name", "village", "commune_name", "district_name", "head_ethnicity")


class RowRenderer:
    """Turns a canonical household into the cells of one file row, with this row's defects."""

    def __init__(
        self, style: HouseStyle, seed: int, stats: GenerationStats, period: date, factory: HouseholdFactory
    ) -> None:
        self.style = style
        self.rng = derive(seed, DATASET, "defects")
        self.stats = stats
        self.period = period
        self.factory = factory
        self.xlsx = style.layout.fmt == "xlsx"
        self.rates = dict(DEFECT_RATES)
        if not style.post_2025:
            self.rates["stale_place_name"] = 0.0
        if style.legacy_encoding is None:
            self.rates["legacy_cell"] = 0.0
        self.hard = Weighted((d, self.rates[d]) for d in HARD_DEFECTS)
        self.p_hard = sum(self.rates[d] for d in HARD_DEFECTS)
        self.class_aliases = _aliases("classification")
        self.area_aliases = _aliases("area_type")
        self.mark_variants = [m for m in MARK_VARIANTS if m != style.mark_yes]
        if style.layout.dialect is not None and style.layout.dialect.encoding == "cp1258":
            self.mark_variants = [m for m in self.mark_variants if cp1258_encodable(m)]
        self.columns = style.layout.columns
        self.text_columns = [c for c in TEXT_COLUMNS if c in self.columns]
        self.stt = 0

    def _place(self, unit: Unit, deviate: bool) -> str:
        if deviate:
            prefix, modifier = random_place_style(self.rng, unit)
            return style_place(unit, prefix, modifier)
        return style_place(unit, self.style.place_prefix, self.style.place_modifier)

    def _money(self, income: int, deviate: bool) -> Cell | Styled:
        style = self.style.money_style
        if deviate:
            if income % 100_000 == 0 and self.rng.chance(0.4):
                return f"{income / 1_000_000:g} triệu".replace(".", ",")
            style = self.rng.choice([s for s in ("dots", "dots_d", "dots_vnd", "plain") if s != style])
        value = format_money(income, style, xlsx=self.xlsx)
        return Styled(value, "#,##0") if isinstance(value, int) else value

    def _disagree(self, h: Household) -> Household:
        """A classification the standard does not give: the review board's call, or a slip."""
        s = self.factory.standard
        line = s.income_line_vnd[h.area]
        if h.classification == POOR:  # poor with too few deprivations, or too much income
            if self.rng.chance(0.5):
                return replace(h, deprived=frozenset(sorted(h.deprived)[: s.min_deprivations_poor - 1]))
            return replace(h, income=_round_income(line * self.rng.uniform(1.05, 1.3)))
        if h.classification == NEAR_POOR:  # near-poor above the line
            return replace(h, income=_round_income(line * self.rng.uniform(1.05, 1.4)))
        if h.income > line:  # "poor" by the list, not by the standard
            return replace(h, classification=POOR)
        return replace(h, classification=NOT_POOR)

    def render(self, h: Household, row_number: int, keep_key: bool) -> tuple[list[Cell | Styled], str | None]:
        """The row's cells and its quarantining defect (None if none). A conflicting re-delivery
        (`keep_key` False) carries no quarantining defect and no blank income or rewritten class, so
        it differs from the earlier row and is quarantined for the conflict alone."""
        rng, rates, stats, style = self.rng, self.rates, self.stats, self.style
        hit: list[str] = []
        hard = self.hard.draw(rng) if keep_key and rng.chance(self.p_hard) else None

        if keep_key and rng.chance(rates["classification_disagrees"]):
            h = self._disagree(h)
            hit.append("classification_disagrees")
        marks = len(h.deprived)
        count: Cell = marks
        if rng.chance(rates["count_mismatch"]):
            count = marks + 1 if marks == 0 or rng.chance(0.5) else marks - 1
            hit.append("count_mismatch")

        head_id: Cell = h.head_id
        if rng.chance(rates["head_id_blank"]):
            head_id = None
            hit.append("head_id_blank")
        else:
            two_zeros = h.head_id.startswith("00")
            head_id, kind = person_id_cell(
                rng, h.head_id, xlsx=self.xlsx, lost_zero=0.0 if two_zeros and (hard or not keep_key) else rates["head_id_lost_zero"],
                old_cmnd=rates["head_id_cmnd"], spaced=rates["head_id_spaces"], cmnd_number=h.head_old_id,
            )  # fmt: skip
            if kind == "lost_zero" and two_zeros:
                hard = "head_id_lost_two_zeros"
            elif kind:
                hit.append(f"head_id_{kind}")

        mark_cells: list[Cell] = [style.mark_yes if i in h.deprived else style.mark_no for i in range(1, 13)]
        if rng.chance(rates["mark_variant"]) and h.deprived:
            i = rng.pick(sorted(h.deprived))
            mark_cells[i - 1] = rng.pick(self.mark_variants)
            hit.append("mark_variant")
        if hard == "mark_invalid":
            mark_cells[rng.randrange(12)] = rng.pick(INVALID_MARKS)

        classification = h.classification
        area = h.area
        if rng.chance(rates["enum_alias"]):
            if rng.chance(0.7) and self.class_aliases.get(classification):
                classification = rng.pick(self.class_aliases[classification])
            else:
                area = rng.pick(self.area_aliases[area])
            hit.append("enum_alias")
        if hard == "area_unknown":
            area = rng.pick(UNKNOWN_AREAS)
        if hard == "classification_unknown":
            classification = rng.pick(UNKNOWN_CLASSES)

        income: Cell | Styled
        if hard == "income_implausible":
            income = self._money(h.income * 1000, False)
        elif hard == "income_unreadable":
            income = rng.pick(UNREADABLE_INCOME)
        elif keep_key and rng.chance(rates["income_blank"]):
            income = None
            hit.append("income_blank")
        else:
            deviate = rng.chance(rates["money_variant"])
            income = self._money(h.income, deviate)
            if deviate:
                hit.append("money_variant")

        members: Cell = 0 if hard == "members_zero" else h.members
        code: Cell = None if hard == "household_code_blank" else h.code

        post = style.post_2025
        unit = unit_at(h.commune, self.factory.review_day)
        deviate = rng.chance(rates["place_style_variant"])
        commune = self._place(unit, deviate and rng.chance(0.6))
        district = self._place(h.commune.district, deviate and not post and rng.chance(0.6))
        if deviate:
            hit.append("place_style_variant")
        if post and rng.chance(rates["stale_place_name"]) and h.commune.unit.name != unit.name:
            commune = style_place(h.commune.unit, style.place_prefix)
            hit.append("stale_place_name")
        if hard == "unknown_place":
            commune = rng.pick(UNKNOWN_PLACES)

        values: dict[str, Cell | Styled] = {
            "household_code": code, "head_name": h.head_name, "head_id": head_id, "head_ethnicity": h.ethnicity,
            "commune_name": commune, "district_name": district, "village": h.village, "area_type": area,
            "members": members, "income_per_capita_vnd": income, "deprivation_count": count,
            "classification": classification, "review_year": self.period.year,
            **{f"deprived_{i:02d}": mark_cells[i - 1] for i in range(1, 13)},
        }  # fmt: skip
        if "stt" in self.columns:
            self.stt += 1
            values["stt"] = self.stt
        if "ghi_chu" in self.columns:
            values["ghi_chu"] = rng.pick(GHI_CHU) if rng.chance(0.04) else None

        if style.legacy_column and isinstance(values[style.legacy_column], str):
            values[style.legacy_column] = legacy(str(values[style.legacy_column]), str(style.legacy_encoding))
        if style.legacy_encoding and rng.chance(rates["legacy_cell"]):
            # not the commune: a lone legacy cell whose glyphs read as Vietnamese is not recognised
            col = rng.pick(("head_name", "village"))
            cell = values[col]
            if isinstance(cell, str) and legacy(cell, style.legacy_encoding) != cell:
                values[col] = legacy(cell, style.legacy_encoding)
                hit.append("legacy_cell")
        hit += text_defects(values, rng, rates, nfd_columns=self.text_columns, space_columns=self.text_columns,
                            nfd_all_columns=self.text_columns if style.nfd_all else ())  # fmt: skip
        if hard:
            hit.append(hard)
            if len(stats.examples.get(hard, [])) < 5:
                stats.example(hard, row=row_number)
        for defect in hit:
            stats.count(defect)
        stats.count(f"class:{h.classification}")
        return [values[c] for c in self.columns], hard


def generate_poor_households(
    out_dir: Path,
    rows: int | None = None,
    seed: int = 42,
    *,
    period: str | date | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    stats_out: Path | None = None,
) -> GeneratedFiles:
    """Write `ra_soat_ho_ngheo_YYYY.xlsx|csv` into out_dir and return its path (with `.stats`)."""
    n_rows = DEFAULT_ROWS if rows is None else int(rows)
    if n_rows < 0:
        raise ValueError("rows must be >= 0")
    when = period_of(period, DEFAULT_PERIOD, "annual")
    if standard_for(when.year) is None:
        raise ValueError(f"no poverty standard is configured for review year {when.year}")
    kind = check_fmt(fmt or "xlsx")  # the review result is an Excel workbook (SOURCES.md)
    if kind == "xlsx" and n_rows > 1_000_000:
        raise ValueError("an xlsx sheet holds 1,000,000 data rows here; use fmt='csv'")
    out = ensure_out_dir(out_dir)
    path = out / file_name(FILE_PREFIX, when, "annual", kind)
    style = _house_style(seed, when, kind)
    stats = GenerationStats(dataset=DATASET, file=path.name, fmt=kind, period=when.isoformat(), seed=seed, rows=n_rows)
    factory = HouseholdFactory(seed, when)
    renderer = RowRenderer(style, seed, stats, when, factory)
    stats.rates = dict(renderer.rates)
    flow = derive(seed, DATASET, "flow")

    table = TableFile(path, style.layout, stats, progress)
    try:
        recent: deque[Household] = deque(maxlen=500)
        keys: set[str] = set()
        for _ in range(n_rows):
            household: Household | None = None
            if recent and flow.chance(DEFECT_RATES["conflict"]):
                earlier = recent.popleft()
                household = factory.conflicting(earlier)
                stats.conflict_rows += 1
                keys.add(earlier.code)
                stats.count("conflict")
            clean = household is None
            if household is None:
                household = factory.new()
            cells, hard = renderer.render(household, table.next_row, keep_key=clean)
            copy = flow.chance(DEFECT_RATES["exact_duplicate"])
            if copy and hard:
                stats.count("duplicate_of_hard")
            if clean and not hard and not copy:
                recent.append(household)
            table.add(cells, copy_after=flow.randint(0, 30) if copy else None)
        footer = []
        if style.footer:
            footer = signature_footer(
                flow, style.layout.width, f"Tổng cộng: {dotted(table.written)} hộ",
                "Gia Lai" if style.post_2025 else "Bình Định", date(when.year, 12, 20) + timedelta(days=flow.randint(0, 10)),
            )  # fmt: skip
    except BaseException:
        table.abort()
        raise
    table.close(footer)
    if stats.exact_duplicates:
        stats.count("exact_duplicate", stats.exact_duplicates)
    stats.conflicting_keys = len(keys)
    stats.layout.update(
        {
            "extra_columns": [EXTRA_COLUMNS[c] for c in style.layout.columns if c in EXTRA_COLUMNS],
            "indicator_headers": "names" if style.indicator_names else "numbered",
            "marks": [style.mark_yes, style.mark_no],
            "money_style": style.money_style,
            "place_style": f"{style.place_prefix}/{style.place_modifier}",
            "legacy_encoding": style.legacy_encoding,
            "legacy_column": style.legacy_column,
            "nfd_file": style.nfd_all,
            "district_column": "district_name" in style.layout.columns,
            "review_year_column": "review_year" in style.layout.columns,
        }
    )
    result = GeneratedFiles([path], [stats])
    if stats_out is not None:
        write_stats(result.stats, Path(stats_out), out, DATASET)
    return result


__all__ = ["DATASET", "DEFAULT_PERIOD", "DEFAULT_ROWS", "DEFECT_RATES", "HARD_DEFECTS", "LAYOUT_RATES",
           "QUARANTINING_DEFECTS", "generate_poor_households"]  # fmt: skip
