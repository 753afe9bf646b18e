"""Shared pieces for the department-export generators (`kds generate`).

Each dataset generator (`pipelines.generate.<dataset>`) builds rows one at a time from a seeded
`Rng`, renders them in a per-file "house style" with a few per-cell deviations, injects defects at
documented rates and streams them through `XlsxTableWriter` or `CsvTableWriter`. Everything that is
about Vietnamese data in general lives here: person names, CCCD/CMND and tax codes, admin units from
`schemas/reference/`, place-name styles, date and money formats, legacy-font text, file layouts
(title rows, numbering row, footer) and file encodings.

Determinism: the only source of randomness is `Rng` (a `random.Random` seeded from strings, which
Python hashes with SHA-512, so results do not depend on PYTHONHASHSEED); xlsx archives are rewritten
with fixed zip timestamps and fixed document properties. No clock is read anywhere.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import heapq
import io
import json
import random
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any, Generic, TypeVar

from pipelines.specs import SCHEMAS_DIR
from pipelines.text import encode_legacy

T = TypeVar("T")

REFERENCE_DIR = SCHEMAS_DIR / "reference"
REORGANISATION_DATE = date(2025, 7, 1)  # districts abolished, new communes (DOMAIN §1)
FIXED_TIMESTAMP = datetime(2025, 1, 1, 8, 0, 0)  # xlsx document properties: never the clock
_ZIP_TIME = (2025, 1, 1, 8, 0, 0)
PROGRESS_EVERY = 10_000


# --------------------------------------------------------------------------------------------
# Randomness


class Rng(random.Random):
    """`random.Random` with the helpers the generators use; seed it with `derive`."""

    def chance(self, p: float) -> bool:
        return p > 0 and self.random() < p

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]


def derive(seed: int, *names: object) -> Rng:
    """An independent, reproducible stream for one purpose ("enterprises", "layout", …).

    Separate streams keep the file layout from shifting the records and vice versa.
    """
    return Rng(":".join(str(n) for n in (seed, *names)))


class Weighted(Generic[T]):
    """A fixed weighted choice, drawn in O(log n) with one random number."""

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        items = [(item, float(w)) for item, w in pairs if w > 0]
        if not items:
            raise ValueError("Weighted needs at least one positive weight")
        self.items: list[T] = [item for item, _ in items]
        self._cum = list(accumulate(w for _, w in items))
        self.total = self._cum[-1]

    def draw(self, rng: random.Random) -> T:
        i = bisect.bisect_right(self._cum, rng.random() * self.total)
        return self.items[min(i, len(self.items) - 1)]

    def __len__(self) -> int:
        return len(self.items)


# --------------------------------------------------------------------------------------------
# People

# Family names: national frequencies shifted towards the south-central coast (more Huỳnh, Võ).
FAMILY_NAMES = Weighted(
    [
        ("Nguyễn", 31), ("Trần", 10), ("Lê", 9), ("Phạm", 6), ("Huỳnh", 6), ("Võ", 6), ("Phan", 4),
        ("Đặng", 2), ("Bùi", 1.5), ("Đỗ", 1.5), ("Hồ", 2), ("Ngô", 1.5), ("Dương", 1), ("Lý", 0.5),
        ("Đinh", 1), ("Trương", 1.5), ("Hoàng", 1.5), ("Mai", 0.8), ("Đoàn", 1), ("Lương", 0.5),
        ("Tô", 0.3), ("Cao", 0.6), ("Châu", 0.5), ("Lâm", 0.4), ("Tạ", 0.3), ("Thái", 0.4), ("Từ", 0.2),
    ]
)  # fmt: skip
MIDDLE_NAMES = {
    "M": Weighted(
        [
            ("Văn", 40), ("Minh", 8), ("Đức", 6), ("Quốc", 6), ("Hữu", 6), ("Công", 6), ("Thanh", 6),
            ("Tấn", 5), ("Đình", 5), ("Ngọc", 4), ("Xuân", 4), ("Anh", 3), ("Trung", 2), ("Hoàng", 2),
            ("Nhật", 2), ("Gia", 2), ("", 2),
        ]
    ),
    "F": Weighted(
        [
            ("Thị", 50), ("Ngọc", 8), ("Thu", 5), ("Thanh", 5), ("Kim", 5), ("Mỹ", 4), ("Bích", 3),
            ("Hồng", 3), ("Thúy", 3), ("Phương", 3), ("Minh", 2), ("Hoài", 2), ("Diệu", 2), ("Như", 2),
            ("Bảo", 2),
        ]
    ),
}  # fmt: skip
GIVEN_NAMES = {
    "M": (
        "Hùng", "Dũng", "Tuấn", "Minh", "Hải", "Long", "Nam", "Phúc", "Thành", "Trung", "Sơn", "Hòa",
        "Hiếu", "Khoa", "Quang", "Tài", "Tâm", "Thắng", "Toàn", "Vinh", "Hưng", "Lâm", "Đức", "Cường",
        "Bình", "Hoàng", "Huy", "Khánh", "Lộc", "Nhân", "Phát", "Phong", "Quân", "Tân", "Thịnh", "Tín",
        "Trí", "Tùng", "Việt", "Vũ", "An", "Bảo", "Danh", "Định", "Hậu", "Hiển", "Kiên", "Luân", "Nghĩa",
        "Nhật", "Sang", "Thuận", "Trọng", "Tú", "Quý", "Thủy", "Hoan", "Khoa", "Thụy",
    ),
    "F": (
        "Lan", "Hương", "Hoa", "Mai", "Linh", "Trang", "Hà", "Thảo", "Nhung", "Phương", "Hạnh", "Hằng",
        "Huyền", "Yến", "Ngọc", "Thủy", "Vân", "Loan", "Hiền", "Trinh", "Dung", "Nga", "Tuyết", "Hồng",
        "Oanh", "Diễm", "Thúy", "Nhi", "Vy", "Anh", "Châu", "Xuân", "Quyên", "Hòa", "Liên", "Uyên",
        "Thư", "My", "Khuyên", "Sương", "Tuyền", "Ánh",
    ),
}  # fmt: skip


def person_name(rng: Rng, sex: str) -> str:
    """A realistic full name: họ, đệm (sometimes none, sometimes two), tên."""
    family = FAMILY_NAMES.draw(rng)
    middle = MIDDLE_NAMES[sex].draw(rng)
    if middle and rng.chance(0.12):  # "Nguyễn Thị Ngọc Anh", "Trần Văn Minh Tuấn"
        second = MIDDLE_NAMES[sex].draw(rng)
        if second and second != middle and second not in ("Văn", "Thị"):
            middle = f"{middle} {second}"
    given = rng.pick(GIVEN_NAMES[sex])
    return " ".join(p for p in (family, middle, given) if p)


# CCCD province-of-birth codes (PPP): Bình Định 052, Gia Lai 064, and neighbours / big cities.
CCCD_PROVINCES = {
    "052": Weighted(
        [("052", 85), ("064", 2), ("054", 2), ("051", 2), ("049", 1.5), ("048", 1.5), ("079", 2), ("001", 1),
         ("066", 1), ("046", 1), ("056", 1)]
    ),
    "064": Weighted(
        [("064", 80), ("052", 6), ("066", 3), ("062", 2), ("051", 2), ("040", 2), ("079", 2), ("001", 1),
         ("038", 1), ("054", 1)]
    ),
}  # fmt: skip
CMND_PREFIXES = {"052": "21", "064": "23"}  # old 9-digit CMND: first two digits by issuing province


def cccd(rng: Rng, birth_year: int, sex: str, province: str = "052") -> str:
    """12-digit personal ID `PPP G YY RRRRRR` (DOMAIN §2): G from century and sex, YY the year."""
    century = (birth_year // 100) - 19  # 1900s → 0, 2000s → 1, 2100s → 2
    g = 2 * century + (1 if sex == "F" else 0)
    return f"{province}{g}{birth_year % 100:02d}{rng.randrange(1_000_000):06d}"


def cmnd(rng: Rng, province: str = "052") -> str:
    """Old 9-digit identity card number (CMND), prefix by issuing province."""
    return f"{CMND_PREFIXES.get(province, '21')}{rng.randrange(10_000_000):07d}"


@dataclass(frozen=True)
class Person:
    name: str
    sex: str  # "M" | "F"
    birth_year: int
    id_number: str  # 12-digit CCCD


def random_person(rng: Rng, birth_years: tuple[int, int], home_province: str = "052") -> Person:
    sex = "M" if rng.chance(0.68) else "F"  # enterprise representatives are mostly men
    year = rng.randint(*birth_years)
    province = CCCD_PROVINCES.get(home_province, CCCD_PROVINCES["052"]).draw(rng)
    return Person(person_name(rng, sex), sex, year, cccd(rng, year, sex, province))


# --------------------------------------------------------------------------------------------
# Tax codes

TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def tax_check_digit(nine: str) -> str | None:
    """N10 for N1..N9 (DOMAIN §2); None when Σ mod 11 = 0 (no code is issued)."""
    rest = sum(w * int(d) for w, d in zip(TAX_WEIGHTS, nine, strict=True)) % 11
    if rest == 0:
        return None
    return str((10 - rest) % 10)


class TaxCodeAllocator:
    """Unique, valid 10-digit tax codes `<prefix><lead><digits><check>`, in a seeded scattered order.

    A keyed 4-round Feistel permutation over the counter (cycle-walking past values outside the
    range) gives distinct codes without remembering the ones already issued, so memory stays O(1)
    for any number of rows. `lead="0"` gives the 41 0xx xxxx x codes real Bình Định enterprises
    carry (about 900,000 of them); `lead=""` opens the whole 10^7 range.
    """

    def __init__(self, rng: Rng, prefix: str, lead: str = "0") -> None:
        if not re.fullmatch(r"\d\d", prefix) or not re.fullmatch(r"\d?", lead):
            raise ValueError(f"tax-code prefix must be 2 digits and lead at most 1, got {prefix!r}, {lead!r}")
        self.prefix = prefix
        self.lead = lead
        self._digits = 7 - len(lead)
        self._limit: int = 10**self._digits
        self._half: int = 10 ** ((self._digits + 1) // 2)
        self._keys = [(rng.randrange(1, 1 << 32) | 1, rng.randrange(1 << 32)) for _ in range(4)]
        self._counter = 0

    def _round(self, value: int, key: tuple[int, int]) -> int:
        h = (value * key[0] + key[1]) & 0xFFFFFFFF
        h ^= h >> 15
        h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
        h ^= h >> 12
        return h % self._half

    def _permute(self, x: int) -> int:
        left, right = divmod(x, self._half)
        for key in self._keys:
            left, right = right, (left + self._round(right, key)) % self._half
        return left * self._half + right

    def next(self) -> str:
        while self._counter < self._half * self._half:
            x = self._permute(self._counter)
            self._counter += 1
            if x >= self._limit:
                continue
            nine = f"{self.prefix}{self.lead}{x:0{self._digits}d}"
            if nine[2:9] == "0000000":
                continue
            check = tax_check_digit(nine)
            if check is not None:
                return nine + check
        raise RuntimeError(f"tax-code space of prefix {self.prefix}{self.lead} exhausted")


def corrupt_check_digit(code: str, rng: Rng) -> str:
    """The same code with a wrong 10th digit (a typing error the check digit catches)."""
    right = code[9]
    wrong = rng.choice([d for d in "0123456789" if d != right])
    return code[:9] + wrong + code[10:]


def format_tax_code_noisy(code: str, rng: Rng) -> str:
    """A tax code as typed by hand: spaces or dashes inside, a branch without its dash."""
    head, _, branch = code.partition("-")
    style = rng.randrange(5)
    if style == 0:
        head = f"{head[:4]} {head[4:7]} {head[7:]}"
    elif style == 1:
        head = f"{head[:4]}-{head[4:7]}-{head[7:]}"
    elif style == 2:
        head = f"{head[:2]} {head[2:]}"
    elif style == 3:
        head = f"{head[:5]} {head[5:]}"
    else:
        head = " ".join(head[i : i + 2] for i in range(0, 10, 2))
    if not branch:
        return head
    return rng.choice([f"{head} - {branch}", f"{head}{branch}", f"{head} -{branch}", f"{head}-{branch}"])


def format_id_spaced(number: str, rng: Rng) -> str:
    """A CCCD with spaces: "052 085 001234", "0520 8500 1234"."""
    if len(number) == 12 and rng.chance(0.5):
        return f"{number[:3]} {number[3:6]} {number[6:]}"
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


# --------------------------------------------------------------------------------------------
# Administrative units (schemas/reference)

UNIT_PREFIXES = {
    "tinh": "Tỉnh",
    "thanh_pho": "Thành phố",
    "thi_xa": "Thị xã",
    "huyen": "Huyện",
    "quan": "Quận",
    "phuong": "Phường",
    "thi_tran": "Thị trấn",
    "xa": "Xã",
}


def bare_name(full_name: str, unit_type: str) -> str:
    """ "Phường Nhơn Bình" → "Nhơn Bình" (the prefix matching the unit type)."""
    prefix = UNIT_PREFIXES.get(unit_type, "")
    if prefix and full_name.startswith(prefix + " "):
        return full_name[len(prefix) + 1 :]
    return full_name


@dataclass(frozen=True)
class Unit:
    code: str
    unit_type: str
    name: str  # official full name, canonical tone placement ("Phường Nhơn Hòa")
    bare: str  # name without its type prefix ("Nhơn Hòa")


@dataclass(frozen=True)
class Commune:
    """An old (pre-2025) commune with its district, and the new (2025) commune it went to."""

    unit: Unit
    district: Unit
    province_code: str  # "52" Bình Định, "64" old Gia Lai
    new_unit: Unit | None  # the 2025 commune (documented default target; None if not allocated)


def _canonical(name: str) -> str:
    from pipelines.text import canonical_tones

    return canonical_tones(unicodedata.normalize("NFC", name))


def _read_csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def new_units() -> dict[str, Unit]:
    """2025 communes of the new Gia Lai (52) by code."""
    result = {}
    for r in _read_csv("admin_units_2025.csv"):
        if r["level"] == "commune":
            name = _canonical(r["name"])
            result[r["code"]] = Unit(r["code"], r["unit_type"], name, bare_name(name, r["unit_type"]))
    return result


@cache
def old_communes() -> tuple[Commune, ...]:
    """Pre-2025 communes of Bình Định (52) and old Gia Lai (64), each with its 2025 target."""
    rows = _read_csv("admin_units_pre2025.csv")
    units = {}
    for r in rows:
        name = _canonical(r["name"])
        units[r["code"]] = (Unit(r["code"], r["unit_type"], name, bare_name(name, r["unit_type"])), r)
    targets: dict[str, list[tuple[str, bool]]] = {}
    for r in _read_csv("admin_unit_crosswalk_2025.csv"):
        targets.setdefault(r["old_commune_code"], []).append((r["new_commune_code"], r["default_target"] == "1"))
    new = new_units()
    result = []
    for unit, r in units.values():
        if r["level"] != "commune":
            continue
        district, drow = units[r["parent_code"]]
        options = targets.get(unit.code, [])
        default = next((code for code, is_default in options if is_default), None)
        result.append(Commune(unit, district, drow["parent_code"], new.get(default) if default else None))
    return tuple(result)


@cache
def vsic_divisions() -> frozenset[str]:
    """Two-digit VSIC 2018 divisions inside the section ranges of vsic2018_sections.csv."""
    divisions: set[str] = set()
    for r in _read_csv("vsic2018_sections.csv"):
        divisions.update(f"{d:02d}" for d in range(int(r["division_from"]), int(r["division_to"]) + 1))
    return frozenset(divisions)


# --------------------------------------------------------------------------------------------
# Place-name styles

# Written forms of each unit type; "{}" is the bare name. The first is the official form.
PREFIX_STYLES: dict[str, tuple[str, ...]] = {
    "thanh_pho": ("Thành phố {}", "TP. {}", "Tp {}", "Tp. {}", "T.P {}", "TP {}", "{}"),
    "thi_xa": ("Thị xã {}", "TX. {}", "Tx {}", "TX {}", "Tx. {}", "{}"),
    "huyen": ("Huyện {}", "H. {}", "H {}", "huyện {}", "{}"),
    "phuong": ("Phường {}", "P. {}", "P {}", "phường {}", "{}"),
    "thi_tran": ("Thị trấn {}", "TT {}", "TT. {}", "thị trấn {}", "{}"),
    "xa": ("Xã {}", "X. {}", "xã {}", "{}"),
}
# A file's house style for place names: how the prefix is written, and a spelling modifier.
PLACE_HOUSE_STYLES = Weighted([("full", 45), ("abbr", 30), ("bare", 25)])
PLACE_MODIFIERS = ("none", "qui", "no_diacritics", "upper", "old_tone", "nfd")

_OLD_TONE_RE = re.compile(
    r"([oO])([\u0300\u0301\u0303\u0309\u0323])([aAeE])(?![^\W\d_])"
    r"|([uU])([\u0300\u0301\u0303\u0309\u0323])([yY])(?![^\W\d_])"
)


def old_tone(text: str) -> str:
    """Old-style tone placement: "Hòa" → "Hoà", "Thủy" → "Thuỷ" (the inverse of canonical_tones)."""
    nfd = unicodedata.normalize("NFD", text)

    def move(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1) + m.group(3) + m.group(2)
        return m.group(4) + m.group(6) + m.group(5)

    return unicodedata.normalize("NFC", _OLD_TONE_RE.sub(move, nfd))


def no_diacritics(text: str) -> str:
    nfd = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in nfd if not unicodedata.combining(ch))


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def style_place(unit: Unit, prefix_style: str, modifier: str = "none") -> str:
    """Write a unit name in one style: prefix form ("full", "abbr", "bare" or a pattern index
    as "i<n>") and a spelling modifier (see PLACE_MODIFIERS)."""
    forms = PREFIX_STYLES.get(unit.unit_type, ("{}",))
    if prefix_style == "full":
        pattern = forms[0]
    elif prefix_style == "abbr":
        pattern = forms[1] if len(forms) > 1 else forms[0]
    elif prefix_style == "bare":
        pattern = "{}"
    else:
        pattern = forms[int(prefix_style[1:]) % len(forms)]
    text = pattern.format(unit.bare)
    if modifier == "qui":
        text = text.replace("Quy Nhơn", "Qui Nhơn")
    elif modifier == "no_diacritics":
        text = no_diacritics(text)
    elif modifier == "upper":
        text = text.upper()
    elif modifier == "old_tone":
        text = old_tone(text)
    elif modifier == "nfd":
        text = nfd(text)
    return text


def random_place_style(rng: Rng, unit: Unit) -> tuple[str, str]:
    """A per-cell deviation from the house style: any prefix form, sometimes a modifier."""
    forms = PREFIX_STYLES.get(unit.unit_type, ("{}",))
    prefix = f"i{rng.randrange(len(forms))}"
    modifier = rng.pick(PLACE_MODIFIERS[1:]) if rng.chance(0.5) else "none"
    if modifier == "qui" and "Quy" not in unit.bare:
        modifier = "no_diacritics"
    return prefix, modifier


# --------------------------------------------------------------------------------------------
# Dates and numbers

DATE_STYLES = ("dmy", "dmy_unpadded", "iso", "words", "serial", "excel")
_EXCEL_EPOCH = date(1899, 12, 30)


def excel_serial(d: date) -> int:
    return (d - _EXCEL_EPOCH).days


def format_date(d: date, style: str, *, xlsx: bool) -> str | int | date:
    """A date in one of the styles real exports use. "excel" is a real date cell in xlsx and
    dd/mm/yyyy in CSV; "serial" is the bare Excel serial number (a number cell in xlsx)."""
    if style == "dmy":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if style == "dmy_unpadded":
        return f"{d.day}/{d.month}/{d.year}"
    if style == "iso":
        return d.isoformat()
    if style == "words":
        return f"ngày {d.day} tháng {d.month} năm {d.year}"
    if style == "serial":
        return excel_serial(d) if xlsx else str(excel_serial(d))
    if style == "excel":
        return d if xlsx else f"{d.day:02d}/{d.month:02d}/{d.year}"
    raise ValueError(f"unknown date style {style!r}")


MONEY_STYLES = ("dots", "dots_d", "dots_vnd", "plain", "number", "words")


def dotted(n: int) -> str:
    """1500000000 → "1.500.000.000" (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def format_money(n: int, style: str, *, xlsx: bool) -> str | int:
    if style == "dots":
        return dotted(n)
    if style == "dots_d":
        return f"{dotted(n)} đ"
    if style == "dots_vnd":
        return f"{dotted(n)} VNĐ"
    if style == "plain":
        return str(n)
    if style == "number":
        return n if xlsx else str(n)
    if style == "words":  # "1,5 tỷ", "500 triệu" (only exact in that unit, else dotted)
        if n >= 1_000_000_000 and n % 100_000_000 == 0:
            return f"{n / 1_000_000_000:g} tỷ".replace(".", ",")
        if n % 1_000_000 == 0:
            return f"{n // 1_000_000} triệu"
        return dotted(n)
    raise ValueError(f"unknown money style {style!r}")


def random_date(rng: Rng, start: date, end: date) -> date:
    if end <= start:
        return start
    return date.fromordinal(rng.randint(start.toordinal(), end.toordinal()))


def vietnamese_long_date(d: date) -> str:
    return f"ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"


def parse_period(period: str | date | None, default: date) -> date:
    """Parse "2025-03-31", "20250331" or a date; None → the generator's fixed default."""
    if period is None:
        return default
    if isinstance(period, date):
        return period
    text = period.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"period must be YYYY-MM-DD or YYYYMMDD, got {period!r}")


