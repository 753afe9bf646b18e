"""Labour-supply rules: birth year and age at the period, the CCCD against birth year and sex,
working age, unemployment months only for the unemployed, codes against the reference lists."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from pipelines.datasets.labour_supply import age_on, person_id_consistent, read_birth, reference_day
from pipelines.parse import ParseError
from tests.fixtures.rules import check, duplicate_domains

pytestmark = pytest.mark.unit

MARCH = date(2025, 3, 1)


def person(**cells: Any) -> dict[str, Any]:
    base = {
        "person_id": "052085001111", "full_name": "Nguyễn Văn An", "birth_date": "05/03/1985", "sex": "Nam",
        "ethnicity": "Kinh", "commune_name": "Phường Nhơn Bình", "district_name": "Thành phố Quy Nhơn",
        "general_education": "THPT", "qualification": "Đại học", "activity_status": "Có việc làm",
        "employment_status": "Làm công ăn lương", "occupation_vsco": "2341", "industry_vsic": "8521",
    }  # fmt: skip
    return {**base, **cells}


def test_reference_day_is_the_last_day_of_the_month() -> None:
    assert reference_day(date(2025, 2, 1)) == date(2025, 2, 28)
    assert reference_day(date(2024, 2, 1)) == date(2024, 2, 29)
    assert reference_day(date(2025, 12, 1)) == date(2025, 12, 31)


def test_birth_date_or_bare_year() -> None:
    assert read_birth("05/03/1985") == (date(1985, 3, 5), 1985)
    assert read_birth("1958") == (None, 1958)
    assert read_birth("Năm 1958") == (None, 1958)
    assert read_birth("ngày 1 tháng 4 năm 1995") == (date(1995, 4, 1), 1995)
    for bad in ("31/02/1980", "khoảng 1960", "1850"):
        with pytest.raises(ParseError, match="birth year"):
            read_birth(bad)


def test_age_on_the_reference_day() -> None:
    day = date(2025, 3, 31)
    assert age_on(day, date(2010, 3, 31), 2010) == 15  # birthday on the day: counted
    assert age_on(day, date(2010, 4, 1), 2010) == 14
    assert age_on(day, None, 2010) == 15  # bare year: the age reached during the year


@pytest.mark.parametrize(
    ("pid", "year", "sex", "expected"),
    [
        ("052085001111", 1985, "Nam", True),
        ("052185001111", 1985, "Nữ", True),
        ("052210001111", 2010, "Nam", True),
        ("052310001111", 2010, "Nữ", True),
        ("052085001111", 1979, "Nam", False),  # year digits
        ("052085001111", 1985, "Nữ", False),  # sex digit
        ("052285001111", 1985, "Nam", False),  # century digit: 2085
        ("052085001111", 1985, None, True),  # sex unknown: year only
        ("215123456", 1955, "Nam", None),  # CMND: nothing to compare
        ("052085001111", None, "Nam", None),
        (None, 1985, "Nam", None),
    ],
)
def test_person_id_against_birth_year_and_sex(
    pid: str | None, year: int | None, sex: str | None, expected: bool | None
) -> None:
    assert person_id_consistent(pid, year, sex) is expected


def test_derived_columns_and_birth_date_problems() -> None:
    result = check(
        "labour_supply",
        [person(), person(person_id="052210001313", birth_date="1990", sex="Nữ"),
         person(person_id="052080004444", birth_date="31/02/1980")],
        MARCH,
    )  # fmt: skip
    first = result.row(0)
    assert (first["birth_year"], first["age_at_period"], first["occupation_vsco_group"]) == (1985, 40, "2")
    assert first["is_person_id_consistent"] is True and first["industry_vsic_section"] == "P"
    assert "birth_date" not in result.frame and "full_name" not in result.frame and "person_id" not in result.frame
    assert len(first["person_id_key"]) == 64
    second = result.row(1)
    assert (second["birth_year"], second["age_at_period"], second["is_person_id_consistent"]) == (1990, 35, False)
    assert result.warn[1] == {"person_id_inconsistent"} and not result.quarantine[1]
    assert result.quarantine[2] == {"invalid_birth_date"}
    assert result.row(2)["birth_year"] is None


def test_under_working_age_is_quarantined_at_the_period_not_today() -> None:
    rows = [
        person(person_id="052210001313", birth_date="31/03/2010"),
        person(person_id="052210001414", birth_date="01/04/2010"),
    ]
    march = check("labour_supply", rows, MARCH)
    assert [march.row(i)["age_at_period"] for i in range(2)] == [15, 14]
    assert march.quarantine == [set(), {"under_working_age"}]
    april = check("labour_supply", rows, date(2025, 4, 1))
    assert april.quarantine == [set(), set()]


def test_unemployed_months_only_for_the_unemployed() -> None:
    result = check(
        "labour_supply",
        [
            person(activity_status="Thất nghiệp", employment_status=None, occupation_vsco=None, industry_vsic=None,
                   unemployed_months="6"),
            person(unemployed_months="3"),
            person(activity_status="Không tham gia hoạt động kinh tế", employment_status=None, occupation_vsco=None,
                   industry_vsic=None, unemployed_months="2"),
            person(activity_status="Thất nghiệp", employment_status=None, occupation_vsco=None, industry_vsic=None),
            person(unemployed_months="700", activity_status="Thất nghiệp", employment_status=None),
        ],
        MARCH,
    )  # fmt: skip
    assert result.warn[0] == set() and result.quarantine[0] == set()
    assert result.warn[1] == {"unemployed_months_not_unemployed"} and not result.quarantine[1]
    assert result.warn[2] == {"unemployed_months_not_unemployed"}
    assert result.warn[3] == {"missing_unemployed_months"}  # reported; `mostly` only decides the check's success
    assert result.quarantine[4] == {"implausible_unemployed_months"}


def test_employment_status_belongs_to_the_employed() -> None:
    result = check(
        "labour_supply",
        [person(), person(activity_status="Thất nghiệp", employment_status="Tự làm", unemployed_months="2")],
        MARCH,
    )
    assert result.warn == [set(), {"employment_status_not_employed"}]


def test_codes_are_checked_against_the_reference_lists() -> None:
    result = check(
        "labour_supply",
        [
            person(industry_vsic="0411"),
            person(occupation_vsco="12345"),
            person(industry_vsic="111", occupation_vsco="6111 - Trồng lúa"),
        ],
        MARCH,
    )
    assert result.quarantine[0] == {"invalid_industry_vsic"}  # division 04 does not exist
    assert result.quarantine[1] == {"invalid_occupation_vsco"}  # 5 digits
    assert not result.quarantine[2]
    assert (result.row(2)["industry_vsic"], result.row(2)["industry_vsic_section"]) == ("0111", "A")
    assert (result.row(2)["occupation_vsco"], result.row(2)["occupation_vsco_group"]) == ("6111", "6")


def test_enums_match_loosely_and_unknown_values_are_quarantined() -> None:
    result = check(
        "labour_supply",
        [person(sex="nữ", person_id="052185001111", general_education="Cấp 2", activity_status="Đang làm việc",
                qualification="Cao đẳng nghề"),
         person(activity_status="Nghỉ hưu"), person(sex="Khác"), person(activity_status=None)],
        MARCH,
    )  # fmt: skip
    first = result.row(0)
    assert (first["sex"], first["general_education"], first["activity_status"], first["qualification"]) == (
        "Nữ", "THCS", "Có việc làm", "Cao đẳng")  # fmt: skip
    assert result.quarantine[1] == {"unknown_activity_status"}
    assert result.quarantine[2] == {"unknown_sex"}
    assert result.quarantine[3] == {"missing_activity_status"}


def test_missing_person_id_is_quarantined() -> None:
    result = check("labour_supply", [person(person_id=None), person(person_id="12345")], MARCH)
    assert result.quarantine[0] == {"missing_person_id"}
    assert result.quarantine[1] == {"invalid_person_id", "missing_person_id"}


def test_no_two_expectations_share_a_domain() -> None:
    assert duplicate_domains("labour_supply") == []
