"""Rules of the ranked-relic register (Sở Văn hóa, Thể thao và Du lịch; one row per relic) that a
spec cannot say.

- `name_folded`: the register has no relic code, so a relic is known by its name within its 2025
  commune. The name is folded (case, Unicode form, tone placement, spacing) so that an export in
  capitals or with "Hoà" for "Hòa" is still the same relic and does not open a new SCD2 version.
- `decided_by_rank` / `is_rank_consistent_with_authority`: under the Law on Cultural Heritage the
  Prime Minister ranks special national relics, the Minister of Culture national ones and the
  chair of the provincial People's Committee provincial ones. The authority is read from "Cơ quan
  quyết định", or else from the decision number's suffix ("/QĐ-TTg", "/QĐ-BVHTTDL", "/QĐ-UBND").
  A rank the authority cannot give is reported by the suite (`rank_authority_mismatch`, a
  warning): the rank or the authority is mistyped, and the register keeps what was delivered.

The decision date is checked against the snapshot date by the suite itself (a pair expectation
on `decision_date` and `period`), so the check never depends on the day the pipeline runs.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipelines.text import fold, fold_ascii

if TYPE_CHECKING:
    from pipelines.conform import Problem

SPECIAL_NATIONAL, NATIONAL, PROVINCIAL = "Quốc gia đặc biệt", "Quốc gia", "Cấp tỉnh"

# (pattern on the folded, diacritic-free authority text, rank it can give), first match wins.
_AUTHORITIES = (
    (re.compile(r"thu tuong|chinh phu|\bttg\b"), SPECIAL_NATIONAL),
    (re.compile(r"\bbo\b.*van hoa|\bbo\b.*\bvh|bvh|bo truong"), NATIONAL),
    (re.compile(r"(ubnd|uy ban nhan dan|chu tich)\b.*\btinh\b"), PROVINCIAL),
)
_DECISION_SUFFIX = (
    (re.compile(r"qd-ttg\b"), SPECIAL_NATIONAL),
    (re.compile(r"qd-b?vh"), NATIONAL),
    (re.compile(r"qd-(ubnd|ub|ct)\b"), PROVINCIAL),
)


def authority_rank(decided_by: str | None, decision_no: str | None) -> str | None:
    """The rank the deciding authority can give, or None when neither cell names one."""
    if decided_by:
        text = fold_ascii(decided_by)
        for pattern, rank in _AUTHORITIES:
            if pattern.search(text):
                return rank
    if decision_no:
        text = fold_ascii(decision_no).replace(" ", "")
        for pattern, rank in _DECISION_SUFFIX:
            if pattern.search(text):
                return rank
    return None


def _text(x: Any) -> str | None:
    return x if isinstance(x, str) and x else None


def derive(parsed: dict[str, pd.Series], period: date) -> tuple[dict[str, pd.Series], list[Problem]]:
    index = parsed["name"].index
    names = [fold(n) if (n := _text(x)) else None for x in parsed["name"].tolist()]
    cache: dict[tuple[str | None, str | None], str | None] = {}
    authority: list[str | None] = []
    for by, no in zip(parsed["decided_by"].tolist(), parsed["decision_no"].tolist(), strict=True):
        key = (_text(by), _text(no))
        if key not in cache:
            cache[key] = authority_rank(*key)
        authority.append(cache[key])
    consistent = [
        None if expected is None or rank not in (SPECIAL_NATIONAL, NATIONAL, PROVINCIAL) else rank == expected
        for expected, rank in zip(authority, parsed["rank"].tolist(), strict=True)
    ]
    values = {
        "name_folded": pd.Series(names, index=index, dtype=object),
        "decided_by_rank": pd.Series(authority, index=index, dtype=object),
        "is_rank_consistent_with_authority": pd.Series(consistent, index=index, dtype=object),
    }
    return values, []