# --------------------------------------------------------------------------------------------
# Text defects


def legacy(text: str, encoding: str) -> str:
    """Text as typed in a legacy font (TCVN3 / VNI), see pipelines.text.encode_legacy."""
    return encode_legacy(text, encoding)


def legacy_truth(text: str, encoding: str) -> str:
    """What a legacy-font cell says once decoded: TCVN3 has no upper-case letters with a tone mark
    (a typist writes "¸nh" for "Ánh"), so those come back in lower case; VNI keeps everything."""
    if encoding != "tcvn3":
        return unicodedata.normalize("NFC", text)
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isupper() and any(m in _TONE_MARKS for m in unicodedata.normalize("NFD", ch)):
            ch = ch.lower()
        out.append(ch)
    return "".join(out)


_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def add_stray_spaces(text: str, rng: Rng) -> str:
    """Leading/trailing blanks or a doubled space: what hand-typed cells carry."""
    style = rng.randrange(3)
    if style == 0:
        return f" {text}  "
    if style == 1 and " " in text:
        return text.replace(" ", "  ", 1)
    return text + " "


def text_defects(
    values: dict[str, Any],
    rng: Rng,
    rates: Mapping[str, float],
    *,
    nfd_columns: Sequence[str],
    space_columns: Sequence[str],
    nfd_all_columns: Sequence[str] = (),
) -> list[str]:
    """The text defects every generator injects into a row, in this order (the seeded draws stay
    the same): one cell in NFD, one cell with stray spaces, then — a file's habit — every text
    cell of `nfd_all_columns` in NFD. Returns the defects applied, for the stats."""
    hits = []
    if rng.chance(rates["nfd_cell"]):
        col = rng.pick(nfd_columns)
        cell = values.get(col)
        if isinstance(cell, str) and nfd(cell) != cell:
            values[col] = nfd(cell)
            hits.append("nfd_cell")
    if rng.chance(rates["whitespace"]):
        col = rng.pick(space_columns)
        cell = values.get(col)
        if isinstance(cell, str) and cell:
            values[col] = add_stray_spaces(cell, rng)
            hits.append("whitespace")
    for col in nfd_all_columns:
        cell = values.get(col)
        if isinstance(cell, str):
            values[col] = nfd(cell)
    return hits


