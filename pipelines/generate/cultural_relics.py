"""Generator of the ranked-relic register export (`di_tich_YYYYMMDD.xlsx`).

Data: the full snapshot of the province's ranked relics (di tích đã xếp hạng), one row per relic with
its type, rank, ranking decision, place, managing body and protected area (SOURCES.md
"cultural_relics"). Owner of the real data: Sở Văn hóa, Thể thao và Du lịch. Default: 142 relics on
2025-03-31, 2 special national, 34 national and 106 provincial (DOMAIN §3).

The register is one history per seed, so snapshots of different days agree with each other (what
an SCD2 load needs): `rows` relics ranked by 2025-03-31 (the rank split of §3, by largest
remainder), then a few later events (`EVENTS`: relics newly ranked, provincial relics raised to
national rank, a ranking withdrawn) that a snapshot shows once its day has come. A snapshot before
2025-03-31 leaves out the relics ranked after it. Names, decision numbers and dates follow the real
patterns (who ranks what, and since when: the Ministry of Culture from 1962, provinces from 2002,
the Prime Minister from 2009); the relics themselves are illustrative, not the real list.

Defect rates (per distinct row, deterministic by seed and snapshot day; `DEFECT_RATES`). "Hard"
defects quarantine the row and are mutually exclusive (`QUARANTINING_DEFECTS`); "warn" defects are
loaded and flagged; the rest are variants the pipeline must read.

| defect | rate | kind | what the row carries |
|---|---|---|---|
| exact_duplicate | 1 % | — | a verbatim copy of the row a few rows later |
| conflict | 1 % | hard | an earlier relic repeated with another rank or decision (both quarantined) |
| decision_after_snapshot | 1 % | hard | a decision date after the snapshot day (`decision_after_snapshot`) |
| decision_date_invalid | 0.5 % | hard | "31/02/2010", "15/13/2008" (`invalid_decision_date`) |
| rank_unknown | 0.7 % | hard | "Cấp huyện", "Chưa xếp hạng" (`unknown_rank`) |
| type_unknown | 0.7 % | hard | "Tâm linh", "Văn hóa" (`unknown_relic_type`) |
| name_blank | 0.5 % | hard | no name (`missing_name`) |
| unknown_place | 1 % | hard | a commune name in no list (`unknown_place`) |
| rank_authority_mismatch | 2 % | warn | an authority that cannot give the rank (`rank_authority_mismatch`) |
| decision_date_blank | 1 % | warn | no decision date (`missing_decision_date`) |
| area_implausible | 0.5 % | warn | a protected area of 0 (`implausible_protected_area`) |
| rank_alias, type_alias | 10 % each | variant | "Di tích cấp tỉnh", "Cấp quốc gia", "Di tích lịch sử", "DLTC", … |
| date_variant | 10 % | variant | a date not in the file's style ("ngày 5 tháng 3 năm 2015", ISO, a date number) |
| stale_place_name | 3 % | variant | after 2025-07-01 only: the old commune name |
| place_style_variant | 10 % | variant | commune/district written unlike the house style |
| nfd_cell, whitespace | 0.5 / 2 % | variant | one text cell in NFD, or with stray blanks |

File-level choices (`LAYOUT_RATES`): title rows, numbering row, footer, header aliases, names in
capitals, the names typed in a legacy font (TCVN3 or VNI), a "Ghi chú" column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType

from pipelines.datasets.cultural_relics import NATIONAL, PROVINCIAL, SPECIAL_NATIONAL
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
    TitleLine,
    Unit,
    Weighted,
    check_fmt,
    choose_csv_dialect,
    choose_headers,
    choose_title_lines,
    communes_at,
    derive,
    ensure_out_dir,
    file_name,
    format_date,
    is_urban,
    legacy,
    legacy_fits_cp1258,
    period_of,
    random_date,
    random_place_style,
    signature_footer,
    style_place,
    text_defects,
    unit_at,
    write_stats,
)
from pipelines.specs import get_spec
from pipelines.text import fold

DATASET = "cultural_relics"
FILE_PREFIX = "di_tich"
DEFAULT_ROWS = 142  # DOMAIN §3/§6: Bình Định's ranked relics
DEFAULT_PERIOD = date(2025, 3, 31)  # the day the register has exactly DEFAULT_ROWS relics
RANK_SPLIT = ((SPECIAL_NATIONAL, 2), (NATIONAL, 34), (PROVINCIAL, 106))  # DOMAIN §3
TYPES = Weighted([("Lịch sử", 55), ("Kiến trúc nghệ thuật", 28), ("Khảo cổ", 8), ("Danh lam thắng cảnh", 9)])

DEFECT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "exact_duplicate": 0.01,
        "conflict": 0.01,
        "decision_after_snapshot": 0.01,
        "decision_date_invalid": 0.005,
        "rank_unknown": 0.007,
        "type_unknown": 0.007,
        "name_blank": 0.005,
        "unknown_place": 0.01,
        "rank_authority_mismatch": 0.02,
        "decision_date_blank": 0.01,
        "area_implausible": 0.005,
        "rank_alias": 0.10,
        "type_alias": 0.10,
        "date_variant": 0.10,
        "stale_place_name": 0.03,
        "place_style_variant": 0.10,
        "nfd_cell": 0.005,
        "whitespace": 0.02,
    }
)
HARD_DEFECTS = (
    "decision_after_snapshot", "decision_date_invalid", "rank_unknown", "type_unknown", "name_blank", "unknown_place",
)  # fmt: skip
QUARANTINING_DEFECTS = HARD_DEFECTS
LAYOUT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "xlsx_numbering_row": 0.5,
        "xlsx_footer": 0.7,
        "csv_title_rows": 0.25,
        "csv_footer": 0.15,
        "header_aliases": 0.3,
        "upper_headers": 0.15,
        "upper_names": 0.2,
        "legacy_names": 0.15,
        "extra_stt": 0.8,
        "extra_ghi_chu": 0.3,
    }
)
EXTRA_COLUMNS = {"stt": "STT", "ghi_chu": "Ghi chú"}
GHI_CHU = ("Đã cắm mốc", "Đang trùng tu", "Có hồ sơ khoa học", "Đề nghị nâng hạng", "Lễ hội hằng năm")
UNKNOWN_RANKS = ("Cấp huyện", "Chưa xếp hạng", "Đang lập hồ sơ")
UNKNOWN_TYPES = ("Tâm linh", "Văn hóa", "Tín ngưỡng")
UNKNOWN_PLACES = ("Xã Phước Thắgn", "Khu di tích Tây Sơn", "Phường Lê Lợi", "Đảo Hòn Khô", "Xã Nhơn Hải Đông")

PLACES = ("An Thái", "Phú Lạc", "Thạnh Hòa", "Bình Lâm", "Dương Long", "Cánh Tiên", "Bánh Ít", "Phú Lốc", "Thủ Thiện",
          "Hưng Thạnh", "Long Phụng", "Thập Tháp", "Linh Phong", "Nhạn Sơn", "Thiên Hưng", "Long Khánh", "Vĩnh Phúc",
          "Trường Cửu", "Hội Khánh", "Mỹ Thành", "Tân Thạnh", "An Nhơn", "Bình An", "Kiên Mỹ", "Phước Sơn",
          "Châu Thành", "Hòa Lạc", "Đại Lộc", "Xuân Vân", "Chánh Lộc")  # fmt: skip
PEOPLE = ("Đào Duy Từ", "Mai Xuân Thưởng", "Đào Tấn", "Ngô Mây", "Trần Quang Diệu", "Bùi Thị Xuân", "Võ Văn Dũng",
          "Xuân Diệu", "Hàn Mặc Tử", "Võ Đình Tú", "Nguyễn Nhạc", "Lê Đại Cang", "Trương Văn Hiến", "Đặng Đức Siêu",
          "Phạm Văn Đồng", "Nguyễn Thị Định")  # fmt: skip
EVENTS_VN = ("Chiến thắng Truông Ổi", "Chiến thắng Đèo Nhông", "Căn cứ cách mạng", "Địa điểm thành lập Chi bộ",
             "Khởi nghĩa", "Nhà lao", "Trận đánh", "Địa đạo")  # fmt: skip
FAMILIES = ("Nguyễn", "Trần", "Lê", "Phạm", "Võ", "Huỳnh", "Đặng", "Hồ")
NAMES = {
    "Lịch sử": (("Đình {place}", 5), ("Miếu {place}", 2), ("Lăng {person}", 2), ("Mộ {person}", 2),
                ("Đền thờ {person}", 2), ("Nhà thờ họ {family} {place}", 2), ("{event} {place}", 4),
                ("Khu lưu niệm {person}", 1)),
    "Kiến trúc nghệ thuật": (("Tháp {place}", 3), ("Chùa {place}", 4), ("Đình {place}", 3), ("Nhà thờ {place}", 1),
                             ("Lăng Ông {place}", 1)),
    "Khảo cổ": (("Di chỉ khảo cổ {place}", 2), ("Gò {place}", 2), ("Thành {place}", 2), ("Lò gốm {place}", 1)),
    "Danh lam thắng cảnh": (("Ghềnh {place}", 2), ("Núi {place}", 2), ("Hầm {place}", 1), ("Bãi biển {place}", 1),
                            ("Đầm {place}", 1), ("Hòn {place}", 1)),
}  # fmt: skip


@dataclass(frozen=True)
class Relic:
    name: str
    relic_type: str
    rank: str
    decision_no: str
    decision_date: date
    decided_by: str
    commune: Commune
    managed_by: str
    area_m2: float | None


@dataclass(frozen=True)
class Event:
    """A change to the register after the anchor day."""

    day: date
    kind: str  # ranked (a new provincial relic) | raised (provincial → national) | withdrawn


EVENTS = (
    Event(date(2025, 5, 10), "ranked"), Event(date(2025, 8, 20), "raised"), Event(date(2025, 9, 15), "ranked"),
    Event(date(2025, 11, 3), "withdrawn"), Event(date(2026, 1, 15), "raised"), Event(date(2026, 3, 2), "ranked"),
)  # fmt: skip


def rank_counts(rows: int) -> list[tuple[str, int]]:
    """Ranks for `rows` relics in the proportions of §3, by largest remainder (exact at 142)."""
    total = sum(n for _, n in RANK_SPLIT)
    quotas = [(rank, rows * n / total) for rank, n in RANK_SPLIT]
    counts = {rank: int(q) for rank, q in quotas}
    left = rows - sum(counts.values())
    for rank, _ in sorted(quotas, key=lambda rq: rq[1] - int(rq[1]), reverse=True)[:left]:
        counts[rank] += 1
    return [(rank, counts[rank]) for rank, _ in RANK_SPLIT]


def _authority(rank: str, day: date) -> tuple[str, str]:
    """(decision-number suffix, deciding authority) for a ranking of `rank` on `day`."""
    if rank == SPECIAL_NATIONAL:
        return "QĐ-TTg", "Thủ tướng Chính phủ"
    if rank == NATIONAL:
        if day < date(1990, 1, 1):
            return "VH/QĐ", "Bộ Văn hóa"
        if day < date(2007, 8, 1):
            return "QĐ-BVHTT", "Bộ Văn hóa - Thông tin"
        return "QĐ-BVHTTDL", "Bộ Văn hóa, Thể thao và Du lịch"
    province = "Gia Lai" if day >= REORGANISATION_DATE else "Bình Định"
    return "QĐ-UBND", f"UBND tỉnh {province}" if day.toordinal() % 3 else f"Chủ tịch UBND tỉnh {province}"


def _decision_no(rng: Rng, suffix: str) -> str:
    number = rng.randint(1, 4800)
    return f"{number}-{suffix}" if suffix == "VH/QĐ" else f"{number}/{suffix}"


class Register:
    """The province's relics, one history per seed: `at(day)` is the snapshot of that day."""

    def __init__(self, seed: int, rows: int) -> None:
        self.rng = derive(seed, DATASET, "register")
        # Not Xã Canh Hiệp: split in 2025 with no documented target, a relic there has no 2025
        # commune and so no key (DOMAIN §1).
        self.communes = communes_at(
            date(2025, 3, 1), lambda c: 0.0 if c.new_unit is None else 1.0 if is_urban(c.unit) else 1.3
        )
        self.keys: set[tuple[str, str]] = set()
        self.relics: list[Relic] = []
        ranks = [rank for rank, n in rank_counts(rows) for _ in range(n)]
        self.rng.shuffle(ranks)
        for rank in ranks:
            self.relics.append(self._relic(rank, self._first_ranked(rank)))
        self.events: list[tuple[Event, Relic | int]] = []
        for event in EVENTS[: max(1, rows // 25)]:
            if event.kind == "ranked":
                self.events.append((event, self._relic(PROVINCIAL, event.day)))
            else:
                candidates = [i for i, r in enumerate(self.relics) if r.rank == PROVINCIAL and i not in
                              {t for _, t in self.events if isinstance(t, int)}]  # fmt: skip
                self.events.append((event, self.rng.pick(candidates)))

    def _first_ranked(self, rank: str) -> date:
        rng = self.rng
        start = {SPECIAL_NATIONAL: date(2009, 1, 1), NATIONAL: date(1962, 1, 1), PROVINCIAL: date(2002, 1, 1)}[rank]
        return random_date(rng, start, DEFAULT_PERIOD - timedelta(days=30))

    def _name(self, relic_type: str, commune: Commune) -> str:
        """A name not yet used in the relic's 2025 commune (after 40 tries, numbered: "Đình An Thái 2")."""
        rng = self.rng
        code = commune.new_unit.code if commune.new_unit else commune.unit.code
        attempt = 0
        while True:
            pattern = Weighted(NAMES[relic_type]).draw(rng)
            place = rng.pick(PLACES) if attempt < 40 else f"{rng.pick(PLACES)} {attempt - 38}"
            name = (
                pattern.replace("{place}", place)
                .replace("{person}", rng.pick(PEOPLE))
                .replace("{family}", rng.pick(FAMILIES))
                .replace("{event}", rng.pick(EVENTS_VN))
            )
            if (code, fold(name)) not in self.keys:
                self.keys.add((code, fold(name)))
                return name
            attempt += 1

    def _relic(self, rank: str, day: date) -> Relic:
        rng = self.rng
        relic_type = TYPES.draw(rng)
        commune = self.communes.draw(rng)
        name = self._name(relic_type, commune)
        suffix, authority = _authority(rank, day)
        manager = rng.choice(
            [f"UBND {commune.unit.name.replace('Phường', 'phường').replace('Xã', 'xã').replace('Thị trấn', 'thị trấn')}",
             "Ban Quản lý di tích tỉnh"]
            + ([f"Ban trị sự {name}"] if name.startswith("Chùa") else [])
            + (["Bảo tàng Quang Trung"] if rank == SPECIAL_NATIONAL else [])
        )  # fmt: skip
        area = None if rng.chance(0.2) else round(min(2_000_000.0, 150 * (10 ** (rng.random() * 3))), 1)
        return Relic(name, relic_type, rank, _decision_no(rng, suffix), day, authority, commune, manager, area)

    def at(self, day: date) -> list[Relic]:
        """The relics ranked on `day`, in register order."""
        relics = [r for r in self.relics if r.decision_date <= day]
        withdrawn: set[int] = set()
        raised: dict[int, Relic] = {}
        for event, target in self.events:
            if event.day > day:
                continue
            if isinstance(target, Relic):
                relics.append(target)
            elif event.kind == "withdrawn":
                withdrawn.add(target)
            else:
                old = self.relics[target]
                suffix, authority = _authority(NATIONAL, event.day)
                number = f"{(old.decision_date.toordinal() + event.day.toordinal()) % 4000 + 1}/{suffix}"
                raised[target] = replace(old, rank=NATIONAL, decision_no=number, decision_date=event.day,
                                         decided_by=authority)  # fmt: skip
        index = {id(r): i for i, r in enumerate(self.relics)}
        out = []
        for r in relics:
            i = index.get(id(r))
            if i in withdrawn:
                continue
            out.append(raised.get(i, r) if i is not None else r)
        return out


@dataclass(frozen=True)
class HouseStyle:
    layout: TableLayout
    post_2025: bool
    date_style: str
    place_prefix: str
    place_modifier: str
    upper_names: bool
    legacy_encoding: str | None
    footer: bool


def _house_style(seed: int, period: date, fmt: str) -> HouseStyle:
    rng = derive(seed, DATASET, "layout", fmt, period.isoformat())
    spec = get_spec(DATASET)
    xlsx = fmt == "xlsx"
    post = period >= REORGANISATION_DATE
    columns = [c.name for c in spec.columns if not (post and c.name == "district_name")]
    if rng.chance(LAYOUT_RATES["extra_stt"]):
        columns.insert(0, "stt")
    if rng.chance(LAYOUT_RATES["extra_ghi_chu"]):
        columns.append("ghi_chu")

    def accepted(col: str) -> tuple[str, ...]:
        return (EXTRA_COLUMNS[col],) if col in EXTRA_COLUMNS else spec.column(col).headers

    headers = choose_headers(
        rng, accepted, columns, xlsx=xlsx, aliases=rng.chance(LAYOUT_RATES["header_aliases"]),
        upper=rng.chance(LAYOUT_RATES["upper_headers"]),
    )  # fmt: skip
    province = "GIA LAI" if post else "BÌNH ĐỊNH"
    candidates: list[tuple[int, TitleLine]] = [
        (2, TitleLine(f"ỦY BAN NHÂN DÂN TỈNH {province}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")),
        (2, TitleLine("SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH", "Độc lập - Tự do - Hạnh phúc")),
        (4, TitleLine("")),
        (0, TitleLine(f"DANH MỤC DI TÍCH ĐÃ ĐƯỢC XẾP HẠNG TRÊN ĐỊA BÀN TỈNH {province}")),
        (1, TitleLine(f"(Tính đến ngày {period.day:02d}/{period.month:02d}/{period.year})")),
    ]
    if xlsx:
        n_titles = rng.randint(1, 5)
    elif rng.chance(LAYOUT_RATES["csv_title_rows"]):
        n_titles = rng.randint(1, 3)
    else:
        n_titles = 0
    dialect = None if xlsx else choose_csv_dialect(rng)
    legacy_encoding: str | None = None
    if rng.chance(LAYOUT_RATES["legacy_names"]):
        legacy_encoding = "tcvn3" if rng.chance(0.6) else "vni"
        if dialect is not None and dialect.encoding == "cp1258" and not legacy_fits_cp1258(legacy_encoding):
            legacy_encoding = "vni"
    layout = TableLayout(
        fmt=fmt,
        columns=tuple(columns),
        headers=tuple(headers),
        title_lines=tuple(choose_title_lines(rng, candidates, min(n_titles, len(candidates)))),
        numbering=rng.chance(LAYOUT_RATES["xlsx_numbering_row"] if xlsx else 0.1),
        dialect=dialect,
        sheet_title=rng.choice(["Sheet1", "Di tích", "DM di tích xếp hạng", "Danh mục"]),
    )
    return HouseStyle(
        layout=layout,
        post_2025=post,
        date_style=(Weighted([("excel", 50), ("dmy", 40), ("iso", 10)]) if xlsx else Weighted([("dmy", 80), ("iso", 20)])).draw(rng),
        place_prefix=PLACE_HOUSE_STYLES.draw(rng),
        place_modifier=Weighted([("none", 90), ("upper", 5), ("qui", 5)]).draw(rng),
        upper_names=rng.chance(LAYOUT_RATES["upper_names"]),
        legacy_encoding=legacy_encoding,
        footer=rng.chance(LAYOUT_RATES["xlsx_footer" if xlsx else "csv_footer"]),
    )  # fmt: skip


def _aliases(column: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for alias, value in get_spec(DATASET).column(column).aliases.items():
        result.setdefault(value, []).append(alias)
    return result


class RowRenderer:
    """Turns a relic into the cells of one file row, with this row's defects."""

    def __init__(self, style: HouseStyle, seed: int, stats: GenerationStats, period: date) -> None:
        self.style = style
        self.rng = derive(seed, DATASET, "defects", period.isoformat())
        self.stats = stats
        self.period = period
        self.xlsx = style.layout.fmt == "xlsx"
        self.rates = dict(DEFECT_RATES)
        if not style.post_2025:
            self.rates["stale_place_name"] = 0.0
        self.hard = Weighted((d, self.rates[d]) for d in HARD_DEFECTS)
        self.p_hard = sum(self.rates[d] for d in HARD_DEFECTS)
        self.rank_aliases = _aliases("rank")
        self.type_aliases = _aliases("relic_type")
        self.columns = style.layout.columns
        self.stt = 0

    def _place(self, unit: Unit, deviate: bool) -> str:
        if deviate:
            prefix, modifier = random_place_style(self.rng, unit)
            return style_place(unit, prefix, modifier if modifier != "no_diacritics" else "none")
        return style_place(unit, self.style.place_prefix, self.style.place_modifier)

    def _date(self, d: date, deviate: bool) -> Cell | Styled:
        style = self.style.date_style
        if deviate:
            style = self.rng.choice(
                [s for s in ("dmy", "dmy_unpadded", "iso", "words", "serial", "excel") if s != style]
            )
        value = format_date(d, style, xlsx=self.xlsx)
        return Styled(value, "0") if isinstance(value, int) else value

    def render(self, r: Relic, row_number: int, keep_key: bool) -> tuple[list[Cell | Styled], str | None]:
        rng, rates, stats, style = self.rng, self.rates, self.stats, self.style
        hit: list[str] = []
        hard = self.hard.draw(rng) if keep_key and rng.chance(self.p_hard) else None

        name: Cell = r.name.upper() if style.upper_names else r.name
        if style.legacy_encoding and isinstance(name, str):
            name = legacy(name, style.legacy_encoding)
        if hard == "name_blank":
            name = None
        rank, relic_type = r.rank, r.relic_type
        if rng.chance(rates["rank_alias"]) and self.rank_aliases.get(rank):
            rank = rng.pick(self.rank_aliases[rank])
            hit.append("rank_alias")
        if rng.chance(rates["type_alias"]) and self.type_aliases.get(relic_type):
            relic_type = rng.pick(self.type_aliases[relic_type])
            hit.append("type_alias")
        if hard == "rank_unknown":
            rank = rng.pick(UNKNOWN_RANKS)
        if hard == "type_unknown":
            relic_type = rng.pick(UNKNOWN_TYPES)

        decided_by, decision_no = r.decided_by, r.decision_no
        if keep_key and not hard and rng.chance(rates["rank_authority_mismatch"]):
            wrong = rng.pick([k for k in (SPECIAL_NATIONAL, NATIONAL, PROVINCIAL) if k != r.rank])
            suffix, decided_by = _authority(wrong, r.decision_date)
            decision_no = decision_no.split("/")[0].split("-")[0] + ("-" if suffix == "VH/QĐ" else "/") + suffix
            hit.append("rank_authority_mismatch")
        decision_date: Cell | Styled
        if hard == "decision_after_snapshot":
            decision_date = self._date(self.period + timedelta(days=rng.randint(1, 400)), False)
        elif hard == "decision_date_invalid":
            decision_date = rng.choice([f"31/02/{r.decision_date.year}", f"15/13/{r.decision_date.year}"])
        elif keep_key and rng.chance(rates["decision_date_blank"]):
            decision_date = None
            hit.append("decision_date_blank")
        else:
            deviate = rng.chance(rates["date_variant"])
            decision_date = self._date(r.decision_date, deviate)
            if deviate:
                hit.append("date_variant")

        area: Cell | Styled = r.area_m2
        if area is not None and keep_key and rng.chance(rates["area_implausible"]):
            area = 0
            hit.append("area_implausible")
        elif isinstance(area, float):
            text = f"{area:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
            area = area if self.xlsx and rng.chance(0.7) else text.removesuffix(",0")

        unit = unit_at(r.commune, self.period)
        deviate = rng.chance(rates["place_style_variant"])
        commune = self._place(unit, deviate and rng.chance(0.6))
        district = self._place(r.commune.district, deviate and not style.post_2025 and rng.chance(0.6))
        if deviate:
            hit.append("place_style_variant")
        if style.post_2025 and rng.chance(rates["stale_place_name"]) and r.commune.unit.name != unit.name:
            commune = style_place(r.commune.unit, style.place_prefix)
            hit.append("stale_place_name")
        if hard == "unknown_place":
            commune = rng.pick(UNKNOWN_PLACES)

        values: dict[str, Cell | Styled] = {
            "name": name, "relic_type": relic_type, "rank": rank, "decision_no": decision_no,
            "decision_date": decision_date, "decided_by": decided_by, "commune_name": commune,
            "district_name": district, "managed_by": r.managed_by, "protected_area_m2": area,
        }  # fmt: skip
        if "stt" in self.columns:
            self.stt += 1
            values["stt"] = self.stt
        if "ghi_chu" in self.columns:
            values["ghi_chu"] = rng.pick(GHI_CHU) if rng.chance(0.15) else None
        hit += text_defects(values, rng, rates, nfd_columns=("managed_by", "decided_by"),
                            space_columns=("name", "managed_by", "decided_by", "commune_name"))  # fmt: skip
        if hard:
            hit.append(hard)
            stats.example(hard, row=row_number, relic=r.name)
        for defect in hit:
            stats.count(defect)
        if keep_key:  # (a conflicting re-delivery is not another relic)
            stats.count(f"rank:{r.rank}")
        return [values[c] for c in self.columns], hard


def generate_cultural_relics(
    out_dir: Path,
    rows: int | None = None,
    seed: int = 42,
    *,
    period: str | date | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    stats_out: Path | None = None,
) -> GeneratedFiles:
    """Write `di_tich_YYYYMMDD.xlsx|csv` into out_dir and return its path (with `.stats`).

    rows: relics in the register on 2025-03-31 (the snapshot of another day has the relics of that
    day: see the module docstring)."""
    n_rows = DEFAULT_ROWS if rows is None else int(rows)
    if n_rows < 0:
        raise ValueError("rows must be >= 0")
    when = period_of(period, DEFAULT_PERIOD, "daily")
    if when < date(2002, 1, 1):
        raise ValueError(f"period {when} is before the register this generator imitates (2002 on)")
    kind = check_fmt(fmt or "xlsx")  # the register is an Excel workbook (SOURCES.md)
    out = ensure_out_dir(out_dir)
    path = out / file_name(FILE_PREFIX, when, "daily", kind)
    style = _house_style(seed, when, kind)
    relics = Register(seed, n_rows).at(when)
    stats = GenerationStats(dataset=DATASET, file=path.name, fmt=kind, period=when.isoformat(), seed=seed,
                            rows=len(relics))  # fmt: skip
    renderer = RowRenderer(style, seed, stats, when)
    stats.rates = dict(renderer.rates)
    flow = derive(seed, DATASET, "flow", when.isoformat())

    table = TableFile(path, style.layout, stats, progress)
    try:
        written: list[Relic] = []
        for relic in relics:
            cells, hard = renderer.render(relic, table.next_row, keep_key=True)
            copy = flow.chance(DEFECT_RATES["exact_duplicate"])
            if copy and hard:
                stats.count("duplicate_of_hard")
            table.add(cells, copy_after=flow.randint(0, 5) if copy else None)
            if not hard and not copy:
                written.append(relic)
            if written and flow.chance(DEFECT_RATES["conflict"]):
                earlier = written.pop(flow.randrange(len(written)))
                other = rank_other(earlier, flow)
                cells, _ = renderer.render(other, table.next_row, keep_key=False)
                table.add(cells)
                stats.rows += 1
                stats.conflict_rows += 1
                stats.conflicting_keys += 1
                stats.count("conflict")
        footer = []
        if style.footer:
            footer = signature_footer(flow, style.layout.width, f"Tổng cộng: {table.written} di tích",
                                      "Gia Lai" if style.post_2025 else "Quy Nhơn", when + timedelta(days=1))  # fmt: skip
    except BaseException:
        table.abort()
        raise
    table.close(footer)
    if stats.exact_duplicates:
        stats.count("exact_duplicate", stats.exact_duplicates)
    stats.layout.update(
        {
            "extra_columns": [EXTRA_COLUMNS[c] for c in style.layout.columns if c in EXTRA_COLUMNS],
            "date_style": style.date_style,
            "place_style": f"{style.place_prefix}/{style.place_modifier}",
            "upper_names": style.upper_names,
            "legacy_encoding": style.legacy_encoding,
            "district_column": "district_name" in style.layout.columns,
        }
    )
    result = GeneratedFiles([path], [stats])
    if stats_out is not None:
        write_stats(result.stats, Path(stats_out), out, DATASET)
    return result


def rank_other(relic: Relic, rng: Rng) -> Relic:
    """The same relic (name, commune) with another rank and decision: a conflicting re-delivery."""
    rank = rng.pick([k for k in (NATIONAL, PROVINCIAL) if k != relic.rank])
    suffix, authority = _authority(rank, relic.decision_date)
    return replace(relic, rank=rank, decided_by=authority, decision_no=_decision_no(rng, suffix))


__all__ = ["DATASET", "DEFAULT_PERIOD", "DEFAULT_ROWS", "DEFECT_RATES", "EVENTS", "HARD_DEFECTS", "LAYOUT_RATES",
           "QUARANTINING_DEFECTS", "Register", "generate_cultural_relics", "rank_counts"]  # fmt: skip
