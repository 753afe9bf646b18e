"""Rules of the accommodation register: name keys, organisation tax codes, the enterprise lookup, and
the suite's row-conditioned star check (GX 1.24, pandas row_condition)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.datasets.tourism_establishments import enterprise_tax_codes, name_key, organisation_tax_code
from pipelines.publish import publish
from pipelines.specs import get_spec
from pipelines.validate import Validator

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("KS. Hải Âu", "khách sạn hải âu"),
        ("Khách sạn  HẢI ÂU", "khách sạn hải âu"),
        ("Khách sạn Hải Âu", "khách sạn hải âu"),
        ("Nhà nghỉ Hoà Bình", "nhà nghỉ hòa bình"),  # old tone placement
        ("NN Minh-Tâm", "nhà nghỉ minh tâm"),
    ],
)
def test_name_key(name: str, key: str) -> None:
    assert name_key(name) == key


@pytest.mark.parametrize(
    ("code", "org"),
    [("4100258821", "4100258821"), ("0100109106-001", "0100109106-001"), ("8012345678", None), ("052190004321", None)],
)
def test_organisation_tax_code(code: str, org: str | None) -> None:
    assert organisation_tax_code(code) == org


def _publish_enterprises(lake: Path, when: date, codes: list[str], tmp: Path) -> None:
    spec = get_spec("enterprises")
    part = tmp / f"{when}.parquet"
    pq.write_table(pa.table({"tax_code": codes}), part)
    publish(lake, spec, when, "all", part, source={"file": "x", "sha256": "y"}, run_id="r")


def test_enterprise_codes_from_the_closest_published_snapshot(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert enterprise_tax_codes(lake, date(2024, 12, 31)) is None  # no enterprise data: unknown, no failure
    _publish_enterprises(lake, date(2025, 3, 31), ["4100000001"], tmp_path)
    assert enterprise_tax_codes(lake, date(2024, 12, 31)) == {"4100000001"}  # only a later one: that one
    _publish_enterprises(lake, date(2024, 11, 30), ["4100000002"], tmp_path)
    assert enterprise_tax_codes(lake, date(2024, 12, 31)) == {"4100000002"}  # the latest on or before
    (lake / "enterprises" / "v1" / "period=2025-06-30").mkdir()  # a partition without manifest is invisible
    assert enterprise_tax_codes(lake, date(2025, 7, 1)) == {"4100000001"}


def test_star_rating_checks_apply_per_type() -> None:
    validator = Validator(get_spec("tourism_establishments"))
    frame = pd.DataFrame(
        {
            "name_key": ["a", "b", "c", "d", "e"],
            "accommodation_type": ["Khách sạn", "Nhà nghỉ du lịch", "Biệt thự du lịch", "Nhà nghỉ du lịch", None],
            "star_rating": ["4 sao", "3 sao", "4 sao", "Đạt chuẩn", "2 sao"],
            "rooms": [10, 5, 3, 4, 2],
            "beds": [20, 4, 6, 8, 2],
        },
        dtype=object,
    )
    failures = validator.validate(frame)
    quarantined = {i: sorted(c.reason_code for c in checks) for i, checks in failures.quarantine.items()}
    assert quarantined[1] == ["beds_below_rooms", "star_rating_not_hotel"]
    assert 0 not in quarantined and 3 not in quarantined
    assert [c.reason_code for c in failures.warned[2]] == ["star_rating_villa_apartment_boat"]
