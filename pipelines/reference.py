"""Reference code lists and the one place resolver every dataset uses.

Data: the vendored CSVs in `schemas/reference/` (GSO/NSO administrative units before and after the
2025-07-01 reorganisation, the crosswalk between them, VSIC 2018 sections, VSCO 2020 major groups,
land-use purpose codes). Codes stay zero-padded text. Grain of the resolver's answer: one
`Resolution` per distinct (commune, district, code, record era, code system). Owner: the pipeline
maintainers, for every dataset that has a `place` in its spec.

The resolver turns a commune as written in a department's file ("P. Nhơn Bình", "Qui Nhon",
TCVN3 "Nh¬n B×nh", a code with or without its system) into both code systems:
`commune_code_pre2025` + `district_code_pre2025` and `commune_code_2025`. Precision comes first:
when the input does not identify one place, it refuses with a reason a person can act on, and it
never guesses.

Scope. A resolver covers the old provinces given to it (default: only Bình Định, "52" in the
pre-2025 list): their old communes, and the new communes built on their territory (58 for Bình
Định, found through the crosswalk). Names and codes outside the scope (old Gia Lai, "64") are
still indexed, so that a name that exists only there is refused as `unknown_place` ("outside the
scope") instead of being matched loosely to a Bình Định commune. `PlaceResolver.default(("52", "64"))`
widens the scope to the whole new Gia Lai; then "Nhơn Hòa" alone is ambiguous (An Nhơn / Chư Pưh).
A unit type that only a unit outside the scope has ("Thị trấn Nhơn Hoà": Chư Pưh) is refused the
same way, and a district-level name in the commune column ("TP. Quy Nhơn") is refused, not read as
the ward of the same name.

Name matching, level by level; the first level that finds any unit (in or outside the scope)
decides, so an exact spelling elsewhere is never overridden by a looser match here:
  1. exact: folded text (NFC, case, canonical tone placement "Hoà" = "Hòa", "Qui" = "Quy",
     unit prefix and punctuation removed). Skipped for input without any diacritics.
  2. legacy: the raw text decoded as TCVN3 and as VNI (`clean_text` cannot tell "Phó" from a
     TCVN3 "Phú" in a single cell; an exact match after decoding can).
  3. ascii: without diacritics (đ = d), keeping only candidates whose diacritics agree with the
     ones the input does carry ("Ân Nghia" is Ân Nghĩa, not An Nghĩa). A name whose diacritics
     contradict every candidate ("Phú Mỹ" against Phù Mỹ) is refused: it is another name
     (DOMAIN.md §1), unless a code given with it says which commune is meant.
  4. typo: one edit (insert, delete, substitute a letter) away from a name in the lists and more
     than two edits away from every other name, for names of ≥ 5 letters only (a two-letter slip
     of one name that lands next to another must not be read as the other).

Hints, applied in this order to the units matched at that level:
  - district (any style): keep old communes of that district; if none, new communes whose
    territory includes part of it; if none, refuse (`unknown_place`, the name is elsewhere).
    A district that matches nothing is ignored (the detail says so); one outside the scope refuses.
  - a record date before 2025-07-01 keeps old-system units when there are any (the new names did
    not exist yet);
  - the unit type written in the input (Phường / Xã / Thị trấn) keeps the units of that type when
    there are any ("Phường Ngô Mây" is the Quy Nhơn ward, "Thị trấn Ngô Mây" the Phù Cát town);
  - a record date from 2025-07-01 keeps new-system units when there are any (old names stay in
    circulation, so this comes after the unit type).
If the units left give more than one distinct code triple, the answer is `ambiguous_place` with the
candidates. An old commune and the new commune of the same name are different places unless the
new one was built from that single old commune (Nhơn Châu, Canh Liên): "Tam Quan" without a date
is ambiguous.

Codes: 5 digits, zero-padded when Excel dropped zeros ("21550.0" is accepted). With `code_system`
only that system is looked up; without it both are, and the record date is a preference. A draft
2025 code (DOMAIN.md §1) is remapped to the official one. A name given with a code must name the
code's commune, or an old commune inside the code's new commune (or the reverse): a post-2025 file
with the new code and the old commune name is consistent and gives both codes exactly, including
the part of a split commune the code names. Otherwise `code_name_mismatch`.

Split communes: An Nghĩa and Canh Liên resolve to their documented `default_target`. Canh Hiệp has
none: the pre-2025 codes are returned with `commune_code_2025` None and reason
`split_commune_unallocated`, and `ok` stays True (the codes given are right); the conformer counts
such rows as unallocated and never spreads them.

Speed: indexes are built once per scope (`PlaceResolver.default`); answers are memoised per
distinct input with the record date reduced to its era (before / from 2025-07-01), and name and
district matching per distinct text. `benchmarks/bench_resolver.py` measures it.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import viparse

from pipelines.text import LEGACY_ENCODINGS, canonical_tones, clean_text, strip_diacritics

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "schemas" / "reference"

PRE2025 = "pre2025"
NEW2025 = "2025"
CODE_SYSTEMS = (PRE2025, NEW2025)
REORGANISATION_DATE = date(2025, 7, 1)
BINH_DINH = "52"  # province code in the pre-2025 list; the new Gia Lai is also 52 in the 2025 list
OLD_GIA_LAI = "64"

# Codes in files made from the draft list in mid-2025 (DOMAIN.md §1) → official 2025 codes.
DRAFT_CODES_2025 = {"21862": "21859", "21889": "21901", "21898": "21880", "22003": "22006", "23737": "23938"}

UNKNOWN_PLACE = "unknown_place"
AMBIGUOUS_PLACE = "ambiguous_place"
SPLIT_COMMUNE_UNALLOCATED = "split_commune_unallocated"
CODE_NAME_MISMATCH = "code_name_mismatch"
UNKNOWN_CODE = "unknown_code"

# Typo tolerance only for names at least this long: short names sit one edit away from too many
# others ("Ân Mỹ", "Mỹ An", "An Tân").
MIN_FUZZY_LETTERS = 5


# --- Reference lists -------------------------------------------------------------------------


@cache
def load_reference(name: str) -> tuple[dict[str, str], ...]:
    """Rows of `schemas/reference/<name>.csv` as text (codes keep their zeros); cached, do not mutate."""
    path = REFERENCE_DIR / (name if name.endswith(".csv") else f"{name}.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(dict(row) for row in csv.DictReader(handle))


def vsic_section(code: str) -> str | None:
    """VSIC 2018 section letter of a code of any level (its first two digits are the division).

    The code must be text with its leading zeros ("0111"); None when the division is in no section.
    """
    text = str(code).strip()
    if len(text) < 2 or not text[:2].isdigit():
        return None
    division = text[:2]
    for row in load_reference("vsic2018_sections"):
        if row["division_from"] <= division <= row["division_to"]:
            return row["section"]
    return None


def vsco_group_exists(code: str) -> bool:
    """True when the first digit of a VSCO 2020 code is a major group (0–9 all exist)."""
    text = str(code).strip()
    return bool(text) and any(row["code"] == text[0] for row in load_reference("vsco2020_major_groups"))


@cache
def _land_use_groups() -> dict[tuple[str, str], str]:
    return {(row["code_system"], row["code"]): row["group"] for row in load_reference("land_use_codes")}


def land_use_group(system: str, code: str) -> str | None:
    """Group (nong_nghiep, phi_nong_nghiep, chua_su_dung) of a land-use code in its system
    (TT25_2014 or TT08_2024): a code means nothing without its system."""
    return _land_use_groups().get((system, str(code).strip().upper()))


def land_use_code_exists(system: str, code: str) -> bool:
    return land_use_group(system, code) is not None


# --- Resolution --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """Where a record is, in both code systems; `reason` None when resolved.

    `reason` is "unknown_place", "ambiguous_place", "code_name_mismatch", "unknown_code" (refusals,
    all codes None) or "split_commune_unallocated" (a flag: the old commune is known, the new one
    cannot be chosen, `ok` stays True).
    """

    commune_code_pre2025: str | None
    district_code_pre2025: str | None
    commune_code_2025: str | None
    reason: str | None
    candidates: tuple[str, ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when the record is placed: every code given is right (some may be None by design)."""
        return self.reason is None or self.reason == SPLIT_COMMUNE_UNALLOCATED

    @property
    def codes(self) -> tuple[str | None, str | None, str | None]:
        return (self.commune_code_pre2025, self.district_code_pre2025, self.commune_code_2025)

    @property
    def level(self) -> str | None:
        """ "district" (an old district: no commune code), "commune", or None when not placed."""
        if not self.ok:
            return None
        if self.commune_code_pre2025 is None and self.commune_code_2025 is None:
            return "district" if self.district_code_pre2025 is not None else None
        return "commune"


