"""Generator of the labour-supply register export (`cung_lao_dong_YYYYMM.csv|xlsx`).

Data: the monthly full snapshot of the labour-supply register, one row per person aged 15 and over
living in the province (SOURCES.md "labour_supply"), as the labour-market office delivers it. Owner
of the real data: Sở Nội vụ (formerly Sở Lao động – Thương binh và Xã hội, whose name the title rows
carry for periods before 2025-03). Default: 848,500 people (DOMAIN §6), March 2025 (before the
reorganisation: districts present), CSV (an xlsx sheet of that size is what nobody can open).

People are drawn with plausible joint distributions (the shares are illustrative, not statistics):
age 15–90 from a simple pyramid; sex; ethnic minorities concentrated in the mountain districts (An
Lão, Vĩnh Thạnh, Vân Canh; Jrai and Ba Na on former Gia Lai territory after 2025-07-01); schooling
by birth cohort; economic activity by age; for the employed an employment status and a job (a VSCO
2020 occupation with a VSIC 2018 industry and a workplace); months unemployed for the unemployed.
The CCCD encodes the birth century, sex and year (DOMAIN §2), as real ones do.

Defect rates (per distinct row, deterministic by seed; `DEFECT_RATES`). "Hard" defects make the
pipeline quarantine the row and are mutually exclusive (one draw per row), so a test can predict
every fate from `GenerationStats.defects`; "warn" defects are loaded and flagged; the rest are
variants the pipeline must read.

| defect | rate | kind | what the row carries |
|---|---|---|---|
| exact_duplicate | 0.2 % | — | a verbatim copy follows within 30 rows (adds a data row) |
| conflict | 0.1 % | hard | the ID of an earlier clean row with another commune or activity (both quarantined) |
| person_id_invalid | 0.05 % | hard | an ID of 10 digits (`invalid_person_id`) |
| person_id_blank | 0.05 % | hard | no ID (`missing_person_id`) |
| birth_date_invalid | 0.05 % | hard | "31/02/1980", "00/00/1975" (`invalid_birth_date`) |
| under_working_age | 0.05 % | hard | a child of 10–14 (`under_working_age`) |
| industry_invalid | 0.1 % | hard | a VSIC code in no division, e.g. 4411 (`invalid_industry_vsic`) |
| occupation_invalid | 0.05 % | hard | a VSCO code of 5 digits (`invalid_occupation_vsco`) |
| unknown_place | 0.1 % | hard | a commune name in no list (`unknown_place`) |
| activity_unknown | 0.05 % | hard | "Nghỉ hưu", "Đi học", "Nội trợ" (`unknown_activity_status`) |
| person_id_inconsistent | 0.3 % | warn | CCCD year digits of another year (`person_id_inconsistent`) |
| unemployed_months_not_unemployed | 0.2 % of the employed | warn | months unemployed for an employed person |
| employment_status_not_employed | 0.2 % of the others | warn | an employment status for someone not employed |
| person_id_lost_zero | 3 % | variant | the CCCD as a number of 11 digits |
| person_id_lost_two_zeros | (of the above) | hard | a CCCD of provinces 001–009 as a number of 10 digits (`invalid_person_id`) |
| person_id_cmnd | 2 % | variant | the old 9-digit CMND |
| person_id_spaces | 1 % | variant | "052 085 001234" |
| birth_year_only | 3 % | variant | only the birth year ("1958") |
| enum_alias | 3 % | variant | "Cấp 3", "Đang làm việc", "Làm thuê", "nữ", … (aliases of the spec) |
| date_variant | 3 % | variant | a birth date not in the file's house style |
| stale_place_name | 3 % | variant | after 2025-07-01 only: the old commune name |
| place_style_variant | 8 % | variant | commune/district written unlike the house style |
| legacy_cell, nfd_cell, whitespace | 0.3 / 0.3 / 1 % | variant | one text cell in TCVN3/VNI (name or village), NFD, or with stray blanks |

Every exact duplicate of a row with a hard defect is quarantined too; the count of such copies is
`defects["duplicate_of_hard"]`. File-level choices (`LAYOUT_RATES`): title rows (xlsx always,
CSV 25 %), numbering row, footer, header aliases, upper-case headers, shuffled columns, extra STT /
phone / note columns, a legacy-font name or village column, NFD text, and the CSV dialect
(`common.choose_csv_dialect`). Generation streams row by row; memory does not grow with rows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType

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
    default_fmt,
    derive,
    dotted,
    ensure_out_dir,
    file_name,
    format_date,
    is_urban,
    legacy,
    legacy_fits_cp1258,
    letterhead,
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

DATASET = "labour_supply"
FILE_PREFIX = "cung_lao_dong"
DEFAULT_ROWS = 848_500  # DOMAIN §6: the labour force of Bình Định around 2023
DEFAULT_PERIOD = date(2025, 3, 1)  # March 2025: before the reorganisation, after Sở Nội vụ took over
HOME_AFFAIRS_FROM = date(2025, 3, 1)  # labour moved from Sở LĐ-TB&XH to Sở Nội vụ
XLSX_MAX_ROWS = 1_000_000

DEFECT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "exact_duplicate": 0.002,
        "conflict": 0.001,
        "person_id_invalid": 0.0005,
        "person_id_blank": 0.0005,
        "birth_date_invalid": 0.0005,
        "under_working_age": 0.0005,
        "industry_invalid": 0.001,
        "occupation_invalid": 0.0005,
        "unknown_place": 0.001,
        "activity_unknown": 0.0005,
        "person_id_inconsistent": 0.003,
        "unemployed_months_not_unemployed": 0.002,
        "employment_status_not_employed": 0.002,
        "person_id_lost_zero": 0.03,
        "person_id_cmnd": 0.02,
        "person_id_spaces": 0.01,
        "birth_year_only": 0.03,
        "enum_alias": 0.03,
        "date_variant": 0.03,
        "stale_place_name": 0.03,
        "place_style_variant": 0.08,
        "legacy_cell": 0.003,
        "nfd_cell": 0.003,
        "whitespace": 0.01,
    }
)
HARD_DEFECTS = (
    "person_id_invalid", "person_id_blank", "birth_date_invalid", "under_working_age", "industry_invalid",
    "occupation_invalid", "unknown_place", "activity_unknown",
)  # fmt: skip
# Every hard defect, with the one a variant can turn into (see RowRenderer.render).
QUARANTINING_DEFECTS = (*HARD_DEFECTS, "person_id_lost_two_zeros")
LAYOUT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "csv_title_rows": 0.25,
        "xlsx_numbering_row": 0.35,
        "csv_numbering_row": 0.10,
        "xlsx_footer": 0.70,
        "csv_footer": 0.15,
        "header_aliases": 0.30,
        "upper_headers": 0.15,
        "shuffled_columns": 0.15,
        "extra_stt": 0.50,
        "extra_phone": 0.15,
        "extra_ghi_chu": 0.20,
        "legacy_column": 0.10,
        "nfd_file": 0.05,
    }
)
EXTRA_COLUMNS = {"stt": "STT", "phone": "Số điện thoại", "ghi_chu": "Ghi chú"}
GHI_CHU = ("Mới chuyển đến", "Đã cập nhật", "Lao động đi làm ăn xa", "Chờ xác minh", "Đang học nghề")

# District weights for the residents of pre-2025 Bình Định (approximate populations in thousands,
# only to spread people realistically: not statistics).
DISTRICT_WEIGHTS = {
    "540": 290, "543": 210, "548": 190, "549": 180, "550": 180, "545": 170, "547": 120, "544": 85,
    "542": 30, "546": 30, "551": 28,
}  # fmt: skip
GIA_LAI_SHARE_AFTER_2025 = 0.57  # the old Gia Lai holds more people than the old Bình Định
MOUNTAIN_DISTRICTS = frozenset({"542", "546", "551"})
MINORITY_GROUPS = {
    "542": Weighted([("Hrê", 55), ("Ba Na", 45)]),
    "546": Weighted([("Ba Na", 100)]),
    "551": Weighted([("Chăm", 70), ("Ba Na", 30)]),
    "64": Weighted([("Gia Rai", 60), ("Ba Na", 40)]),
}
OTHER_ETHNICITIES = Weighted([("Hoa", 40), ("Tày", 15), ("Mường", 15), ("Thái", 10), ("Khơ Me", 5), ("Ê Đê", 15)])
MINORITY_FAMILY = {
    "Ba Na": ("Đinh", "Đinh", "Đinh", "Hồ"),
    "Hrê": ("Đinh", "Phạm", "Đinh"),
    "Chăm": ("Mang", "Lê", "Nguyễn"),
}
JRAI_FAMILY = ("Rơ Mah", "Ksor", "Siu", "Rơ Châm", "Kpă", "Nay", "Puih", "Rah Lan")

EDUCATION = ("Chưa học xong tiểu học", "Tiểu học", "THCS", "THPT")
QUALIFICATION = Weighted(
    [("Chưa qua đào tạo", 72), ("Sơ cấp", 6), ("Trung cấp", 6), ("Cao đẳng", 4), ("Đại học", 11), ("Thạc sĩ", 0.9),
     ("Tiến sĩ", 0.1)]
)  # fmt: skip
EMPLOYMENT = Weighted(
    [("Tự làm", 40), ("Làm công ăn lương", 45), ("Lao động gia đình", 10), ("Chủ cơ sở", 4), ("Xã viên hợp tác xã", 1)]
)  # fmt: skip
ACTIVITY_UNKNOWN = ("Nghỉ hưu", "Đi học", "Nội trợ", "Ốm đau")
INVALID_DIVISIONS = ("04", "34", "40", "44", "48", "54", "57", "67", "76", "83", "89")  # in no VSIC 2018 section
TRAINING_NEEDS = ("Nghề may công nghiệp", "Sửa chữa ô tô", "Tin học văn phòng", "Ngoại ngữ", "Điện dân dụng",
                  "Hàn", "Nấu ăn", "Kỹ thuật nuôi trồng thủy sản", "Lái xe")  # fmt: skip


@dataclass(frozen=True)
class Job:
    """An occupation (VSCO 2020, 4 digits), the industries it is found in (VSIC 2018), where, and for whom."""

    vsco: str
    vsic: tuple[str, ...]
    workplaces: tuple[str, ...]  # "{commune}", "{brand}", "{n}" are filled in
    weight: float
    statuses: tuple[str, ...] = ()  # employment statuses it goes with (all when empty)
    min_qualification: int = 0  # index into QUALIFICATION order


QUAL_ORDER = ("Chưa qua đào tạo", "Sơ cấp", "Trung cấp", "Cao đẳng", "Đại học", "Thạc sĩ", "Tiến sĩ")
JOBS = (
    Job("6111", ("0111", "0112", "0118"), ("Ruộng nhà", "Tự làm tại thôn", "Hợp tác xã nông nghiệp {commune}"), 22,
        ("Tự làm", "Lao động gia đình", "Xã viên hợp tác xã")),
    Job("6121", ("0145", "0146", "0144"), ("Trang trại gia đình", "Tự làm tại nhà"), 5, ("Tự làm", "Lao động gia đình", "Chủ cơ sở")),
    Job("9211", ("0111", "0118", "0161"), ("Làm thuê thời vụ", "Làm thuê cho hộ gia đình"), 6, ("Làm công ăn lương",)),
    Job("6222", ("0311",), ("Tàu cá BĐ-{n}-TS", "Tàu cá BĐ {n} TS"), 5, ("Làm công ăn lương", "Chủ cơ sở", "Tự làm")),
    Job("6221", ("0321", "0322"), ("Đầm nuôi tôm", "Lồng bè nuôi cá"), 2, ("Tự làm", "Lao động gia đình")),
    Job("9313", ("4101", "4102", "4330"), ("Công trình xây dựng", "Tổ thợ hồ", "Công ty TNHH Xây dựng {brand}"), 6,
        ("Làm công ăn lương",)),
    Job("7112", ("4101", "4102"), ("Tổ thợ hồ", "Tự làm"), 3, ("Làm công ăn lương", "Tự làm")),
    Job("7522", ("1610", "3100", "1622"), ("Công ty cổ phần Gỗ {brand}", "KCN Phú Tài", "Xưởng mộc gia đình"), 4,
        ("Làm công ăn lương", "Tự làm")),
    Job("8153", ("1410",), ("Công ty May {brand}", "KCN Nhơn Hòa"), 4, ("Làm công ăn lương",)),
    Job("7113", ("2396", "0810"), ("Công ty TNHH Đá {brand}", "Xưởng đá mỹ nghệ"), 1.5, ("Làm công ăn lương",)),
    Job("5223", ("4711", "4719", "4722", "4771"), ("Cửa hàng tạp hóa", "Chợ {commune}", "Siêu thị Co.opmart Quy Nhơn"), 7),
    Job("5221", ("4711", "4722", "4781"), ("Chợ {commune}", "Tự làm tại nhà"), 4, ("Tự làm", "Chủ cơ sở", "Lao động gia đình")),
    Job("5120", ("5610",), ("Nhà hàng {brand}", "Quán ăn gia đình"), 2.5),
    Job("5131", ("5610", "5630"), ("Quán cà phê {brand}", "Nhà hàng {brand}"), 2.5, ("Làm công ăn lương", "Lao động gia đình")),
    Job("8322", ("4932", "4931"), ("Hãng taxi {brand}", "Tự làm"), 2, ("Làm công ăn lương", "Tự làm")),
    Job("8332", ("4933",), ("Công ty Vận tải {brand}", "Tự làm"), 2, ("Làm công ăn lương", "Tự làm", "Chủ cơ sở")),
    Job("7231", ("4520", "4542"), ("Tiệm sửa xe", "Garage ô tô {brand}"), 2, ("Tự làm", "Làm công ăn lương", "Chủ cơ sở")),
    Job("2341", ("8521",), ("Trường Tiểu học {commune}",), 2, ("Làm công ăn lương",), 3),
    Job("2330", ("8522", "8523"), ("Trường THCS {commune}", "Trường THPT số {n}"), 2, ("Làm công ăn lương",), 4),
    Job("2221", ("8610",), ("Bệnh viện Đa khoa tỉnh", "Trạm y tế {commune}", "Trung tâm Y tế huyện"), 1.2,
        ("Làm công ăn lương",), 2),
    Job("2211", ("8610", "8620"), ("Bệnh viện Đa khoa tỉnh", "Phòng khám tư nhân"), 0.5, ("Làm công ăn lương", "Chủ cơ sở"), 4),
    Job("3313", ("6920", "4669", "4663"), ("Công ty TNHH {brand}", "Doanh nghiệp tư nhân {brand}"), 1.5,
        ("Làm công ăn lương",), 2),
    Job("4110", ("8411", "8413"), ("UBND {commune}", "Văn phòng HĐND-UBND"), 1.5, ("Làm công ăn lương",), 2),
    Job("5141", ("9631",), ("Tiệm tóc", "Tự làm tại nhà"), 1, ("Tự làm", "Chủ cơ sở")),
    Job("5414", ("8010",), ("Công ty Bảo vệ {brand}", "KCN Phú Tài"), 1, ("Làm công ăn lương",)),
    Job("9112", ("8121", "8129"), ("Công ty Vệ sinh {brand}", "Khách sạn {brand}"), 1, ("Làm công ăn lương",)),
    Job("4224", ("5510",), ("Khách sạn {brand}", "Resort {brand}"), 1, ("Làm công ăn lương",), 1),
    Job("1120", ("4669", "4101", "1610", "5510"), ("Công ty TNHH {brand}", "Công ty cổ phần {brand}"), 0.6,
        ("Chủ cơ sở", "Làm công ăn lương"), 4),
)  # fmt: skip
BRANDS = ("Phú Tài", "Hoàng Phát", "Thành Công", "An Phú", "Minh Khang", "Tấn Phát", "Quang Minh", "Bình Minh",
          "Hưng Thịnh", "Thịnh Phát", "Phước Lộc", "Tân Hưng", "Trường Thịnh", "Sao Mai", "Hải Âu", "Quy Nhơn")  # fmt: skip
UNKNOWN_PLACES = ("Xã Phước Thắgn", "Phường Lê Lợi", "KKT Nhơn Hội", "Xã Nhơn Hải Đông", "Phường Nhơn Bìhn")
VILLAGE_NAMES = ("An Hòa", "Phú Thạnh", "Trung Lương", "Vĩnh Lợi", "Mỹ Thuận", "Đại Hữu", "Tân An", "Thuận Hạnh",
                 "Hòa Hiệp", "Kim Tây", "Lộc Thượng", "Xuân Phong", "Phú Mỹ", "Tân Lập", "Hội Thạnh", "Bình Lâm")  # fmt: skip


@dataclass(frozen=True)
class Person:
    person_id: str  # 12-digit CCCD
    old_id: str  # the same person's 9-digit CMND (written instead of the CCCD in some rows)
    name: str
    born: date
    sex: str  # "Nam" | "Nữ"
    ethnicity: str
    commune: Commune
    village: str
    education: str
    qualification: str
    activity: str
    employment: str | None
    job: Job | None
    vsic: str | None
    workplace: str | None
    unemployed_months: int | None
    training_need: str | None


# Age pyramid of the register (weights by age, 15–90): broad working ages, thinning after 60.
AGES = Weighted(
    (age, 1.0 if age < 45 else 0.95 if age < 60 else max(0.05, 0.9 - 0.035 * (age - 60))) for age in range(15, 91)
)


class PersonFactory:
    """Builds canonical people (no defects), one at a time."""

    def __init__(self, seed: int, period: date) -> None:
        self.rng = derive(seed, DATASET, "people")
        self.period = period
        self.day = _last_day(period)
        self.post_2025 = period >= REORGANISATION_DATE
        self.places = _place_pool(period)
        self.jobs = Weighted((j, j.weight) for j in JOBS)
        self.ids = PersonIds(derive(seed, DATASET, "ids"))
        self._schooling: dict[int, Weighted[str]] = {}

    def _ethnicity(self, commune: Commune) -> str:
        rng = self.rng
        group = "64" if commune.province_code == "64" else commune.district.code
        if group in MOUNTAIN_DISTRICTS or group == "64":
            if rng.chance(0.45):
                return MINORITY_GROUPS[group].draw(rng)
        elif commune.district.code in ("544", "547") and rng.chance(0.04):
            return "Ba Na"
        elif rng.chance(0.003):
            return OTHER_ETHNICITIES.draw(rng)
        return "Kinh"

    def _name(self, sex: str, ethnicity: str) -> str:
        rng = self.rng
        name = person_name(rng, "M" if sex == "Nam" else "F")
        if ethnicity in MINORITY_FAMILY:
            parts = name.split(" ")
            parts[0] = rng.pick(MINORITY_FAMILY[ethnicity])
            return " ".join(parts)
        if ethnicity == "Gia Rai":
            given = name.split(" ")[-1]
            return f"{rng.pick(JRAI_FAMILY)} {'H’' if sex == 'Nữ' and rng.chance(0.6) else ''}{given}"
        return name

    def _village(self, commune: Commune) -> str:
        rng = self.rng
        if is_urban(commune.unit):
            kind = rng.choice(("Tổ", "Khu vực", "Khối", "Tổ dân phố"))
            return f"{kind} {rng.randint(1, 12)}"
        if commune.district.code in MOUNTAIN_DISTRICTS and rng.chance(0.5):
            return f"Làng {rng.randint(1, 9)}"
        return f"Thôn {rng.pick(VILLAGE_NAMES)}" if rng.chance(0.7) else f"Thôn {rng.randint(1, 9)}"

    def _education(self, birth_year: int) -> str:
        """Schooling by birth cohort: the older, the less (illustrative shares)."""
        weighted = self._schooling.get(birth_year)
        if weighted is None:
            cohort = birth_year - 1940
            shares = (max(2, 30 - cohort * 0.5), max(8, 35 - cohort * 0.5), 30.0, min(60, 5 + cohort * 1.0))
            weighted = self._schooling[birth_year] = Weighted(zip(EDUCATION, shares, strict=True))
        return weighted.draw(self.rng)

    def _activity(self, age: int) -> str:
        r = self.rng.random()
        employed, unemployed = (0.45, 0.06) if age < 25 else (0.87, 0.025) if age < 60 else (0.35, 0.004)
        if r < employed:
            return "Có việc làm"
        if r < employed + unemployed:
            return "Thất nghiệp"
        return "Không tham gia hoạt động kinh tế"

    def _job(self, qualification: str, commune: Commune) -> tuple[Job, str, str, str]:
        rng = self.rng
        level = QUAL_ORDER.index(qualification)
        for _ in range(10):
            job = self.jobs.draw(rng)
            if job.min_qualification <= level:
                break
        status = rng.pick(job.statuses) if job.statuses else EMPLOYMENT.draw(rng)
        workplace = (
            rng.pick(job.workplaces)
            .replace("{commune}", unit_at(commune, self.period).name)
            .replace("{brand}", rng.pick(BRANDS))
            .replace("{n}", f"{rng.randint(1, 99_999):05d}" if "BĐ" in job.workplaces[0] else str(rng.randint(1, 3)))
        )
        return job, rng.pick(job.vsic), status, workplace

    def new(self) -> Person:
        rng = self.rng
        commune = self.places.draw(rng)
        age = AGES.draw(rng)
        born = self.day - timedelta(days=age * 365 + rng.randrange(365))
        while _age(self.day, born) != age:  # leap days: step to a date of the drawn age
            born += timedelta(days=1 if _age(self.day, born) > age else -1)
        sex = "Nam" if rng.chance(0.495) else "Nữ"
        ethnicity = self._ethnicity(commune)
        home = "064" if commune.province_code == "64" else "052"
        province = CCCD_PROVINCES[home].draw(rng)
        pid = self.ids.cccd(born.year, "M" if sex == "Nam" else "F", province)
        education = self._education(born.year)
        qualification = QUALIFICATION.draw(rng) if education in ("THCS", "THPT") else "Chưa qua đào tạo"
        if qualification in ("Cao đẳng", "Đại học", "Thạc sĩ", "Tiến sĩ") and (education != "THPT" or age < 20):
            qualification = "Trung cấp" if education == "THPT" else "Sơ cấp"
        activity = self._activity(age)
        employment = job = vsic = workplace = months = need = None
        if activity == "Có việc làm":
            job, vsic, employment, workplace = self._job(qualification, commune)
        elif activity == "Thất nghiệp":
            months = min(60, 1 + int(rng.expovariate(1 / 5)))
            need = rng.pick(TRAINING_NEEDS) if rng.chance(0.35) else None
        elif age < 30 and rng.chance(0.05):
            need = rng.pick(TRAINING_NEEDS)
        return Person(
            person_id=pid, old_id=self.ids.cmnd(province), name=self._name(sex, ethnicity), born=born, sex=sex, ethnicity=ethnicity, commune=commune,
            village=self._village(commune), education=education, qualification=qualification, activity=activity,
            employment=employment, job=job, vsic=vsic, workplace=workplace, unemployed_months=months,
            training_need=need,
        )  # fmt: skip

    def conflicting(self, earlier: Person) -> Person:
        """The same personal ID delivered again by another commune or with another activity."""
        rng = self.rng
        if rng.chance(0.5):
            commune = self.places.draw(rng)
            while commune.unit.code == earlier.commune.unit.code:
                commune = self.places.draw(rng)
            return replace(earlier, commune=commune, village=self._village(commune))
        if earlier.activity == "Có việc làm":
            return replace(earlier, activity="Thất nghiệp", employment=None, job=None, vsic=None, workplace=None,
                           unemployed_months=rng.randint(1, 6))  # fmt: skip
        job, vsic, employment, workplace = self._job(earlier.qualification, earlier.commune)
        return replace(earlier, activity="Có việc làm", employment=employment, job=job, vsic=vsic, workplace=workplace,
                       unemployed_months=None)  # fmt: skip


def _last_day(period: date) -> date:
    nxt = date(period.year + period.month // 12, period.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _age(day: date, born: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _place_pool(period: date) -> Weighted[Commune]:
    post = period >= REORGANISATION_DATE
    per_district: dict[str, int] = {}
    for c in old_communes():
        per_district[c.district.code] = per_district.get(c.district.code, 0) + 1

    def weight(c: Commune) -> float:
        urban = 1.6 if is_urban(c.unit) else 1.0
        if c.province_code == "64":
            return GIA_LAI_SHARE_AFTER_2025 * 1000 / 218 * urban if post else 0.0
        share = 1 - GIA_LAI_SHARE_AFTER_2025 if post else 1.0
        return share * DISTRICT_WEIGHTS.get(c.district.code, 30) / per_district[c.district.code] * urban

    return communes_at(period, weight)


@dataclass(frozen=True)
class HouseStyle:
    """Everything decided once per file."""

    layout: TableLayout
    post_2025: bool
    date_style: str
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
    post = period >= REORGANISATION_DATE
    columns = [c.name for c in spec.columns if not (post and c.name == "district_name")]
    if rng.chance(LAYOUT_RATES["shuffled_columns"]):
        for _ in range(rng.randint(1, 3)):
            i, j = rng.randrange(len(columns)), rng.randrange(len(columns))
            columns[i], columns[j] = columns[j], columns[i]
    if rng.chance(LAYOUT_RATES["extra_stt"]):
        columns.insert(0, "stt")
    if rng.chance(LAYOUT_RATES["extra_phone"]):
        columns.insert(columns.index("sex") + 1, "phone")
    if rng.chance(LAYOUT_RATES["extra_ghi_chu"]):
        columns.append("ghi_chu")

    def accepted(col: str) -> tuple[str, ...]:
        return (EXTRA_COLUMNS[col],) if col in EXTRA_COLUMNS else spec.column(col).headers

    headers = choose_headers(
        rng, accepted, columns, xlsx=xlsx, aliases=rng.chance(LAYOUT_RATES["header_aliases"]),
        upper=rng.chance(LAYOUT_RATES["upper_headers"]),
    )  # fmt: skip
    province = "GIA LAI" if post else "BÌNH ĐỊNH"
    department = "SỞ NỘI VỤ" if period >= HOME_AFFAIRS_FROM else "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"
    two_col = rng.chance(0.5)
    month = f"{period.month:02d}/{period.year}" if rng.chance(0.6) else f"tháng {period.month} năm {period.year}"
    candidates = letterhead(province, department, "TRUNG TÂM DỊCH VỤ VIỆC LÀM", two_col)
    candidates += [
        (4, TitleLine("")),
        (0, TitleLine(f"DANH SÁCH CUNG LAO ĐỘNG TRÊN ĐỊA BÀN TỈNH {province}")),
        (1, TitleLine(f"Kỳ báo cáo: {month}")),
        (6, TitleLine("(Người từ đủ 15 tuổi trở lên)")),
    ]
    if xlsx:
        n_titles = rng.randint(1, 8)
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
        legacy_column = rng.pick(("full_name", "village", "commune_name"))
    layout = TableLayout(
        fmt=fmt,
        columns=tuple(columns),
        headers=tuple(headers),
        title_lines=tuple(choose_title_lines(rng, candidates, min(n_titles, len(candidates)))),
        numbering=rng.chance(LAYOUT_RATES["xlsx_numbering_row" if xlsx else "csv_numbering_row"]),
        dialect=dialect,
        sheet_title=rng.choice(["Sheet1", "Cung lao động", f"CLD_{period:%m%Y}", "Danh sách"]),
    )
    date_styles = (
        Weighted([("excel", 45), ("dmy", 40), ("dmy_unpadded", 10), ("iso", 5)])
        if xlsx
        else Weighted([("dmy", 70), ("dmy_unpadded", 15), ("iso", 15)])
    )
    return HouseStyle(
        layout=layout,
        post_2025=post,
        date_style=date_styles.draw(rng),
        place_prefix=PLACE_HOUSE_STYLES.draw(rng),
        place_modifier=Weighted([("none", 85), ("no_diacritics", 5), ("upper", 5), ("qui", 5)]).draw(rng),
        legacy_encoding=legacy_encoding,
        legacy_column=legacy_column,
        nfd_all=rng.chance(LAYOUT_RATES["nfd_file"]),
        footer=rng.chance(LAYOUT_RATES["xlsx_footer" if xlsx else "csv_footer"]),
    )


def _aliases(column: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for alias, value in get_spec(DATASET).column(column).aliases.items():
        result.setdefault(value, []).append(alias)
    return result


ENUM_COLUMNS = ("sex", "general_education", "qualification", "activity_status", "employment_status")
TEXT_COLUMNS = ("full_name", "village", "commune_name", "district_name", "workplace", "ethnicity")


class RowRenderer:
    """Turns a canonical person into the cells of one file row, with this row's defects."""

    def __init__(self, style: HouseStyle, seed: int, stats: GenerationStats, period: date, ids: PersonIds) -> None:
        self.style = style
        self.rng = derive(seed, DATASET, "defects")
        self.stats = stats
        self.period = period
        self.xlsx = style.layout.fmt == "xlsx"
        self.rates = dict(DEFECT_RATES)
        if not style.post_2025:
            self.rates["stale_place_name"] = 0.0
        if style.legacy_encoding is None:
            self.rates["legacy_cell"] = 0.0
        self.hard = Weighted((d, self.rates[d]) for d in HARD_DEFECTS)
        self.p_hard = sum(self.rates[d] for d in HARD_DEFECTS)
        self.aliases = {c: _aliases(c) for c in ENUM_COLUMNS}
        self.columns = style.layout.columns
        self.text_columns = [c for c in TEXT_COLUMNS if c in self.columns]
        self.stt = 0
        self.ids = ids  # the factory's: a child's ID never repeats an adult's

    def _place(self, unit: Unit, deviate: bool) -> str:
        if deviate:
            prefix, modifier = random_place_style(self.rng, unit)
            return style_place(unit, prefix, modifier)
        return style_place(unit, self.style.place_prefix, self.style.place_modifier)

    def render(self, p: Person, row_number: int, keep_id: bool) -> tuple[list[Cell | Styled], str | None]:
        """The row's cells and its hard defect (None if none). A conflicting re-delivery is rendered
        with `keep_id` False: no hard defect and no other form of its ID (a CMND, a mistyped year),
        so that it is quarantined for the conflict alone."""
        rng, rates, stats, style = self.rng, self.rates, self.stats, self.style
        hit: list[str] = []
        hard = self.hard.draw(rng) if keep_id and rng.chance(self.p_hard) else None

        # identity and birth
        pid: Cell = p.person_id
        born = p.born
        if hard == "under_working_age":
            born = self.period - timedelta(days=rng.randint(10, 14) * 365 + rng.randrange(300))
            pid = self.ids.cccd(born.year, "M" if p.sex == "Nam" else "F", p.person_id[:3])
        elif hard == "person_id_invalid":
            pid = p.person_id[:10]
        elif hard == "person_id_blank":
            pid = None
        elif keep_id and rng.chance(rates["person_id_inconsistent"]):
            wrong = (born.year + rng.randint(1, 9)) % 100
            pid = f"{p.person_id[:4]}{wrong:02d}{p.person_id[6:]}"
            hit.append("person_id_inconsistent")
        else:
            # A CCCD of provinces 001–009 stored as a number loses two zeros (10 digits): quarantined,
            # so it counts as a hard defect and is kept out of rows that already have one.
            two_zeros = p.person_id.startswith("00")
            pid, kind = person_id_cell(
                rng, p.person_id, xlsx=self.xlsx,
                lost_zero=0.0 if two_zeros and (hard or not keep_id) else rates["person_id_lost_zero"],
                old_cmnd=rates["person_id_cmnd"] if keep_id else 0.0, spaced=rates["person_id_spaces"],
                cmnd_number=p.old_id,
            )  # fmt: skip
            if kind == "lost_zero" and two_zeros:
                hard = "person_id_lost_two_zeros"
            elif kind:
                hit.append(f"person_id_{kind}")
        birth: Cell | Styled
        if hard == "birth_date_invalid":
            birth = rng.choice([f"31/02/{born.year}", f"00/00/{born.year}", f"{born.day:02d}/13/{born.year}"])
        elif hard != "under_working_age" and rng.chance(rates["birth_year_only"]):
            birth = born.year if self.xlsx else str(born.year)
            hit.append("birth_year_only")
        else:
            date_style = style.date_style
            if rng.chance(rates["date_variant"]):
                date_style = rng.choice(
                    [s for s in ("dmy", "dmy_unpadded", "iso", "words", "excel") if s != date_style]
                )
                hit.append("date_variant")
            value = format_date(born, date_style, xlsx=self.xlsx)
            birth = Styled(value, "0") if isinstance(value, int) else value

        # activity, job
        activity: str = p.activity
        employment, vsco, vsic, workplace, months = (
            p.employment,
            p.job.vsco if p.job else None,
            p.vsic,
            p.workplace,
            p.unemployed_months,
        )
        if hard == "activity_unknown":
            activity = rng.pick(ACTIVITY_UNKNOWN)
            employment = vsco = vsic = workplace = months = None
        if hard == "industry_invalid":  # (for someone without a job too: a code in no division)
            vsic = rng.pick(INVALID_DIVISIONS) + (vsic or "0000")[2:]
        if hard == "occupation_invalid":
            vsco = f"{vsco or '9211'}{rng.randint(0, 9)}"
        if not hard and activity == "Có việc làm" and rng.chance(rates["unemployed_months_not_unemployed"]):
            months = rng.randint(1, 12)
            hit.append("unemployed_months_not_unemployed")
        elif not hard and activity != "Có việc làm" and rng.chance(rates["employment_status_not_employed"]):
            employment = EMPLOYMENT.draw(rng)
            hit.append("employment_status_not_employed")

        enums: dict[str, str | None] = {
            "sex": p.sex, "general_education": p.education, "qualification": p.qualification,
            "activity_status": activity, "employment_status": employment,
        }  # fmt: skip
        if rng.chance(rates["enum_alias"]):
            col = rng.pick(ENUM_COLUMNS)
            canonical = enums[col]
            options = self.aliases[col].get(canonical, []) if canonical else []
            if col == "sex" and canonical:
                options = [canonical.lower(), canonical.upper()]
            if options:
                enums[col] = rng.pick(options)
                hit.append("enum_alias")

        # places
        post = style.post_2025
        unit = unit_at(p.commune, self.period)
        p_dev = rates["place_style_variant"]
        deviate = rng.chance(p_dev)
        commune = self._place(unit, deviate and rng.chance(0.6))
        district = self._place(p.commune.district, deviate and not post and rng.chance(0.6))
        if deviate:
            hit.append("place_style_variant")
        if post and rng.chance(rates["stale_place_name"]) and p.commune.unit.name != unit.name:
            commune = style_place(p.commune.unit, style.place_prefix)
            hit.append("stale_place_name")
        if hard == "unknown_place":
            commune = rng.pick(UNKNOWN_PLACES)

        values: dict[str, Cell | Styled] = {
            "person_id": pid,
            "full_name": p.name,
            "birth_date": birth,
            "ethnicity": p.ethnicity,
            "commune_name": commune,
            "district_name": district,
            "village": p.village,
            "occupation_vsco": vsco,
            "industry_vsic": vsic,
            "workplace": workplace,
            "unemployed_months": months,
            "training_need": p.training_need,
            **enums,
        }
        if "stt" in self.columns:
            self.stt += 1
            values["stt"] = self.stt
        if "phone" in self.columns:
            values["phone"] = f"09{rng.randrange(10**8):08d}" if rng.chance(0.4) else None
        if "ghi_chu" in self.columns:
            values["ghi_chu"] = rng.pick(GHI_CHU) if rng.chance(0.03) else None

        # text: house habits first, then one-cell defects
        if style.legacy_column and isinstance(values[style.legacy_column], str):
            values[style.legacy_column] = legacy(str(values[style.legacy_column]), str(style.legacy_encoding))
        if style.legacy_encoding and rng.chance(rates["legacy_cell"]):
            # Not the commune: a lone legacy cell whose glyphs all read as Vietnamese ("Ph­íc" for
            # "Phước") is not recognised by the reader, and the place would be lost.
            col = rng.pick(("full_name", "village"))
            cell = values[col]
            if isinstance(cell, str) and legacy(cell, style.legacy_encoding) != cell:
                values[col] = legacy(cell, style.legacy_encoding)
                hit.append("legacy_cell")
        hit += text_defects(values, rng, rates, nfd_columns=self.text_columns, space_columns=self.text_columns,
                            nfd_all_columns=self.text_columns if style.nfd_all else ())  # fmt: skip
        if hard:
            hit.append(hard)
        for defect in hit:
            stats.count(defect)
        if hard and len(stats.examples.get(hard, [])) < 5:
            stats.example(hard, row=row_number, person=p.person_id[:3] + "…")
        return [values[c] for c in self.columns], hard