# --------------------------------------------------------------------------------------------
# Statistics: the ground truth a pipeline test can compare against


@dataclass
class GenerationStats:
    """What one generated file contains, counted while writing (not re-derived from the file).

    `rows` distinct data rows were generated; the file holds `data_rows` = rows + exact_duplicates
    data rows (every exact duplicate is a verbatim copy of an earlier data row). `conflict_rows`
    of the distinct rows reuse the key of an earlier row with different values; `conflicting_keys`
    is the number of keys involved. `defects[name]` counts distinct rows carrying that defect
    (exact-duplicate copies are not counted again). `layout` gives the row numbers as a person
    sees them in Excel or an editor (1-based, title rows counted) and the file-level choices.
    `examples` holds a few (row, column, written, intended) samples per defect.
    """

    dataset: str
    file: str
    fmt: str
    period: str
    seed: int
    rows: int
    data_rows: int = 0
    exact_duplicates: int = 0
    conflict_rows: int = 0
    conflicting_keys: int = 0
    defects: dict[str, int] = field(default_factory=dict)
    layout: dict[str, Any] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def count(self, defect: str, n: int = 1) -> None:
        self.defects[defect] = self.defects.get(defect, 0) + n

    def example(self, defect: str, limit: int = 10, **sample: Any) -> None:
        bucket = self.examples.setdefault(defect, [])
        if len(bucket) < limit:
            bucket.append(sample)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class GeneratedFiles(list[Path]):
    """The written paths (a plain list of Path), with their `stats`, one per file, in order."""

    def __init__(self, paths: Iterable[Path] = (), stats: Iterable[GenerationStats] = ()) -> None:
        super().__init__(paths)
        self.stats: list[GenerationStats] = list(stats)