def _refuse(reason: str, detail: str, candidates: Iterable[Place] = ()) -> Resolution:
    return Resolution(None, None, None, reason, tuple(p.label for p in _ordered(candidates)), detail)


# --- Name parsing ------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[^\W_]+")
_QUY = {"qui": "quy", "quì": "quỳ", "quí": "quý", "quỉ": "quỷ", "quĩ": "quỹ", "quị": "quỵ"}
_PREFIX_FORMS = {
    "thanh_pho": ("thành phố", "tp", "t p"),
    "thi_xa": ("thị xã", "tx", "t x"),
    "thi_tran": ("thị trấn", "tt", "t t"),
    "huyen": ("huyện", "h"),
    "quan": ("quận", "q"),
    "phuong": ("phường", "p", "f"),
    "xa": ("xã", "x"),
    "tinh": ("tỉnh",),
}
# Prefix tokens with their diacritics, or with none at all ("Xa" is Xã, "Xà" is a name).
_PREFIXES = {
    tuple(variant.split()): unit_type
    for unit_type, forms in _PREFIX_FORMS.items()
    for form in forms
    for variant in (form, strip_diacritics(form))
}
COMMUNE_TYPES = frozenset({"phuong", "xa", "thi_tran"})
DISTRICT_TYPES = frozenset({"thanh_pho", "thi_xa", "huyen", "quan", "tinh"})


