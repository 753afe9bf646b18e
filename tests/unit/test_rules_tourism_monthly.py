"""Rules of the monthly tourism report: reporting areas at two levels, the period column, the gaps."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from pipelines.conform import ROW_NUMBER, Conformer
from pipelines.datasets.tourism_monthly import derive, total_gap
from pipelines.reference import AMBIGUOUS_PLACE, UNKNOWN_PLACE, PlaceResolver
from pipelines.sources.files import SourceError
from pipelines.specs import get_spec
from pipelines.validate import load_checks

pytestmark = pytest.mark.unit

PRE, POST = date(2024, 12, 1), date(2025, 8, 1)
R = PlaceResolver.default()


@pytest.mark.parametrize(
    ("name", "when", "expected"),
    [
        ("TP. Quy Nhơn", PRE, ("district_pre2025", "540")),
        ("Tp Qui Nhơn", POST, ("district_pre2025", "540")),  # the unit type written decides, whatever the date
        ("Quy Nhơn", PRE, ("district_pre2025", "540")),  # no old commune of that name: the district
        ("Quy Nhơn", POST, ("commune_2025", "21583")),  # from 2025-07 the ward Quy Nhơn
        ("Huyện Tuy Phước", PRE, ("district_pre2025", "550")),
        ("TT Tuy Phước", PRE, ("commune_pre2025", "21952")),
        ("Tuy Phước", POST, ("commune_2025", "21952")),
        ("Xã Nhơn Lý", PRE, ("commune_pre2025", "21598")),
        ("Nhơn Lý", POST, ("commune_pre2025", "21598")),  # an old commune that is only part of its 2025 one
        ("Nhơn Châu", POST, ("commune_2025", "21607")),  # unchanged in 2025: the 2025 code
        ("Phường Quy Nhơn Đông", POST, ("commune_2025", "21601")),
    ],
)
def test_area_levels(name: str, when: date, expected: tuple[str, str]) -> None:
    res = R.resolve_area(name, when)
    assert res.ok, res.detail
    assert R.area_code(res, when) == expected


def test_a_district_row_has_no_commune_code() -> None:
    res = R.resolve_area("Thị xã An Nhơn", PRE)
    assert res.codes == (None, "549", None) and res.level == "district"


@pytest.mark.parametrize("name", ["Tuy Phước", "Tuy Phuoc", "An Lão", "Vân Canh", "Phù Mỹ", "Vĩnh Thạnh"])
def test_a_bare_name_of_a_district_and_its_town_is_ambiguous_alone(name: str) -> None:
    res = R.resolve_area(name, PRE)
    assert res.reason == AMBIGUOUS_PLACE and len(res.candidates) == 2
    assert "write the unit type" in res.detail


def test_the_report_level_settles_bare_names_never_a_mixed_report() -> None:
    by_district = R.resolve_areas([(n, PRE) for n in ("Quy Nhơn", "An Nhơn", "Tuy Phước", "Vân Canh")])
    assert [r.codes for r in by_district.values()] == [(None, "540", None), (None, "549", None),
                                                      (None, "550", None), (None, "551", None)]  # fmt: skip
    assert "like every other area of the report" in by_district[("Tuy Phước", PRE)].detail
    by_commune = R.resolve_areas([(n, PRE) for n in ("Nhơn Lý", "Xã Nhơn Hải", "Tuy Phước")])
    assert by_commune[("Tuy Phước", PRE)].codes == ("21952", "550", "21952")
    mixed = R.resolve_areas([(n, PRE) for n in ("Quy Nhơn", "Nhơn Lý", "Tuy Phước")])
    assert mixed[("Tuy Phước", PRE)].reason == AMBIGUOUS_PLACE


@pytest.mark.parametrize("name", ["Huyện Chư Pưh", "Khu kinh tế Nhơn Hội", "", None])
def test_unknown_areas_are_refused(name: str | None) -> None:
    res = R.resolve_area(name, PRE)
    assert res.reason == UNKNOWN_PLACE and res.level is None
    assert R.area_code(res, PRE) == (None, None)


def test_level_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="level"):
        R.resolve_area("Tuy Phước", PRE, level="province")


def test_total_gap_counts_blank_parts_as_zero_but_not_all_blank() -> None:
    total = pd.Series([100, 100, 100, None, 100], dtype=object)
    a = pd.Series([40, None, None, 1, 40], dtype=object)
    b = pd.Series([60, 100, None, 1, 50], dtype=object)
    gap = total_gap(total, [a, b])
    assert gap.tolist()[:2] == [0, 0] and pd.isna(gap[2]) and pd.isna(gap[3]) and gap[4] == 10


def test_derive_returns_python_values() -> None:
    parsed = {c: pd.Series([None], dtype=object) for c in get_spec("tourism_monthly").column_names}
    parsed["visitors_total"] = pd.Series([10], dtype=object)
    parsed["visitors_domestic"] = pd.Series([9], dtype=object)
    parsed["revenue_total_million_vnd"] = pd.Series([1.0], dtype=object)
    parsed["revenue_food_million_vnd"] = pd.Series([0.7], dtype=object)
    values, problems = derive(parsed, PRE)
    assert values["visitors_total_gap"].tolist() == [1] and problems == []
    assert values["revenue_total_gap_million_vnd"].tolist() == [pytest.approx(0.3)]


def _raw(periods: list[str | None], areas: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({"period": periods, "area_name": areas, "visitors_total": ["10"] * len(areas)}, dtype=object)
    frame[ROW_NUMBER] = range(2, len(areas) + 2)
    return frame


def test_rows_of_another_period_are_quarantined_and_blanks_take_the_files() -> None:
    conformer = Conformer(get_spec("tourism_monthly"), PRE, "sha", b"k" * 32)
    batch = conformer.conform(_raw(["12/2024", "11/2024", None], ["TP. Quy Nhơn", "TX An Nhơn", "H. Phù Cát"]))
    assert [(p.row, p.reason_code) for p in batch.problems] == [(1, "period_mismatch")]
    assert batch.frame["period"].tolist() == [PRE] * 3
    assert batch.frame["area_level"].tolist() == ["district_pre2025"] * 3
    assert "period" not in [c for c in batch.frame.columns if c != "period"]


def test_a_file_whose_rows_are_all_of_another_period_is_rejected() -> None:
    conformer = Conformer(get_spec("tourism_monthly"), date(2025, 1, 1), "sha", b"k" * 32)
    with pytest.raises(SourceError, match=r"2024-12.*2025-01") as exc:
        conformer.conform(_raw(["12/2024", "T12/2024"], ["TP. Quy Nhơn", "TX An Nhơn"]))
    assert exc.value.reason == "period_mismatch"


def test_suite_checks_have_distinct_domains() -> None:
    """GX upserts a suite's expectations by (type, domain): a second check of the same type on the
    same column and row condition would silently replace the first."""
    for dataset in ("tourism_monthly", "tourism_establishments", "land_parcels"):
        suite = json.loads(get_spec(dataset).suite_path.read_text(encoding="utf-8"))
        domains = [
            (e["type"], e["kwargs"].get("column"), e["kwargs"].get("column_A"), e["kwargs"].get("column_B"),
             e["kwargs"].get("row_condition"))
            for e in suite["expectations"]
        ]  # fmt: skip
        assert len(domains) == len(set(domains)), dataset
        assert all(c.reason_code for c in load_checks(get_spec(dataset).suite_path))