def generate_labour_supply(
    out_dir: Path,
    rows: int | None = None,
    seed: int = 42,
    *,
    period: str | date | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    stats_out: Path | None = None,
) -> GeneratedFiles:
    """Write `cung_lao_dong_YYYYMM.csv|xlsx` into out_dir and return its path (with `.stats`)."""
    n_rows = DEFAULT_ROWS if rows is None else int(rows)
    if n_rows < 0:
        raise ValueError("rows must be >= 0")
    when = period_of(period, DEFAULT_PERIOD, "monthly")
    if when < date(2015, 1, 1):
        raise ValueError(f"period {when} is before the register this generator imitates (2015 on)")
    kind = check_fmt(fmt or default_fmt(n_rows))
    if kind == "xlsx" and n_rows > XLSX_MAX_ROWS:
        raise ValueError(f"an xlsx sheet holds {XLSX_MAX_ROWS:,} data rows here; use fmt='csv'")
    out = ensure_out_dir(out_dir)
    path = out / file_name(FILE_PREFIX, when, "monthly", kind)
    style = _house_style(seed, when, kind)
    stats = GenerationStats(dataset=DATASET, file=path.name, fmt=kind, period=when.isoformat(), seed=seed, rows=n_rows)
    factory = PersonFactory(seed, when)
    renderer = RowRenderer(style, seed, stats, when, factory.ids)
    stats.rates = dict(renderer.rates)
    flow = derive(seed, DATASET, "flow")

    table = TableFile(path, style.layout, stats, progress)
    try:
        recent: deque[Person] = deque(maxlen=500)  # clean rows a conflicting re-delivery may repeat
        keys: set[str] = set()
        for _ in range(n_rows):
            person: Person | None = None
            if recent and flow.chance(DEFECT_RATES["conflict"]):
                earlier = recent.popleft()
                person = factory.conflicting(earlier)
                stats.conflict_rows += 1
                keys.add(earlier.person_id)
                stats.count("conflict")
            clean = person is None
            if person is None:
                person = factory.new()
            cells, hard = renderer.render(person, table.next_row, keep_id=clean)
            copy = flow.chance(DEFECT_RATES["exact_duplicate"])
            if copy and hard:
                stats.count("duplicate_of_hard")
            # A clean row with a clean, unformatted ID may be repeated later with other values.
            if clean and not hard and not copy and cells[style.layout.columns.index("person_id")] == person.person_id:
                recent.append(person)
            table.add(cells, copy_after=flow.randint(0, 30) if copy else None)
        footer = []
        if style.footer:
            footer = signature_footer(
                flow, style.layout.width, f"Tổng cộng: {dotted(table.written)} người",
                "Gia Lai" if style.post_2025 else "Quy Nhơn", _last_day(when) + timedelta(days=flow.randint(1, 5)),
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
            "date_style": style.date_style,
            "place_style": f"{style.place_prefix}/{style.place_modifier}",
            "legacy_encoding": style.legacy_encoding,
            "legacy_column": style.legacy_column,
            "nfd_file": style.nfd_all,
            "district_column": "district_name" in style.layout.columns,
        }
    )
    result = GeneratedFiles([path], [stats])
    if stats_out is not None:
        write_stats(result.stats, Path(stats_out), out, DATASET)
    return result


__all__ = ["DATASET", "DEFAULT_PERIOD", "DEFAULT_ROWS", "DEFECT_RATES", "HARD_DEFECTS", "LAYOUT_RATES", "QUARANTINING_DEFECTS",
           "generate_labour_supply"]  # fmt: skip