@dataclass(frozen=True)
class PlaceName:
    """A place name reduced to comparison keys; `unit_type` is the prefix the input carried."""

    unit_type: str | None
    key: str  # folded, with diacritics
    ascii_key: str

    @property
    def has_diacritics(self) -> bool:
        return self.key != self.ascii_key

    @property
    def letters(self) -> int:
        return len(self.ascii_key.replace(" ", ""))


def _unglue(text: str) -> str:
    """'TTDiêu Trì' → 'TT Diêu Trì' (abbreviated prefix typed without space or dot)."""
    glued = len(text) > 3 and text[:2].upper() in ("TP", "TX", "TT") and text[0].isupper()
    if glued and text[2].isupper() and text[3].islower():
        return f"{text[:2]} {text[2:]}"
    return text


def _parse_clean(text: str) -> PlaceName | None:
    tokens = _TOKEN_RE.findall(canonical_tones(_unglue(text)).casefold())
    unit_type = None
    for size in (2, 1):
        head = tuple(tokens[:size])
        if len(tokens) > size and head in _PREFIXES:
            unit_type, tokens = _PREFIXES[head], tokens[size:]
            break
    if not tokens:
        return None
    key = " ".join(_QUY.get(token, token) for token in tokens)
    return PlaceName(unit_type, key, strip_diacritics(key))


@lru_cache(maxsize=200_000)
def parse_place_name(text: str) -> PlaceName | None:
    """Comparison keys of a name in any style ("TP. Qui Nhơn", "P.NHƠN BÌNH", NFD, TCVN3…)."""
    cleaned = clean_text(text)
    return _parse_clean(cleaned) if cleaned else None


@lru_cache(maxsize=20_000)
def _legacy_readings(text: str) -> tuple[PlaceName, ...]:
    """The name read as TCVN3 and as VNI, for cells that `clean_text` left alone or misread."""
    nfc = unicodedata.normalize("NFC", text)
    if nfc.isascii():
        return ()
    readings = []
    for encoding in LEGACY_ENCODINGS:
        decoded = clean_text(viparse.fix(nfc, encoding=encoding))
        parsed = _parse_clean(decoded) if decoded else None
        if parsed is not None:
            readings.append(parsed)
    return tuple(readings)


def _compatible(written: str, official: str) -> bool:
    """True when every diacritic the input carries is the official one ("Ân Nghia" ~ "Ân Nghĩa")."""
    if len(written) != len(official):
        return False
    return all(a == b or (a.isascii() and strip_diacritics(b) == a) for a, b in zip(written, official, strict=True))


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance exactly 1."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


def _within_two(a: str, b: str) -> bool:
    """Levenshtein distance ≤ 2 (banded, stops early)."""
    if abs(len(a) - len(b)) > 2:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        if min(current) > 2:
            return False
        previous = current
    return previous[-1] <= 2


def _deletions(key: str) -> set[str]:
    """`key` with up to two letters deleted: two strings within two edits share one of these."""
    once = {key[:i] + key[i + 1 :] for i in range(len(key))}
    return {key} | once | {k[:i] + k[i + 1 :] for k in once for i in range(len(k))}


# --- Places and the index ----------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """One unit in one code system; `codes` is what resolving to it returns."""

    system: str
    code: str
    name: str
    unit_type: str
    in_scope: bool
    province_name: str  # the old province (for a new commune: the one its territory came from)
    district_code: str | None = None
    district_name: str | None = None
    districts: frozenset[str] = frozenset()  # old districts its territory covers
    codes: tuple[str | None, str | None, str | None] = (None, None, None)
    unallocated: bool = False

    @property
    def label(self) -> str:
        where = self.district_name if self.system == PRE2025 and self.district_name else self.system
        return f"{self.code} {self.name} ({where})"


def _former(places: Iterable[Place]) -> str:
    """'the former Tỉnh Gia Lai': where out-of-scope places lie (new communes: their territory)."""
    return " and ".join(f"the former {name}" for name in sorted({p.province_name for p in places}))


def _ordered(places: Iterable[Place]) -> list[Place]:
    return sorted(set(places), key=lambda p: (p.system != PRE2025, p.code, p.codes))


