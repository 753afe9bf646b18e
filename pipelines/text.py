"""Vietnamese text: NFC, legacy-font repair (TCVN3, VNI), folding for comparison.

Real exports mix Unicode with text typed in legacy fonts (TCVN3 "B×nh §Þnh", VNI "Bình Ñònh"),
sometimes a whole column, sometimes a few cells, and NFD text from some tools. Every text that
enters the pipeline goes through `clean_text`; comparisons use `fold` or `fold_ascii`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import viparse
from viparse.normalize.encodings import CHARMAPS

LEGACY_ENCODINGS = ("tcvn3", "vni")

# Letters of the Vietnamese alphabet in NFC, both cases: what repaired text must consist of.
_VIET_LOWER = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵfjwz"
_VIET_LETTERS = frozenset(_VIET_LOWER + _VIET_LOWER.upper())
_SPACE_RE = re.compile(r"\s+")


def _is_plain(ch: str) -> bool:
    return ch in _VIET_LETTERS or ch.isascii() or ch in " \u00a0"


_WORD_RE = re.compile(r"[^\W\d_]+")
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def _oddness(text: str) -> int:
    """How un-Vietnamese a text looks: characters outside the alphabet, an upper-case letter
    inside a lower-case word ("nghÌo"), a syllable with two tone marks ("Hé" is fine, "Ìé" not)."""
    score = sum(1 for ch in text if not _is_plain(ch))
    for word in _WORD_RE.findall(text):
        if any(a.islower() and b.isupper() for a, b in zip(word, word[1:], strict=False)):
            score += 1
        if sum(1 for ch in unicodedata.normalize("NFD", word) if ch in _TONE_MARKS) > 1:
            score += 1
    return score


# The same three tests as `_oddness`, as C-speed regexes: a cell passing all three has oddness 0
# and is returned unchanged without the per-character Python loop (most cells of a real file).
_ODD_CHAR_RE = re.compile(r"[^\x00-\x7f\u00a0" + re.escape("".join(sorted(_VIET_LETTERS))) + "]")
_TONED = "".join(ch for ch in sorted(_VIET_LETTERS) if any(m in _TONE_MARKS for m in unicodedata.normalize("NFD", ch)))
_UPPER_INSIDE_RE = re.compile(
    "[" + re.escape("".join(c for c in sorted(_VIET_LETTERS) if c.islower())) + "]"
    "[" + re.escape("".join(c for c in sorted(_VIET_LETTERS) if c.isupper())) + "]"
)
_TWO_TONES_RE = re.compile(f"[{re.escape(_TONED)}][^\\W\\d_]*[{re.escape(_TONED)}]")


def _reads_as_vietnamese(nfc: str) -> bool:
    """True when `_oddness(nfc) == 0`, decided without a Python-level loop."""
    if _ODD_CHAR_RE.search(nfc):
        return False
    # isupper/islower/istitle exclude a lower-case letter followed by an upper-case one (cheaply)
    if not (nfc.isupper() or nfc.islower() or nfc.istitle()) and _UPPER_INSIDE_RE.search(nfc):
        return False
    return not _TWO_TONES_RE.search(nfc)


def repair_legacy(text: str) -> str:
    """Convert one cell typed in TCVN3 or VNI to Unicode NFC; Unicode text comes back unchanged.

    Decided per cell: a cell is converted only when it does not read as Vietnamese (see
    `_oddness`) and a conversion makes it read better.
    VNI is tried first when the cell could be either, because VNI's marks are
    sequences (base letter + mark) that TCVN3 would turn into two wrong letters.
    """
    return _repair(text)[0]


@lru_cache(maxsize=200_000)
def _repair(text: str) -> tuple[str, str | None]:
    """(repaired text, the legacy encoding it was converted from or None)."""
    nfc = unicodedata.normalize("NFC", text)
    if nfc.isascii() or _reads_as_vietnamese(nfc):
        return nfc, None
    best_score = _oddness(nfc)
    best, encoding = nfc, None
    for name in LEGACY_ENCODINGS_TRIED:
        fixed = viparse.fix(nfc, encoding=name)
        score = _oddness(fixed)
        if score < best_score:
            best, best_score, encoding = fixed, score, name
    return best, encoding


# VNI first: its marks are sequences (base letter + mark) that TCVN3 would read as two wrong letters.
LEGACY_ENCODINGS_TRIED = ("vni", "tcvn3")
# A column counts as typed in a legacy font when at least this many of its distinct non-ASCII values,
# and this share of them, needed that font: then cells that happen to read as Vietnamese are read in
# that font too (DOMAIN §4: detect per column, convert per cell).
COLUMN_LEGACY_MIN_VALUES = 3
COLUMN_LEGACY_MIN_SHARE = 0.3


@lru_cache(maxsize=200_000)
def _repair_as(text: str, encoding: str) -> str:
    """A cell read in the column's legacy font, if that reads at least as well as the cell does."""
    nfc = unicodedata.normalize("NFC", text)
    fixed = viparse.fix(nfc, encoding=encoding)
    return fixed if _oddness(fixed) <= _oddness(nfc) else nfc


