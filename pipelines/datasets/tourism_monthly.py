"""Rules of the monthly tourism report (Sở Văn hóa, Thể thao và Du lịch; one row per reporting area per
month): the gaps between each total and its parts, which the suite checks (`visitors_total_mismatch`,
`revenue_total_mismatch`).

A blank part counts as 0 when another part of the same total is given (reports leave "no
international visitors" blank); when every part is blank the gap is null and not checked: the
report gave the total only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

VISITOR_PARTS = ("visitors_international", "visitors_domestic")
REVENUE_PARTS = (
    "revenue_accommodation_million_vnd",
    "revenue_food_million_vnd",
    "revenue_travel_million_vnd",
    "revenue_other_million_vnd",
)


def total_gap(total: pd.Series, parts: list[pd.Series]) -> pd.Series:
    """total − Σ parts per row; null when the total or every part is null (blank parts count 0)."""
    numbers = pd.concat([pd.to_numeric(p, errors="coerce") for p in parts], axis=1)
    given = numbers.notna().any(axis=1)
    gap = pd.to_numeric(total, errors="coerce") - numbers.fillna(0).sum(axis=1)
    return gap.where(given & total.notna())


def derive(parsed: dict[str, pd.Series], period: date) -> tuple[dict[str, pd.Series], list[Any]]:
    visitors = total_gap(parsed["visitors_total"], [parsed[c] for c in VISITOR_PARTS])
    revenue = total_gap(parsed["revenue_total_million_vnd"], [parsed[c] for c in REVENUE_PARTS])
    return {
        "visitors_total_gap": _objects(visitors, int),
        "revenue_total_gap_million_vnd": _objects(revenue.round(6), float),
    }, []


def _objects(series: pd.Series, cast: type) -> pd.Series:
    """Python values with None for missing, like the conformer's other columns."""
    return pd.Series([None if pd.isna(v) else cast(v) for v in series], index=series.index, dtype=object)
