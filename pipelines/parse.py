"""Value parsers: one cleaned cell text of a department export → a typed value.

Cells come from the reader already cleaned (NFC, single spaces, trimmed, never blank: the caller
turns blanks into nulls). Each parser returns the value or raises `ParseError` with a short
English reason naming what was wrong and what is expected; the conformer stores that reason with
the quarantined row, so a department can fix the cell. They are called once per DISTINCT value of
a column, so they favour clarity over micro-optimisation, with regexes compiled once.

Number conventions (SOURCES.md: Vietnamese exports write "1.500.000" and "12,5", English-locale
tools write "1,500,000" and "12.5"):

- both "." and "," present: the last one is the decimal mark, the other groups thousands
  ("1.500,75" and "1,500.75" are both 1500.75);
- one kind repeated: thousands ("1.500.000", "1,500,000");
- one single separator: thousands when exactly three digits follow it and one to three non-zero-led
  digits precede it ("1.500" and "1,500" → 1500), otherwise the decimal mark ("12.5", "12,5",
  "0.500", "1.5000"). So "3.125" means 3125: a department that means three and an eighth writes
  "3,125" in a Vietnamese export too, and the reader writes Excel's non-integral numbers with a
  trailing zero ("3.1250") so that they never hit this rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NoReturn

from stdnum.vn import mst

from pipelines.text import strip_diacritics

__all__ = [
    "PARSERS",
    "ParseError",
    "parse_code",
    "parse_date",
    "parse_decimal",
    "parse_holder_id",
    "parse_integer",
    "parse_land_use_codes",
    "parse_mark",
    "parse_money_vnd",
    "parse_month",
    "parse_percent",
    "parse_person_id",
    "parse_tax_code",
    "parse_text",
    "parse_vsco",
    "parse_vsic",
    "parse_year",
]

MIN_YEAR = 1900
MAX_YEAR = 2100
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class ParseError(ValueError):
    """A cell cannot be read as its column's type; the message says what is wrong and what is expected."""


def _quote(s: str) -> str:
    """The cell as shown in a reason: quoted, and cut so that a 1 MB cell does not make a 1 MB reason."""
    return repr(s if len(s) <= 60 else s[:57] + "...")


def _ascii_lower(s: str) -> str:
    """Lower-case without diacritics, for matching Vietnamese keywords typed with or without marks."""
    return strip_diacritics(s).lower()


# ---------------------------------------------------------------------------------------- dates

_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 once Excel's phantom 1900-02-29 is skipped
_MAX_SERIAL = (date(MAX_YEAR, 12, 31) - _EXCEL_EPOCH).days
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DMY_RE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})" + _TIME)
_YMD_RE = re.compile(r"(\d{4})([/.-])(\d{1,2})\2(\d{1,2})" + _TIME)
_SERIAL_RE = re.compile(r"\d{1,5}(?:\.\d+)?")
_VN_DATE_RE = re.compile(r"(?:ngay\s*)?(\d{1,2})\s*thang\s*(\d{1,2})\s*(?:nam\s*|[/.-]\s*)(\d{4})")
_DATE_FORMS = "dd/mm/yyyy, yyyy-mm-dd, an Excel date number or 'ngày d tháng m năm yyyy'"


def _make_date(s: str, year: int, month: int, day: int) -> date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ParseError(f"{_quote(s)} has year {year}, outside {MIN_YEAR}–{MAX_YEAR}")
    if not 1 <= month <= 12:
        raise ParseError(f"{_quote(s)} is not a valid date (there is no month {month}; expected dd/mm/yyyy)")
    try:
        return date(year, month, day)
    except ValueError:
        raise ParseError(
            f"{_quote(s)} is not a valid date (month {month}/{year} has no day {day}; expected dd/mm/yyyy)"
        ) from None


def _excel_serial(s: str) -> date:
    """Excel's 1900 date system; serial 60 is the non-existent 1900-02-29 that Excel keeps for Lotus."""
    serial = int(float(s))
    if serial == 60 or not 1 <= serial <= _MAX_SERIAL:
        raise ParseError(f"{_quote(s)} is not a date number Excel can show (expected 1–{_MAX_SERIAL})")
    return _EXCEL_EPOCH + timedelta(days=serial + (1 if serial < 60 else 0))