def clean_text(value: str | None) -> str | None:
    """Repair legacy encoding, NFC, collapse white space; blank → None."""
    if value is None:
        return None
    text = " ".join(repair_legacy(value).split())  # same white space as _SPACE_RE (str.isspace)
    return text or None


@cache
def _needs_work_re2() -> str:
    """RE2 pattern of a cell that `clean_text` would change beyond NFC: a character outside the
    Vietnamese alphabet and ASCII, the two other `_oddness` tests, or white space to collapse.
    RE2 (Arrow's regex engine) differs from `re`: classes are spelled out, `\\s` is not used."""
    letters = sorted(_VIET_LETTERS)
    lower = "".join(c for c in letters if c.islower())
    upper = "".join(c for c in letters if c.isupper())
    all_letters = "".join(letters)
    space = r"\t-\r\x1c-\x1f\x{a0} "
    return "|".join(
        (
            rf"[^\x01-\x7f\x{{a0}}{all_letters}]",
            f"[{lower}][{upper}]",
            f"[{_TONED}][{all_letters}]*[{_TONED}]",
            rf"^[{space}]|[{space}]$|[{space}][{space}]|[\t-\r\x1c-\x1f\x{{a0}}]",
        )
    )


def clean_texts(values: list[str | None], worked: set[str] | None = None) -> list[str | None]:
    """`clean_text` of each value, with the same results, for readers of big files.

    One RE2 scan (Arrow, C++) over the whole list finds the cells `clean_text` would change;
    only those (legacy fonts, NFD, odd white space, blanks: a small share of a real file) go
    through it, once per distinct value, and are added to `worked` if given (a reader looks
    there for U+FFFD from undecodable bytes). A cell passing the scan is made of ASCII and
    precomposed Vietnamese letters only, so it is NFC already and comes back as it is.
    """
    import numpy as np  # imported here: DAG files import pipelines.text, and Arrow is heavy
    import pyarrow as pa
    import pyarrow.compute as pc

    if not values:
        return []
    arr = pa.array(values, type=pa.string())
    needs_work = pc.or_(pc.match_substring_regex(arr, _needs_work_re2()), pc.equal(arr, ""))
    out = list(values)
    cache: dict[str, str | None] = {}
    fonts: dict[str, int] = {}
    for i in np.flatnonzero(needs_work.fill_null(False).to_numpy(zero_copy_only=False)).tolist():
        value = values[i]
        assert value is not None
        cleaned = cache.get(value, "")  # "" is never a cleaned value: it marks a miss
        if cleaned == "":
            cleaned = cache[value] = clean_text(value)
            font = _repair(value)[1]
            if font:
                fonts[font] = fonts.get(font, 0) + 1
        out[i] = cleaned
    if worked is not None:
        worked.update(cache)
    if fonts:
        out = _column_font(values, out, cache, fonts)
    return out


