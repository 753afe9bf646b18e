"""Value parsers (pipelines.parse): good values of every form SOURCES.md lists, and the bad inputs
of RELIABILITY.md, each rejected with a reason that says what is wrong."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines import parse as P
from pipelines.parse import ParseError
from pipelines.specs import COLUMN_TYPES

pytestmark = pytest.mark.unit


def rejects(fn: object, value: str, *words: str) -> str:
    """Assert `fn(value)` raises ParseError whose message quotes the value and holds `words`."""
    assert callable(fn)
    with pytest.raises(ParseError) as info:
        fn(value)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    for word in words:
        assert word in message, message
    return message


def test_registry_covers_every_column_type_but_enum() -> None:
    assert set(P.PARSERS) == COLUMN_TYPES - {"enum"}
    assert issubclass(ParseError, ValueError)


# -------------------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05/03/2024", date(2024, 3, 5)),
        ("5/3/2024", date(2024, 3, 5)),
        ("05-03-2024", date(2024, 3, 5)),
        ("05.03.2024", date(2024, 3, 5)),
        ("2024-03-05", date(2024, 3, 5)),
        ("2024-03-05 00:00:00", date(2024, 3, 5)),
        ("2024-03-05T10:30:00", date(2024, 3, 5)),
        ("45356", date(2024, 3, 5)),  # Excel serial
        ("45356.0", date(2024, 3, 5)),
        ("45356.75", date(2024, 3, 5)),  # a date-time serial
        ("1", date(1900, 1, 1)),
        ("61", date(1900, 3, 1)),  # after Excel's phantom 29/02/1900
        ("ngày 5 tháng 3 năm 2024", date(2024, 3, 5)),
        ("Ngày  05  THÁNG 03 năm 2024", date(2024, 3, 5)),
        ("ngay 5 thang 3 nam 2024", date(2024, 3, 5)),
        ("29/02/2024", date(2024, 2, 29)),
        ("31/12/2100", date(2100, 12, 31)),
    ],
)
def test_parse_date_accepts(text: str, expected: date) -> None:
    assert P.parse_date(text) == expected


def test_parse_date_rejects() -> None:
    assert rejects(P.parse_date, "31/02/2024", "'31/02/2024'", "not a valid date", "dd/mm/yyyy")
    rejects(P.parse_date, "29/02/2023", "not a valid date")
    rejects(P.parse_date, "01/01/0001", "year 1", "1900")
    rejects(P.parse_date, "0001-01-01", "1900")
    rejects(P.parse_date, "01/01/2101", "2100")
    rejects(P.parse_date, "03/25/2024", "no month 25")  # US order
    rejects(P.parse_date, "2024", "a year, not a date")
    rejects(P.parse_date, "60", "Excel")  # 29/02/1900 does not exist
    rejects(P.parse_date, "0", "Excel")
    rejects(P.parse_date, "99999", "Excel")
    rejects(P.parse_date, "abc", "not a valid date")
    rejects(P.parse_date, "NaN", "not a valid date")
    rejects(P.parse_date, "05/03/24", "not a valid date")


@pytest.mark.parametrize(
    "text", ["03/2024", "3/2024", "2024-03", "2024/3", "tháng 3 năm 2024", "Tháng 03/2024", "T3/2024", "t03-2024"]
)
def test_parse_month(text: str) -> None:
    assert P.parse_month(text) == date(2024, 3, 1)


def test_parse_month_from_full_date_and_rejects() -> None:
    assert P.parse_month("2024-03-01") == date(2024, 3, 1)  # Excel made a date of "03/2024"
    assert P.parse_month("15/03/2024") == date(2024, 3, 1)
    rejects(P.parse_month, "13/2024", "not a valid month", "mm/yyyy")
    rejects(P.parse_month, "03/0001", "1900")
    rejects(P.parse_month, "2024", "not a valid month")
    rejects(P.parse_month, "quý 1/2024", "not a valid month")


def test_parse_year() -> None:
    assert P.parse_year("2024") == 2024
    assert P.parse_year("2024.0") == 2024
    assert P.parse_year("Năm 2024") == 2024
    rejects(P.parse_year, "0001", "1900")
    rejects(P.parse_year, "24", "not a year")
    rejects(P.parse_year, "2024.5", "not a year")
    rejects(P.parse_year, "NaN", "not a year")


# ------------------------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("12.0", 12),
        ("1.500", 1500),
        ("1,500", 1500),
        ("1 500", 1500),
        ("1\u00a0500", 1500),
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        ("-5", -5),
        ("+7", 7),
        ("0", 0),
        ("9223372036854775807", 2**63 - 1),
    ],
)
def test_parse_integer_accepts(text: str, expected: int) -> None:
    assert P.parse_integer(text) == expected


def test_parse_integer_rejects() -> None:
    rejects(P.parse_integer, "12,5", "not a whole number")
    rejects(P.parse_integer, "1.5", "not a whole number")
    rejects(P.parse_integer, "NaN", "not a number")
    rejects(P.parse_integer, "abc", "not a number")
    rejects(P.parse_integer, "inf", "not a number")
    rejects(P.parse_integer, "9223372036854775808", "too large")
    rejects(P.parse_integer, "-9223372036854775809", "too large")
    rejects(P.parse_integer, "1" * 400, "too large")
    rejects(P.parse_integer, "1.50.000", "thousands")
    rejects(P.parse_integer, "12.", "separator")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,5", 12.5),
        ("12.5", 12.5),
        ("1.500.000", 1_500_000.0),
        ("1.500,75", 1500.75),
        ("1,500.75", 1500.75),
        ("1.500", 1500.0),  # a single dot before 3 digits: Vietnamese thousands
        ("0.500", 0.5),  # not after a leading zero
        ("1234.567", 1234.567),  # not after 4 digits
        ("3.1250", 3.125),  # the reader's form of Excel's 3.125
        ("1,25", 1.25),
        ("-0,5", -0.5),
        ("1.5E+3", 1500.0),
    ],
)
def test_parse_decimal_accepts(text: str, expected: float) -> None:
    assert P.parse_decimal(text) == pytest.approx(expected)


def test_parse_decimal_rejects() -> None:
    rejects(P.parse_decimal, "NaN", "not a number")
    rejects(P.parse_decimal, "-inf", "not a number")
    rejects(P.parse_decimal, "1e999", "too large")
    rejects(P.parse_decimal, "9" * 400, "too large")
    rejects(P.parse_decimal, "1.2,3.4", "inconsistently")
    rejects(P.parse_decimal, "12 m2", "not a number")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.500.000", 1_500_000),
        ("1.500.000 đ", 1_500_000),
        ("1.500.000đ", 1_500_000),
        ("1.500.000 đồng", 1_500_000),
        ("1.500.000 VNĐ", 1_500_000),
        ("1,500,000 VND", 1_500_000),
        ("₫ 1.000".replace("₫ ", "") + " ₫", 1000),
        ("1,5 tỷ", 1_500_000_000),
        ("1,5 tỷ đồng", 1_500_000_000),
        ("1.1 tỉ", 1_100_000_000),
        ("2 triệu", 2_000_000),
        ("2 triệu đồng", 2_000_000),
        ("2,75 tr", 2_750_000),
        ("500 nghìn", 500_000),
        ("12,5", 13),  # half a đồng rounds up
        ("1500000.0", 1_500_000),
        ("0", 0),
    ],
)
def test_parse_money_vnd_accepts(text: str, expected: int) -> None:
    assert P.parse_money_vnd(text) == expected


def test_parse_money_vnd_rejects() -> None:
    rejects(P.parse_money_vnd, "-1.000", "negative")
    rejects(P.parse_money_vnd, "NaN", "not an amount")
    rejects(P.parse_money_vnd, "100 USD", "not an amount")
    rejects(P.parse_money_vnd, "đồng", "not an amount")
    rejects(P.parse_money_vnd, "99999999999 tỷ", "too large")


def test_parse_percent() -> None:
    assert P.parse_percent("3,13%") == pytest.approx(3.13)
    assert P.parse_percent("85") == 85.0
    assert P.parse_percent("85.5 %") == pytest.approx(85.5)
    rejects(P.parse_percent, "%", "not a number")
    rejects(P.parse_percent, "NaN%", "not a number")


# -------------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0100109106", "0100109106"),
        ("0300588569", "0300588569"),
        ("0100 109 106", "0100109106"),
        ("01.00.109.106", "0100109106"),
        ("100109106", "0100109106"),  # Excel dropped the leading zero; the padded code checks out
        ("100109106.0", "0100109106"),
        ("0100109106-001", "0100109106-001"),
        ("0100109106 - 001", "0100109106-001"),
        ("0100109106001", "0100109106-001"),
        ("0100109106–002", "0100109106-002"),
        ("052012345678", "052012345678"),  # a personal ID as tax code (individuals since 2025)
    ],
)
def test_parse_tax_code_accepts(text: str, expected: str) -> None:
    assert P.parse_tax_code(text) == expected


def test_parse_tax_code_rejects() -> None:
    rejects(P.parse_tax_code, "0100109107", "bad check digit", "should be 6")
    rejects(P.parse_tax_code, "0000000000", "placeholder")
    rejects(P.parse_tax_code, "0100000000", "cannot all be 0")
    rejects(P.parse_tax_code, "123", "3 digits", "10 digits")
    rejects(P.parse_tax_code, "01001091060", "11 digits")
    rejects(P.parse_tax_code, "300588560", "9 digits", "check digit")  # padding does not help
    rejects(P.parse_tax_code, "0100109106-000", "branch number 000")
    rejects(P.parse_tax_code, "MST0100109106", "other than digits")
    rejects(P.parse_tax_code, "1.00109106E+9", "scientific notation")
    rejects(P.parse_tax_code, "999012345678", "province code")


def test_tax_code_check_digit_never_issued() -> None:
    # weights sum ≡ 0 (mod 11) has no valid check digit: no code is issued with those 9 digits
    message = rejects(P.parse_tax_code, "1000000080", "no code is issued")
    assert "should be" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("052012345678", "052012345678"),
        ("052 012 345 678", "052012345678"),
        ("052-012-345-678", "052012345678"),
        ("052.012.345.678", "052012345678"),
        ("52012345678", "052012345678"),  # lost leading zero
        ("52012345678.0", "052012345678"),  # via a float
        ("001301234567", "001301234567"),
        ("096512345678", "096512345678"),
        ("123456789", "123456789"),  # old CMND
    ],
)
def test_parse_person_id_accepts(text: str, expected: str) -> None:
    assert P.parse_person_id(text) == expected


def test_parse_person_id_rejects() -> None:
    rejects(P.parse_person_id, "000000000000", "placeholder")
    rejects(P.parse_person_id, "111111111", "placeholder")
    rejects(P.parse_person_id, "0", "placeholder")
    rejects(P.parse_person_id, "999012345678", "999", "province code")
    rejects(P.parse_person_id, "000012345678", "province code")
    rejects(P.parse_person_id, "052612345678", "4th digit", "0–5")
    rejects(P.parse_person_id, "12345", "5 digits", "12")
    rejects(P.parse_person_id, "0520123456789", "13 digits")
    rejects(P.parse_person_id, "5.20123E+10", "scientific notation")
    rejects(P.parse_person_id, "CCCD 052012345678", "not a personal ID")
    rejects(P.parse_person_id, "'); DROP TABLE x; --", "not a personal ID")


def test_parse_holder_id() -> None:
    assert P.parse_holder_id("0100109106") == "0100109106"
    assert P.parse_holder_id("0100109106 - 001") == "0100109106-001"
    assert P.parse_holder_id("052012345678") == "052012345678"
    assert P.parse_holder_id("52012345678") == "052012345678"
    assert P.parse_holder_id("123456789") == "123456789"
    rejects(P.parse_holder_id, "0100109107", "check digit")
    rejects(P.parse_holder_id, "000000000000", "placeholder")


# --------------------------------------------------------------------------------- code lists


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1079", "1079"),
        ("0111", "0111"),
        ("111", "0111"),  # Excel dropped the zero of an agriculture code
        ("1079.0", "1079"),
        ("C1079", "1079"),
        ("C 1079", "1079"),
        ("1079 - Sản xuất thực phẩm khác chưa được phân vào đâu", "1079"),
        ("1079: Sản xuất", "1079"),
        ("10", "10"),
        ("1", "01"),
        ("10791", "10791"),
    ],
)
def test_parse_vsic_accepts(text: str, expected: str) -> None:
    assert P.parse_vsic(text) == expected


def test_parse_vsic_rejects() -> None:
    rejects(P.parse_vsic, "123456", "6 digits", "2–5")
    rejects(P.parse_vsic, "Sản xuất", "not a VSIC code")
    rejects(P.parse_vsic, "10.79", "not a VSIC code")


def test_parse_vsco() -> None:
    assert P.parse_vsco("2211") == "2211"
    assert P.parse_vsco("2") == "2"
    assert P.parse_vsco("2211 - Bác sĩ đa khoa") == "2211"
    assert P.parse_vsco("2211.0") == "2211"
    rejects(P.parse_vsco, "22111", "5 digits", "1–4")
    rejects(P.parse_vsco, "bác sĩ", "not a VSCO code")


def test_parse_code() -> None:
    assert P.parse_code("21550") == "21550"
    assert P.parse_code("21550.0") == "21550"
    assert P.parse_code("0021550") == "0021550"  # padding is the caller's job
    assert P.parse_code("CS 123456") == "CS 123456"
    assert P.parse_code("123/QĐ-UBND") == "123/QĐ-UBND"
    rejects(P.parse_code, "=1+1", "not a code")
    rejects(P.parse_code, "x" * 65, "not a code")


# ------------------------------------------------------------------------------ marks, lists


@pytest.mark.parametrize("text", ["x", "X", "1", "1.0", "có", "Có", "CÓ", "v", "V", "✓", "√", "TRUE"])
def test_parse_mark_true(text: str) -> None:
    assert P.parse_mark(text) is True


@pytest.mark.parametrize("text", ["0", "0.0", "không", "Không", "-", "FALSE"])
def test_parse_mark_false(text: str) -> None:
    assert P.parse_mark(text) is False


def test_parse_mark_rejects() -> None:
    rejects(P.parse_mark, "có thể", "not a mark")
    rejects(P.parse_mark, "2", "not a mark")


def test_parse_land_use_codes() -> None:
    assert P.parse_land_use_codes("ODT+CLN") == ("ODT", "CLN")
    assert P.parse_land_use_codes("odt + cln") == ("ODT", "CLN")
    assert P.parse_land_use_codes("ODT, CLN; LUC") == ("ODT", "CLN", "LUC")
    assert P.parse_land_use_codes("LUC") == ("LUC",)
    rejects(P.parse_land_use_codes, "OD1", "'OD1'", "2–4 letters")
    rejects(P.parse_land_use_codes, "+", "no code")
    rejects(P.parse_land_use_codes, "ODTXYZ", "not a land-use code")


def test_parse_text_is_identity_and_keeps_injection_literal() -> None:
    assert P.parse_text("'); DROP TABLE x; --") == "'); DROP TABLE x; --"
    assert P.parse_text("=HYPERLINK(1)") == "=HYPERLINK(1)"


def test_reason_quotes_a_huge_cell_briefly() -> None:
    message = rejects(P.parse_integer, "x" * 10_000, "not a number")
    assert len(message) < 200
