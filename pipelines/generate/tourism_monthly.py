"""Generator of the monthly tourism report of Sở Văn hóa, Thể thao và Du lịch (`bao_cao_du_lich_YYYYMM.xlsx|csv`).

Data: one row per reporting area per month (SOURCES.md "tourism_monthly"): the 11 old districts of
Bình Định before 2025-07, the 58 communes on former Bình Định territory from 2025-07. One file per
month; `rows` is the total over the files, taken month by month backwards from `period` (default
the twelve months of 2024: 132 rows; the earliest month may be partial, areas in a fixed order with
Quy Nhơn first). The scale is DOMAIN §6: 9.2 million visitors and 25,500 billion VND of tourism
revenue in 2024 (about +10 % a year around it), seasonal (summer and Tết peaks), about 62 % in Quy
Nhơn; figures are consistent (total = international + domestic, parts add up) unless a defect says
otherwise.

Defect rates (per row, deterministic by seed; `DEFECT_RATES`):

| defect | rate | what the row carries |
|---|---|---|
| exact_duplicate | 1 % | a verbatim copy follows within 3 rows |
| visitors_total_mismatch | 2 % | total ≠ international + domestic |
| overnight_exceeds_total | 0.5 % | more overnight guests than visitors |
| nights_below_overnight | 0.5 % | fewer guest nights than overnight guests |
| occupancy_typo | 1 % | "685" for 68,5 % |
| revenue_total_mismatch | 1 % | the total revenue off by 1–50 million |
| unknown_area | 0.5 % | an area in no list ("Khu kinh tế Nhơn Hội") |
| other_month_row | 0.5 % | the row of the previous month left in the file |
| blank_zero | 30 % of zero cells | a zero part written as a blank cell |
| legacy_area | 2 % | the area name typed in TCVN3 |
| area_style_variant | 10 % | the area written unlike the house style ("H. Tuy Phước", "Tp Qui Nhơn") |

Per file (`LAYOUT_RATES`): xlsx title rows with "Kỳ báo cáo: Tháng M năm YYYY" (always) and a totals
row "Tổng cộng" plus signatures (80 %); in 20 % of series (seeds) the office names its xlsx files for
the month it sends them (the next one), and the title wins; the period column written "MM/YYYY", "T12/2024", "Tháng 12/2024" or as a
date cell; numbers with "." thousands and "," decimals, plain, or number cells; area names bare
("Tuy Phước": read by the report's level), abbreviated or in full. CSV (when fmt="csv"): UTF-8 (BOM
or not), UTF-16 or Windows-1258, no title. Memory is bounded by one month's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

from pipelines.generate.common import (
    REORGANISATION_DATE,
    Cell,
    GeneratedFiles,
    GenerationStats,
    Rng,
    Styled,
    TableFile,
    TableLayout,
    TitleLine,
    Unit,
    Weighted,
    check_fmt,
    choose_csv_dialect,
    choose_headers,
    derive,
    ensure_out_dir,
    legacy,
    new_units,
    old_communes,
    period_of,
    signature_footer,
    style_place,
    write_stats,
)
from pipelines.specs import get_spec

DATASET = "tourism_monthly"
FILE_PREFIX = "bao_cao_du_lich"
DEFAULT_PERIOD = date(2024, 12, 1)  # the last month generated; with the default rows, all of 2024
DEFAULT_MONTHS = 12
VISITORS_2024 = 9_200_000  # DOMAIN §6
REVENUE_2024_MILLION_VND = 25_500_000  # 25,500 billion VND
YEARLY_GROWTH = 1.10
# Share of the year's visitors by month: Tết (Feb), and the summer season (Apr–Aug).
SEASON = (0.070, 0.080, 0.070, 0.080, 0.090, 0.110, 0.120, 0.110, 0.070, 0.060, 0.060, 0.080)
# Old districts: share of visitors, international share, overnight share, revenue per visitor (relative).
DISTRICTS = {
    "540": (0.62, 0.080, 0.55, 1.25),  # Quy Nhơn
    "549": (0.06, 0.015, 0.30, 0.60),  # An Nhơn
    "550": (0.04, 0.010, 0.25, 0.50),  # Tuy Phước
    "548": (0.06, 0.020, 0.35, 0.70),  # Phù Cát (Cát Tiến, the airport)
    "547": (0.07, 0.030, 0.25, 0.55),  # Tây Sơn (Quang Trung museum)
    "543": (0.04, 0.010, 0.30, 0.60),  # Hoài Nhơn (Tam Quan)
    "545": (0.03, 0.008, 0.25, 0.50),  # Phù Mỹ
    "544": (0.02, 0.005, 0.20, 0.40),  # Hoài Ân
    "542": (0.01, 0.003, 0.20, 0.40),  # An Lão
    "546": (0.02, 0.005, 0.20, 0.40),  # Vĩnh Thạnh
    "551": (0.03, 0.005, 0.20, 0.40),  # Vân Canh
}
REVENUE_SPLIT = (0.36, 0.34, 0.10, 0.20)  # accommodation, food, travel, other

DEFECT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "exact_duplicate": 0.01,
        "visitors_total_mismatch": 0.02,
        "overnight_exceeds_total": 0.005,
        "nights_below_overnight": 0.005,
        "occupancy_typo": 0.01,
        "revenue_total_mismatch": 0.01,
        "unknown_area": 0.005,
        "other_month_row": 0.005,
        "legacy_area": 0.02,
        "area_style_variant": 0.10,
    }
)
BLANK_ZERO_RATE = 0.30
LAYOUT_RATES: Mapping[str, float] = MappingProxyType({"xlsx_footer": 0.80, "sent_month_name": 0.20})
UNKNOWN_AREAS = ("Khu kinh tế Nhơn Hội", "KDL Hầm Hô", "Cụm du lịch Trung Lương", "Toàn tỉnh")

COLUMNS = (
    "period", "area_name", "visitors_total", "visitors_international", "visitors_domestic", "overnight_guests",
    "guest_nights", "occupancy_pct", "revenue_accommodation_million_vnd", "revenue_food_million_vnd",
    "revenue_travel_million_vnd", "revenue_other_million_vnd", "revenue_total_million_vnd",
)  # fmt: skip


@dataclass(frozen=True)
class Area:
    unit: Unit
    share: float
    international: float
    overnight: float
    spend: float  # revenue per visitor, relative to the province's average


@dataclass(frozen=True)
class Figures:
    total: int
    international: int
    overnight: int
    nights: int
    occupancy: float
    revenue: tuple[float, float, float, float]  # million VND, one decimal


def areas_at(month: date) -> list[Area]:
    """The reporting areas of a month in report order: old districts, or (from 2025-07) the 2025
    communes on former Bình Định territory, each with its district's profile split by commune."""
    olds = [c for c in old_communes() if c.province_code == "52"]
    districts = {c.district.code: c.district for c in olds}
    if month < REORGANISATION_DATE:
        return [Area(districts[code], *DISTRICTS[code]) for code in DISTRICTS]
    weights: dict[str, float] = {}
    profile: dict[str, str] = {}
    per_district = {code: sum(3.0 if c.unit.unit_type != "xa" else 1.0 for c in olds if c.district.code == code)
                    for code in DISTRICTS}  # fmt: skip
    for c in olds:
        if c.new_unit is None:
            continue
        w = DISTRICTS[c.district.code][0] * (3.0 if c.unit.unit_type != "xa" else 1.0) / per_district[c.district.code]
        weights[c.new_unit.code] = weights.get(c.new_unit.code, 0.0) + w
        profile.setdefault(c.new_unit.code, c.district.code)
    units = new_units()
    order = sorted(weights, key=lambda code: (-weights[code], code))
    total = sum(weights.values())
    return [Area(units[code], weights[code] / total, *DISTRICTS[profile[code]][1:]) for code in order]


