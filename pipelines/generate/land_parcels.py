"""Generator of the cadastral extract of Sở Nông nghiệp và Môi trường (`thua_dat_<commune code>_YYYYMMDD.csv`).

Data: one row per land parcel, one file per old commune (SOURCES.md "land_parcels"), about 2,000,000
parcels over the 155 old communes of Bình Định by default (DOMAIN §6: 1.5–2.5 million, estimate).
`rows` is the total over the files; each file holds at least 2,000 parcels, so a small `rows`
writes a seeded sample of communes (5,000 rows → 2 files) and 310,000 or more rows write all 155.
Rural communes hold more parcels than wards. Parcels are numbered sheet by sheet (80–300 per map
sheet). Land use follows the commune (urban: ODT, ODT+CLN, TMD…; rural: LUC, BHK, CLN, ONT+CLN,
RSX, NTS…), area follows the use (a town plot 40–300 m², a rice field 300–3,000 m², a production
forest 0.5–10 ha). 85 % of parcels are certified (a date 1995 → period, and a serial "CS 123456");
a certificate from 2024-08-01 carries TT08_2024 codes (BHK/NHK → HNK, SKN → CSK), older ones and
uncertified parcels TT25_2014 codes. Holders: households (a CCCD, an old CMND for some), companies
(a tax code), public bodies (no ID).

Defect rates (per row, deterministic by seed; `DEFECT_RATES`):

| defect | rate | what the row carries |
|---|---|---|
| exact_duplicate | 0.1 % | a verbatim copy follows within 50 rows |
| conflict | 0.05 % | the key of an earlier row with another area |
| zero_area | 0.05 % | area 0 |
| blank_area | 0.05 % | no area |
| tt08_code_on_old_certificate | 0.1 % | a TT08-only code (HNK) on a certificate before 2024-08-01 |
| codes_written_loosely | 2 % | "odt, cln", "ODT + CLN" |
| unknown_commune_code | 0.02 % | a commune code in no list |
| holder_id_lost_zero | 3 % | the CCCD as a number of 11 digits |
| holder_id_cmnd | 8 % | an old 9-digit CMND |
| holder_id_spaces | 1 % | "052 085 001234" |
| bad_serial | 0.2 % | a serial without its letters |
| legacy_cell | 0.5 % | the holder's name typed in TCVN3/VNI |

Per file: the code-system column in 40 % of files (the system of the codes, 10 % blank, "TT25"/"TT08"
in 5 %; without the column an uncertified parcel's system can only be told from its codes); numbers
"1.250,5" (Vietnamese) or "1250.5"; dates dd/mm/yyyy or yyyy-mm-dd; CSV in UTF-8 (BOM or not),
UTF-16 or Windows-1258 (`choose_csv_dialect`); an STT column in 20 %. Rows are generated and written
one at a time; memory holds one file's buffered writer and a few recent rows (duplicates,
conflicts), whatever `rows` is.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

from pipelines.generate.common import (
    Cell,
    Commune,
    GeneratedFiles,
    GenerationStats,
    Styled,
    TableFile,
    TableLayout,
    TaxCodeAllocator,
    Weighted,
    cccd,
    check_fmt,
    choose_csv_dialect,
    choose_headers,
    cmnd,
    derive,
    ensure_out_dir,
    format_id_spaced,
    legacy,
    old_communes,
    period_of,
    person_name,
    write_stats,
)
from pipelines.specs import get_spec

DATASET = "land_parcels"
FILE_PREFIX = "thua_dat"
DEFAULT_ROWS = 2_000_000  # DOMAIN §6: about 1.5–2.5 million parcels (estimate)
DEFAULT_PERIOD = date(2025, 6, 30)  # the last extract before the reorganisation: old commune codes
MIN_ROWS_PER_FILE = 2_000
TT08_FROM = date(2024, 8, 1)
CERTIFIED = 0.85

DEFECT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "exact_duplicate": 0.001,
        "conflict": 0.0005,
        "zero_area": 0.0005,
        "blank_area": 0.0005,
        "tt08_code_on_old_certificate": 0.001,
        "codes_written_loosely": 0.02,
        "unknown_commune_code": 0.0002,
        "holder_id_lost_zero": 0.03,
        "holder_id_cmnd": 0.08,
        "holder_id_spaces": 0.01,
        "bad_serial": 0.002,
        "legacy_cell": 0.005,
    }
)

# (codes, weight) by commune kind, in TT25_2014 codes.
USES = {
    "urban": Weighted([(("ODT",), 48), (("ODT", "CLN"), 10), (("CLN",), 6), (("TMD",), 3), (("SKC",), 1),
                       (("DGT",), 3), (("DGD",), 0.5), (("DYT",), 0.2), (("TON",), 0.3), (("LUC",), 5),
                       (("BHK",), 4), (("NTS",), 2), (("DTL",), 1), (("NTD",), 0.5), (("SKN",), 0.5),
                       (("ODT", "BHK"), 1)]),
    "rural": Weighted([(("ONT",), 14), (("ONT", "CLN"), 9), (("LUC",), 24), (("LUK",), 5), (("BHK",), 9),
                       (("NHK",), 2), (("CLN",), 12), (("RSX",), 9), (("RPH",), 1), (("NTS",), 3), (("DGT",), 2),
                       (("DTL",), 2), (("NTD",), 1), (("DGD",), 0.3), (("TIN",), 0.2), (("SKS",), 0.2),
                       (("ONT", "BHK"), 1.5), (("BCS",), 0.5), (("DCS",), 0.5)]),
}  # fmt: skip
TT08_EQUIVALENT = {"BHK": "HNK", "NHK": "HNK", "SKN": "CSK"}  # TT25 code → its TT08_2024 code
AREA_M2 = {  # first code → (low, high) of a lognormal-ish draw
    "ODT": (40, 300), "ONT": (150, 1_200), "CLN": (300, 5_000), "LUC": (300, 3_000), "LUK": (300, 2_500),
    "BHK": (200, 3_000), "NHK": (500, 5_000), "RSX": (5_000, 100_000), "RPH": (10_000, 300_000),
    "NTS": (1_000, 20_000), "TMD": (100, 5_000), "SKC": (500, 20_000), "SKN": (5_000, 50_000),
    "SKS": (5_000, 80_000), "DGT": (100, 10_000), "DTL": (100, 8_000), "DGD": (1_000, 15_000),
    "DYT": (500, 8_000), "TON": (300, 5_000), "TIN": (100, 2_000), "NTD": (500, 30_000),
    "BCS": (500, 20_000), "DCS": (5_000, 200_000),
}  # fmt: skip
SERIES = ((date(1995, 1, 1), ("AE", "AG", "AH", "AK")), (date(2005, 1, 1), ("AA", "AB", "AC", "AD")),
          (date(2010, 1, 1), ("BA", "BB", "BC", "BD", "BE", "BK")), (date(2015, 1, 1), ("CA", "CB", "CC", "CD", "CE")),
          (date(2018, 1, 1), ("CH", "CK", "CL", "CM", "CN", "CS")), (date(2021, 1, 1), ("DA", "DB", "DC", "DD")))  # fmt: skip
ORIGINS = {
    "household": ("Nhà nước giao đất có thu tiền sử dụng đất", "Công nhận QSDĐ như giao đất có thu tiền sử dụng đất",
                  "Nhà nước giao đất không thu tiền sử dụng đất", "Nhận chuyển nhượng đất được Công nhận QSDĐ như giao đất có thu tiền sử dụng đất",
                  "Nhận thừa kế đất được Nhà nước giao đất không thu tiền sử dụng đất"),
    "company": ("Nhà nước cho thuê đất trả tiền hằng năm", "Nhà nước cho thuê đất trả tiền một lần cho cả thời gian thuê",
                "Nhà nước giao đất có thu tiền sử dụng đất"),
    "public": ("Nhà nước giao đất không thu tiền sử dụng đất",),
}  # fmt: skip
COMPANY_KINDS = ("Công ty TNHH", "Công ty cổ phần", "Công ty TNHH MTV", "Hợp tác xã nông nghiệp")
COMPANY_WORDS = ("Nông sản", "Lâm nghiệp", "Xây dựng", "Thủy sản", "Thương mại", "Vật liệu Xây dựng", "Du lịch")
BRANDS = ("An Phú", "Phú Tài", "Hoàng Long", "Tân Hưng", "Thành Đạt", "Hưng Thịnh", "Bình Minh", "Minh Khang")
VILLAGES = ("An Hòa", "Phú Thạnh", "Trung Lương", "Vĩnh Lợi", "Mỹ Thuận", "Đại Hữu", "Tân An", "Thuận Hạnh",
            "Hòa Hiệp", "Kim Tây", "Lộc Thượng", "Xuân Phong", "Phú Mỹ", "Tân Lập", "Hội Thạnh", "Bình Lâm")  # fmt: skip
FIELDS = ("Xứ đồng Bàu", "Xứ đồng Trung", "Đồng Cây Da", "Gò Cát", "Hóc Ông", "Soi Bãi", "Đồng Sâu")
COLUMNS = ("commune_code", "map_sheet_no", "parcel_no", "area_m2", "land_use_codes", "land_use_code_system",
           "use_term", "origin", "parcel_address", "holder_name", "holder_id", "certificate_serial",
           "certificate_date")  # fmt: skip
MOUNTAIN_DISTRICTS = frozenset({"542", "546", "551"})  # An Lão, Vĩnh Thạnh, Vân Canh


def _weight(c: Commune) -> float:
    kind = c.unit.unit_type
    base = 0.7 if kind == "phuong" else 1.0 if kind == "thi_tran" else 1.3
    return base * (0.8 if c.district.code in MOUNTAIN_DISTRICTS else 1.0)


def plan(rows: int, seed: int) -> list[tuple[Commune, int]]:
    """(commune, parcels) per file: at least MIN_ROWS_PER_FILE each, all 155 communes when rows allow."""
    communes = sorted((c for c in old_communes() if c.province_code == "52"), key=lambda c: c.unit.code)
    if rows <= 0:
        return []
    rng = derive(seed, DATASET, "plan")
    k = min(len(communes), max(1, rows // MIN_ROWS_PER_FILE))
    chosen = communes if k == len(communes) else sorted(rng.sample(communes, k), key=lambda c: c.unit.code)
    weights = [_weight(c) * rng.uniform(0.7, 1.3) for c in chosen]
    total = sum(weights)
    shares = [rows * w / total for w in weights]
    counts = [math.floor(s) for s in shares]
    for i in sorted(range(len(chosen)), key=lambda i: (counts[i] - shares[i], i))[: rows - sum(counts)]:
        counts[i] += 1  # largest remainders first
    return list(zip(chosen, counts, strict=True))


@dataclass(frozen=True)
class HouseStyle:
    system_column: bool
    decimal_vn: bool
    iso_dates: bool
    legacy_encoding: str


def _dmy(d: date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def _area(value: float, vn: bool) -> str:
    text = f"{value:.1f}"
    if not vn:
        return text
    whole, frac = text.split(".")
    return f"{int(whole):,}".replace(",", ".") + "," + frac


class ParcelWriter:
    """Rows of one commune's file, one at a time (the state is the sheet counter and a few rows)."""

    def __init__(self, commune: Commune, period: date, seed: int, style: HouseStyle, stats: GenerationStats) -> None:
        self.commune = commune
        self.code = commune.unit.code
        self.period = period
        self.style = style
        self.stats = stats
        self.rng = derive(seed, DATASET, "rows", self.code)
        self.uses = USES["urban" if commune.unit.unit_type == "phuong" else "rural"]
        self.urban = commune.unit.unit_type != "xa"
        self.sheet, self.parcel, self.sheet_size = 1, 0, self.rng.randint(80, 300)
        self.companies = TaxCodeAllocator(derive(seed, DATASET, "org", self.code), "41", "")
        self.recent: deque[list[Cell]] = deque(maxlen=50)
        self.days = (period - date(1995, 1, 1)).days

    def _certificate(self) -> date | None:
        rng = self.rng
        if not rng.chance(CERTIFIED):
            return None
        return date.fromordinal(date(1995, 1, 1).toordinal() + int(self.days * rng.random() ** 0.7))

    def _serial(self, issued: date) -> str:
        rng = self.rng
        letters = next(s for start, s in reversed(SERIES) if issued >= start)
        prefix = rng.pick(letters)
        if rng.chance(DEFECT_RATES["bad_serial"]):
            self.stats.count("bad_serial")
            return f"{rng.randrange(10**6):06d}"
        return f"{prefix} {rng.randrange(10**6):06d}" if rng.random() < 0.8 else f"{prefix}{rng.randrange(10**6):06d}"

    def _holder(self) -> tuple[str, str, str | None, str]:
        """(kind, name, id or None, origin)."""
        rng = self.rng
        r = rng.random()
        if r < 0.85:
            sex = "M" if rng.random() < 0.6 else "F"
            year = rng.randint(1935, 2000)
            name = person_name(rng, sex)
            title = rng.choice(["Ông", "Bà", "Hộ ông", "Hộ bà", ""]) if rng.random() < 0.5 else ""
            name = f"{title} {name}".strip() if title else name
            ident: str = cccd(rng, year, sex)
            d = rng.random()
            cut_cmnd = DEFECT_RATES["holder_id_cmnd"]
            cut_zero = cut_cmnd + DEFECT_RATES["holder_id_lost_zero"]
            if d < cut_cmnd:  # certified long ago, on the old identity card
                ident = cmnd(rng)
                self.stats.count("holder_id_cmnd")
            elif d < cut_zero:  # the CCCD went through a number cell: 11 digits
                ident = str(int(ident))
                self.stats.count("holder_id_lost_zero")
            elif d < cut_zero + DEFECT_RATES["holder_id_spaces"]:
                ident = format_id_spaced(ident, rng)
                self.stats.count("holder_id_spaces")
            return "household", name, ident, rng.pick(ORIGINS["household"])
        if r < 0.93:
            name = f"{rng.pick(COMPANY_KINDS)} {rng.pick(COMPANY_WORDS)} {rng.pick(BRANDS)}"
            return "company", name, self.companies.next(), rng.pick(ORIGINS["company"])
        unit = self.commune.unit.name
        return (
            "public",
            rng.choice([f"UBND {unit}", "Ban Quản lý rừng phòng hộ", "Trường Tiểu học số 1"]),
            None,
            ORIGINS["public"][0],
        )

    def next_row(self) -> list[Cell]:
        rng, stats, style = self.rng, self.stats, self.style
        self.parcel += 1
        if self.parcel > self.sheet_size:
            self.sheet, self.parcel, self.sheet_size = self.sheet + 1, 1, rng.randint(80, 300)
        codes: tuple[str, ...] = self.uses.draw(rng)
        issued = self._certificate()
        if issued is not None and issued >= TT08_FROM:
            codes = tuple(TT08_EQUIVALENT.get(c, c) for c in codes)
            system = "TT08_2024"
        else:
            system = "TT25_2014"
            if rng.chance(DEFECT_RATES["tt08_code_on_old_certificate"]) and issued is not None:
                codes = ("HNK",)
                stats.count("tt08_code_on_old_certificate")
        low, high = AREA_M2.get(codes[0], AREA_M2.get(TT08_REVERSE.get(codes[0], ""), (100, 2_000)))
        area: float | None = round(low * (high / low) ** (rng.random() ** 1.3), 1)
        if rng.chance(DEFECT_RATES["zero_area"]):
            area = 0.0
            stats.count("zero_area")
        elif rng.chance(DEFECT_RATES["blank_area"]):
            area = None
            stats.count("blank_area")
        written = "+".join(codes)
        if rng.chance(DEFECT_RATES["codes_written_loosely"]):
            written = rng.choice([", ".join(codes).lower(), " + ".join(codes), written.lower()])
            stats.count("codes_written_loosely")
        kind, holder, ident, origin = self._holder()
        agricultural = codes[0] in AGRICULTURAL
        if kind == "company":
            term = (
                f"đến ngày {_dmy(date(self.period.year + rng.randint(5, 45), rng.randint(1, 12), rng.randint(1, 28)))}"
            )
        elif agricultural and kind == "household":
            end = date(2043, 10, 15) if rng.random() < 0.7 else date(2064, 7, 1)
            term = rng.choice([f"đến ngày {_dmy(end)}", _dmy(end), f"Đến {_dmy(end)}"])
        else:
            term = "Lâu dài"
        if self.urban and not agricultural:
            address = f"Tổ {rng.randint(1, 40)}, khu vực {rng.randint(1, 12)}"
        elif agricultural:
            address = rng.pick(FIELDS)
        else:
            address = f"Thôn {rng.pick(VILLAGES)}"
        if rng.chance(DEFECT_RATES["legacy_cell"]):
            holder = legacy(holder, style.legacy_encoding)
            stats.count("legacy_cell")
        system_cell: str | None = None
        if style.system_column and rng.random() > 0.1:
            system_cell = system if rng.random() > 0.05 else system[:4]  # "TT25", "TT08"
        code_cell = self.code
        if rng.chance(DEFECT_RATES["unknown_commune_code"]):
            code_cell = f"{int(self.code) + 9000}"
            stats.count("unknown_commune_code")
        return [
            code_cell, str(self.sheet), str(self.parcel), None if area is None else _area(area, style.decimal_vn),
            written, system_cell, term, origin, address, holder, ident,
            None if issued is None else self._serial(issued),
            None if issued is None else (issued.isoformat() if style.iso_dates else _dmy(issued)),
        ]  # fmt: skip