def _column_font(
    values: list[str | None], out: list[str | None], cache: dict[str, str | None], fonts: dict[str, int]
) -> list[str | None]:
    """In a column typed in a legacy font, also read in that font the cells that looked like
    Vietnamese by chance (VNI "Nguyeãn Thò" reads as letters; in a VNI column it is "Nguyễn Thị")."""
    font, converted = max(fonts.items(), key=lambda item: item[1])
    non_ascii = {v for v in values if v is not None and not v.isascii()}
    if converted < COLUMN_LEGACY_MIN_VALUES or converted < COLUMN_LEGACY_MIN_SHARE * len(non_ascii):
        return out
    for i, value in enumerate(values):
        if value is not None and value not in cache and not value.isascii():
            out[i] = clean_text(_repair_as(value, font))
    return out


# Old-style tone placement ("hoà", "thuỷ") → the style of the official lists ("hòa", "thủy").
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook, dot below
_OLD_TONE_RE = re.compile(r"([oO])([aAeE])([" + _TONES + r"])(?![^\W\d_])|([uU])([yY])([" + _TONES + r"])(?![^\W\d_])")


def canonical_tones(text: str) -> str:
    """Move the tone mark of "oa", "oe", "uy" at a syllable end to the first vowel ("Hoà" → "Hòa")."""
    nfd = unicodedata.normalize("NFD", text)

    def move(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1) + m.group(3) + m.group(2)
        return m.group(4) + m.group(6) + m.group(5)

    return unicodedata.normalize("NFC", _OLD_TONE_RE.sub(move, nfd))


def fold(text: str) -> str:
    """Comparison form keeping diacritics: repaired, NFC, canonical tones, case-folded, single spaces."""
    cleaned = clean_text(text) or ""
    return _SPACE_RE.sub(" ", canonical_tones(cleaned).casefold()).strip()


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics; đ/Đ → d/D explicitly (Đ has no Unicode decomposition)."""
    nfd = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in nfd if not unicodedata.combining(ch))


def fold_ascii(text: str) -> str:
    """Comparison form without diacritics: `fold` then strip diacritics."""
    return strip_diacritics(fold(text))


_UNIT_RE = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]\s*$")
_PUNCT_RE = re.compile(r"[\s:;,.*]+$")


def header_key(text: str) -> str:
    """Header comparison form: NFC, case-folded, white space and line breaks collapsed, a
    trailing unit in brackets ignored ("Diện tích (m²)" = "Diện tích")."""
    key = fold(text)
    previous = None
    while previous != key:
        previous = key
        key = _PUNCT_RE.sub("", _UNIT_RE.sub("", key)).strip()
    return key or fold(text)


@cache
def _encoders() -> dict[str, dict[str, str]]:
    """Unicode letter → legacy sequence, the inverse of viparse's tables (for sample generation)."""
    result: dict[str, dict[str, str]] = {}
    for name in LEGACY_ENCODINGS:
        table: dict[str, str] = {}
        for legacy, uni in sorted(CHARMAPS[name].pairs, key=lambda p: (len(p[0]), p[0])):
            if len(uni) == 1 and not uni.isascii():
                table.setdefault(uni, legacy)
        result[name] = table
    return result


def encode_legacy(text: str, encoding: str) -> str:
    """Write Unicode text as it appears when typed in a legacy font (TCVN3 or VNI).

    TCVN3 has no upper-case accented letters: like a typist using the .VnTime font, such a
    letter is written in lower case.
    """
    table = _encoders()[encoding]
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in table:
            out.append(table[ch])
        elif ch.lower() in table:
            out.append(table[ch.lower()])
        else:
            out.append(ch)
    return "".join(out)