def figures(area: Area, month: date, rng: Rng) -> Figures:
    """Consistent figures of one area in one month (before any defect)."""
    scale = YEARLY_GROWTH ** (month.year - 2024 + (month.month - 1) / 12)
    noise = max(0.5, rng.gauss(1.0, 0.06))
    total = max(1, round(VISITORS_2024 * scale * SEASON[month.month - 1] * area.share * noise))
    international = round(total * area.international * max(0.2, rng.gauss(1.0, 0.2)))
    overnight = round(total * area.overnight * max(0.5, rng.gauss(1.0, 0.08)))
    nights = round(overnight * max(1.0, rng.gauss(1.9 if area.share > 0.3 else 1.4, 0.15)))
    base = 0.62 if area.share > 0.3 else 0.32
    occupancy = round(min(96.0, max(8.0, 100 * base * (0.75 + 3 * SEASON[month.month - 1]) * rng.gauss(1.0, 0.05))), 1)
    per_visitor = REVENUE_2024_MILLION_VND / VISITORS_2024 * area.spend
    revenue_total = total * per_visitor * max(0.6, rng.gauss(1.0, 0.05))
    parts = [round(revenue_total * s * max(0.3, rng.gauss(1.0, 0.08)), 1) for s in REVENUE_SPLIT]
    if area.share < 0.02 and rng.chance(0.5):
        parts[2] = 0.0  # no travel agency in a small district
    return Figures(total, international, overnight, nights, occupancy, (parts[0], parts[1], parts[2], parts[3]))