class _NameIndex:
    """Places by folded key, by ascii key, and by the ascii key with up to two letters deleted
    (symmetric-delete index: the typo level checks a few candidates, not every name)."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.by_key: dict[str, list[Place]] = {}
        self.by_ascii: dict[str, list[Place]] = {}
        self.key_of: dict[Place, str] = {}
        self.variants: dict[str, set[str]] = {}
        for place in places:
            name = parse_place_name(place.name)
            assert name is not None, place
            self.key_of[place] = name.key
            self.by_key.setdefault(name.key, []).append(place)
            self.by_ascii.setdefault(name.ascii_key, []).append(place)
            for variant in _deletions(name.ascii_key):
                self.variants.setdefault(variant, set()).add(name.ascii_key)

    def lookup(self, raw: str, name: PlaceName) -> tuple[str, list[Place], str | None]:
        """(level, places, unit type written) at the first level that matches anything; level ""
        when none does. The unit type is the one of the reading that matched (TCVN3 "ThÞ trÊn")."""
        if name.has_diacritics:
            if hits := self.by_key.get(name.key):
                return "exact", hits, name.unit_type
            readings = [r for r in _legacy_readings(raw) if r.key in self.by_key]
            if readings:
                types = {r.unit_type for r in readings}
                legacy = [p for r in readings for p in self.by_key[r.key]]
                return "legacy", legacy, types.pop() if len(types) == 1 else None
        if hits := self.by_ascii.get(name.ascii_key):
            if not name.has_diacritics:
                return "ascii", hits, name.unit_type
            agreeing = [p for p in hits if _compatible(name.key, self.key_of[p])]
            return ("ascii", agreeing, name.unit_type) if agreeing else ("diacritics", hits, name.unit_type)
        if name.letters >= MIN_FUZZY_LETTERS:
            query = name.ascii_key
            close = {k for v in _deletions(query) for k in self.variants.get(v, ()) if _within_two(query, k)}
            # a typo must be clear: one edit from a name, and no other name within two edits
            near = close if any(_one_edit(query, k) for k in close) else set()
            return "typo", [p for k in sorted(near) for p in self.by_ascii[k]], name.unit_type
        return "", [], name.unit_type


_LEVEL_NOTE = {
    "exact": "",
    "legacy": " (read as TCVN3/VNI legacy-font text)",
    "ascii": " (matched without diacritics)",
    "typo": " (matched allowing a one-letter typo)",
}


# --- The resolver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NameMatch:
    """What a commune name alone matched in the scope, before district and date hints."""

    places: tuple[Place, ...]
    subject: str  # "'P. Nhon Binh' (matched without diacritics)", for the detail sentence
    unit_type: str | None


@dataclass(frozen=True)
class _DistrictHint:
    text: str
    codes: frozenset[str] = frozenset()  # recognised districts in the scope; empty: no usable hint
    outside: tuple[Place, ...] = ()  # recognised only outside the scope
    unrecognised: bool = False


_NO_DISTRICT = _DistrictHint("")
ResolveArgs = tuple[Any, Any, Any, Any, Any]


def _blank(value: Any) -> bool:
    """None, NaN, NaT or pandas NA (cells from a DataFrame)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pd.NA refuses to be a bool
        return True


def _era(record_date: Any) -> str | None:
    """The code system in force on the record date (PRE2025 before 2025-07-01, else NEW2025)."""
    when = _as_date(record_date)
    if when is None:
        return None
    return PRE2025 if when < REORGANISATION_DATE else NEW2025


def _as_date(value: Any) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _normalise_code(value: Any) -> str | None:
    """'21550', 21550, 21550.0, "'21550", " 21 550 " → '21550'; None when not a commune code."""
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    text = re.sub(r"\s", "", str(value)).lstrip("'")
    text = re.sub(r"\.0+$", "", text)
    if not text.isdigit() or len(text) > 5:
        return None
    return text.zfill(5)


def _prefer(places: list[Place], keep: Callable[[Place], bool]) -> list[Place]:
    """The places that satisfy a hint, or all of them when none does (a hint never empties the set)."""
    kept = [p for p in places if keep(p)]
    return kept or places