TT08_REVERSE = {v: k for k, v in TT08_EQUIVALENT.items()}
AGRICULTURAL = frozenset({"LUC", "LUK", "BHK", "NHK", "HNK", "CLN", "NTS", "RSX", "RPH"})


def _commune_file(
    out: Path, commune: Commune, n_rows: int, period: date, seed: int, fmt: str,
    progress: Callable[[int], None] | None, done: int,
) -> tuple[Path, GenerationStats]:  # fmt: skip
    spec = get_spec(DATASET)
    code = commune.unit.code
    layout_rng = derive(seed, DATASET, "layout", code)
    path = out / f"{FILE_PREFIX}_{code}_{period:%Y%m%d}.{fmt}"
    system_column = layout_rng.chance(0.4)
    columns = [c for c in COLUMNS if system_column or c != "land_use_code_system"]
    headers = choose_headers(layout_rng, lambda c: spec.column(c).headers, columns, xlsx=fmt == "xlsx",
                             aliases=layout_rng.chance(0.2), upper=False)  # fmt: skip
    stt = layout_rng.chance(0.2)
    if stt:
        columns, headers = ["stt", *columns], ["STT", *headers]
    dialect = None if fmt == "xlsx" else choose_csv_dialect(layout_rng)
    style = HouseStyle(
        system_column=system_column,
        decimal_vn=layout_rng.chance(0.6),
        iso_dates=layout_rng.chance(0.3),
        legacy_encoding="vni" if dialect is not None and dialect.encoding == "cp1258" else "tcvn3",
    )
    layout = TableLayout(fmt=fmt, columns=tuple(columns), headers=tuple(headers), dialect=dialect, sheet_title=code)
    stats = GenerationStats(dataset=DATASET, file=path.name, fmt=fmt, period=period.isoformat(), seed=seed, rows=n_rows)
    stats.rates = dict(DEFECT_RATES)
    writer = ParcelWriter(commune, period, seed, style, stats)
    flow = derive(seed, DATASET, "flow", code)
    table = TableFile(path, layout, stats, (lambda n: progress(done + n)) if progress else None)
    keep = [COLUMNS.index(c) for c in columns if c != "stt"]
    try:
        for i in range(n_rows):
            row = writer.next_row()
            if writer.recent and flow.random() < DEFECT_RATES["conflict"]:
                earlier = flow.pick(writer.recent)
                row[1], row[2] = earlier[1], earlier[2]  # the key of an earlier parcel, another area
                row[3] = _area(float(flow.randint(50, 900)), style.decimal_vn)
                writer.parcel -= 1  # the parcel number is not used up
                stats.conflict_rows += 1
                stats.count("conflict")
            else:
                writer.recent.append(row)
            cells: list[Cell | Styled] = [row[j] for j in keep]
            if stt:
                cells.insert(0, i + 1)
            table.add(
                cells, copy_after=flow.randint(1, 50) if flow.random() < DEFECT_RATES["exact_duplicate"] else None
            )
        table.close()
    except BaseException:
        table.abort()
        raise
    stats.conflicting_keys = stats.conflict_rows
    if stats.exact_duplicates:
        stats.count("exact_duplicate", stats.exact_duplicates)
    stats.layout.update({"commune_code": code, "system_column": system_column, "decimal_vn": style.decimal_vn,
                         "iso_dates": style.iso_dates, "sheets": writer.sheet})  # fmt: skip
    return path, stats


def generate_land_parcels(
    out_dir: Path,
    rows: int | None = None,
    seed: int = 42,
    *,
    period: str | date | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    stats_out: Path | None = None,
) -> GeneratedFiles:
    """Write one `thua_dat_<commune code>_YYYYMMDD.csv` per commune of the plan; `rows` parcels in all."""
    n_rows = DEFAULT_ROWS if rows is None else int(rows)
    if n_rows < 0:
        raise ValueError("rows must be >= 0")
    when = period_of(period, DEFAULT_PERIOD, "daily")
    kind = check_fmt(fmt or "csv")
    out = ensure_out_dir(out_dir)
    result = GeneratedFiles()
    done = 0
    for commune, n in plan(n_rows, seed):
        path, stats = _commune_file(out, commune, n, when, seed, kind, progress, done)
        done += stats.data_rows
        result.append(path)
        result.stats.append(stats)
    if stats_out is not None:
        write_stats(result.stats, Path(stats_out), out, DATASET)
    return result


__all__ = ["DATASET", "DEFAULT_PERIOD", "DEFAULT_ROWS", "DEFECT_RATES", "generate_land_parcels", "plan"]