def _number(value: float, style: str, xlsx: bool, decimals: int = 0) -> Cell | Styled:
    """A figure in the file's style: "1.234.567" / "12.345,6" (vn), "1234567" / "12345.6" (plain),
    or a number cell (xlsx)."""
    if style == "number" and xlsx:
        return Styled(round(value, decimals) if decimals else int(value), "#,##0.0" if decimals else "#,##0")
    text = f"{value:,.{decimals}f}"
    if style == "vn":
        return text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text.replace(",", "")


def _period_cell(month: date, style: str, xlsx: bool) -> Cell | Styled:
    if style == "date" and xlsx:
        return Styled(month, "mm/yyyy")
    if style == "t":
        return f"T{month.month}/{month.year}"
    if style == "words":
        return f"Tháng {month.month}/{month.year}"
    return f"{month.month:02d}/{month.year}"


@dataclass(frozen=True)
class HouseStyle:
    fmt: str
    number_style: str  # vn | plain | number
    period_style: str  # mm/yyyy | t | words | date
    place_style: str  # full | abbr | bare
    footer: bool
    sent_month_name: bool


def _house_style(rng: Rng, fmt: str, sent_month_name: bool) -> HouseStyle:
    xlsx = fmt == "xlsx"
    return HouseStyle(
        fmt=fmt,
        number_style=Weighted([("vn", 55), ("plain", 15), ("number", 30 if xlsx else 0)]).draw(rng),
        period_style=Weighted([("mmyyyy", 55), ("t", 15), ("words", 15), ("date", 15 if xlsx else 0)]).draw(rng),
        place_style=Weighted([("full", 35), ("abbr", 35), ("bare", 30)]).draw(rng),
        footer=xlsx and rng.chance(LAYOUT_RATES["xlsx_footer"]),
        sent_month_name=xlsx and sent_month_name,
    )


