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
_VIET_LOWER = (
    "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
    "fjwz"
)
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


@lru_cache(maxsize=200_000)
def repair_legacy(text: str) -> str:
    """Convert one cell typed in TCVN3 or VNI to Unicode NFC; Unicode text comes back unchanged.

    Decided per cell: a cell is converted only when it does not read as Vietnamese (see
    `_oddness`) and a conversion makes it read better.
    VNI is tried first when the cell could be either, because VNI's marks are
    sequences (base letter + mark) that TCVN3 would turn into two wrong letters.
    """
    nfc = unicodedata.normalize("NFC", text)
    if nfc.isascii():
        return nfc
    best_score = _oddness(nfc)
    if best_score == 0:
        return nfc
    best = nfc
    for name in ("vni", "tcvn3"):
        fixed = viparse.fix(nfc, encoding=name)
        score = _oddness(fixed)
        if score < best_score:
            best, best_score = fixed, score
    return best


def clean_text(value: str | None) -> str | None:
    """Repair legacy encoding, NFC, collapse white space; blank → None."""
    if value is None:
        return None
    text = _SPACE_RE.sub(" ", repair_legacy(value)).strip()
    return text or None


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