class PlaceResolver:
    """Resolve communes written in any style to pre-2025 and 2025 codes (see the module docstring).

    Built once per scope from the reference lists; indexes are dicts keyed by folded names.
    `resolve` is memoised per distinct input (record date reduced to its era).
    """

    def __init__(self, provinces: Sequence[str] = (BINH_DINH,), cache_size: int = 200_000) -> None:
        self.provinces = frozenset(provinces)
        unknown = self.provinces - {BINH_DINH, OLD_GIA_LAI}
        if unknown:
            raise ValueError(f"no pre-2025 province {sorted(unknown)} in the reference lists")
        self._build()
        # Resolution depends on the record date only through its era, so the era is the cache key;
        # names and districts are matched once per distinct text.
        self._resolve_cached = lru_cache(maxsize=cache_size)(self._resolve)
        self._match_name = lru_cache(maxsize=cache_size)(self._match_name_uncached)
        self._district_hint = lru_cache(maxsize=10_000)(self._district_hint_uncached)
        self._area_cached = lru_cache(maxsize=10_000)(self._resolve_area)

    @classmethod
    def default(cls, provinces: Sequence[str] = (BINH_DINH,)) -> PlaceResolver:
        """The shared resolver for a scope (old province codes); built once per scope."""
        return _default_resolver(tuple(sorted(set(provinces))))

    def _build(self) -> None:
        pre = load_reference("admin_units_pre2025")
        provinces = {r["code"]: r["name"] for r in pre if r["level"] == "province"}
        districts = {r["code"]: r for r in pre if r["level"] == "district"}
        crosswalk = load_reference("admin_unit_crosswalk_2025")
        self.targets: dict[str, frozenset[str]] = {}
        sources: dict[str, set[tuple[str, str, str]]] = {}  # new code → {(old code, district, province)}
        default_target: dict[str, str] = {}
        for row in crosswalk:
            old, new = row["old_commune_code"], row["new_commune_code"]
            self.targets[old] = self.targets.get(old, frozenset()) | {new}
            sources.setdefault(new, set()).add((old, row["old_district_code"], row["old_province_code"]))
            if row["default_target"] == "1":
                default_target[old] = new

        self.districts: dict[str, Place] = {}
        for row in districts.values():
            province = row["parent_code"]
            self.districts[row["code"]] = Place(
                PRE2025, row["code"], row["name"], row["unit_type"], province in self.provinces, provinces[province]
            )
        self.pre2025: dict[str, Place] = {}
        for row in pre:
            if row["level"] != "commune":
                continue
            district = districts[row["parent_code"]]
            code, target = row["code"], default_target.get(row["code"])
            self.pre2025[code] = Place(
                PRE2025,
                code,
                row["name"],
                row["unit_type"],
                in_scope=district["parent_code"] in self.provinces,
                province_name=provinces[district["parent_code"]],
                district_code=district["code"],
                district_name=district["name"],
                districts=frozenset({district["code"]}),
                codes=(code, district["code"], target),
                unallocated=target is None,
            )
        self.new2025: dict[str, Place] = {}
        for row in load_reference("admin_units_2025"):
            if row["level"] != "commune":
                continue
            code = row["code"]
            origin = sources[code]
            old_provinces = {province for _, _, province in origin}
            assert len(old_provinces) == 1, f"{code} mixes old provinces"  # DOMAIN.md §1
            (province,) = old_provinces
            single = next(iter(origin)) if len({old for old, _, _ in origin}) == 1 else None
            self.new2025[code] = Place(
                NEW2025,
                code,
                row["name"],
                row["unit_type"],
                in_scope=province in self.provinces,
                province_name=provinces[province],
                districts=frozenset(district for _, district, _ in origin),
                codes=(single[0], single[1], code) if single else (None, None, code),
            )
        self._communes = _NameIndex([*self.pre2025.values(), *self.new2025.values()])
        self._districts = _NameIndex(self.districts.values())

    # -- public API --

    def resolve(
        self,
        commune: str | None,
        district: str | None = None,
        code: str | None = None,
        record_date: date | None = None,
        code_system: str | None = None,
    ) -> Resolution:
        """Resolve one place; memoised per distinct (commune, district, code, era, code_system)."""
        args = (commune, district, code, _era(record_date), code_system)
        try:
            hash(args)
        except TypeError:  # an unhashable cell: resolve without the cache
            return self._resolve(*args)
        return self._resolve_cached(*args)

    def resolve_many(self, inputs: Iterable[ResolveArgs]) -> dict[ResolveArgs, Resolution]:
        """Resolve each distinct (commune, district, code, record_date, code_system) tuple once."""
        return {args: self.resolve(*args) for args in dict.fromkeys(inputs)}

    def resolve_area(self, name: str | None, record_date: date | None = None, level: str | None = None) -> Resolution:
        """Resolve a reporting area that may be an old district or a commune (monthly reports).

        The unit type written decides ("TP. Quy Nhơn", "Huyện Tuy Phước" → the district;
        "Phường …", "Xã …", "TT …" → the commune, as `resolve`). A bare name is read as every
        unit it can be on the record date: before 2025-07-01 an old district or an old commune
        (a 2025 commune did not exist yet), from 2025-07-01 a 2025 commune (districts were
        abolished), or an old district only when `level` says the report is by district. One
        reading → that unit; two ("Tuy Phước": Huyện Tuy Phước and Thị trấn Tuy Phước) →
        `ambiguous_place`, unless `level` ("district" / "commune") picks one.

        A district answer has `district_code_pre2025` only (no commune code: a district's area went
        to several 2025 communes) and `level` "district".
        """
        if level not in (None, "district", "commune"):
            raise ValueError(f"level must be 'district', 'commune' or None, not {level!r}")
        text = None if _blank(name) else str(name)
        return self._area_cached(text, _era(record_date), level)

    def resolve_areas(self, inputs: Iterable[tuple[Any, Any]]) -> dict[tuple[Any, Any], Resolution]:
        """Resolve the areas of one report, each distinct (name, record_date) once.

        A bare name that reads as both a district and a commune takes the level of the report
        when every area the report places unambiguously is of that one level (a list of old
        districts, or a list of communes); the detail says so. A report mixing levels leaves
        such names ambiguous: nobody guesses.
        """
        answers = {args: self.resolve_area(*args) for args in dict.fromkeys(inputs)}
        levels = {r.level for r in answers.values() if r.ok}
        if len(levels) == 1 and (level := levels.pop()) is not None:
            for args, res in answers.items():
                if res.reason == AMBIGUOUS_PLACE:
                    again = self.resolve_area(*args, level=level)
                    if again.ok:
                        answers[args] = replace(
                            again, detail=f"{again.detail} Read as a {level}, like every other area of the report."
                        )
        return answers

    def clear_cache(self) -> None:
        """Forget memoised resolutions and parsed names (benchmarks measure the cold path)."""
        self._resolve_cached.cache_clear()
        self._area_cached.cache_clear()
        self._match_name.cache_clear()
        self._district_hint.cache_clear()
        parse_place_name.cache_clear()
        _legacy_readings.cache_clear()

    # -- internals --

    def _resolve(self, commune: Any, district: Any, code: Any, era: str | None, code_system: Any) -> Resolution:
        if code_system is not None and code_system not in CODE_SYSTEMS:
            raise ValueError(f"code_system must be one of {CODE_SYSTEMS}, not {code_system!r}")
        hint = self._district_hint(None if _blank(district) else str(district))
        if hint.outside:
            return _refuse(
                UNKNOWN_PLACE,
                f"District '{hint.text}' is in {_former(hint.outside)}, outside this resolver's scope.",
                hint.outside,
            )
        text = None if _blank(commune) else str(commune)
        if not _blank(code):
            return self._resolve_code(code, code_system, text, hint, era)
        if text is None:
            return _refuse(UNKNOWN_PLACE, "No commune name or code was given.")
        match = self._match_name(text)
        if isinstance(match, Resolution):
            return match
        return self._decide(list(match.places), match.subject, match.unit_type, hint, era)

    def _match_name_uncached(self, text: str) -> _NameMatch | Resolution:
        """The places a commune name matches in the scope, or the refusal the name alone earns."""
        name = parse_place_name(text)
        if name is None:
            return _refuse(UNKNOWN_PLACE, "No commune name or code was given.")
        level, matches, unit_type = self._communes.lookup(text, name)
        if unit_type in DISTRICT_TYPES:
            return _refuse(UNKNOWN_PLACE, f"'{text}' names a district or province, not a commune.")
        if not matches:
            return _refuse(UNKNOWN_PLACE, f"No commune called '{text}' in the reference lists.")
        inside = [p for p in matches if p.in_scope]
        if level == "typo" and len({self._communes.key_of[p] for p in matches}) > 1:
            return _refuse(
                AMBIGUOUS_PLACE, f"'{text}' is one or two letters away from several commune names.", inside or matches
            )
        if not inside:
            return _refuse(
                UNKNOWN_PLACE,
                f"'{text}' is only a commune of {_former(matches)}, outside this resolver's scope.",
                matches,
            )
        if level == "diacritics":
            return _refuse(
                UNKNOWN_PLACE, f"'{text}' differs from the official names in its diacritics: another name.", inside
            )
        typed = unit_type in COMMUNE_TYPES and not any(p.unit_type == unit_type for p in inside)
        if typed and (typed_outside := [p for p in matches if p.unit_type == unit_type]):
            return _refuse(
                UNKNOWN_PLACE,
                f"'{text}' is a commune of {_former(typed_outside)}, outside this resolver's scope.",
                typed_outside,
            )
        return _NameMatch(tuple(inside), f"'{text}'{_LEVEL_NOTE[level]}", unit_type)

    def area_code(self, res: Resolution, record_date: date | None) -> tuple[str | None, str | None]:
        """(area_level, area_code) of a placed reporting area: its code together with the code system.

        "district_pre2025" for an old district. A commune takes the system of the record date, as
        far as that names the same territory: from 2025-07-01 "commune_2025" when the name is a 2025
        commune (or an old commune that became one whole), but "commune_pre2025" for an old commune
        that is only part of its 2025 commune (its figures are not the new commune's); before
        2025-07-01 "commune_pre2025" when known. (None, None) when the area is not placed.
        """
        if res.level == "district":
            return "district_pre2025", res.district_code_pre2025
        if res.level != "commune":
            return None, None
        old, new = res.commune_code_pre2025, res.commune_code_2025
        if old is None:
            return "commune_2025", new
        if new is not None and _era(record_date) == NEW2025 and self.new2025[new].codes[0] == old:
            return "commune_2025", new
        return "commune_pre2025", old

    def _resolve_area(self, text: str | None, era: str | None, level: str | None) -> Resolution:
        name = parse_place_name(text) if text is not None else None
        if text is None or name is None:
            return _refuse(UNKNOWN_PLACE, "No reporting area was given.")
        found, districts, district_type = self._districts.lookup(text, name)
        written = district_type if districts else self._communes.lookup(text, name)[2]
        if written in DISTRICT_TYPES:
            return self._district_area(text, found, districts)
        commune = self._resolve_cached(text, None, None, era, None)
        if written in COMMUNE_TYPES:
            return commune
        district = self._district_area(text, found, districts) if districts else None
        as_district = district is not None and district.ok and (era != NEW2025 or level == "district")
        # before 2025-07-01 only an old commune existed under that name (the 2025 ones came later)
        as_commune = commune.ok and (era != PRE2025 or commune.commune_code_pre2025 is not None)
        if as_district and as_commune and level is not None:
            as_district, as_commune = level == "district", level == "commune"
        if as_district and as_commune:
            assert district is not None
            unit = self.pre2025.get(str(commune.commune_code_pre2025)) or self.new2025[str(commune.commune_code_2025)]
            return Resolution(
                None, None, None, AMBIGUOUS_PLACE,
                candidates=(*district.candidates, unit.label),
                detail=f"'{text}' is both the district {district.candidates[0]} and the commune {unit.label}; "
                "write the unit type (Huyện/Thị xã/Thành phố or Xã/Phường/Thị trấn).",
            )  # fmt: skip
        if as_district:
            assert district is not None
            return district
        if as_commune or not commune.ok or district is None:
            return commune
        return _refuse(UNKNOWN_PLACE, f"'{text}' names no unit that existed on the record date.", [])

    def _district_area(self, text: str, found: str, matches: list[Place]) -> Resolution:
        """An old district as a reporting area (district code only), or the refusal."""
        if not matches:
            return _refuse(UNKNOWN_PLACE, f"No district called '{text}' in the reference lists.")
        inside = [p for p in matches if p.in_scope]
        if found == "diacritics":
            return _refuse(
                UNKNOWN_PLACE, f"'{text}' differs from the official names in its diacritics: another name.", matches
            )
        if not inside:
            return _refuse(
                UNKNOWN_PLACE, f"'{text}' is a district of {_former(matches)}, outside this resolver's scope.", matches
            )
        if len(inside) > 1:
            return _refuse(AMBIGUOUS_PLACE, f"'{text}' matches several districts.", inside)
        (place,) = inside
        return Resolution(
            None, place.code, None, None, candidates=(place.label,),
            detail=f"'{text}'{_LEVEL_NOTE[found]} is the old district {place.code} {place.name}; its area went to "
            "several 2025 communes, so it has no commune code.",
        )  # fmt: skip

    def _district_hint_uncached(self, text: str | None) -> _DistrictHint:
        if not text:
            return _NO_DISTRICT
        if (code := _normalise_code(text)) and code[2:] in self.districts:  # a district code, "540"
            matches = [self.districts[code[2:]]]
        else:
            name = parse_place_name(text)
            matches = self._districts.lookup(text, name)[1] if name else []
        if not matches:
            return _DistrictHint(text, unrecognised=True)
        inside = frozenset(p.code for p in matches if p.in_scope)
        return _DistrictHint(text, codes=inside) if inside else _DistrictHint(text, outside=tuple(matches))

    def _decide(
        self, places: list[Place], subject: str, unit_type: str | None, hint: _DistrictHint, era: str | None
    ) -> Resolution:
        """Apply the district, date and unit-type hints; one distinct code triple or a refusal."""
        if hint.codes:
            in_district = [p for p in places if p.system == PRE2025 and p.district_code in hint.codes]
            in_district = in_district or [p for p in places if p.system == NEW2025 and p.districts & hint.codes]
            if not in_district:
                return _refuse(UNKNOWN_PLACE, f"{subject} is not in district '{hint.text}'.", places)
            places = in_district
        if era == PRE2025:
            places = _prefer(places, lambda p: p.system == PRE2025)
        if unit_type is not None:
            places = _prefer(places, lambda p: p.unit_type == unit_type)
        if era == NEW2025:
            places = _prefer(places, lambda p: p.system == NEW2025)
        if len({p.codes for p in places}) > 1:
            return _refuse(
                AMBIGUOUS_PLACE,
                f"{subject} matches {len(places)} different places; give a district, date or code.",
                places,
            )
        return self._answer(places[0], subject, hint)

    def _answer(self, place: Place, subject: str, hint: _DistrictHint) -> Resolution:
        ignored = f" District '{hint.text}' was not recognised and was ignored." if hint.unrecognised else ""
        if place.unallocated:
            return Resolution(
                *place.codes,
                reason=SPLIT_COMMUNE_UNALLOCATED,
                candidates=tuple(f"{c} {self.new2025[c].name} (2025)" for c in sorted(self.targets[place.code])),
                detail=f"{subject} is {place.name}, split in 2025 with no documented target; the 2025 commune is unknown.{ignored}",
            )
        note = ""
        if place.system == PRE2025 and len(self.targets.get(place.code, ())) > 1:
            default = place.codes[2] == self.pre2025[place.code].codes[2]
            note = f" (split in 2025; {'its documented default target' if default else 'the part the code names'})"
        return Resolution(*place.codes, reason=None, detail=f"{subject} is {place.label}{note}.{ignored}")

    def _code_places(self, code: str, systems: Sequence[str]) -> tuple[list[Place], str]:
        places, note = [], ""
        if PRE2025 in systems and code in self.pre2025:
            places.append(self.pre2025[code])
        if NEW2025 in systems:
            official = code if code in self.new2025 else DRAFT_CODES_2025.get(code)
            if official is not None:
                places.append(self.new2025[official])
                if official != code:
                    note = f" (draft code {code} is {official} in the official 2025 list)"
        return places, note

    def _resolve_code(
        self,
        raw: Any,
        system: str | None,
        text: str | None,
        hint: _DistrictHint,
        era: str | None,
    ) -> Resolution:
        code = _normalise_code(raw)
        if code is None:
            return _refuse(UNKNOWN_CODE, f"'{raw}' is not a 5-digit commune code.")
        places, note = self._code_places(code, (system,) if system else CODE_SYSTEMS)
        if not places:
            others, _ = self._code_places(code, CODE_SYSTEMS)
            elsewhere = f" It is {others[0].label} in the {others[0].system} list." if others else ""
            return _refuse(
                UNKNOWN_CODE,
                f"No commune has code {code} in the {system or 'pre2025 or 2025'} list.{elsewhere}",
                others,
            )
        inside = [p for p in places if p.in_scope]
        if not inside:
            return _refuse(
                UNKNOWN_PLACE, f"Code {code} is a commune of {_former(places)}, outside this resolver's scope.", places
            )
        subject = f"code {code}{note}"
        name = parse_place_name(text) if text is not None else None
        if text is not None and name is not None:
            named = self._communes.lookup(text, name)[1]
            checked = self._check_name(inside, named)
            if not checked:
                return _refuse(CODE_NAME_MISMATCH, f"Code {code} is not the commune named '{text}'.", [*inside, *named])
            inside, subject = checked, f"code {code}{note} with name '{text}'"
        if hint.codes:
            in_district = [p for p in inside if p.districts & hint.codes]
            if not in_district:
                return _refuse(CODE_NAME_MISMATCH, f"Code {code} is not in district '{hint.text}'.", inside)
            inside = in_district
        return self._decide(inside, subject, None, _NO_DISTRICT if hint.codes else hint, era)

    def _check_name(self, places: list[Place], named: list[Place]) -> list[Place]:
        """The code's places the name agrees with: the same unit, or an old commune and the new
        commune it went into (then both codes are exact, `codes` of the pair)."""
        same = [p for p in places if p in named]
        if same:
            return same
        pairs = []
        for p in places:
            for n in named:
                old, new = (p, n) if p.system == PRE2025 else (n, p)
                if old.system == PRE2025 and new.system == NEW2025 and new.code in self.targets.get(old.code, ()):
                    pairs.append(_pair(old, new))
        return pairs


def _pair(old: Place, new: Place) -> Place:
    """An old commune placed in a given new commune (a code and a name that agree across systems)."""
    return Place(
        PRE2025,
        old.code,
        old.name,
        old.unit_type,
        old.in_scope,
        old.province_name,
        old.district_code,
        old.district_name,
        old.districts,
        codes=(old.code, old.district_code, new.code),
    )


@cache
def _default_resolver(provinces: tuple[str, ...]) -> PlaceResolver:
    return PlaceResolver(provinces)


__all__ = [
    "AMBIGUOUS_PLACE",
    "CODE_NAME_MISMATCH",
    "DRAFT_CODES_2025",
    "NEW2025",
    "PRE2025",
    "REORGANISATION_DATE",
    "SPLIT_COMMUNE_UNALLOCATED",
    "UNKNOWN_CODE",
    "UNKNOWN_PLACE",
    "Place",
    "PlaceName",
    "PlaceResolver",
    "Resolution",
    "land_use_code_exists",
    "land_use_group",
    "load_reference",
    "parse_place_name",
    "vsco_group_exists",
    "vsic_section",
]