def parse_date(s: str) -> date:
    """dd/mm/yyyy (also unpadded, '-' or '.'), yyyy-mm-dd (optionally with a time), an Excel serial
    number, or "ngày 5 tháng 3 năm 2024". Years outside 1900–2100 are rejected (0001 is a
    placeholder, not a date). A bare 1900–2100 is read as a year typed into a date column, not as
    Excel serial 1900–2100 (a 1905 date), and rejected.
    """
    if m := _DMY_RE.fullmatch(s):
        return _make_date(s, int(m[4]), int(m[3]), int(m[1]))
    if m := _YMD_RE.fullmatch(s):
        return _make_date(s, int(m[1]), int(m[3]), int(m[4]))
    if _SERIAL_RE.fullmatch(s):
        if MIN_YEAR <= float(s) <= MAX_YEAR and float(s).is_integer():
            raise ParseError(f"{_quote(s)} is a year, not a date (expected {_DATE_FORMS})")
        return _excel_serial(s)
    if m := _VN_DATE_RE.fullmatch(_ascii_lower(s)):
        return _make_date(s, int(m[3]), int(m[2]), int(m[1]))
    raise ParseError(f"{_quote(s)} is not a valid date (expected {_DATE_FORMS})")


_MY_RE = re.compile(r"(?:t|thang\s*)?(\d{1,2})\s*(?:[/.-]|\s*nam\s*)\s*(\d{4})")
_YM_RE = re.compile(r"(\d{4})[/.-](\d{1,2})")


def parse_month(s: str) -> date:
    """A month: "03/2024", "3/2024", "2024-03", "tháng 3 năm 2024", "T3/2024" → its first day.
    A full date (Excel turns a typed "03/2024" into 2024-03-01) gives its month."""
    folded = _ascii_lower(s)
    if m := _MY_RE.fullmatch(folded):
        return _make_date(s, int(m[2]), int(m[1]), 1) if 1 <= int(m[1]) <= 12 else _bad_month(s)
    if m := _YM_RE.fullmatch(folded):
        return _make_date(s, int(m[1]), int(m[2]), 1) if 1 <= int(m[2]) <= 12 else _bad_month(s)
    try:
        return parse_date(s).replace(day=1)
    except ParseError:
        pass
    return _bad_month(s)


def _bad_month(s: str) -> NoReturn:
    raise ParseError(f"{_quote(s)} is not a valid month (expected mm/yyyy, e.g. 03/2024)")


_YEAR_RE = re.compile(r"(?:nam\s*)?(\d{4})(?:\.0+)?")


def parse_year(s: str) -> int:
    """A year: "2024", "2024.0" (an Excel number), "Năm 2024" → 2024, within 1900–2100."""
    m = _YEAR_RE.fullmatch(_ascii_lower(s))
    if not m:
        raise ParseError(f"{_quote(s)} is not a year (expected 4 digits, e.g. 2024)")
    year = int(m[1])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ParseError(f"{_quote(s)} is outside {MIN_YEAR}–{MAX_YEAR}")
    return year


# -------------------------------------------------------------------------------------- numbers

_SPACES_RE = re.compile(r"[\s\u00a0\u202f\u2009']+")  # "1 500", "1 500" (NBSP, thin space), "1'500"
_NUMBER_RE = re.compile(r"([+-]?)(\d[\d.,]*)")
_SCIENTIFIC_RE = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d{1,3}")
_GROUPED_RE = re.compile(r"[1-9]\d{0,2}(?:X\d{3})+|0")  # X = the grouping separator


def _grouped(digits: str, sep: str) -> bool:
    return bool(_GROUPED_RE.fullmatch(digits.replace(sep, "X")))


