"""Labelled inputs for the place resolver: generated variants of every commune in scope, and
hand-written hard cases.

Labels come from the reference lists and the rules documented in `pipelines/reference.py`,
computed here by brute force over all units (no resolver index, no resolver code), so that the
evaluation measures the resolver against the rules rather than against itself. A label is either
the expected code triple (commune_code_pre2025, district_code_pre2025, commune_code_2025) or a
refusal reason. Shared by `tests/unit/test_resolver_eval.py` and `benchmarks/bench_resolver.py`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from pipelines.reference import PlaceResolver, Resolution, load_reference
from pipelines.text import canonical_tones, encode_legacy, fold, fold_ascii

Triple = tuple[str | None, str | None, str | None]

BEFORE = date(2024, 12, 31)  # a record from the old system
AFTER = date(2025, 9, 30)  # a record from the new system
SCOPE = ("52",)
# DOMAIN.md §1: codes from the draft list that files made in mid-2025 may carry.
DRAFT = {"21862": "21859", "21889": "21901", "21898": "21880", "22003": "22006", "23737": "23938"}
WIDE = ("52", "64")

AMBIGUOUS = "ambiguous_place"
UNKNOWN = "unknown_place"
MISMATCH = "code_name_mismatch"
UNKNOWN_CODE = "unknown_code"
UNALLOCATED = "split_commune_unallocated"


@dataclass(frozen=True)
class Case:
    """One input and what the resolver must answer: `expected` codes (with `reason` None or the
    unallocated flag), or `expected` None and the refusal `reason`."""

    commune: str | None
    district: str | None = None
    code: str | None = None
    record_date: date | None = None
    code_system: str | None = None
    expected: Triple | None = None
    reason: str | None = None
    style: str = "hard"
    provinces: tuple[str, ...] = SCOPE
    note: str = ""

    @property
    def args(self) -> tuple[str | None, str | None, str | None, date | None, str | None]:
        return (self.commune, self.district, self.code, self.record_date, self.code_system)

    @property
    def answerable(self) -> bool:
        return self.expected is not None

    @property
    def group(self) -> str:
        """Recall group: names with / without diacritics, codes, hand-written hard cases."""
        if self.style == "hard":
            return "hard"
        if self.style.startswith("code"):
            return "code"
        text = unicodedata.normalize("NFC", self.commune)
        return "no_diacritics" if text.isascii() else "diacritics"


# --- Units, independently of the resolver ---------------------------------------------------

_PREFIX_RE = re.compile(r"^(Thành phố|Thị xã|Thị trấn|Huyện|Phường|Xã) ")
_ABBREVIATIONS = {"phuong": ("P.", "P. ", "P "), "xa": ("X.", "X. ", "X "), "thi_tran": ("TT.", "TT. ", "TT ")}
_DISTRICT_ABBREVIATIONS = {"thanh_pho": "TP. ", "thi_xa": "TX. ", "huyen": "H. "}


@dataclass(frozen=True)
class Unit:
    system: str
    code: str
    name: str
    unit_type: str
    province: str  # old province (a new commune: where its territory came from)
    district: str | None  # pre-2025 only
    districts: frozenset[str]  # old districts its territory covers
    truth: Triple
    unallocated: bool = False

    @property
    def bare(self) -> str:
        return _PREFIX_RE.sub("", self.name)

    @property
    def prefix(self) -> str:
        return self.name[: len(self.name) - len(self.bare)].strip()


@dataclass(frozen=True)
class Lists:
    units: tuple[Unit, ...]
    district_names: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (name, type)
    targets: dict[str, frozenset[str]] = field(default_factory=dict)

    def in_scope(self, provinces: tuple[str, ...] = SCOPE) -> list[Unit]:
        return [u for u in self.units if u.province in provinces]


@cache
def reference_units() -> Lists:
    pre = load_reference("admin_units_pre2025")
    districts = {r["code"]: r for r in pre if r["level"] == "district"}
    crosswalk = load_reference("admin_unit_crosswalk_2025")
    targets: dict[str, set[str]] = {}
    default: dict[str, str] = {}
    sources: dict[str, set[tuple[str, str, str]]] = {}
    for r in crosswalk:
        targets.setdefault(r["old_commune_code"], set()).add(r["new_commune_code"])
        sources.setdefault(r["new_commune_code"], set()).add(
            (r["old_commune_code"], r["old_district_code"], r["old_province_code"])
        )
        if r["default_target"] == "1":
            default[r["old_commune_code"]] = r["new_commune_code"]
    units = []
    for r in pre:
        if r["level"] == "commune":
            d = districts[r["parent_code"]]
            target = default.get(r["code"])
            truth = (r["code"], d["code"], target)
            units.append(
                Unit(
                    "pre2025",
                    r["code"],
                    r["name"],
                    r["unit_type"],
                    d["parent_code"],
                    d["code"],
                    frozenset({d["code"]}),
                    truth,
                    target is None,
                )
            )
    for r in load_reference("admin_units_2025"):
        if r["level"] == "commune":
            src = sources[r["code"]]
            olds = {s[0] for s in src}
            (province,) = {s[2] for s in src}
            only = next(iter(src)) if len(olds) == 1 else None
            truth = (only[0], only[1], r["code"]) if only else (None, None, r["code"])
            units.append(
                Unit("2025", r["code"], r["name"], r["unit_type"], province, None, frozenset(s[1] for s in src), truth)
            )
    return Lists(
        tuple(units),
        {c: (d["name"], d["unit_type"]) for c, d in districts.items()},
        {k: frozenset(v) for k, v in targets.items()},
    )


def levenshtein(a: str, b: str, cap: int = 3) -> int:
    """Edit distance by textbook dynamic programming, or `cap` as soon as it must exceed it."""
    if abs(len(a) - len(b)) >= cap:
        return cap
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) >= cap:
            return cap
        previous = current
    return min(previous[-1], cap)


# --- The rules, by brute force --------------------------------------------------------------


def expected_by_rules(
    peers: list[Unit], unit_type: str | None, district: str | None, when: date | None
) -> tuple[Triple | None, str | None]:
    """The documented hint order over the units a name matched: district, date before the
    reorganisation, unit type, date after; one distinct code triple or ambiguous."""
    if district is not None:
        inside = [u for u in peers if u.system == "pre2025" and u.district == district]
        peers = inside or [u for u in peers if u.system == "2025" and district in u.districts]
        if not peers:
            return None, UNKNOWN

    def prefer(keep: Callable[[Unit], bool]) -> None:
        nonlocal peers
        peers = [u for u in peers if keep(u)] or peers

    if when is not None and when < date(2025, 7, 1):
        prefer(lambda u: u.system == "pre2025")
    if unit_type is not None:
        prefer(lambda u: u.unit_type == unit_type)
    if when is not None and when >= date(2025, 7, 1):
        prefer(lambda u: u.system == "2025")
    if len({u.truth for u in peers}) > 1:
        return None, AMBIGUOUS
    unit = peers[0]
    return unit.truth, UNALLOCATED if unit.unallocated else None


def name_peers(unit: Unit, diacritics: bool, provinces: tuple[str, ...] = SCOPE) -> list[Unit]:
    """Units in scope that a name written like `unit`'s matches: same folded name when the input
    has diacritics, same name without diacritics when it has none."""
    key = fold if diacritics else fold_ascii
    return _peers_by_key(diacritics, provinces).get(key(unit.bare), [])


@cache
def _peers_by_key(diacritics: bool, provinces: tuple[str, ...]) -> dict[str, list[Unit]]:
    key = fold if diacritics else fold_ascii
    peers: dict[str, list[Unit]] = {}
    for u in reference_units().in_scope(provinces):
        peers.setdefault(key(u.bare), []).append(u)
    return peers


# --- Styles ---------------------------------------------------------------------------------

_TONES = "\u0300\u0301\u0303\u0309\u0323"
_NEW_TONE_RE = re.compile(rf"([oO])([{_TONES}])([aAeE])(?![^\W\d_])|([uU])([{_TONES}])([yY])(?![^\W\d_])")


def old_tone(text: str) -> str:
    """'Hòa' → 'Hoà': the tone on the second vowel, as typed by older keyboards."""

    def move(m: re.Match[str]) -> str:
        return m.group(1) + m.group(3) + m.group(2) if m.group(1) else m.group(4) + m.group(6) + m.group(5)

    return unicodedata.normalize("NFC", _NEW_TONE_RE.sub(move, unicodedata.normalize("NFD", text)))


def _styles(unit: Unit, i: int) -> Iterator[tuple[str, str, str | None]]:
    """(style, text, unit type the text carries) for the name of `unit`; `i` rotates minor variants."""
    name, bare, kind = unit.name, unit.bare, unit.unit_type
    abbreviation = _ABBREVIATIONS[kind][i % 3]
    yield "official", name, kind
    yield "bare", bare, None
    yield "abbreviated", abbreviation + bare, kind
    yield "upper", name.upper(), kind
    yield "lower_bare", bare.lower(), None
    yield "nfd", unicodedata.normalize("NFD", name), kind
    if old_tone(name) != name:
        yield "old_tone", old_tone(name), kind
    elif canonical_tones(name) != name:  # the list itself has the old style ("Nhơn Hoà")
        yield "new_tone", canonical_tones(name), kind
    yield "tcvn3", encode_legacy(name, "tcvn3"), kind
    yield "tcvn3_upper", encode_legacy(name.upper(), "tcvn3"), kind
    yield "vni", encode_legacy(name, "vni"), kind
    yield "vni_bare", encode_legacy(bare, "vni"), None
    spaced = (f"  {unit.prefix}   {bare} ,", f"{unit.prefix} {bare.replace(' ', '-')}", f"({bare}).")[i % 3]
    yield "spaces_punct", spaced, kind if i % 3 < 2 else None
    if re.search(r"\bQuy\b", name):
        yield "qui", re.sub(r"\bQuy\b", "Qui", name), kind
    ascii_name, ascii_bare = fold_ascii(name).title(), fold_ascii(bare).title()
    yield "ascii_official", ascii_name, kind
    yield "ascii_bare", ascii_bare, None
    yield "ascii_abbreviated", abbreviation + ascii_bare, kind
    yield "ascii_upper", ascii_bare.upper(), None
    if re.search(r"\bQuy\b", name):
        yield "ascii_qui", re.sub(r"\bQuy\b", "Qui", ascii_bare), None


def _typos(text: str) -> Iterator[str]:
    """One-letter typos of `text`, middle letters first: deletion, doubling, substitution."""
    positions = [j for j, ch in enumerate(text) if ch.isalpha()]
    middle = len(positions) // 2
    order = sorted(positions, key=lambda j: abs(positions.index(j) - middle))
    for j in order:
        yield text[:j] + text[j + 1 :]
        yield text[:j] + text[j] + text[j:]
        replacement = "x" if text[j].lower() != "x" else "z"
        yield text[:j] + replacement + text[j + 1 :]


@cache
def _all_keys() -> tuple[frozenset[str], frozenset[str], tuple[tuple[str, str], ...]]:
    """Folded names, ascii names and (fold, ascii) pairs of every unit and district in the lists."""
    lists = reference_units()
    names = [u.bare for u in lists.units] + [_PREFIX_RE.sub("", n) for n, _ in lists.district_names.values()]
    pairs = tuple(sorted({(fold(n), fold_ascii(n)) for n in names}))
    return frozenset(p[0] for p in pairs), frozenset(p[1] for p in pairs), pairs


def _deletions(key: str, depth: int = 2) -> set[str]:
    """`key` with up to `depth` letters deleted: two strings within `depth` edits share one."""
    found, frontier = {key}, {key}
    for _ in range(depth):
        frontier = {k[:i] + k[i + 1 :] for k in frontier for i in range(len(k))}
        found |= frontier
    return found


@cache
def _by_deletion() -> dict[str, set[tuple[str, str]]]:
    index: dict[str, set[tuple[str, str]]] = {}
    for pair in _all_keys()[2]:
        for v in _deletions(pair[1]):
            index.setdefault(v, set()).add(pair)
    return index


def unique_typo(unit: Unit, diacritics: bool) -> str | None:
    """A one-letter typo of `unit`'s bare name (≥ 5 letters) that is one edit from its name and more
    than two edits from every other name in the lists (the resolver's rule for a clear typo)."""
    folds, asciis, _ = _all_keys()
    target = fold(unit.bare)
    base = unit.bare if diacritics else fold_ascii(unit.bare).title()
    for typo in _typos(base):
        q_fold, q_ascii = fold(typo), fold_ascii(typo)
        if len(q_ascii.replace(" ", "")) < 5 or q_fold in folds or q_ascii in asciis:
            continue
        candidates = {pair for v in _deletions(q_ascii) for pair in _by_deletion().get(v, ())}
        near = {f: d for f, a in candidates if (d := levenshtein(q_ascii, a)) <= 2}
        if set(near) == {target} and near[target] == 1:
            return typo
    return None


def _district_styles(code: str, i: int, diacritics: bool) -> str:
    name, kind = reference_units().district_names[code]
    bare = _PREFIX_RE.sub("", name)
    text = (name, _DISTRICT_ABBREVIATIONS[kind] + bare, bare)[i % 3]
    text = text.replace("Quy Nhơn", "Qui Nhơn") if i % 2 else text
    return text if diacritics else fold_ascii(text).title()


# --- Generated cases ------------------------------------------------------------------------


def generated_cases() -> list[Case]:
    """Every Bình Định commune, old (155) and new (58), in every style, with and without district,
    record date and code."""
    lists = reference_units()
    cases: list[Case] = []
    units = lists.in_scope()
    for i, unit in enumerate(units):
        old = unit.system == "pre2025"
        hints: list[tuple[str | None, date | None, str]] = [(None, None, ""), (None, AFTER, "+after")]
        hints += [(None, BEFORE, "+before")]
        if old:
            hints += [("district", BEFORE, "+district+before"), ("district_styled", None, "+district")]
        styles = list(_styles(unit, i))
        for diacritics in (True, False):
            typo = unique_typo(unit, diacritics)
            if typo is not None:
                styles.append(("typo" if diacritics else "ascii_typo", typo, None))
        for style, text, unit_type in styles:
            diacritics = not unicodedata.normalize("NFC", text).isascii()
            peers = name_peers(unit, diacritics)
            for district_style, when, suffix in hints:
                district_text = None
                district = unit.district if district_style else None
                if district is not None:
                    district_text = _district_styles(district, 0 if district_style == "district" else i + 1, diacritics)
                expected, reason = expected_by_rules(peers, unit_type, district, when)
                cases.append(Case(text, district_text, None, when, None, expected, reason, style + suffix))
        cases.extend(_code_cases(unit, i, units))
    return cases


def _code_cases(unit: Unit, i: int, units: list[Unit]) -> Iterator[Case]:
    system = unit.system
    lists = reference_units()
    yield Case(None, None, unit.code, None, system, unit.truth, _flag(unit), "code")
    yield Case(unit.name, None, unit.code, None, system, unit.truth, _flag(unit), "code_name")
    yield Case(None, None, f"{int(unit.code)}.0", None, system, unit.truth, _flag(unit), "code_excel")
    # Without its system: the code's units in both lists, the record date as a preference.
    same_code = [u for u in units if u.code == unit.code or (u.system == "2025" and u.code == DRAFT.get(unit.code))]
    for when in (BEFORE, AFTER):
        expected, reason = expected_by_rules(same_code, None, None, when)
        yield Case(None, None, unit.code, when, None, expected, reason, "code_nosystem")
    # A name from elsewhere: not the code's commune, not an old commune inside the new one.
    other = units[(i + 37) % len(units)]
    related = any(
        p.code == unit.code or p.code in lists.targets.get(unit.code, ()) or unit.code in lists.targets.get(p.code, ())
        for p in name_peers(other, True)
    )
    if fold_ascii(other.bare) != fold_ascii(unit.bare) and not related:
        yield Case(other.name, None, unit.code, None, system, None, MISMATCH, "code_other_name")


def _flag(unit: Unit) -> str | None:
    return UNALLOCATED if unit.unallocated else None


# --- Hard cases -----------------------------------------------------------------------------


def _c(commune: str | None, expected: Triple | str, **kw: Any) -> Case:
    if isinstance(expected, str):
        return Case(commune, expected=None, reason=expected, **kw)
    reason = UNALLOCATED if expected[2] is None else None
    return Case(commune, expected=expected, reason=reason, **kw)


HARD_CASES: list[Case] = [
    # Nhơn Hòa: a ward of An Nhơn (Bình Định) and a town of Chư Pưh (old Gia Lai).
    _c("Nhơn Hòa", ("21943", "549", "21943"), note="default scope is Bình Định"),
    _c("Nhon Hoa", ("21943", "549", "21943")),
    _c("Phường Nhơn Hoà", ("21943", "549", "21943")),
    _c("Nhơn Hòa", AMBIGUOUS, provinces=WIDE, note="both provinces in scope"),
    _c("Nhơn Hòa", ("21943", "549", "21943"), district="Thị xã An Nhơn", provinces=WIDE),
    _c("Nhơn Hòa", ("23942", "639", "23942"), district="Huyện Chư Pưh", provinces=WIDE),
    _c("Nhơn Hòa", UNKNOWN, district="Huyện Chư Pưh", note="district outside the scope"),
    _c("Thị trấn Nhơn Hoà", UNKNOWN, note="only old Gia Lai has a town of that name"),
    _c("Thị trấn Nhơn Hoà", ("23942", "639", "23942"), provinces=WIDE),
    _c("Chư Pưh", UNKNOWN, note="a new commune of old Gia Lai territory"),
    _c("Phường Tây Sơn", UNKNOWN, note="wards of Pleiku and An Khê, not the new Xã Tây Sơn"),
    _c("Tây Sơn", (None, None, "21808")),
    _c("Đống Đa", ("21556", "540", "21583")),
    _c("Đống Đa", AMBIGUOUS, provinces=WIDE),
    # Ngô Mây: a ward of Quy Nhơn, a town of Phù Cát (both pre-2025), a new commune (2025).
    _c("Ngô Mây", AMBIGUOUS),
    _c("Ngo May", AMBIGUOUS),
    _c("Phường Ngô Mây", ("21577", "540", "21592")),
    _c("P. Ngo May", ("21577", "540", "21592")),
    _c("Phường Ngô Mây", ("21577", "540", "21592"), record_date=AFTER, note="unit type before date"),
    _c("Thị trấn Ngô Mây", ("21853", "548", "21853")),
    _c("TT Ngô Mây", ("21853", "548", "21853"), record_date=AFTER),
    _c("Xã Ngô Mây", (None, None, "21901")),
    _c("Xã Ngô Mây", AMBIGUOUS, record_date=BEFORE, note="no Xã Ngô Mây before 2025"),
    _c("Ngô Mây", (None, None, "21901"), record_date=AFTER),
    _c("Ngô Mây", AMBIGUOUS, record_date=BEFORE),
    _c("Ngô Mây", ("21853", "548", "21853"), district="Huyện Phù Cát"),
    _c("Ngô Mây", ("21577", "540", "21592"), district="TP Quy Nhơn"),
    _c("Ngô Mây", UNKNOWN, district="Huyện An Lão"),
    # Cát Tiến: a town of Phù Cát before 2025, a new commune after.
    _c("Cát Tiến", AMBIGUOUS),
    _c("Cát Tiến", ("21898", "548", "21880"), record_date=BEFORE),
    _c("Cát Tiến", (None, None, "21880"), record_date=AFTER),
    _c("Thị trấn Cát Tiến", ("21898", "548", "21880")),
    _c("Xã Cát Tiến", (None, None, "21880"), record_date=AFTER),
    _c("Xã Cát Tiến", ("21898", "548", "21880"), record_date=BEFORE, note="a xã until 2020"),
    _c("Cát Tiến", ("21898", "548", "21880"), district="H. Phù Cát"),
    # Bình An: only a new commune (Tây Sơn); in four other provinces too.
    _c("Bình An", (None, None, "21829")),
    _c("Xã Bình An", (None, None, "21829"), district="Huyện Tây Sơn"),
    _c("Bình An", UNKNOWN, district="Huyện Phù Cát"),
    # Bình Định: an old ward and a new ward with the same code, and the province.
    _c("Phường Bình Định", AMBIGUOUS),
    _c("Phường Bình Định", ("21907", "549", "21907"), district="Thị xã An Nhơn"),
    _c("Phường Bình Định", (None, None, "21907"), record_date=AFTER),
    _c("Tỉnh Bình Định", UNKNOWN),
    _c("Thị xã An Nhơn", UNKNOWN, note="a district in the commune column"),
    _c("TP. Quy Nhơn", UNKNOWN),
    _c("Quy Nhơn", (None, None, "21583")),
    _c("Qui Nhơn Đông", (None, None, "21601")),
    _c("Quy Nhơn Đông", (None, None, "21601"), district="Thành phố Quy Nhơn"),
    _c("Quy Nhơn Đông", UNKNOWN, district="Huyện Vân Canh"),
    # Phù Mỹ vs Phú Mỹ: no Phú Mỹ in the lists; without diacritics the same letters.
    _c("Phu My", AMBIGUOUS, note="old town or new commune"),
    _c("Phu My", ("21730", "545", "21730"), record_date=BEFORE),
    _c("Phu My", ("21730", "545", "21730"), district="Huyen Phu My"),
    _c("Phu My", (None, None, "21730"), record_date=AFTER),
    _c("Phú Mỹ", UNKNOWN, record_date=BEFORE, note="other diacritics: another name"),
    _c("Phú Mỹ", ("21730", "545", "21730"), code="21730", code_system="pre2025", note="the code says which"),
    # Same letters, two districts of Bình Định: An Nghĩa (An Lão) and Ân Nghĩa (Hoài Ân).
    _c("An Nghia", AMBIGUOUS),
    _c("Xa An Nghia", AMBIGUOUS),
    _c("An Nghia", ("21634", "542", "21622"), district="Huyen An Lao"),
    _c("An Nghia", ("21727", "544", "21727"), district="Hoai An"),
    _c("Ân Nghia", ("21727", "544", "21727"), note="the diacritic given decides"),
    _c("An Nghĩa", ("21634", "542", "21622")),
    _c("Ân Nghĩa", ("21727", "544", "21727")),
    # Split communes.
    _c("An Nghĩa", ("21634", "542", "21628"), code="21628", code_system="2025", note="the code names the part"),
    _c("Canh Liên", ("21997", "551", "21997")),
    _c("Canh Liên", ("21997", "551", "21997"), record_date=AFTER, note="the new commune is the old one's rest"),
    _c("Canh Liên", ("21997", "551", "22006"), code="22006", code_system="2025"),
    _c("Canh Hiệp", ("22000", "551", None), note="no documented target: unallocated"),
    _c("Xã Canh Hiệp", ("22000", "551", None), district="Huyện Vân Canh", record_date=BEFORE),
    _c("Canh Hiệp", ("22000", "551", "21994"), code="21994", code_system="2025"),
    _c(None, ("22000", "551", None), code="22000", code_system="pre2025"),
    _c("Nhơn Châu", ("21607", "540", "21607"), note="unchanged: old and new are one place"),
    _c("Tam Quan", AMBIGUOUS),
    _c("Tam Quan", ("21637", "543", "21637"), record_date=BEFORE),
    _c("Tam Quan", (None, None, "21637"), record_date=AFTER),
    # Codes: draft remap, system, Excel, mismatch.
    _c(None, (None, None, "21859"), code="21862", code_system="2025", note="draft Đề Gi"),
    _c("Đề Gi", (None, None, "21859"), code="21862", code_system="2025"),
    _c(None, (None, None, "21901"), code="21889", code_system="2025"),
    _c(None, (None, None, "21880"), code="21898", code_system="2025"),
    _c(None, (None, None, "22006"), code="22003", code_system="2025"),
    _c(None, ("21862", "548", "21859"), code="21862", code_system="pre2025", note="Cát Khánh"),
    _c(None, AMBIGUOUS, code="21862", note="old Cát Khánh or draft Đề Gi"),
    _c("Cát Khánh", ("21862", "548", "21859"), code="21862"),
    _c(None, UNKNOWN, code="23737", code_system="2025", note="draft Ia Mơ, old Gia Lai"),
    _c(None, ("23938", "632", "23938"), code="23737", code_system="2025", provinces=WIDE),
    _c(None, UNKNOWN_CODE, code="21550", code_system="2025"),
    _c(None, UNKNOWN_CODE, code="99999"),
    _c(None, UNKNOWN_CODE, code="abc"),
    _c(None, UNKNOWN_CODE, code="2155", note="zero-padded to 02155: no such code"),
    _c(None, ("21550", "540", "21601"), code=" 21550 ", code_system="pre2025"),
    _c(None, ("21550", "540", "21601"), code="21550", record_date=BEFORE),
    _c(None, (None, None, "21583"), code="21583", record_date=AFTER, note="2025 Quy Nhơn, not old Thị Nại"),
    _c(None, ("21583", "540", "21583"), code="21583", record_date=BEFORE),
    _c("Nhơn Phú", MISMATCH, code="21550", code_system="pre2025"),
    _c("Nhơn Bình", ("21550", "540", "21601"), code="21601", code_system="2025", note="old name, new code"),
    _c("Quy Nhơn Đông", ("21550", "540", "21601"), code="21550", code_system="pre2025"),
    _c("Quy Nhơn Bắc", MISMATCH, code="21550", code_system="pre2025"),
    _c("Nhơn Bình", MISMATCH, code="21550", code_system="pre2025", district="Huyện Phù Cát"),
    _c(None, UNKNOWN, code="23563", note="old Gia Lai code"),
    # Districts in any style, unknown districts, typos, short names.
    _c("Nhơn Bình", ("21550", "540", "21601"), district="Qui Nhơn"),
    _c("Nhơn Bình", ("21550", "540", "21601"), district="Huyện Xyz", note="unrecognised district ignored"),
    _c("Nhơn Bình", UNKNOWN, district="Huyện Phù Cát"),
    _c("Nhơn Bình", ("21550", "540", "21601"), district="540"),
    _c("Nhơn Bìnhh", ("21550", "540", "21601")),
    _c("Nhon Binhh", ("21550", "540", "21601")),
    _c("Nhon Bnh", AMBIGUOUS, note="one letter from Nhơn Bình, two from Nhơn An: not a clear typo"),
    _c("Mỹ Hánh", AMBIGUOUS, note="one letter from Mỹ Chánh and from Mỹ Thành"),
    _c("Ân Mĩ", UNKNOWN, note="4 letters: no typo tolerance"),
    _c("Xã", UNKNOWN),
    _c("", UNKNOWN),
    _c(None, UNKNOWN),
    _c(None, UNKNOWN, district="Huyện Tuy Phước"),
    _c("TTDiêu Trì", ("21955", "550", "21952")),
    _c("T.T. Diêu Trì", ("21955", "550", "21952")),
    _c("Tt.Diêu Trì", ("21955", "550", "21952")),
    _c("thi tran dieu tri", ("21955", "550", "21952")),
    _c("Ph\u00adêng Nh¬n B×nh", ("21550", "540", "21601"), note="TCVN3 with the soft-hyphen ư"),
    _c("An Dòng", ("21616", "542", "21616"), note="TCVN3 that reads as Vietnamese"),
    _c("Thuỷ", UNKNOWN),
]


def hard_cases() -> list[Case]:
    return list(HARD_CASES)


# --- Evaluation -----------------------------------------------------------------------------


@dataclass
class Figures:
    """Per group: inputs, answerable ones, answers given, right answers, wrong answers."""

    inputs: int = 0
    answerable: int = 0
    answered: int = 0
    right: int = 0

    @property
    def wrong(self) -> int:
        return self.answered - self.right

    @property
    def precision(self) -> float:
        return self.right / self.answered if self.answered else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.answerable if self.answerable else 1.0


def is_right(case: Case, res: Resolution) -> bool:
    return res.ok and case.expected is not None and res.codes == case.expected and res.reason == case.reason


def evaluate(cases: Iterable[Case]) -> tuple[dict[str, Figures], list[tuple[Case, Resolution]]]:
    """Figures per group (and "all"), and the cases answered wrongly or not as labelled."""
    figures: dict[str, Figures] = {}
    misses: list[tuple[Case, Resolution]] = []
    for case in cases:
        res = PlaceResolver.default(case.provinces).resolve(*case.args)
        for group in (case.group, "all"):
            f = figures.setdefault(group, Figures())
            f.inputs += 1
            f.answerable += case.answerable
            f.answered += res.ok
            f.right += is_right(case, res)
        labelled_refusal = not case.answerable and not res.ok and res.reason == case.reason
        if not (is_right(case, res) or labelled_refusal):
            misses.append((case, res))
    return figures, misses
