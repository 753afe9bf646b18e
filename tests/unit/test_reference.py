"""Reference lists and the place resolver: one behaviour per test (the labelled evaluation set is
in test_resolver_eval.py)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

import pytest

from pipelines import reference
from pipelines.reference import PlaceResolver, parse_place_name
from pipelines.text import encode_legacy, fold_ascii

pytestmark = pytest.mark.unit

BEFORE = date(2024, 12, 31)
AFTER = date(2025, 9, 30)


@pytest.fixture(scope="module")
def resolver() -> PlaceResolver:
    return PlaceResolver.default()


@pytest.fixture(scope="module")
def wide() -> PlaceResolver:
    return PlaceResolver.default(("52", "64"))


# --- Reference lists -------------------------------------------------------------------------


def test_reference_lists_load_as_text_with_their_zeros() -> None:
    assert len(reference.load_reference("admin_units_pre2025")) == 403
    assert len(reference.load_reference("admin_units_2025")) == 136
    assert len(reference.load_reference("admin_unit_crosswalk_2025.csv")) == 376
    sections = reference.load_reference("vsic2018_sections")
    assert sections[0]["division_from"] == "01"
    assert reference.load_reference("vsic2018_sections") is sections  # cached


@pytest.mark.parametrize(
    ("code", "section"),
    [("0111", "A"), ("01", "A"), ("03220", "A"), ("4101", "F"), ("35", "D"), ("6810", "L"), ("99000", "U")],
)
def test_vsic_section_from_the_division(code: str, section: str) -> None:
    assert reference.vsic_section(code) == section


@pytest.mark.parametrize("code", ["04", "4", "", "A011", "34", "40", "89"])
def test_vsic_section_none_outside_every_range(code: str) -> None:
    assert reference.vsic_section(code) is None


def test_vsco_major_group_is_the_first_digit() -> None:
    assert reference.vsco_group_exists("2111")
    assert reference.vsco_group_exists("0110")  # armed forces
    assert not reference.vsco_group_exists("")
    assert not reference.vsco_group_exists("x1")


def test_land_use_codes_depend_on_their_system() -> None:
    assert reference.land_use_code_exists("TT25_2014", "ODT")
    assert reference.land_use_code_exists("TT08_2024", "odt")
    assert reference.land_use_group("TT25_2014", "LUC") == "nong_nghiep"
    assert reference.land_use_group("TT08_2024", "BCS") == "chua_su_dung"
    assert reference.land_use_code_exists("TT08_2024", "HNK")
    assert not reference.land_use_code_exists("TT25_2014", "HNK")  # 2024 code only
    assert reference.land_use_group("TT25_2014", "XYZ") is None
    assert not reference.land_use_code_exists("TT99", "ODT")


# --- Name parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit_type", "key"),
    [
        ("Thành phố Quy Nhơn", "thanh_pho", "quy nhơn"),
        ("TP. Quy Nhơn", "thanh_pho", "quy nhơn"),
        ("TP.Quy Nhơn", "thanh_pho", "quy nhơn"),
        ("Tp Quy Nhơn", "thanh_pho", "quy nhơn"),
        ("T.P Quy Nhơn", "thanh_pho", "quy nhơn"),
        ("TPQuy Nhơn", "thanh_pho", "quy nhơn"),
        ("tp qui nhon", "thanh_pho", "quy nhon"),
        ("Thị xã An Nhơn", "thi_xa", "an nhơn"),
        ("TX. An Nhơn", "thi_xa", "an nhơn"),
        ("TX An Nhơn", "thi_xa", "an nhơn"),
        ("Huyện Tuy Phước", "huyen", "tuy phước"),
        ("H. Tuy Phước", "huyen", "tuy phước"),
        ("H.Tuy Phước", "huyen", "tuy phước"),
        ("Quận Hải Châu", "quan", "hải châu"),
        ("Q. Hải Châu", "quan", "hải châu"),
        ("Phường Nhơn Bình", "phuong", "nhơn bình"),
        ("P. Nhơn Bình", "phuong", "nhơn bình"),
        ("P.Nhơn Bình", "phuong", "nhơn bình"),
        ("P Nhơn Bình", "phuong", "nhơn bình"),
        ("F. Nhơn Bình", "phuong", "nhơn bình"),
        ("PHƯỜNG NHƠN BÌNH", "phuong", "nhơn bình"),
        ("Phuong Nhon Binh", "phuong", "nhon binh"),
        ("Xã Nhơn Lý", "xa", "nhơn lý"),
        ("X. Nhơn Lý", "xa", "nhơn lý"),
        ("X.Nhơn Lý", "xa", "nhơn lý"),
        ("Thị trấn Diêu Trì", "thi_tran", "diêu trì"),
        ("TT. Diêu Trì", "thi_tran", "diêu trì"),
        ("TT Diêu Trì", "thi_tran", "diêu trì"),
        ("TTDiêu Trì", "thi_tran", "diêu trì"),
        ("T.T. Diêu Trì", "thi_tran", "diêu trì"),
        ("thi tran dieu tri", "thi_tran", "dieu tri"),
        ("Tỉnh Bình Định", "tinh", "bình định"),
        ("Thị Nại", None, "thị nại"),  # "Thị" alone is part of the name
        ("Xà Nhơn", None, "xà nhơn"),  # "Xà" is not "Xã"
        ("  Nhơn   Bình ,", None, "nhơn bình"),
        ("(Nhơn-Bình).", None, "nhơn bình"),
        ("Nhơn Hoà", None, "nhơn hòa"),
        ("Qui Nhơn Đông", None, "quy nhơn đông"),
        ("Xã", None, "xã"),  # a prefix alone is a (meaningless) name, not an empty one
    ],
)
def test_parse_place_name_strips_prefix_and_keeps_it_as_a_hint(text: str, unit_type: str | None, key: str) -> None:
    name = parse_place_name(text)
    assert name is not None
    assert (name.unit_type, name.key) == (unit_type, key)
    assert name.ascii_key == fold_ascii(key)


def test_parse_place_name_repairs_nfd_and_legacy_fonts() -> None:
    assert parse_place_name(unicodedata.normalize("NFD", "Phường Nhơn Bình")) == parse_place_name("Phường Nhơn Bình")
    assert parse_place_name(encode_legacy("Phường Nhơn Bình", "tcvn3")) == parse_place_name("Phường Nhơn Bình")
    assert parse_place_name("   ") is None


# --- Resolving names -------------------------------------------------------------------------


def test_old_commune_gets_both_systems(resolver: PlaceResolver) -> None:
    res = resolver.resolve("P. Nhơn Bình", "TP. Quy Nhơn", record_date=BEFORE)
    assert res.ok and res.reason is None
    assert res.codes == ("21550", "540", "21601")


def test_new_commune_has_no_single_old_code(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Phường Quy Nhơn Đông").codes == (None, None, "21601")


def test_new_commune_built_from_one_old_commune_gets_its_old_codes(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Xã Nhơn Châu", record_date=AFTER).codes == ("21607", "540", "21607")
    assert resolver.resolve("Canh Liên", record_date=AFTER).codes == ("21997", "551", "21997")


@pytest.mark.parametrize(
    "text", ["Phường Nhơn Bình", "nhon binh", "NHƠN BÌNH", "Nhơn Bìnhh", "Nhon Binhh", "Ph\u00adêng Nh¬n B×nh"]
)
def test_name_in_any_style(resolver: PlaceResolver, text: str) -> None:
    assert resolver.resolve(text).codes == ("21550", "540", "21601")


def test_unknown_place(resolver: PlaceResolver) -> None:
    res = resolver.resolve("Xã Không Có")
    assert (res.ok, res.reason, res.codes, res.candidates) == (False, "unknown_place", (None, None, None), ())
    assert "Xã Không Có" in res.detail


def test_ambiguous_place_lists_its_candidates(resolver: PlaceResolver) -> None:
    res = resolver.resolve("Ngô Mây")
    assert not res.ok and res.reason == "ambiguous_place"
    assert res.candidates == (
        "21577 Phường Ngô Mây (Thành phố Quy Nhơn)",
        "21853 Thị trấn Ngô Mây (Huyện Phù Cát)",
        "21901 Xã Ngô Mây (2025)",
    )
    assert res.codes == (None, None, None)


def test_unit_type_district_and_date_break_ties(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Phường Ngô Mây").codes == ("21577", "540", "21592")
    assert resolver.resolve("TT Ngô Mây", record_date=AFTER).codes == ("21853", "548", "21853")
    assert resolver.resolve("Ngô Mây", "Huyện Phù Cát").codes == ("21853", "548", "21853")
    assert resolver.resolve("Ngô Mây", record_date=AFTER).codes == (None, None, "21901")
    assert resolver.resolve("Cát Tiến", record_date=BEFORE).codes == ("21898", "548", "21880")
    assert resolver.resolve("Xã Ngô Mây", record_date=BEFORE).reason == "ambiguous_place"


def test_same_letters_in_two_districts_need_diacritics_or_district(resolver: PlaceResolver) -> None:
    res = resolver.resolve("An Nghia")
    assert res.reason == "ambiguous_place"
    assert res.candidates == ("21634 Xã An Nghĩa (Huyện An Lão)", "21727 Xã Ân Nghĩa (Huyện Hoài Ân)")
    assert resolver.resolve("Ân Nghia").codes == ("21727", "544", "21727")
    assert resolver.resolve("An Nghia", "H. Hoai An").codes == ("21727", "544", "21727")


def test_few_names_collide_within_binh_dinh() -> None:
    """Within pre-2025 Bình Định only Ngô Mây (a ward of Quy Nhơn, a town of Phù Cát) is written
    twice; without diacritics An Nghĩa / Ân Nghĩa collide too. A change in the lists shows here."""
    units = [
        r
        for r in reference.load_reference("admin_units_pre2025")
        if r["level"] == "commune" and r["parent_code"] < "600"
    ]
    assert len(units) == 155
    by_fold: dict[str, list[str]] = {}
    by_ascii: dict[str, list[str]] = {}
    for r in units:
        name = parse_place_name(r["name"])
        assert name is not None
        by_fold.setdefault(name.key, []).append(r["code"])
        by_ascii.setdefault(name.ascii_key, []).append(r["code"])
    assert [codes for codes in by_fold.values() if len(codes) > 1] == [["21577", "21853"]]
    assert [codes for codes in by_ascii.values() if len(codes) > 1] == [["21577", "21853"], ["21634", "21727"]]


def test_district_contradicting_the_commune_refuses(resolver: PlaceResolver) -> None:
    res = resolver.resolve("Nhơn Bình", "Huyện Phù Cát")
    assert res.reason == "unknown_place"
    assert res.candidates == ("21550 Phường Nhơn Bình (Thành phố Quy Nhơn)",)


def test_unrecognised_district_is_ignored_and_said(resolver: PlaceResolver) -> None:
    res = resolver.resolve("Nhơn Bình", "Huyện Xyz")
    assert res.codes == ("21550", "540", "21601")
    assert "not recognised" in res.detail


def test_district_outside_scope_refuses(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Nhơn Hòa", "Huyện Chư Pưh").reason == "unknown_place"


def test_district_name_in_commune_column_refuses(resolver: PlaceResolver) -> None:
    for text in ("TP. Quy Nhơn", "Thị xã An Nhơn", "Huyện Phù Mỹ", "Tỉnh Bình Định"):
        assert resolver.resolve(text).reason == "unknown_place", text


def test_other_diacritics_are_another_name(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Phú Mỹ", record_date=BEFORE).reason == "unknown_place"
    assert resolver.resolve("Phu My", record_date=BEFORE).codes == ("21730", "545", "21730")


def test_typo_tolerance_needs_a_long_clear_name(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Ân Mĩ").reason == "unknown_place"  # 4 letters
    res = resolver.resolve("Mỹ Hánh")  # one letter from Mỹ Chánh and from Mỹ Thành
    assert res.reason == "ambiguous_place"
    assert {"21766 Xã Mỹ Thành (Huyện Phù Mỹ)", "21769 Xã Mỹ Chánh (Huyện Phù Mỹ)"} <= set(res.candidates)
    # one letter from Nhơn Bình but two from Nhơn An: a two-letter slip of Nhơn An is as likely
    res = resolver.resolve("Nhon Bnh")
    assert res.reason == "ambiguous_place"
    assert "21928 Xã Nhơn An (Thị xã An Nhơn)" in res.candidates


# --- Scope -----------------------------------------------------------------------------------


def test_scope_is_the_province_of_the_dataset(resolver: PlaceResolver, wide: PlaceResolver) -> None:
    assert resolver.resolve("Nhơn Hòa").codes == ("21943", "549", "21943")
    assert wide.resolve("Nhơn Hòa").reason == "ambiguous_place"
    assert wide.resolve("Nhơn Hòa", "Huyện Chư Pưh").codes == ("23942", "639", "23942")
    res = resolver.resolve("Chư Pưh")
    assert res.reason == "unknown_place" and "outside" in res.detail
    assert wide.resolve("Chư Pưh").codes == (None, None, "23942")


def test_unit_type_found_only_outside_scope_refuses(resolver: PlaceResolver, wide: PlaceResolver) -> None:
    assert resolver.resolve("Thị trấn Nhơn Hoà").reason == "unknown_place"
    assert wide.resolve("Thị trấn Nhơn Hoà").codes == ("23942", "639", "23942")


def test_unknown_scope_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="99"):
        PlaceResolver(("99",))


def test_default_is_built_once_per_scope() -> None:
    assert PlaceResolver.default() is PlaceResolver.default(("52",))
    assert PlaceResolver.default(("64", "52")) is PlaceResolver.default(("52", "64"))


# --- Split communes --------------------------------------------------------------------------


def test_split_commune_with_a_documented_target(resolver: PlaceResolver) -> None:
    res = resolver.resolve("Xã An Nghĩa", "Huyện An Lão")
    assert res.ok and res.reason is None
    assert res.codes == ("21634", "542", "21622")
    assert "split" in res.detail


def test_split_commune_without_target_is_flagged_unallocated(resolver: PlaceResolver) -> None:
    res = resolver.resolve("Canh Hiệp", record_date=BEFORE)
    assert res.reason == "split_commune_unallocated"
    assert res.ok  # the old codes are right; only the 2025 commune is unknown
    assert res.codes == ("22000", "551", None)
    assert res.candidates == ("21994 Xã Vân Canh (2025)", "22006 Xã Canh Vinh (2025)")


def test_a_2025_code_allocates_a_split_commune(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Canh Hiệp", code="22006", code_system="2025").codes == ("22000", "551", "22006")
    assert resolver.resolve("An Nghĩa", code="21628", code_system="2025").codes == ("21634", "542", "21628")


# --- Codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("draft", "official"), sorted(reference.DRAFT_CODES_2025.items()))
def test_draft_2025_codes_are_remapped(wide: PlaceResolver, draft: str, official: str) -> None:
    res = wide.resolve(None, code=draft, code_system="2025")
    assert res.ok and res.commune_code_2025 == official
    assert "draft" in res.detail


@pytest.mark.parametrize("code", ["21550", " 21550", "21550.0", "'21550", 21550, 21550.0])
def test_code_in_any_cell_format(resolver: PlaceResolver, code: object) -> None:
    assert resolver.resolve(None, code=code, code_system="pre2025").codes == ("21550", "540", "21601")  # type: ignore[arg-type]


def test_code_system_by_record_date(resolver: PlaceResolver) -> None:
    assert resolver.resolve(None, code="21583", record_date=BEFORE).codes == ("21583", "540", "21583")  # Thị Nại
    assert resolver.resolve(None, code="21583", record_date=AFTER).codes == (None, None, "21583")  # Quy Nhơn
    assert resolver.resolve(None, code="21583").reason == "ambiguous_place"


def test_unknown_code(resolver: PlaceResolver) -> None:
    for code in ("99999", "abc", "123456", "2155"):
        res = resolver.resolve(None, code=code)
        assert (res.ok, res.reason) == (False, "unknown_code"), code
    res = resolver.resolve(None, code="21550", code_system="2025")
    assert res.reason == "unknown_code"
    assert res.candidates == ("21550 Phường Nhơn Bình (Thành phố Quy Nhơn)",)  # what it is in the other list


def test_code_outside_scope(resolver: PlaceResolver) -> None:
    assert resolver.resolve(None, code="23563").reason == "unknown_place"


def test_code_name_mismatch(resolver: PlaceResolver) -> None:
    res = resolver.resolve("Nhơn Phú", code="21550", code_system="pre2025")
    assert not res.ok and res.reason == "code_name_mismatch"
    assert res.candidates == (
        "21550 Phường Nhơn Bình (Thành phố Quy Nhơn)",
        "21553 Phường Nhơn Phú (Thành phố Quy Nhơn)",
    )
    assert resolver.resolve("Nhơn Bình", "Huyện Phù Cát", "21550", None, "pre2025").reason == "code_name_mismatch"


def test_code_and_name_agree_across_systems(resolver: PlaceResolver) -> None:
    # a post-2025 file: the new code with the old commune name
    assert resolver.resolve("Nhơn Bình", code="21601", code_system="2025").codes == ("21550", "540", "21601")
    # an old code with the name of the new commune it went into
    assert resolver.resolve("Quy Nhơn Đông", code="21550", code_system="pre2025").codes == ("21550", "540", "21601")
    assert resolver.resolve("Quy Nhơn Bắc", code="21550", code_system="pre2025").reason == "code_name_mismatch"


def test_a_code_settles_other_diacritics(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Phú Mỹ", code="21730", code_system="pre2025").codes == ("21730", "545", "21730")


# --- Inputs from DataFrames and the cache ------------------------------------------------------


def test_blank_cells(resolver: PlaceResolver) -> None:
    for blank in (None, "", "  ", float("nan")):
        assert resolver.resolve(blank).reason == "unknown_place"  # type: ignore[arg-type]
    assert resolver.resolve("Nhơn Bình", float("nan"), float("nan"), float("nan")).codes[0] == "21550"  # type: ignore[arg-type]


def test_record_date_as_datetime_or_iso_text(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Cát Tiến", record_date=datetime(2024, 3, 1, 8, 30)).codes[0] == "21898"
    assert resolver.resolve("Cát Tiến", record_date="2025-08-01").codes[0] is None  # type: ignore[arg-type]


def test_invalid_code_system_is_a_programming_error(resolver: PlaceResolver) -> None:
    with pytest.raises(ValueError, match="code_system"):
        resolver.resolve("Nhơn Bình", code_system="2024")


def test_resolve_many_resolves_each_distinct_tuple_once(resolver: PlaceResolver) -> None:
    inputs = [("Nhơn Bình", None, None, BEFORE, None)] * 3 + [("Ngô Mây", None, None, None, None)]
    out = resolver.resolve_many(inputs)
    assert list(out) == [inputs[0], inputs[3]]
    assert out[inputs[0]].codes == ("21550", "540", "21601")
    assert out[inputs[3]].reason == "ambiguous_place"
    assert resolver.resolve(*inputs[0]) is out[inputs[0]]  # memoised