def _number(s: str, what: str) -> Decimal:
    """The exact value of a number written in any of the conventions of the module docstring."""
    compact = _SPACES_RE.sub("", s)
    if _SCIENTIFIC_RE.fullmatch(compact):
        try:
            return Decimal(compact.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
            pass
    m = _NUMBER_RE.fullmatch(compact)
    if not m:
        raise ParseError(f"{_quote(s)} is not a number (expected {what})")
    sign, body = m[1], m[2]
    if body[-1] in ".,":
        raise ParseError(f"{_quote(s)} ends with a separator (expected {what})")
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        decimal_mark = "." if body.rfind(".") > body.rfind(",") else ","
        group_mark = "," if decimal_mark == "." else "."
        whole, _, frac = body.rpartition(decimal_mark)
        if body.count(decimal_mark) > 1 or not _grouped(whole, group_mark):
            raise ParseError(f"{_quote(s)} mixes '.' and ',' inconsistently (expected {what})")
    elif dots + commas == 0:
        whole, frac = body, ""
    else:
        mark = "." if dots else ","
        if dots + commas > 1:
            if not _grouped(body, mark):
                raise ParseError(f"{_quote(s)} has badly placed thousands separators (expected {what})")
            whole, frac = body.replace(mark, ""), ""
        else:
            left, _, right = body.partition(mark)
            if len(right) == 3 and _grouped(body, mark):
                whole, frac = left + right, ""
            else:
                whole, frac = left, right
    whole = whole.replace(".", "").replace(",", "")
    return Decimal(f"{sign}{whole}.{frac or '0'}")


def _int64(value: Decimal, s: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ParseError(f"{_quote(s)} is too large (the limit is {INT64_MAX:,})")
    return int(value)


def parse_integer(s: str) -> int:
    """A whole number: "1.500", "1,500", "1 500", "12", "12.0" (an Excel number); not "12,5"."""
    value = _number(s, "a whole number such as 1.500")
    if value != value.to_integral_value():
        raise ParseError(f"{_quote(s)} is not a whole number")
    return _int64(value, s)


def parse_decimal(s: str) -> float:
    """A number: "12,5", "1.500.000", "1.500,75", "1,500.75", "12.5" (see the module docstring)."""
    value = float(_number(s, "a number such as 1.500,5"))
    if not math.isfinite(value):
        raise ParseError(f"{_quote(s)} is too large")
    return value


_MONEY_UNITS = {"ty": 10**9, "ti": 10**9, "trieu": 10**6, "tr": 10**6, "nghin": 10**3, "ngan": 10**3}
_MONEY_RE = re.compile(
    r"(?P<num>[^a-z₫]*?)\s*(?P<unit>ty|ti|trieu|tr|nghin|ngan)?\.?\s*(?:dong|d|vnd|₫)?\.?",
)


def parse_money_vnd(s: str) -> int:
    """An amount in đồng: "1.500.000", "1.500.000 đ", "2 triệu", "1,5 tỷ đồng", "500 VNĐ" → whole
    đồng (half rounds up). Negative amounts are rejected: capital, income and revenue are never
    negative, and a minus is more often a typing slip than a refund."""
    m = _MONEY_RE.fullmatch(_ascii_lower(s))
    if not m or not m["num"].strip():
        raise ParseError(f"{_quote(s)} is not an amount of money (expected e.g. 1.500.000 or 1,5 tỷ)")
    value = _number(m["num"].strip(), "an amount such as 1.500.000 đ")
    if value < 0:
        raise ParseError(f"{_quote(s)} is negative (an amount in đồng must be ≥ 0)")
    unit = _MONEY_UNITS.get(m["unit"] or "", 1)
    return _int64((value * unit).quantize(Decimal(1), rounding=ROUND_HALF_UP), s)


def parse_percent(s: str) -> float:
    """A percentage: "3,13%", "85", "85.5 %" → the number in percent units (3.13, 85.0, 85.5)."""
    return parse_decimal(s.rstrip().removesuffix("%").rstrip())


# ---------------------------------------------------------------------------------- identifiers

_FLOAT_ID_RE = re.compile(r"(\d+)\.0+")  # "52012345678.0": an ID that went through a float
_ID_SEPARATORS_RE = re.compile(r"[\s.\-_/]+")


def _id_digits(s: str) -> str:
    if _SCIENTIFIC_RE.fullmatch(s.replace(" ", "")):
        raise ParseError(
            f"{_quote(s)} is in scientific notation and may have lost digits; format the column as text and export again"
        )
    if m := _FLOAT_ID_RE.fullmatch(s):
        return m[1]
    return _ID_SEPARATORS_RE.sub("", s)


def parse_person_id(s: str) -> str:
    """A CCCD (12 digits: province 001–096, century/sex digit 0–5), a CCCD whose leading zero Excel
    dropped (11 digits, padded back), or an old CMND (9 digits). Spaces, dashes and dots are ignored."""
    digits = _id_digits(s)
    if not digits.isdigit():
        raise ParseError(f"{_quote(s)} is not a personal ID (expected 12 digits, or 9 for an old CMND)")
    if len(set(digits)) == 1:
        raise ParseError(f"{_quote(s)} is a placeholder, not a personal ID (all digits the same)")
    if len(digits) == 11:
        digits = "0" + digits  # a CCCD stored as a number in Excel
    if len(digits) == 12:
        if not 1 <= int(digits[:3]) <= 96:
            raise ParseError(f"{_quote(s)} starts with {digits[:3]}, not a province code (001–096)")
        if digits[3] > "5":
            raise ParseError(f"{_quote(s)} has {digits[3]} as 4th digit (century/sex must be 0–5)")
        return digits
    if len(digits) == 9:
        return digits
    raise ParseError(f"{_quote(s)} has {len(digits)} digits (expected 12 for a CCCD, or 9 for an old CMND)")


_TAX_BRANCH_RE = re.compile(r"(\d{9,10})-(\d{3})")


def _tax_head(head: str, s: str) -> str:
    """The 10-digit part of a tax code, padding a 9-digit one when Excel dropped its leading zero."""
    if len(head) == 9:
        padded = "0" + head
        if mst.is_valid(padded):
            return padded
        raise ParseError(f"{_quote(s)} has 9 digits and 0{head} has a bad check digit (expected 10 digits)")
    if head[2:9] == "0000000":
        raise ParseError(f"{_quote(s)} is not a tax code (digits 3–9 cannot all be 0)")
    if not mst.is_valid(head):
        expected = mst.calc_check_digit(head)
        hint = f" (should be {expected})" if len(expected) == 1 else " (no code is issued with these 9 digits)"
        raise ParseError(f"{_quote(s)} has a bad check digit{hint}")
    return head


def parse_tax_code(s: str) -> str:
    """A tax code: 10 digits with a valid check digit (python-stdnum's `vn.mst`), a branch
    "0100109106-001", or a 12-digit personal ID (individuals since 2025). "0100109106 - 001" and
    "0100109106001" → "0100109106-001"; a 9-digit code is padded with the zero Excel dropped only
    when the padded code passes the check digit."""
    if _SCIENTIFIC_RE.fullmatch(s.replace(" ", "")):
        return _id_digits(s)  # raises with the scientific-notation reason
    if m := _FLOAT_ID_RE.fullmatch(s):
        s = m[1]
    compact = re.sub(r"[\s.]+", "", s)
    compact = re.sub(r"[-_/–]+", "-", compact)
    if m := _TAX_BRANCH_RE.fullmatch(compact):
        head, branch = m[1], m[2]
    elif compact.isdigit() and len(compact) == 13:
        head, branch = compact[:10], compact[10:]
    elif compact.isdigit() and len(compact) in (9, 10):
        head, branch = compact, ""
    elif compact.isdigit() and len(compact) == 12:
        return parse_person_id(compact)
    else:
        digits = compact.replace("-", "")
        detail = f"{len(digits)} digits" if digits.isdigit() else "characters other than digits"
        raise ParseError(f"{_quote(s)} has {detail} (expected 10 digits, or 10-3 for a branch such as 0100109106-001)")
    if len(set(head)) == 1:
        raise ParseError(f"{_quote(s)} is a placeholder, not a tax code (all digits the same)")
    head = _tax_head(head, s)
    if branch == "000":
        raise ParseError(f"{_quote(s)} has branch number 000 (expected 001–999)")
    return f"{head}-{branch}" if branch else head


def parse_holder_id(s: str) -> str:
    """A land user's ID: a tax code for an organisation (10 digits, or a 10-3 branch) or a personal
    ID; 9-digit values are read as an old CMND (the commoner case in the cadastre)."""
    digits = _ID_SEPARATORS_RE.sub("", s)
    if len(digits) in (10, 13) or _TAX_BRANCH_RE.fullmatch(re.sub(r"\s+", "", s)):
        return parse_tax_code(s)
    return parse_person_id(s)


# ----------------------------------------------------------------------------------- code lists

_CODE_LABEL_RE = re.compile(r"([A-Ua-u]\s*[-.:]?\s*)?(\d+)(?:\.0+)?(?:\s*[-–:.]\s*\D.*|\s+\D.*)?")


def _code_digits(s: str, what: str) -> str:
    m = _CODE_LABEL_RE.fullmatch(s)
    if not m:
        raise ParseError(f"{_quote(s)} is not a {what} code (expected digits)")
    return m[2]


def parse_vsic(s: str) -> str:
    """A VSIC 2018 code as text: "0111", "C1079" or "1079 - Sản xuất …" → the digits. Excel drops
    the leading zero of agriculture and mining codes (0111 → 111), so 3 digits are padded to 4 and
    1 digit to 2: genuine level-3 codes lose here, but files carry level 4 far more often."""
    digits = _code_digits(s, "VSIC")
    if len(digits) in (1, 3):
        digits = "0" + digits
    if not 2 <= len(digits) <= 5:
        raise ParseError(f"{_quote(s)} has {len(digits)} digits (a VSIC code has 2–5)")
    return digits


def parse_vsco(s: str) -> str:
    """A VSCO 2020 occupation code as text, 1–4 digits ("2211", "2211 - Bác sĩ đa khoa")."""
    digits = _code_digits(s, "VSCO")
    if not 1 <= len(digits) <= 4:
        raise ParseError(f"{_quote(s)} has {len(digits)} digits (a VSCO code has 1–4)")
    return digits


_CODE_RE = re.compile(r"[\w][\w./\-() ]{0,63}")


def parse_code(s: str) -> str:
    """A code kept as text: "21550", "21550.0" (an Excel number) → "21550". Digits are not padded
    here (the caller knows the width); local codes with letters ("HN-012", "CS 123456") pass as they are."""
    if m := _FLOAT_ID_RE.fullmatch(s):
        return m[1]
    if not _CODE_RE.fullmatch(s):
        raise ParseError(f"{_quote(s)} is not a code (expected letters, digits, '-', '/' or '.', at most 64)")
    return s


# -------------------------------------------------------------------------------- marks, lists

_MARK_TRUE = frozenset({"x", "1", "co", "v", "✓", "✔", "√", "true", "yes"})
_MARK_FALSE = frozenset({"0", "khong", "-", "", "k", "false", "no"})


def parse_mark(s: str) -> bool:
    """A tick in a checklist column: "x", "1", "có", "v", "✓" → True; "0", "không", "-" → False."""
    key = _ascii_lower(s).strip().removesuffix(".0")
    if key in _MARK_TRUE:
        return True
    if key in _MARK_FALSE:
        return False
    raise ParseError(f"{_quote(s)} is not a mark (expected x, 1 or có for yes; blank, 0 or không for no)")


_LAND_SPLIT_RE = re.compile(r"\s*[+,;]\s*")
_LAND_CODE_RE = re.compile(r"[A-Z]{2,4}")


def parse_land_use_codes(s: str) -> tuple[str, ...]:
    """Land-use purpose codes: "ODT+CLN", "odt, cln" → ("ODT", "CLN"); each 2–4 letters."""
    codes = tuple(c for c in _LAND_SPLIT_RE.split(s.strip().upper()) if c)
    bad = [c for c in codes if not _LAND_CODE_RE.fullmatch(c)]
    if not codes or bad:
        what = f"{bad[0]!r} is not" if bad else "no code is"
        raise ParseError(f"{_quote(s)}: {what} a land-use code (expected 2–4 letters joined by '+', e.g. ODT+CLN)")
    return codes


def parse_text(s: str) -> str:
    """Free text: already cleaned by the reader."""
    return s


PARSERS: dict[str, Callable[[str], object]] = {
    "text": parse_text,
    "code": parse_code,
    "integer": parse_integer,
    "decimal": parse_decimal,
    "money_vnd": parse_money_vnd,
    "percent": parse_percent,
    "date": parse_date,
    "month": parse_month,
    "year": parse_year,
    "tax_code": parse_tax_code,
    "person_id": parse_person_id,
    "holder_id": parse_holder_id,
    "vsic": parse_vsic,
    "vsco": parse_vsco,
    "mark": parse_mark,
    "land_use_codes": parse_land_use_codes,
}
