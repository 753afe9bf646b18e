"""Rules of the poverty review (rà soát hộ nghèo, hộ cận nghèo; one row per household per review year)
that a spec cannot say. Owner of the data: Sở Nông nghiệp và Môi trường / Sở Nội vụ.

- `deprivation_marks`: the 12 deprivation marks counted (a blank cell is "not deprived"). The suite
  compares it with the delivered total (`deprivation_count_mismatch`).
- `classification_expected`: what the poverty standard of the review year gives from the area
  type, the income per person and the marks; `is_classification_consistent`: whether the delivered
  classification agrees. A disagreement is reported by the suite (`classification_disagrees_with_standard`,
  a warning) and kept as delivered: the commune's review board decides, the pipeline only shows
  where its list and the standard part ways.
- `is_review_year_of_period`: the file's "Năm rà soát" column equals the period of its name.

The standards are in `STANDARDS`, the one place to change when a new standard applies (the
2026–2030 one is not entered: add it here with its legal source once it is confirmed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pipelines.conform import Problem

POOR = "Hộ nghèo"
NEAR_POOR = "Hộ cận nghèo"
AVERAGE = "Hộ có mức sống trung bình"
NOT_POOR = "Không nghèo"  # above the average-living-standard band
URBAN, RURAL = "Thành thị", "Nông thôn"
MARK_COLUMNS = tuple(f"deprived_{i:02d}" for i in range(1, 13))


@dataclass(frozen=True)
class PovertyStandard:
    """A multidimensional poverty standard: income lines per person per month and the deprivation cut."""

    source: str
    review_years: tuple[int, int]  # first and last review year it applies to (inclusive)
    income_line_vnd: dict[str, int]  # area type → poverty income line (poor and near-poor: income ≤ line)
    average_line_vnd: dict[str, int]  # area type → top of the average-living-standard band
    min_deprivations_poor: int  # poor: income ≤ line and at least this many deprivations; fewer: near-poor

    def classify(self, area_type: str, income: int, marks: int) -> str:
        if income <= self.income_line_vnd[area_type]:
            return POOR if marks >= self.min_deprivations_poor else NEAR_POOR
        if income <= self.average_line_vnd[area_type]:
            return AVERAGE
        return NOT_POOR


STANDARDS: tuple[PovertyStandard, ...] = (
    PovertyStandard(
        # Decree 07/2021/NĐ-CP, Art. 3 (DOMAIN §3). The end-2021 review already used it (it set the
        # 2022 baseline), hence from review year 2021.
        source="Nghị định 07/2021/NĐ-CP, chuẩn nghèo đa chiều giai đoạn 2022–2025",
        review_years=(2021, 2025),
        income_line_vnd={RURAL: 1_500_000, URBAN: 2_000_000},
        average_line_vnd={RURAL: 2_250_000, URBAN: 3_000_000},
        min_deprivations_poor=3,
    ),
)

# Delivered classification → the standard's classifications it agrees with. "Thoát nghèo" means
# no longer poor (near-poor or better); "Không nghèo" means neither poor nor near-poor.
AGREES_WITH: dict[str, frozenset[str]] = {
    POOR: frozenset({POOR}),
    NEAR_POOR: frozenset({NEAR_POOR}),
    AVERAGE: frozenset({AVERAGE}),
    "Hộ thoát nghèo": frozenset({NEAR_POOR, AVERAGE, NOT_POOR}),
    "Hộ thoát cận nghèo": frozenset({AVERAGE, NOT_POOR}),
    NOT_POOR: frozenset({AVERAGE, NOT_POOR}),
}


def standard_for(year: int) -> PovertyStandard | None:
    return next((s for s in STANDARDS if s.review_years[0] <= year <= s.review_years[1]), None)


def _value(x: Any) -> Any:
    """None for pandas' missing markers (None, NaN), the value otherwise."""
    return None if x is None or (isinstance(x, float) and x != x) else x


def derive(parsed: dict[str, pd.Series], period: date) -> tuple[dict[str, pd.Series], list[Problem]]:
    from pipelines.conform import Problem

    index = parsed["classification"].index
    n = len(index)
    marks_frame = pd.DataFrame({c: parsed[c] for c in MARK_COLUMNS}, index=index)
    marks = (marks_frame == True).sum(axis=1).astype(int).tolist()  # noqa: E712 (None/NaN are not True)

    problems: list[Problem] = []
    standard = standard_for(period.year)
    if standard is None and n:
        problems += [
            Problem(
                i,
                "no_poverty_standard",
                None,
                f"no poverty standard is configured for review year {period.year}",
                "warn",
            )
            for i in range(n)
        ]
    expected: list[str | None] = []
    consistent: list[bool | None] = []
    for area, income, count, delivered in zip(
        parsed["area_type"].tolist(), parsed["income_per_capita_vnd"].tolist(), marks, parsed["classification"].tolist(),
        strict=True,
    ):  # fmt: skip
        area, income, delivered = _value(area), _value(income), _value(delivered)
        if standard is None or area not in (URBAN, RURAL) or income is None:
            expected.append(None)
            consistent.append(None)
            continue
        value = standard.classify(area, int(income), count)
        expected.append(value)
        agrees = AGREES_WITH.get(delivered) if isinstance(delivered, str) else None
        consistent.append(None if agrees is None else value in agrees)

    years = [_value(y) for y in parsed["review_year"].tolist()]
    values = {
        "deprivation_marks": pd.Series(marks, index=index, dtype=object),
        "classification_expected": pd.Series(expected, index=index, dtype=object),
        "is_classification_consistent": pd.Series(consistent, index=index, dtype=object),
        "is_review_year_of_period": pd.Series(
            [None if y is None else int(y) == period.year for y in years], index=index, dtype=object
        ),
    }
    return values, problems
