"""Generator of the accommodation register of Sở Văn hóa, Thể thao và Du lịch (`co_so_luu_tru_YYYYMMDD.xlsx|csv`).

Data: a full snapshot, one row per establishment (SOURCES.md "tourism_establishments"), sized on
DOMAIN §6: about 1,000 establishments with 19,100 rooms (Dec 2024; the default `rows` and period).
Types and sizes: hotels 30 % (stars 1–5 or unrated; a 5-star hotel has 120–300 rooms), guest
houses 35 %, homestays 25 %, apartments, villas, camps, boats and others the rest; beds 1.3–2.2 per
room. Places are weighted towards Quy Nhơn's wards and the coast (Nhơn Lý, Nhơn Hải, Cát Tiến, Tam
Quan). Operators: hotels and apartments mostly companies whose tax code is drawn from the same
seeded sequence as the enterprise generator's (`kds generate enterprises` with the same seed
registers most of them: the join of the suite's `tax_code_not_in_enterprises` check), some from
other provinces (chains), the rest households with a personal tax code (10 digits starting with 8
before 2025-07, the 12-digit personal ID after; unverified) or none.

Defect rates (per row, deterministic by seed; `DEFECT_RATES`):

| defect | rate | what the row carries |
|---|---|---|
| exact_duplicate | 0.5 % | a verbatim copy follows within 20 rows |
| conflict | 0.3 % | the name and commune of an earlier row with other rooms/beds |
| beds_below_rooms | 0.5 % | fewer beds than rooms |
| star_not_hotel | 1 % | stars on a guest house or homestay |
| unknown_star | 0.3 % | "6 sao", "Cao cấp" |
| type_alias | 5 % | "KS", "Nhà nghỉ", "Homestay", "Resort" (spec aliases) |
| star_alias | 5 % | "3*", "Ba sao", "Đạt tiêu chuẩn" (spec aliases) |
| tax_code_formatted | 2 % | spaces or dashes inside the tax code |
| tax_code_bad_check_digit | 0.5 % | a wrong 10th digit |
| blank_rooms | 0.2 % | no room count |
| unknown_place | 0.3 % | a commune in no list |
| place_style_variant | 10 % | the commune/district written unlike the house style |
| legacy_cell | 0.5 % | the name or address typed in the file's legacy font |
| nfd_cell / whitespace | 0.5 % / 1 % | decomposed Unicode / stray blanks in a text cell |

Xã Canh Hiệp was split in 2025 without a documented target, so its few establishments have no 2025
commune and therefore no key: the pipeline quarantines them (`missing_key`), as it should.

Per file: xlsx (default) with 3–6 title rows, an STT column (60 %), a numbering row (30 %), a footer
(70 %); dates in the house style; after 2025-07 no district column and 2025 commune names (10 % of
rows keep the old name). Memory is bounded (recent rows for duplicates and conflicts, and a count per
(name, commune) to keep names unique, bounded by the name pool).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType

from pipelines.generate.common import (
    PLACE_HOUSE_STYLES,
    REORGANISATION_DATE,
    Cell,
    Commune,
    GeneratedFiles,
    GenerationStats,
    Rng,
    Styled,
    TableFile,
    TableLayout,
    TaxCodeAllocator,
    TitleLine,
    Weighted,
    add_stray_spaces,
    cccd,
    check_fmt,
    choose_csv_dialect,
    choose_headers,
    corrupt_check_digit,
    default_fmt,
    derive,
    ensure_out_dir,
    file_name,
    format_date,
    format_tax_code_noisy,
    legacy,
    nfd,
    period_of,
    random_date,
    random_place_style,
    signature_footer,
    style_place,
    tax_check_digit,
    unit_at,
    write_stats,
)
from pipelines.generate.common import (
    communes_at as _communes_at,
)
from pipelines.specs import get_spec

DATASET = "tourism_establishments"
FILE_PREFIX = "co_so_luu_tru"
DEFAULT_ROWS = 1_000  # DOMAIN §6: over 1,000 establishments with 19,100 rooms (Dec 2024)
DEFAULT_PERIOD = date(2024, 12, 31)
XLSX_MAX_ROWS = 1_000_000

DEFECT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "exact_duplicate": 0.005,
        "conflict": 0.003,
        "beds_below_rooms": 0.005,
        "star_not_hotel": 0.01,
        "unknown_star": 0.003,
        "type_alias": 0.05,
        "star_alias": 0.05,
        "tax_code_formatted": 0.02,
        "tax_code_bad_check_digit": 0.005,
        "blank_rooms": 0.002,
        "unknown_place": 0.003,
        "place_style_variant": 0.10,
        "legacy_cell": 0.005,
        "nfd_cell": 0.005,
        "whitespace": 0.01,
    }
)
STALE_NAME_RATE = 0.10  # after 2025-07: the old commune name kept

# type: (weight, rooms (low, high), share run by a company)
TYPES: dict[str, tuple[float, tuple[int, int], float]] = {
    "Khách sạn": (30, (10, 60), 0.9),
    "Nhà nghỉ du lịch": (35, (6, 20), 0.4),
    "Nhà ở có phòng cho khách du lịch thuê": (25, (2, 8), 0.1),
    "Căn hộ du lịch": (4, (10, 50), 0.8),
    "Biệt thự du lịch": (3, (3, 10), 0.5),
    "Bãi cắm trại du lịch": (1, (5, 15), 0.5),
    "Tàu thủy lưu trú du lịch": (0.5, (5, 15), 1.0),
    "Khác": (1.5, (4, 12), 0.3),
}
HOTEL_STARS = Weighted([("5 sao", 3), ("4 sao", 8), ("3 sao", 20), ("2 sao", 25), ("1 sao", 10), ("", 34)])
# Rooms are low + (high − low)·U^1.5 (mean low + 0.4·(high − low)): about 19.1 rooms per establishment.
STAR_ROOMS = {"5 sao": (120, 300), "4 sao": (60, 150), "3 sao": (30, 80), "2 sao": (15, 40), "1 sao": (10, 25)}
NAME_PREFIXES = {
    "Khách sạn": ("Khách sạn {}", "Khách sạn {}", "{} Hotel", "{} Boutique Hotel", "{} Resort"),
    "Nhà nghỉ du lịch": ("Nhà nghỉ {}", "Nhà nghỉ {}", "Motel {}"),
    "Nhà ở có phòng cho khách du lịch thuê": ("Homestay {}", "{} Homestay", "Nhà nghỉ dân {}"),
    "Căn hộ du lịch": ("Căn hộ du lịch {}", "{} Apartment", "{} Condotel"),
    "Biệt thự du lịch": ("Biệt thự {}", "{} Villa"),
    "Bãi cắm trại du lịch": ("Khu cắm trại {}", "{} Camping"),
    "Tàu thủy lưu trú du lịch": ("Tàu lưu trú {}",),
    "Khác": ("Khu lưu trú {}", "{} Bungalow"),
}
TYPE_ALIASES = {
    "Khách sạn": ("KS", "Resort"),
    "Nhà nghỉ du lịch": ("Nhà nghỉ",),
    "Nhà ở có phòng cho khách du lịch thuê": ("Homestay", "Nhà ở có phòng cho thuê"),
    "Căn hộ du lịch": ("Căn hộ", "Căn hộ dịch vụ"),
    "Biệt thự du lịch": ("Biệt thự",),
    "Bãi cắm trại du lịch": ("Bãi cắm trại",),
}
STAR_ALIASES = {
    "1 sao": ("1*", "Một sao"), "2 sao": ("2*", "Hai sao"), "3 sao": ("3*", "Ba sao"),
    "4 sao": ("4*", "Bốn sao", "4 stars"), "5 sao": ("5*", "Năm sao", "5 stars"),
    "Đạt chuẩn": ("Đạt tiêu chuẩn", "Đạt chuẩn phục vụ khách du lịch"),
}  # fmt: skip
BRANDS = (
    "Hải Âu", "Hoàng Yến", "Sao Biển", "Biển Xanh", "Eo Gió", "Kỳ Co", "Ghềnh Ráng", "Bãi Xép", "Hầm Hô",
    "Thị Nại", "Cù Lao Xanh", "Phương Mai", "Trung Lương", "Tam Quan", "Cát Tiến", "Hoa Biển", "Sóng Xanh",
    "Ánh Dương", "Bình Minh", "Hoàng Gia", "Hướng Dương", "Mặt Trời", "Ngọc Lan", "Thanh Bình", "Minh Tâm",
    "An Phú", "Phú Tài", "Thành Đạt", "Hưng Thịnh", "Đông Phương", "Sài Gòn", "Hà Nội", "Mường Thanh",
    "Seagull", "Sea Breeze", "Ocean View", "Blue Sea", "Sunrise", "Moonlight", "Coral", "Lotus", "Rainbow",
    "Nhật Minh", "Anh Khoa", "Bảo Ngọc", "Gia Huy", "Kim Long", "Vạn Phúc", "Lộc Phát", "Tân Hưng",
)  # fmt: skip
STREETS = ("An Dương Vương", "Xuân Diệu", "Nguyễn Huệ", "Trần Hưng Đạo", "Lê Lợi", "Nguyễn Tất Thành",
           "Hùng Vương", "Tây Sơn", "Ngô Mây", "Hoàng Văn Thụ", "Quang Trung", "Lê Duẩn")  # fmt: skip
COASTAL = {"21598": 6, "21604": 5, "21607": 3, "21595": 4, "21610": 2, "21868": 4, "21664": 3, "21667": 2}
UNKNOWN_PLACES = ("Khu kinh tế Nhơn Hội", "KDL Hầm Hô", "Phường Lê Lợi", "Bán đảo Phương Mai")
OTHER_PROVINCE_TAX_PREFIXES = ("01", "03", "04")  # hotel chains headquartered in Hà Nội, HCMC, Đà Nẵng
TAX_POOL = 6_000  # the first codes of the enterprise generator's sequence (it issues ~8,700 by default)
COLUMNS = ("name", "accommodation_type", "star_rating", "decision_no", "decision_date", "address", "commune_name",
           "district_name", "rooms", "beds", "tax_code")  # fmt: skip


@dataclass(slots=True)
class Establishment:
    name: str
    kind: str
    star: str
    decision_no: str | None
    decision_date: date | None
    address: str
    commune: Commune
    rooms: int
    beds: int
    tax_code: str | None


def _weight(c: Commune) -> float:
    if c.district.code == "540":
        base = 8.0 if c.unit.unit_type == "phuong" else 3.0
    else:
        base = 1.2 if c.unit.unit_type in ("phuong", "thi_tran") else 0.25
    return base * COASTAL.get(c.unit.code, 1)


@cache
def _enterprise_tax_codes(seed: int) -> tuple[str, ...]:
    """The first codes the enterprise generator issues for Bình Định (same seed, same stream)."""
    allocator = TaxCodeAllocator(derive(seed, "enterprises", "tax", "41"), "41", "0")
    return tuple(allocator.next() for _ in range(TAX_POOL))


class EstablishmentFactory:
    def __init__(self, seed: int, period: date) -> None:
        self.rng = derive(seed, DATASET, "records")
        self.period = period
        self.places = _communes_at(period, lambda c: _weight(c) if c.province_code == "52" else 0.0)
        self.types = Weighted((t, w) for t, (w, _, _) in TYPES.items())
        self.company_codes = _enterprise_tax_codes(seed)
        self.chains = {
            p: TaxCodeAllocator(derive(seed, DATASET, "chain", p), p, "") for p in OTHER_PROVINCE_TAX_PREFIXES
        }
        self.names: dict[tuple[str, str], int] = {}

    def _tax_code(self, kind: str) -> str | None:
        rng = self.rng
        if rng.chance(TYPES[kind][2]):
            if rng.chance(0.08):
                return self.chains[rng.pick(OTHER_PROVINCE_TAX_PREFIXES)].next()
            return rng.pick(self.company_codes)
        if rng.chance(0.3):
            return None
        if self.period >= REORGANISATION_DATE:
            year = rng.randint(1955, 1995)
            return cccd(rng, year, rng.choice("MF"), "052")
        while True:  # a personal income-tax code: 8 + 8 digits + check digit (unverified form)
            nine = f"8{rng.randrange(10**8):08d}"
            if (check := tax_check_digit(nine)) is not None:
                return nine + check

    def new(self) -> Establishment:
        rng = self.rng
        kind = self.types.draw(rng)
        commune = self.places.draw(rng)
        star = ""
        low, high = TYPES[kind][1]
        if kind == "Khách sạn":
            star = HOTEL_STARS.draw(rng)
            low, high = STAR_ROOMS.get(star, (low, high))
        elif kind in ("Biệt thự du lịch", "Căn hộ du lịch") and rng.chance(0.1):
            star = rng.choice(["3 sao", "4 sao", "5 sao"])
        elif rng.chance(0.6):
            star = "Đạt chuẩn"
        rooms = max(1, int(low + (high - low) * rng.random() ** 1.5))
        beds = max(rooms, round(rooms * rng.uniform(1.3, 2.2)))
        brand = rng.pick(BRANDS)
        name = rng.pick(NAME_PREFIXES[kind]).format(brand)
        # unique within the 2025 commune, which is part of the dataset's key (old communes merged)
        where = (commune.new_unit or commune.unit).code
        seen = self.names.get((name, where), 0)
        self.names[(name, where)] = seen + 1
        if seen:
            name = f"{name} {seen + 1}"
        decision_no = decision_date = None
        if star:
            decision_date = random_date(rng, date(2012, 1, 1), self.period)
            office = "TCDL" if star in ("4 sao", "5 sao") else "SVHTTDL"
            decision_no = f"{rng.randint(1, 999)}/QĐ-{office}"
        if commune.district.code == "540" and commune.unit.unit_type == "phuong":
            address = f"{rng.randint(1, 500)} {rng.pick(STREETS)}"
        elif rng.chance(0.5):
            address = f"Thôn {rng.pick(BRANDS[:20])}"
        else:
            address = f"Khu vực {rng.randint(1, 9)}"
        return Establishment(name, kind, star, decision_no, decision_date, address, commune, rooms, beds,
                             self._tax_code(kind))  # fmt: skip

    def conflicting(self, earlier: Establishment) -> Establishment:
        """The same establishment (name and commune) delivered again with other rooms and beds."""
        rooms = earlier.rooms + self.rng.randint(1, 5)
        return dataclasses.replace(earlier, rooms=rooms, beds=max(rooms, earlier.beds + self.rng.randint(1, 8)))


@dataclass(frozen=True)
class HouseStyle:
    fmt: str
    period: date
    post_2025: bool
    date_style: str
    place_prefix: str
    legacy_encoding: str


def _layout(rng: Rng, period: date, fmt: str) -> tuple[TableLayout, HouseStyle]:
    spec = get_spec(DATASET)
    xlsx = fmt == "xlsx"
    post = period >= REORGANISATION_DATE
    columns = [c for c in COLUMNS if not (post and c == "district_name")]
    if rng.chance(0.2):
        i, j = rng.randrange(len(columns)), rng.randrange(len(columns))
        columns[i], columns[j] = columns[j], columns[i]
    headers = choose_headers(rng, lambda c: spec.column(c).headers, columns, xlsx=xlsx, aliases=rng.chance(0.3),
                             upper=rng.chance(0.2))  # fmt: skip
    if rng.chance(0.6):
        columns, headers = ["stt", *columns], ["STT", *headers]
    province = "GIA LAI" if post else "BÌNH ĐỊNH"
    titles = [TitleLine(f"UBND TỈNH {province}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
              TitleLine("SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH", "Độc lập - Tự do - Hạnh phúc"),
              TitleLine("DANH SÁCH CƠ SỞ LƯU TRÚ DU LỊCH TRÊN ĐỊA BÀN TỈNH"),
              TitleLine(f"(Tính đến ngày {period.day:02d}/{period.month:02d}/{period.year})"), TitleLine("")]  # fmt: skip
    dialect = None if xlsx else choose_csv_dialect(rng)
    layout = TableLayout(
        fmt=fmt, columns=tuple(columns), headers=tuple(headers),
        title_lines=tuple(titles[: rng.randint(3, 5)]) if xlsx else (),
        numbering=xlsx and rng.chance(0.3), dialect=dialect, sheet_title="Danh sách CSLT",
    )  # fmt: skip
    style = HouseStyle(
        fmt=fmt,
        period=period,
        post_2025=post,
        date_style=(Weighted([("excel", 50), ("dmy", 40), ("iso", 10)]) if xlsx else Weighted([("dmy", 80), ("iso", 20)])).draw(rng),
        place_prefix=PLACE_HOUSE_STYLES.draw(rng),
        legacy_encoding="vni" if dialect is not None and dialect.encoding == "cp1258" else "tcvn3",
    )  # fmt: skip
    return layout, style


def _render(
    e: Establishment, style: HouseStyle, rng: Rng, stats: GenerationStats, row: int
) -> dict[str, Cell | Styled]:
    xlsx = style.fmt == "xlsx"
    hit: list[str] = []
    kind, star, rooms, beds = e.kind, e.star, e.rooms, e.beds
    if rng.chance(DEFECT_RATES["beds_below_rooms"]):
        beds = max(1, rooms - rng.randint(1, max(1, rooms // 3)))
        hit.append("beds_below_rooms")
    if kind in ("Nhà nghỉ du lịch", "Nhà ở có phòng cho khách du lịch thuê") and rng.chance(
        DEFECT_RATES["star_not_hotel"] * 1.7
    ):
        star = rng.choice(["1 sao", "2 sao", "3 sao"])
        hit.append("star_not_hotel")
    if rng.chance(DEFECT_RATES["unknown_star"]):
        star = rng.choice(["6 sao", "Cao cấp", "3 sao+"])
        hit.append("unknown_star")
    if kind in TYPE_ALIASES and rng.chance(DEFECT_RATES["type_alias"]):
        kind = rng.pick(TYPE_ALIASES[kind])
        hit.append("type_alias")
    if star in STAR_ALIASES and rng.chance(DEFECT_RATES["star_alias"]):
        star = rng.pick(STAR_ALIASES[star])
        hit.append("star_alias")
    tax: Cell = e.tax_code
    if e.tax_code and len(e.tax_code) == 10 and rng.chance(DEFECT_RATES["tax_code_bad_check_digit"]):
        tax = corrupt_check_digit(e.tax_code, rng)
        hit.append("tax_code_bad_check_digit")
    elif e.tax_code and rng.chance(DEFECT_RATES["tax_code_formatted"]):
        tax = format_tax_code_noisy(e.tax_code, rng)
        hit.append("tax_code_formatted")
    rooms_cell: Cell = rooms
    if rng.chance(DEFECT_RATES["blank_rooms"]):
        rooms_cell = None
        hit.append("blank_rooms")

    unit = unit_at(e.commune, style.period)
    if style.post_2025 and rng.chance(STALE_NAME_RATE):
        unit = e.commune.unit  # the old name, still in use
    prefix, modifier = style.place_prefix, "none"
    if rng.chance(DEFECT_RATES["place_style_variant"]):
        prefix, modifier = random_place_style(rng, unit)
        hit.append("place_style_variant")
    commune: str = style_place(unit, prefix, modifier)
    if rng.chance(DEFECT_RATES["unknown_place"]):
        commune = rng.pick(UNKNOWN_PLACES)
        hit.append("unknown_place")
    values: dict[str, Cell | Styled] = {
        "name": e.name,
        "accommodation_type": kind,
        "star_rating": star or None,
        "decision_no": e.decision_no,
        "decision_date": format_date(e.decision_date, style.date_style, xlsx=xlsx) if e.decision_date else None,
        "address": e.address,
        "commune_name": commune,
        "district_name": style_place(e.commune.district, style.place_prefix),
        "rooms": rooms_cell,
        "beds": beds,
        "tax_code": tax,
    }
    if rng.chance(DEFECT_RATES["legacy_cell"]):
        col = rng.choice(["name", "address"])
        values[col] = legacy(str(values[col]), style.legacy_encoding)
        hit.append("legacy_cell")
    if rng.chance(DEFECT_RATES["nfd_cell"]):
        values["name"] = nfd(str(values["name"]))
        hit.append("nfd_cell")
    if rng.chance(DEFECT_RATES["whitespace"]):
        values["address"] = add_stray_spaces(str(values["address"]), rng)
        hit.append("whitespace")
    for defect in hit:
        stats.count(defect)
        stats.example(defect, row=row, name=e.name)
    return values


def generate_tourism_establishments(
    out_dir: Path,
    rows: int | None = None,
    seed: int = 42,
    *,
    period: str | date | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    stats_out: Path | None = None,
) -> GeneratedFiles:
    """Write `co_so_luu_tru_YYYYMMDD.xlsx|csv` into out_dir and return its path (with `.stats`)."""
    n_rows = DEFAULT_ROWS if rows is None else int(rows)
    if n_rows < 0:
        raise ValueError("rows must be >= 0")
    when = period_of(period, DEFAULT_PERIOD, "daily")
    kind = check_fmt(fmt or default_fmt(n_rows))
    if kind == "xlsx" and n_rows > XLSX_MAX_ROWS:
        raise ValueError(f"an xlsx sheet holds {XLSX_MAX_ROWS:,} data rows here; use fmt='csv'")
    out = ensure_out_dir(out_dir)
    path = out / file_name(FILE_PREFIX, when, "daily", kind)
    layout_rng = derive(seed, DATASET, "layout", kind)
    layout, style = _layout(layout_rng, when, kind)
    stats = GenerationStats(dataset=DATASET, file=path.name, fmt=kind, period=when.isoformat(), seed=seed, rows=n_rows)
    stats.rates = dict(DEFECT_RATES)
    factory = EstablishmentFactory(seed, when)
    defects = derive(seed, DATASET, "defects")
    flow = derive(seed, DATASET, "flow")
    table = TableFile(path, layout, stats, progress)
    recent: deque[Establishment] = deque(maxlen=200)
    rooms_total = 0
    try:
        for i in range(n_rows):
            record = None
            if recent and flow.chance(DEFECT_RATES["conflict"]):
                record = factory.conflicting(recent.popleft())
                stats.conflict_rows += 1
                stats.conflicting_keys += 1
                stats.count("conflict")
            if record is None:
                record = factory.new()
                recent.append(record)
                rooms_total += record.rooms
            values = _render(record, style, defects, stats, table.next_row)
            values["stt"] = i + 1
            copy = flow.randint(1, 20) if flow.chance(DEFECT_RATES["exact_duplicate"]) else None
            table.add([values[c] for c in layout.columns], copy_after=copy)
        footer = []
        if kind == "xlsx" and layout_rng.chance(0.7):
            place = "Gia Lai" if style.post_2025 else "Quy Nhơn"
            footer = signature_footer(
                layout_rng, layout.width, f"Tổng cộng: {n_rows} cơ sở, {rooms_total} phòng", place, when
            )
        table.close(footer)
    except BaseException:
        table.abort()
        raise
    if stats.exact_duplicates:
        stats.count("exact_duplicate", stats.exact_duplicates)
    stats.layout.update({"rooms_total": rooms_total, "date_style": style.date_style, "place_style": style.place_prefix,
                         "district_column": "district_name" in layout.columns})  # fmt: skip
    result = GeneratedFiles([path], [stats])
    if stats_out is not None:
        write_stats(result.stats, Path(stats_out), out, DATASET)
    return result


__all__ = ["DATASET", "DEFAULT_PERIOD", "DEFAULT_ROWS", "DEFECT_RATES", "generate_tourism_establishments"]