def _month_file(
    out: Path, month: date, n_rows: int, seed: int, fmt: str, progress: Callable[[int], None] | None, done: int
) -> tuple[Path, GenerationStats]:
    spec = get_spec(DATASET)
    layout_rng = derive(seed, DATASET, "layout", month.isoformat())
    rng = derive(seed, DATASET, "figures", month.isoformat())
    defects = derive(seed, DATASET, "defects", month.isoformat())
    # Naming by the month sent is a habit of the office (all its files), else names would collide.
    style = _house_style(layout_rng, fmt, derive(seed, DATASET, "naming").chance(LAYOUT_RATES["sent_month_name"]))
    xlsx = fmt == "xlsx"
    dialect = None if xlsx else choose_csv_dialect(layout_rng)
    legacy_font = (
        "vni" if dialect is not None and dialect.encoding == "cp1258" else "tcvn3"
    )  # TCVN3 bytes are not in cp1258
    sent = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    named = sent if style.sent_month_name else month
    path = out / f"{FILE_PREFIX}_{named:%Y%m}.{fmt}"
    headers = choose_headers(layout_rng, lambda c: spec.column(c).headers, COLUMNS, xlsx=xlsx,
                             aliases=layout_rng.chance(0.3), upper=layout_rng.chance(0.2))  # fmt: skip
    columns = ("stt", *COLUMNS) if layout_rng.chance(0.7) else COLUMNS
    if columns[0] == "stt":
        headers = ["STT", *headers]
    province = "BÌNH ĐỊNH" if month < REORGANISATION_DATE else "GIA LAI"
    titles = (
        (TitleLine(f"UBND TỈNH {province}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
         TitleLine("SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH", "Độc lập - Tự do - Hạnh phúc"), TitleLine(""),
         TitleLine("BÁO CÁO TÌNH HÌNH HOẠT ĐỘNG DU LỊCH"),
         TitleLine(f"Kỳ báo cáo: Tháng {month.month} năm {month.year}"))
        if xlsx else ()
    )  # fmt: skip
    layout = TableLayout(fmt=fmt, columns=tuple(columns), headers=tuple(headers), title_lines=titles,
                         numbering=xlsx and layout_rng.chance(0.3),
                         dialect=dialect,
                         sheet_title=f"T{month.month:02d}-{month.year}")  # fmt: skip
    stats = GenerationStats(dataset=DATASET, file=path.name, fmt=fmt, period=month.isoformat(), seed=seed, rows=n_rows)
    stats.rates = dict(DEFECT_RATES)
    table = TableFile(path, layout, stats, (lambda n: progress(done + n)) if progress else None)
    try:
        areas = areas_at(month)[:n_rows]
        grand_total = 0
        for i, area in enumerate(areas):
            fig = figures(area, month, rng)
            row_month = month
            if defects.chance(DEFECT_RATES["other_month_row"]):
                row_month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
                stats.count("other_month_row")
            cells = _render(area, fig, row_month, style, defects, stats, xlsx, table.next_row, legacy_font)
            if columns[0] == "stt":
                cells.insert(0, i + 1)
            grand_total += fig.total
            table.add(
                cells, copy_after=defects.randint(1, 3) if defects.chance(DEFECT_RATES["exact_duplicate"]) else None
            )
        footer: list[list[Cell]] = []
        if style.footer:
            footer = [[None, None, "Tổng cộng", _plain_total(grand_total)]]
            footer += signature_footer(layout_rng, len(columns), "", "Quy Nhơn", sent)[2:]
        table.close(footer)
    except BaseException:
        table.abort()
        raise
    if stats.exact_duplicates:
        stats.count("exact_duplicate", stats.exact_duplicates)
    stats.layout.update({"month": month.isoformat(), "named_for": named.isoformat(), "number_style": style.number_style,
                         "period_style": style.period_style, "place_style": style.place_style,
                         "areas": "districts" if month < REORGANISATION_DATE else "communes"})  # fmt: skip
    return path, stats


def _plain_total(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _render(
    area: Area, fig: Figures, month: date, style: HouseStyle, rng: Rng, stats: GenerationStats, xlsx: bool,
    row: int, legacy_font: str,
) -> list[Cell | Styled]:  # fmt: skip
    """The cells of one row (without STT), with this row's defects counted in `stats`."""
    total, international, overnight, nights = fig.total, fig.international, fig.overnight, fig.nights
    domestic = total - international
    revenue = list(fig.revenue)
    revenue_total = round(sum(revenue), 1)
    if rng.chance(DEFECT_RATES["visitors_total_mismatch"]):
        domestic += rng.choice([-1, 1]) * rng.randint(10, max(11, total // 20))
        stats.count("visitors_total_mismatch")
        stats.example("visitors_total_mismatch", row=row, total=total, international=international, domestic=domestic)
    if rng.chance(DEFECT_RATES["overnight_exceeds_total"]):
        overnight = total + rng.randint(1, max(2, total // 10))
        nights = max(nights, overnight)
        stats.count("overnight_exceeds_total")
    if rng.chance(DEFECT_RATES["nights_below_overnight"]):
        nights = max(0, overnight - rng.randint(1, max(2, overnight // 5)))
        stats.count("nights_below_overnight")
    if rng.chance(DEFECT_RATES["revenue_total_mismatch"]):
        revenue_total = round(revenue_total + rng.choice([-1, 1]) * rng.uniform(1, 50), 1)
        stats.count("revenue_total_mismatch")
    occupancy_cell: Cell | Styled
    if rng.chance(DEFECT_RATES["occupancy_typo"]):
        occupancy_cell = str(round(fig.occupancy * 10))
        stats.count("occupancy_typo")
    else:
        occupancy_cell = _number(fig.occupancy, style.number_style, xlsx, 1)
        if isinstance(occupancy_cell, str) and rng.chance(0.3):
            occupancy_cell = f"{occupancy_cell}%"

    name: str = _area_name(area.unit, style, rng, stats)
    if rng.chance(DEFECT_RATES["unknown_area"]):
        name = rng.pick(UNKNOWN_AREAS)
        stats.count("unknown_area")
    elif rng.chance(DEFECT_RATES["legacy_area"]):
        name = legacy(name, legacy_font)
        stats.count("legacy_area")

    def count(value: int) -> Cell | Styled:
        if value == 0 and rng.chance(BLANK_ZERO_RATE):
            stats.count("blank_zero")
            return None
        return _number(value, style.number_style, xlsx)

    def money(value: float) -> Cell | Styled:
        if value == 0 and rng.chance(BLANK_ZERO_RATE):
            stats.count("blank_zero")
            return None
        return _number(value, style.number_style, xlsx, 1)

    cells: list[Cell | Styled] = [
        _period_cell(month, style.period_style, xlsx), name, count(total), count(international), count(domestic),
        count(overnight), count(nights), occupancy_cell, *(money(r) for r in revenue), money(revenue_total),
    ]  # fmt: skip
    return cells


def _area_name(unit: Unit, style: HouseStyle, rng: Rng, stats: GenerationStats) -> str:
    prefix = style.place_style
    modifier = "none"
    if rng.chance(DEFECT_RATES["area_style_variant"]):
        prefix = rng.choice(["full", "abbr", "bare", "i2", "i3"])
        modifier = rng.choice(["none", "none", "qui", "upper", "old_tone"])
        if modifier == "qui" and "Quy" not in unit.bare:
            modifier = "none"
        stats.count("area_style_variant")
    return style_place(unit, prefix, modifier)


def generate_tourism_monthly(
    out_dir: Path,
    rows: int | None = None,
    seed: int = 42,
    *,
    period: str | date | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    stats_out: Path | None = None,
) -> GeneratedFiles:
    """Write one `bao_cao_du_lich_YYYYMM.<fmt>` per month, backwards from `period`, `rows` rows in all."""
    last = period_of(period, DEFAULT_PERIOD, "monthly")
    if last < date(2015, 1, 1):
        raise ValueError(f"period {last} is before the reports this generator imitates (2015 on)")
    months: list[tuple[date, int]] = []
    if rows is None:
        month = last
        for _ in range(DEFAULT_MONTHS):
            months.append((month, len(areas_at(month))))
            month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    else:
        if rows < 0:
            raise ValueError("rows must be >= 0")
        left, month = int(rows), last
        while left > 0:
            if month < date(2015, 1, 1):
                raise ValueError(f"{rows} rows reach back before 2015-01 (one row per area per month); ask for fewer")
            take = min(left, len(areas_at(month)))
            months.append((month, take))
            left -= take
            month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    kind = check_fmt(fmt or "xlsx")
    out = ensure_out_dir(out_dir)
    result = GeneratedFiles()
    done = 0
    for month, n in reversed(months):
        path, stats = _month_file(out, month, n, seed, kind, progress, done)
        done += stats.data_rows
        result.append(path)
        result.stats.append(stats)
    if stats_out is not None:
        write_stats(result.stats, Path(stats_out), out, DATASET)
    return result


def expected_totals(year: int) -> tuple[float, float]:
    """(visitors, revenue in million VND) the generator aims at for a whole year, before noise."""
    scale = YEARLY_GROWTH ** (year - 2024)
    return VISITORS_2024 * scale, REVENUE_2024_MILLION_VND * scale


__all__ = ["DATASET", "DEFAULT_PERIOD", "DEFECT_RATES", "areas_at", "expected_totals", "generate_tourism_monthly"]
