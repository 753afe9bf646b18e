"""Rules of the cadastral extract (Sở Nông nghiệp và Môi trường; one row per land parcel): which
land-use code system a row's codes are in, each code checked against that system's list with its
land-use group, and the use term.

The code system (DOMAIN §3: a code means nothing without its system):
  - as delivered ("Hệ thống mã"), basis `given`;
  - else from the certificate date: before 2024-08-01 TT25_2014, from then TT08_2024 (Circular
    08/2024/TT-BTNMT), basis `certificate_date`;
  - else, when exactly one system has every code of the row, that one, basis `codes`;
  - else unknown (null; the suite's warning `unknown_land_use_code_system` counts it); the groups
    are still given where both systems agree on a code's group (the same answer whichever system
    is meant: not a guess).
A code that is not in the row's system quarantines the row (`unknown_land_use_code`): "SKN" is an
industrial cluster in TT25_2014 and building materials in TT08_2024, so reading it in the wrong
system would be wrong silently.

Performance: rows of a commune repeat few (codes, system) pairs, so each pair is checked once.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

import pandas as pd

from pipelines import reference
from pipelines.parse import ParseError, parse_date
from pipelines.text import fold_ascii

if TYPE_CHECKING:
    from pipelines.conform import Problem

TT25, TT08 = "TT25_2014", "TT08_2024"
TT08_FROM = date(2024, 8, 1)
_LONG_TERM_RE = re.compile(r"lau\s*dai|ld|on\s*dinh\s*lau\s*dai")
_UNTIL_RE = re.compile(r"(?:den\s*(?:ngay\s*)?)?(.+)")


@lru_cache(maxsize=4096)
def check_codes(codes: str, system: str | None) -> tuple[str | None, str | None, str, tuple[str, ...]]:
    """("ODT+CLN", system) → (system, basis, "+"-joined groups, unknown codes).

    `system` is the system already known (given or from the certificate date) or None; the answer's
    system is the one the codes are read in (None when unknown), the basis "codes" when inferred here.
    """
    items = codes.split("+")
    basis = None
    if system is None:
        fitting = [s for s in (TT25, TT08) if all(reference.land_use_code_exists(s, c) for c in items)]
        if len(fitting) == 1:
            system, basis = fitting[0], "codes"
    if system is not None:
        groups = [reference.land_use_group(system, c) for c in items]
        unknown = tuple(c for c, g in zip(items, groups, strict=True) if g is None)
    else:
        both = [{reference.land_use_group(s, c) for s in (TT25, TT08)} for c in items]
        groups = [g.pop() if len(g) == 1 else None for g in both]
        unknown = ()
    return system, basis, "+".join(g or "" for g in groups), unknown


@lru_cache(maxsize=65_536)
def use_term(text: str) -> tuple[bool | None, date | None]:
    """ "Lâu dài" → (True, None); "đến ngày 15/10/2043", "15/10/2043", "2043-10-15" → (False, that date)."""
    folded = fold_ascii(text)
    if _LONG_TERM_RE.fullmatch(folded):
        return True, None
    match = _UNTIL_RE.fullmatch(folded)
    try:
        return False, parse_date(match[1] if match else folded)
    except ParseError:
        return None, None


def derive(parsed: dict[str, pd.Series], period: date) -> tuple[dict[str, pd.Series], list[Problem]]:
    from pipelines.conform import Problem

    codes, given, issued = parsed["land_use_codes"], parsed["land_use_code_system"], parsed["certificate_date"]
    n = len(codes)
    systems: list[str | None] = [None] * n
    bases: list[str | None] = [None] * n
    groups: list[str | None] = [None] * n
    problems: list[Problem] = []
    for i, (value, stated, when) in enumerate(zip(codes, given, issued, strict=True)):
        system, basis = None, None
        if isinstance(stated, str):
            if stated not in (TT25, TT08):  # an unknown system: the suite quarantines the row
                systems[i] = stated
                continue
            system, basis = stated, "given"
        elif isinstance(when, date):
            system, basis = (TT25 if when < TT08_FROM else TT08), "certificate_date"
        if not isinstance(value, str):
            systems[i], bases[i] = system, basis
            continue
        system, inferred, groups[i], unknown = check_codes(value, system)
        systems[i], bases[i] = system, basis or inferred
        if unknown:
            other = TT08 if system == TT25 else TT25
            elsewhere = [c for c in unknown if reference.land_use_code_exists(other, c)]
            hint = f" ({', '.join(elsewhere)} in the {other} list: is the code system right?)" if elsewhere else ""
            problems.append(
                Problem(i, "unknown_land_use_code", "land_use_codes",
                        f"{', '.join(unknown)} not in the {system} list ({bases[i]}){hint}", "quarantine")
            )  # fmt: skip
    terms = parsed["use_term"]
    long_term: list[bool | None] = [None] * n
    until: list[date | None] = [None] * n
    for i, text in enumerate(terms):
        if isinstance(text, str):
            long_term[i], until[i] = use_term(text)
            if long_term[i] is None:
                problems.append(
                    Problem(i, "invalid_use_term", "use_term",
                            f"{text!r} is neither 'Lâu dài' nor a date (e.g. 15/10/2043)", "warn")
                )  # fmt: skip
    index = codes.index
    return {
        "land_use_code_system": pd.Series(systems, index=index, dtype=object),
        "land_use_code_system_basis": pd.Series(bases, index=index, dtype=object),
        "land_use_groups": pd.Series(groups, index=index, dtype=object),
        "is_long_term": pd.Series(long_term, index=index, dtype=object),
        "use_until_date": pd.Series(until, index=index, dtype=object),
    }, problems


__all__ = ["TT08", "TT08_FROM", "TT25", "check_codes", "derive", "use_term"]