def write_stats(stats: Sequence[GenerationStats], stats_out: Path, out_dir: Path, dataset: str) -> Path:
    """`<stats_out>/<dataset>_generation_stats.json`; refuses the landing directory itself."""
    if stats_out.resolve() == out_dir.resolve():
        raise ValueError("stats_out must be a different directory from out_dir (the landing zone)")
    stats_out.mkdir(parents=True, exist_ok=True)
    path = stats_out / f"{dataset}_generation_stats.json"
    text = json.dumps([s.to_dict() for s in stats], ensure_ascii=False, indent=2, default=str)
    path.write_text(text + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# File layout: title rows, numbering row, footer

Cell = str | int | float | date | None


@dataclass(frozen=True)
class TitleLine:
    text: str
    right: str | None = None  # a second block on the same row (the national motto beside the agency)


def letterhead(province: str, department: str, office: str, two_col: bool) -> list[tuple[int, TitleLine]]:
    """The title lines of an official Vietnamese letterhead, as (order, line) candidates: the
    provincial committee and the department on the left, the national motto on the right
    (`two_col`) or on lines of their own, then the issuing office."""
    lines: list[tuple[int, TitleLine]] = [
        (2, TitleLine(f"ỦY BAN NHÂN DÂN TỈNH {province}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" if two_col else None)),
        (2, TitleLine(department, "Độc lập - Tự do - Hạnh phúc" if two_col else None)),
        (5, TitleLine(office)),
    ]
    if not two_col:
        lines += [
            (3, TitleLine("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")),
            (3, TitleLine("Độc lập - Tự do - Hạnh phúc")),
        ]
    return lines


def choose_title_lines(rng: Rng, candidates: Sequence[tuple[int, TitleLine]], n: int) -> list[TitleLine]:
    """Keep `n` of the candidate lines (lower priority number = kept first), in their file order."""
    ranked = sorted(range(len(candidates)), key=lambda i: (candidates[i][0], rng.random()))
    keep = sorted(ranked[:n])
    return [candidates[i][1] for i in keep]


def numbering_row(width: int) -> list[Cell]:
    return [f"({i})" for i in range(1, width + 1)]


# --------------------------------------------------------------------------------------------
# Writers


@dataclass(frozen=True)
class Styled:
    """A cell value with an Excel number format (xlsx only; CSV writes the value)."""

    value: Cell
    number_format: str


@dataclass(frozen=True)
class CsvDialect:
    encoding: str  # "utf-8" | "utf-8-sig" | "utf-16" | "cp1258"
    delimiter: str  # "," | ";" | "\t"
    line_terminator: str  # "\r\n" | "\n"

    def describe(self) -> dict[str, str]:
        return {
            "encoding": self.encoding,
            "delimiter": {"\t": "tab"}.get(self.delimiter, self.delimiter),
            "line_terminator": "CRLF" if self.line_terminator == "\r\n" else "LF",
        }


CSV_ENCODINGS = Weighted([("utf-8", 35), ("utf-8-sig", 30), ("utf-16", 15), ("cp1258", 20)])


def choose_csv_dialect(rng: Rng) -> CsvDialect:
    encoding = CSV_ENCODINGS.draw(rng)
    if encoding == "utf-16":  # Excel "Unicode text" is tab-delimited; re-saved copies vary
        delimiter = Weighted([("\t", 70), (",", 15), (";", 15)]).draw(rng)
    else:
        delimiter = "," if rng.chance(0.6) else ";"
    return CsvDialect(encoding, delimiter, "\r\n" if rng.chance(0.85) else "\n")


_CP1258_TONES = "\u0300\u0301\u0303\u0309\u0323"


@cache
def _cp1258_table() -> dict[int, str]:
    """Precomposed letters that Windows-1258 lacks → base letter (itself in cp1258) + tone mark.

    Windows-1258 holds â ê ô ơ ư ă đ and a few letters with tones; every other Vietnamese letter is
    written as such a base letter followed by one of its five combining tone marks.
    """
    table: dict[int, str] = {}
    for cp in range(0xC0, 0x1EFA):
        ch = chr(cp)
        try:
            ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in decomposed if c in _CP1258_TONES)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _CP1258_TONES))
        candidate = base + tones
        try:
            candidate.encode("cp1258")
        except UnicodeEncodeError:
            continue
        table[cp] = candidate
    return table


