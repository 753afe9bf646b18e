"""Rules of the labour-supply register (Sở Nội vụ; one row per person per month) that a spec cannot say.

Runs inside the restricted zone (it sees the date of birth and the raw personal ID) and returns only
what may leave it:

- `birth_year` and `age_at_period` from the date of birth. Registers hold a bare birth year for many
  older people ("1958"), so the column is read as a date or, failing that, a year; anything else
  quarantines the row (`invalid_birth_date`). The age is taken on the last day of the period's
  month (the snapshot's reference day); with a bare year it is the age reached during that year.
  The suite checks it (`under_working_age`: the register covers people aged 15 and over).
- `occupation_vsco_group`: the VSCO 2020 major group (first digit), for the marts.
- `is_person_id_consistent`: a 12-digit CCCD encodes century and sex in its 4th digit and the
  birth year's last two digits in the 5th–6th (DOMAIN §2); False when they contradict the birth
  year or sex, null when there is nothing to compare (an old 9-digit CMND, no birth date). The
  suite reports False as a warning (`person_id_inconsistent`): either the ID or the birth date is
  mistyped and nobody here can tell which, so the row is kept and flagged, never corrected.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from pipelines.parse import ParseError, parse_date, parse_year

if TYPE_CHECKING:
    from pipelines.conform import Problem

REASON_INVALID_BIRTH_DATE = "invalid_birth_date"


def reference_day(period: date) -> date:
    """The last day of the period's month: the day the monthly snapshot describes."""
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


_BARE_YEAR_RE = re.compile(r"\d{4}(?:\.0+)?")


def read_birth(text: str) -> tuple[date | None, int]:
    """(full date or None, birth year) of a birth-date cell: a date in any accepted form, or a
    bare year ("1958", "Năm 1958"). Four bare digits are always a year, never an Excel date
    number ("1850" is a mistyped year, not 1905-01-23). Raises ParseError naming both forms."""
    if _BARE_YEAR_RE.fullmatch(text):
        try:
            return None, parse_year(text)
        except ParseError as exc:
            raise ParseError(f"{exc} (expected a date such as 05/03/1985 or a birth year such as 1958)") from None
    try:
        born = parse_date(text)
        return born, born.year
    except ParseError as date_error:
        try:
            return None, parse_year(text)
        except ParseError:
            raise ParseError(f"{date_error} or a birth year such as 1958") from None


def age_on(day: date, born: date | None, year: int) -> int:
    """Completed years on `day`; with only the birth year, the age reached during `day`'s year."""
    if born is None:
        return day.year - year
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def person_id_consistent(person_id: str | None, birth_year: int | None, sex: str | None) -> bool | None:
    """Whether a CCCD `PPP G YY RRRRRR` agrees with the birth year and sex (DOMAIN §2).

    G = 2 × (century − 19) + (1 if female): 0/1 for the 1900s, 2/3 for the 2000s, 4/5 for the 2100s.
    None when there is nothing to compare: no ID, a 9-digit CMND (no such digits), no birth year.
    """
    if not person_id or len(person_id) != 12 or birth_year is None:
        return None
    g = int(person_id[3])
    century_start = 1900 + 100 * (g // 2)
    if not century_start <= birth_year < century_start + 100:
        return False
    if person_id[4:6] != f"{birth_year % 100:02d}":
        return False
    female_digit = g % 2 == 1
    return sex not in ("Nam", "Nữ") or female_digit == (sex == "Nữ")


def derive(parsed: dict[str, pd.Series], period: date) -> tuple[dict[str, pd.Series], list[Problem]]:
    from pipelines.conform import Problem

    day = reference_day(period)
    births = parsed["birth_date"]
    index = births.index
    readings: dict[str, tuple[date | None, int] | str] = {}
    for text in births.dropna().unique():
        try:
            readings[text] = read_birth(text)
        except ParseError as exc:
            readings[text] = str(exc)

    problems: list[Problem] = []
    birth_year: list[int | None] = []
    age: list[int | None] = []
    for i, text in enumerate(births.tolist()):
        reading = readings.get(text) if isinstance(text, str) else None
        if isinstance(reading, str):
            problems.append(Problem(i, REASON_INVALID_BIRTH_DATE, "birth_date", reading, "quarantine"))
            reading = None
        if reading is None:
            birth_year.append(None)
            age.append(None)
            continue
        born, year = reading
        birth_year.append(year)
        age.append(age_on(day, born, year))

    ids = parsed["person_id"].tolist()
    sexes = parsed["sex"].tolist()
    consistent = [
        person_id_consistent(pid if isinstance(pid, str) else None, by, sex if isinstance(sex, str) else None)
        for pid, by, sex in zip(ids, birth_year, sexes, strict=True)
    ]
    groups = [code[0] if isinstance(code, str) and code else None for code in parsed["occupation_vsco"].tolist()]
    values = {
        "birth_year": pd.Series(birth_year, index=index, dtype=object),
        "age_at_period": pd.Series(age, index=index, dtype=object),
        "occupation_vsco_group": pd.Series(groups, index=index, dtype=object),
        "is_person_id_consistent": pd.Series(consistent, index=index, dtype=object),
    }
    return values, problems
