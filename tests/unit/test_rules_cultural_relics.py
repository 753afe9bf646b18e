"""Relic rules: rank and type from their code lists, the decision date against the snapshot date,
the rank against the deciding authority, the folded name that keys a relic."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import pytest

from pipelines.datasets.cultural_relics import NATIONAL, PROVINCIAL, SPECIAL_NATIONAL, authority_rank
from tests.fixtures.rules import check, duplicate_domains

pytestmark = pytest.mark.unit

SNAPSHOT = date(2025, 3, 31)


def relic(**cells: Any) -> dict[str, Any]:
    base = {
        "name": "Tháp Bánh Ít", "relic_type": "Kiến trúc nghệ thuật", "rank": "Quốc gia", "decision_no": "54-VH/QĐ",
        "decision_date": "12/01/1982", "decided_by": "Bộ Văn hóa", "commune_name": "Xã Phước Hiệp",
        "district_name": "Huyện Tuy Phước", "managed_by": "Ban Quản lý di tích tỉnh", "protected_area_m2": "12.500,5",
    }  # fmt: skip
    return {**base, **cells}


@pytest.mark.parametrize(
    ("decided_by", "decision_no", "expected"),
    [
        ("Thủ tướng Chính phủ", None, SPECIAL_NATIONAL),
        ("Bộ Văn hóa, Thể thao và Du lịch", None, NATIONAL),
        ("Bộ Văn hóa - Thông tin", None, NATIONAL),
        ("Bộ trưởng Bộ VHTTDL", None, NATIONAL),
        ("UBND tỉnh Bình Định", None, PROVINCIAL),
        ("Chủ tịch Ủy ban nhân dân tỉnh", None, PROVINCIAL),
        ("UBND huyện Tây Sơn", None, None),  # no power to rank: not recognised, not checked
        (None, "2383/QĐ-TTg", SPECIAL_NATIONAL),
        (None, "1500/QĐ-BVHTTDL", NATIONAL),
        (None, "1288/QĐ-BVHTT", NATIONAL),
        ("", "1234/QĐ-UBND", PROVINCIAL),
        (None, "54-VH/QĐ", None),
        (None, None, None),
    ],
)
def test_authority_rank(decided_by: str | None, decision_no: str | None, expected: str | None) -> None:
    assert authority_rank(decided_by, decision_no) == expected


def test_rank_and_type_from_their_code_lists() -> None:
    result = check(
        "cultural_relics",
        [
            relic(rank="Di tích cấp tỉnh", relic_type="Di tích lịch sử", decided_by="UBND tỉnh Bình Định"),
            relic(rank="QUỐC GIA ĐẶC BIỆT", relic_type="DLTC", decided_by="Thủ tướng Chính phủ"),
            relic(rank="Cấp huyện"),
            relic(relic_type="Tâm linh"),
            relic(rank=None),
        ],
        SNAPSHOT,
    )
    assert (result.row(0)["rank"], result.row(0)["relic_type"]) == ("Cấp tỉnh", "Lịch sử")
    assert (result.row(1)["rank"], result.row(1)["relic_type"]) == ("Quốc gia đặc biệt", "Danh lam thắng cảnh")
    assert result.quarantine == [set(), set(), {"unknown_rank"}, {"unknown_relic_type"}, {"missing_rank"}]


def test_decision_date_not_after_the_snapshot_date() -> None:
    rows = [relic(decision_date="31/03/2025"), relic(decision_date="01/04/2025"), relic(decision_date=None)]
    march = check("cultural_relics", rows, SNAPSHOT)
    assert march.quarantine == [set(), {"decision_after_snapshot"}, set()]
    assert march.warn[2] == {"missing_decision_date"}
    later = check("cultural_relics", rows, date(2025, 4, 30))
    assert later.quarantine == [set(), set(), set()]


def test_rank_against_the_deciding_authority_is_flagged_not_corrected() -> None:
    result = check(
        "cultural_relics",
        [relic(), relic(decided_by="UBND tỉnh Bình Định"), relic(decided_by="Sở Văn hóa", decision_no="12/QĐ-SVH")],
        SNAPSHOT,
    )
    assert [result.row(i)["is_rank_consistent_with_authority"] for i in range(3)] == [True, False, None]
    assert result.row(1)["rank"] == "Quốc gia" and result.row(1)["decided_by_rank"] == "Cấp tỉnh"
    assert result.warn[1] == {"rank_authority_mismatch"} and not result.quarantine[1]


def test_the_folded_name_keys_a_relic_whatever_its_spelling() -> None:
    # (legacy-font cells are repaired by the reader, before the rules: see the end-to-end test)
    spellings = ["Tháp Bánh Ít", "THÁP BÁNH ÍT", "  Tháp  Bánh Ít ", unicodedata.normalize("NFD", "Tháp Bánh Ít")]
    result = check("cultural_relics", [relic(name=n) for n in spellings] + [relic(name="Chùa Hoà Quang"),
                                                                             relic(name="Chùa Hòa Quang")], SNAPSHOT)  # fmt: skip
    folded = [result.row(i)["name_folded"] for i in range(6)]
    assert folded[:4] == ["tháp bánh ít"] * 4
    assert folded[4] == folded[5] == "chùa hòa quang"
    assert result.row(0)["commune_code_2025"] == "21964"
    missing = check("cultural_relics", [relic(name=None)], SNAPSHOT)
    assert missing.quarantine[0] == {"missing_name"}


def test_protected_area() -> None:
    result = check("cultural_relics", [relic(protected_area_m2="0"), relic(protected_area_m2="5 ha")], SNAPSHOT)
    assert result.warn[0] == {"implausible_protected_area"}
    assert result.quarantine[1] == {"invalid_protected_area_m2"}


def test_no_two_expectations_share_a_domain() -> None:
    assert duplicate_domains("cultural_relics") == []
