"""Poverty-review rules: the 12 marks counted and compared with the total, the classification
checked against the 2022–2025 standard (flagged, never rewritten), the review year, the ranges."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from pipelines.datasets import poor_households as rules
from pipelines.datasets.poor_households import AVERAGE, NEAR_POOR, NOT_POOR, POOR, standard_for
from tests.fixtures.rules import check, duplicate_domains

pytestmark = pytest.mark.unit

YEAR = date(2023, 1, 1)


def household(deprived: tuple[int, ...] = (), yes: str = "x", **cells: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "household_code": "21598-0001", "head_name": "Nguyễn Văn Một", "head_id": "052060001111",
        "head_ethnicity": "Kinh", "commune_name": "Xã Phước Lộc", "district_name": "Huyện Tuy Phước",
        "village": "Thôn Phú Mỹ", "area_type": "Nông thôn", "members": "4", "income_per_capita_vnd": "1.200.000",
        "deprivation_count": str(len(deprived)), "classification": "Hộ nghèo" if len(deprived) >= 3 else "Hộ cận nghèo",
        "review_year": "2023",
    }  # fmt: skip
    base.update({f"deprived_{i:02d}": yes for i in deprived})
    return {**base, **cells}


@pytest.mark.parametrize(
    ("area", "income", "marks", "expected"),
    [
        ("Nông thôn", 1_500_000, 3, POOR),  # the line itself is inside
        ("Nông thôn", 1_500_000, 2, NEAR_POOR),
        ("Nông thôn", 1_500_001, 5, AVERAGE),  # above the line: not poor whatever the deprivations
        ("Nông thôn", 2_250_000, 0, AVERAGE),
        ("Nông thôn", 2_250_001, 0, NOT_POOR),
        ("Thành thị", 2_000_000, 3, POOR),
        ("Thành thị", 2_000_000, 0, NEAR_POOR),
        ("Thành thị", 1_900_000, 12, POOR),
        ("Thành thị", 3_000_000, 1, AVERAGE),
        ("Thành thị", 3_000_001, 1, NOT_POOR),
    ],
)
def test_the_2022_2025_standard(area: str, income: int, marks: int, expected: str) -> None:
    standard = standard_for(2023)
    assert standard is not None and "07/2021" in standard.source
    assert standard.classify(area, income, marks) == expected


def test_standards_are_configured_in_one_place_by_review_year() -> None:
    assert standard_for(2021) is standard_for(2025) is rules.STANDARDS[0]
    assert standard_for(2020) is None and standard_for(2026) is None


def test_marks_are_read_in_every_form_and_counted() -> None:
    result = check(
        "poor_households",
        [
            household((1, 4, 7, 10)),
            household((2, 9), yes="1", deprived_01="0", deprived_03="không", deprived_04="-"),
            household((1, 5, 12), yes="có"),
            household((3, 6, 11), yes="✓"),
            household((1, 2), deprived_07="xx", deprivation_count="3"),
        ],
        YEAR,
    )
    assert [result.row(i)["deprivation_marks"] for i in range(4)] == [4, 2, 3, 3]
    assert result.row(1)["deprived_01"] is False and result.row(1)["deprived_02"] is True
    assert result.row(0)["deprived_02"] is None  # a blank cell: not deprived, stored as null
    assert result.quarantine[:4] == [set()] * 4
    assert result.quarantine[4] == {"invalid_deprived_07"}


def test_the_total_must_equal_the_marks() -> None:
    result = check("poor_households", [household((1, 2, 3), deprivation_count="4"), household((1, 2, 3))], YEAR)
    assert result.warn[0] == {"deprivation_count_mismatch"} and not result.quarantine[0]
    assert (result.row(0)["deprivation_count"], result.row(0)["deprivation_marks"]) == (4, 3)
    assert result.warn[1] == set()
    over = check("poor_households", [household((1, 2, 3), deprivation_count="13")], YEAR)
    assert over.quarantine[0] == {"invalid_deprivation_count"}


def test_a_classification_against_the_standard_is_flagged_not_rewritten() -> None:
    result = check(
        "poor_households",
        [
            household((1, 2, 3, 4)),  # poor, consistent
            household((1, 2), classification="Hộ nghèo"),  # 2 deprivations: near-poor by the standard
            household((1, 2, 3), income_per_capita_vnd="1.600.000"),  # poor above the rural line
            household((1,), area_type="Thành thị", income_per_capita_vnd="1.800.000"),  # near-poor under the urban line
            household((4,), classification="Hộ thoát nghèo", income_per_capita_vnd="1,8 triệu"),
            household((4,), classification="Hộ thoát nghèo", income_per_capita_vnd="1.000.000"),  # still near-poor
            household((), classification="Không nghèo", income_per_capita_vnd="1.000.000"),
            household((), classification="Hộ thoát cận nghèo", income_per_capita_vnd="2.500.000"),
            household((1, 2, 3), income_per_capita_vnd=None),  # cannot be checked
        ],
        YEAR,
    )
    flags = [result.row(i)["is_classification_consistent"] for i in range(9)]
    assert flags == [True, False, False, True, True, True, False, True, None]
    expected = [result.row(i)["classification_expected"] for i in range(9)]
    assert expected == [POOR, NEAR_POOR, AVERAGE, NEAR_POOR, AVERAGE, NEAR_POOR, NEAR_POOR, NOT_POOR, None]
    assert result.row(1)["classification"] == "Hộ nghèo"  # as delivered
    for i in (1, 2, 6):
        assert result.warn[i] == {"classification_disagrees_with_standard"} and not result.quarantine[i]
    assert result.warn[8] == {"classification_not_checkable"}


def test_a_review_year_without_a_configured_standard_is_reported() -> None:
    result = check("poor_households", [household((1, 2, 3), review_year="2027")], date(2027, 1, 1))
    assert result.row(0)["classification_expected"] is None
    assert "no_poverty_standard" in result.warn[0]


def test_the_review_year_must_be_the_files() -> None:
    result = check("poor_households", [household((1, 2, 3)), household((1, 2, 3), review_year="2022"),
                                       household((1, 2, 3), review_year=None)], YEAR)  # fmt: skip
    assert [result.row(i)["is_review_year_of_period"] for i in range(3)] == [True, False, None]
    assert result.quarantine[1] == {"review_year_not_period"}  # a block check: over 1% of rows blocks the file


def test_ranges_codes_and_personal_columns() -> None:
    result = check(
        "poor_households",
        [
            household((1, 2, 3), members="0"),
            household((1, 2, 3), income_per_capita_vnd="250.000.000"),
            household((1, 2, 3), area_type="Hải đảo"),
            household((1, 2, 3), classification="Hộ khá giả"),
            household((1, 2, 3), household_code=None),
            household((1, 2, 3), head_id=None, area_type="NT", classification="Nghèo"),
        ],
        YEAR,
    )
    assert result.quarantine[:5] == [{"implausible_members"}, {"implausible_income"}, {"unknown_area_type"},
                                     {"unknown_classification"}, {"missing_household_code"}]  # fmt: skip
    assert result.warn[5] == {"missing_head_id"}
    assert (result.row(5)["area_type"], result.row(5)["classification"]) == ("Nông thôn", "Hộ nghèo")
    assert {"head_name", "village", "head_id", "household_code"}.isdisjoint(result.frame.columns)
    assert result.row(0)["head_ethnicity"] == "Kinh"


def test_no_two_expectations_share_a_domain() -> None:
    assert duplicate_domains("poor_households") == []