def to_cp1258_form(text: str) -> str:
    """Text in the form Windows-1258 can hold (NFC, then decompose what it lacks)."""
    return unicodedata.normalize("NFC", text).translate(_cp1258_table())


VIETNAMESE_LETTERS = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
VIETNAMESE_LETTERS += VIETNAMESE_LETTERS.upper()


def legacy_fits_cp1258(encoding: str) -> bool:
    """Whether text typed in this legacy font survives a Windows-1258 file (VNI does, TCVN3 not)."""
    return cp1258_encodable(encode_legacy(VIETNAMESE_LETTERS, encoding))


def cp1258_encodable(text: str) -> bool:
    try:
        to_cp1258_form(text).encode("cp1258")
    except UnicodeEncodeError:
        return False
    return True


class CsvTableWriter:
    """Streams rows to a CSV file in one of the encodings departments deliver.

    UTF-16 is written little-endian with a BOM (what Excel's "Unicode text" writes), byte-identical
    on every platform; Windows-1258 text goes through `to_cp1258_form`.
    """

    def __init__(self, path: Path, dialect: CsvDialect, width: int) -> None:
        self.path = path
        self.dialect = dialect
        self.width = width
        self.rows_written = 0
        encoding = dialect.encoding
        self._binary = path.open("wb")
        if encoding == "utf-16":
            self._binary.write(b"\xff\xfe")
            encoding = "utf-16-le"
        self._text = io.TextIOWrapper(self._binary, encoding=encoding, newline="", write_through=False)
        self._writer = csv.writer(self._text, delimiter=dialect.delimiter, lineterminator=dialect.line_terminator)
        self._convert: Callable[[str], str] = to_cp1258_form if encoding == "cp1258" else _identity

    def append(self, row: Sequence[Cell | Styled], pad: bool = False, bold: bool = False) -> None:
        """One line; `pad` fills it to the table width with empty fields; CSV has no bold."""
        values = [self._cell(v) for v in row]
        if pad and len(values) < self.width:  # Excel pads every line to the used width
            values.extend([""] * (self.width - len(values)))
        self._writer.writerow(values)
        self.rows_written += 1

    def merge(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        """CSV has no merged cells."""

    def _cell(self, value: Cell | Styled) -> str:
        if isinstance(value, Styled):
            value = value.value
        if value is None:
            return ""
        if isinstance(value, str):
            return self._convert(value)
        if isinstance(value, date):
            return f"{value.day:02d}/{value.month:02d}/{value.year}"
        return str(value)

    def close(self) -> None:
        self._text.close()


def _identity(text: str) -> str:
    return text


class XlsxTableWriter:
    """Streams rows into a one-sheet workbook (openpyxl write-only) and makes the archive
    reproducible: fixed document properties and zip timestamps, entries in a fixed order."""

    def __init__(self, path: Path, sheet_title: str, width: int) -> None:
        from openpyxl import Workbook

        self.path = path
        self.width = width
        self.rows_written = 0
        self.max_width = 0
        self._wb = Workbook(write_only=True)
        self._wb.properties.created = FIXED_TIMESTAMP
        self._wb.properties.modified = FIXED_TIMESTAMP
        self._wb.properties.creator = "Microsoft Excel"
        self._ws = self._wb.create_sheet(sheet_title)
        self._styles: dict[tuple[str, bool, bool], Any] = {}

    def _styled_cell(self, value: Cell, number_format: str = "General", bold: bool = False, wrap: bool = False) -> Any:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font

        cell = WriteOnlyCell(self._ws, value=value)
        cell.number_format = number_format
        if bold:
            cell.font = Font(bold=True)
        if wrap:
            cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        return cell

    def append(self, row: Sequence[Cell | Styled], pad: bool = False, bold: bool = False) -> None:
        """One row; `bold` for title and header cells; `pad` is for CSV and ignored here."""
        cells: list[Any] = []
        for value in row:
            if isinstance(value, Styled):
                cells.append(self._styled_cell(value.value, value.number_format))
            elif isinstance(value, date):
                cells.append(self._styled_cell(value, "dd/mm/yyyy"))
            elif bold and value is not None:
                cells.append(self._styled_cell(value, bold=True, wrap=isinstance(value, str) and "\n" in value))
            else:
                cells.append(value)
        self._ws.append(cells)
        self.rows_written += 1
        self.max_width = max(self.max_width, len(cells))

    def merge(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        from openpyxl.utils import get_column_letter

        ref = f"{get_column_letter(first_col)}{first_row}:{get_column_letter(last_col)}{last_row}"
        self._ws.merged_cells.add(ref)

    def close(self) -> None:
        from openpyxl.utils import get_column_letter

        part = self.path.with_name(f".{self.path.name}.part")
        last = f"{get_column_letter(max(self.max_width, 1))}{max(self.rows_written, 1)}"
        try:
            self._wb.save(part)
            _reproducible_zip(part, self.path, dimension=f"A1:{last}")
        finally:
            part.unlink(missing_ok=True)


_MODIFIED_RE = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _reproducible_zip(source: Path, target: Path, dimension: str) -> None:
    """Copy an xlsx archive with fixed timestamps and fixed `dcterms:modified` (openpyxl stamps
    the save time into both), adding the `<dimension>` that Excel writes and openpyxl's streaming
    writer leaves out (without it, read-only readers see an "unsized" sheet)."""
    stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            out_info = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            out_info.compress_type = zipfile.ZIP_DEFLATED
            out_info.external_attr = 0o600 << 16
            if info.filename == "docProps/core.xml":
                data = _MODIFIED_RE.sub(rb"\g<1>" + stamp + rb"\g<2>", zin.read(info))
                zout.writestr(out_info, data)
                continue
            with zin.open(info) as src, zout.open(out_info, "w", force_zip64=True) as dst:
                first = True
                while chunk := src.read(1 << 20):
                    if first and info.filename.startswith("xl/worksheets/") and b"<dimension" not in chunk:
                        chunk = chunk.replace(
                            b"<sheetViews>", f'<dimension ref="{dimension}" /><sheetViews>'.encode(), 1
                        )
                    first = False
                    dst.write(chunk)


def file_name(prefix: str, period: date, cadence: str, ext: str) -> str:
    """`<prefix>_YYYYMMDD.ext` (daily), `_YYYYMM` (monthly), `_YYYY` (annual), as SOURCES.md."""
    stamp = {"daily": "%Y%m%d", "monthly": "%Y%m", "annual": "%Y"}[cadence]
    return f"{prefix}_{period.strftime(stamp)}.{ext}"


def ensure_out_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def default_fmt(rows: int, threshold: int = 50_000) -> str:
    return "xlsx" if rows <= threshold else "csv"


def check_fmt(fmt: str) -> str:
    if fmt not in ("xlsx", "csv"):
        raise ValueError(f"fmt must be 'xlsx' or 'csv', got {fmt!r}")
    return fmt


# --------------------------------------------------------------------------------------------
# Register exports: the parts every dataset's file shares (periods, places, IDs, headers, the
# table itself). The enterprise generator predates them and keeps its own copies.


def period_of(period: str | date | None, default: date, cadence: str) -> date:
    """The period a generator writes: None → its fixed default; a date, "YYYY-MM-DD" or "YYYYMMDD";
    for monthly data also "YYYY-MM" / "YYYYMM", for annual data also "YYYY". Monthly and annual
    periods are returned as the first day of the month / year, like the engine's period dates."""
    if period is None:
        when = default
    elif isinstance(period, date):
        when = period
    else:
        text = period.strip()
        # (shape first: strptime alone reads "202412" as %Y%m%d 2024-01-02)
        forms = {r"\d{4}-\d{2}-\d{2}": "%Y-%m-%d", r"\d{8}": "%Y%m%d"}
        forms |= {"monthly": {r"\d{4}-\d{2}": "%Y-%m", r"\d{6}": "%Y%m"}, "annual": {r"\d{4}": "%Y"}}.get(cadence, {})
        fmt = next((f for shape, f in forms.items() if re.fullmatch(shape, text)), None)
        try:
            when = datetime.strptime(text, fmt or "").date()
        except ValueError:
            shapes = ", ".join(f.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD") for f in forms.values())
            raise ValueError(f"period must be {shapes}, got {period!r}") from None
    if cadence == "monthly":
        return when.replace(day=1)
    if cadence == "annual":
        return date(when.year, 1, 1)
    return when


def communes_at(period: date, weight: Callable[[Commune], float]) -> Weighted[Commune]:
    """Old communes in use at `period`, drawn with `weight` (0 leaves a commune out): Bình Định's
    before the 2025 reorganisation; after it, every old commune of the new Gia Lai with a
    documented 2025 target (Canh Hiệp has none, so nobody can be placed there)."""
    post = period >= REORGANISATION_DATE
    return Weighted(
        (c, weight(c))
        for c in old_communes()
        if (post and c.new_unit is not None) or (not post and c.province_code == "52")
    )


def unit_at(commune: Commune, period: date) -> Unit:
    """The commune a file of `period` names: the old one before 2025-07-01, its 2025 target after."""
    if period >= REORGANISATION_DATE and commune.new_unit is not None:
        return commune.new_unit
    return commune.unit


def is_urban(unit: Unit) -> bool:
    """Phường and thị trấn are urban (thành thị); xã are rural (nông thôn)."""
    return unit.unit_type in ("phuong", "thi_tran")


class UniqueNumbers:
    """Distinct numbers of `digits` digits per bucket, in a seeded scattered order, O(1) memory.

    A keyed 4-round Feistel permutation of each bucket's counter (cycle-walking past values out of
    range), like `TaxCodeAllocator`: for the random serial of a CCCD (`PPP G YY` is the bucket) or
    of a CMND, so that two people never share an ID by accident (with 848,500 random serials the
    birthday paradox alone would give thousands of shared IDs).
    """

    def __init__(self, rng: Rng, digits: int) -> None:
        self.limit = 10**digits
        self._half = 1
        while self._half * self._half < self.limit:
            self._half *= 2
        self._keys = [(rng.randrange(1, 1 << 32) | 1, rng.randrange(1 << 32)) for _ in range(4)]
        self._counters: dict[str, int] = {}

    def _round(self, value: int, key: tuple[int, int]) -> int:
        h = (value * key[0] + key[1]) & 0xFFFFFFFF
        h ^= h >> 15
        h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
        h ^= h >> 12
        return h % self._half

    def _permute(self, x: int) -> int:
        left, right = divmod(x, self._half)
        for key in self._keys:
            left, right = right, left ^ self._round(right, key)
        return left * self._half + right

    def next(self, bucket: str = "") -> int:
        counter = self._counters.get(bucket, 0)
        size = self._half * self._half
        start = zlib.crc32(bucket.encode()) % size  # each bucket starts elsewhere on the permutation
        while counter < size:
            x = self._permute((start + counter) % size)
            counter += 1
            if x < self.limit:
                self._counters[bucket] = counter
                return x
        raise RuntimeError(f"no number of {len(str(self.limit)) - 1} digits left in bucket {bucket!r}")


class PersonIds:
    """Unique CCCDs (`PPP G YY RRRRRR`, DOMAIN §2) and, for the same people, unique old CMNDs."""

    def __init__(self, rng: Rng) -> None:
        self._serials = UniqueNumbers(rng, 6)
        self._old = UniqueNumbers(rng, 7)

    def cccd(self, birth_year: int, sex: str, province: str = "052") -> str:
        century = (birth_year // 100) - 19
        head = f"{province}{2 * century + (1 if sex == 'F' else 0)}{birth_year % 100:02d}"
        return f"{head}{self._serials.next(head):06d}"

    def cmnd(self, province: str = "052") -> str:
        prefix = CMND_PREFIXES.get(province, "21")
        return f"{prefix}{self._old.next(prefix):07d}"


def person_id_cell(
    rng: Rng,
    number: str,
    *,
    xlsx: bool,
    lost_zero: float,
    old_cmnd: float,
    spaced: float,
    cmnd_number: str | None = None,
) -> tuple[Cell, str | None]:
    """A 12-digit CCCD as a register clerk leaves it, and the defect it carries (None if clean):
    "lost_zero" (stored as a number of 11 digits; a number cell in xlsx), "cmnd" (the person's old
    9-digit CMND instead: `cmnd_number`, or a random one) or "spaces" ("052 085 001234"). One
    random draw decides which."""
    r = rng.random()
    if r < lost_zero:
        return (int(number) if xlsx else str(int(number))), "lost_zero"
    if r < lost_zero + old_cmnd:
        return cmnd_number or cmnd(rng, number[:3]), "cmnd"
    if r < lost_zero + old_cmnd + spaced:
        return format_id_spaced(number, rng), "spaces"
    return number, None


def choose_headers(
    rng: Rng,
    spec_headers: Callable[[str], Sequence[str]],
    columns: Sequence[str],
    *,
    xlsx: bool,
    aliases: bool,
    upper: bool,
    alias_share: float = 0.4,
) -> list[str]:
    """The header text of each column: the first accepted header, or (in a file that uses
    `aliases`) another accepted one for `alias_share` of the columns, sometimes with a line break
    typed in the cell (xlsx); all in upper case when `upper`. `spec_headers(column)` lists the
    accepted headers of a column (first = the layout's own)."""
    headers = []
    for col in columns:
        options = list(spec_headers(col))
        header = options[0]
        if aliases and len(options) > 1 and rng.chance(alias_share):
            header = rng.pick(options[1:])
            if xlsx and len(header) > 14 and rng.chance(0.5):
                words = header.split(" ")
                cut = max(1, len(words) // 2)
                header = " ".join(words[:cut]) + "\n" + " ".join(words[cut:])
        headers.append(header.upper() if upper else header)
    return headers


def signature_footer(rng: Rng, width: int, total_line: str, place: str, signed: date) -> list[list[Cell]]:
    """The block under a table: a blank row, the total line, the place and date, the two
    signatories ("Người lập biểu", "Thủ trưởng đơn vị") with their names."""
    right = max(width - 3, 1)

    def at(*cells: tuple[int, str]) -> list[Cell]:
        row: list[Cell] = [None] * width
        for col, text in cells:
            row[min(col, width - 1)] = text
        return row

    return [
        [],
        [total_line],
        [],
        at((right, f"{place}, {vietnamese_long_date(signed)}")),
        at((1, "Người lập biểu"), (right, "Thủ trưởng đơn vị")),
        at((1, "(Ký, ghi rõ họ tên)"), (right, "(Ký tên, đóng dấu)")),
        [],
        [],
        at((1, person_name(rng, "F")), (right, person_name(rng, "M"))),
    ]


@dataclass(frozen=True)
class TableLayout:
    """How one file's table looks, decided once per file."""

    fmt: str  # xlsx | csv
    columns: tuple[str, ...]  # canonical names (or extra-column keys) in file order
    headers: tuple[str, ...]  # the header text of each column
    title_lines: tuple[TitleLine, ...] = ()
    header_groups: tuple[tuple[str, int, int], ...] = ()  # xlsx two-row header: (title, first col, last col), 1-based
    numbering: bool = False  # a "(1) (2) …" row under the header
    dialect: CsvDialect | None = None  # csv only
    sheet_title: str = "Sheet1"  # xlsx only

    @property
    def width(self) -> int:
        return len(self.columns)


class TableFile:
    """One export written top to bottom: title rows, the header (one row, or two with merged
    group cells), an optional numbering row, the data rows, a footer.

    `add(cells, copy_after=k)` also writes a verbatim copy of the row k data rows later (an exact
    duplicate, as when a clerk pastes a block twice). Row numbers are the ones Excel shows (1-based,
    title rows counted). `close(footer)` flushes pending copies, writes the footer and fills
    `stats.data_rows`, `stats.exact_duplicates` and the row numbers in `stats.layout`.
    """

    def __init__(
        self,
        path: Path,
        layout: TableLayout,
        stats: GenerationStats,
        progress: Callable[[int], None] | None = None,
        progress_every: int | None = None,
    ) -> None:
        self.layout = layout
        self.stats = stats
        self.progress = progress
        self.every = progress_every or PROGRESS_EVERY
        self.written = 0
        self._added = 0
        self._pending: list[tuple[int, int, list[Cell | Styled]]] = []
        self._writer: XlsxTableWriter | CsvTableWriter
        if layout.fmt == "xlsx":
            self._writer = XlsxTableWriter(path, layout.sheet_title, layout.width)
        else:
            if layout.dialect is None:
                raise ValueError("a CSV table needs a dialect")
            self._writer = CsvTableWriter(path, layout.dialect, layout.width)
        try:
            self.first_data_row = self._write_head()
        except BaseException:
            self._writer.close()
            raise

    @property
    def next_row(self) -> int:
        """The row number (as Excel shows it) of the next data row written."""
        return self.first_data_row + self.written

    def _write_head(self) -> int:
        layout, writer, width = self.layout, self._writer, self.layout.width
        csv_file = layout.fmt == "csv"
        row_no = 0
        for line in layout.title_lines:
            row_no += 1
            if line.right:
                half = max(width // 2, 1)
                cells: list[Cell] = [None] * width
                cells[0] = line.text
                cells[min(half, width - 1)] = line.right
                writer.append(cells, bold=True)
                writer.merge(row_no, 1, row_no, max(half, 1))
                writer.merge(row_no, min(half, width - 1) + 1, row_no, width)
            elif line.text:
                writer.append([line.text], pad=csv_file, bold=True)
                writer.merge(row_no, 1, row_no, width)
            else:
                writer.append([], pad=csv_file)
        header_row = row_no + 1
        groups = layout.header_groups if layout.fmt == "xlsx" else ()
        if groups:
            grouped = {c: title for title, a, b in groups for c in range(a, b + 1)}
            first_of = {title: a for title, a, _ in groups}
            top: list[Cell] = []
            bottom: list[Cell] = []
            for i, header in enumerate(layout.headers, start=1):
                if i in grouped:
                    top.append(grouped[i] if i == first_of[grouped[i]] else None)
                    bottom.append(header)
                else:
                    top.append(header)
                    bottom.append(None)
            writer.append(top, bold=True)
            writer.append(bottom, bold=True)
            for i in range(1, width + 1):
                if i not in grouped:
                    writer.merge(header_row, i, header_row + 1, i)
            for _title, a, b in groups:
                if b > a:
                    writer.merge(header_row, a, header_row, b)
            row_no += 2
        else:
            writer.append(list(layout.headers), bold=True)
            row_no += 1
        if layout.numbering:
            writer.append(numbering_row(width))
            row_no += 1
        self.stats.layout.update(
            {
                "columns": list(layout.columns),
                "headers": list(layout.headers),
                "title_rows": len(layout.title_lines),
                "header_row": header_row,
                "header_rows": 2 if groups else 1,
                "two_row_header": bool(groups),
                "numbering_row": layout.numbering,
                "first_data_row": row_no + 1,
            }
        )
        if layout.dialect is not None:
            self.stats.layout.update(layout.dialect.describe())
        else:
            self.stats.layout["sheet"] = layout.sheet_title
        return row_no + 1

    def _emit(self, cells: Sequence[Cell | Styled]) -> None:
        self._writer.append(cells)
        self.written += 1
        if self.progress is not None and self.written % self.every == 0:
            self.progress(self.written)

    def add(self, cells: list[Cell | Styled], copy_after: int | None = None) -> None:
        """Write one data row; with `copy_after`, its exact duplicate follows that many rows later."""
        self._emit(cells)
        if copy_after is not None:
            heapq.heappush(self._pending, (self._added + copy_after, self._added, cells))
        while self._pending and self._pending[0][0] <= self._added:
            self._emit(heapq.heappop(self._pending)[2])
            self.stats.exact_duplicates += 1
        self._added += 1

    def close(self, footer: Sequence[Sequence[Cell]] = ()) -> None:
        try:
            while self._pending:
                self._emit(heapq.heappop(self._pending)[2])
                self.stats.exact_duplicates += 1
            for row in footer:
                self._writer.append(list(row), pad=self.layout.fmt == "csv" and bool(row))
        finally:
            self._writer.close()
        self.stats.data_rows = self.written
        self.stats.layout["last_data_row"] = self.first_data_row + self.written - 1
        self.stats.layout["footer_rows"] = len(footer)
        if self.progress is not None and self.written % self.every:
            self.progress(self.written)

    def abort(self) -> None:
        """Close the file after an error (the caller removes or ignores the partial file)."""
        self._writer.close()
