"""`kds generate tourism_establishments`: DOMAIN §6 scale, consistent rooms and beds, tax codes that
join the generated enterprise register, determinism, defects counted."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from stdnum.vn import mst

from pipelines.datasets.tourism_establishments import name_key
from pipelines.generate import generate
from pipelines.generate import tourism_establishments as gen

pytestmark = pytest.mark.unit


def rows_of(path: Path, stats: Any) -> list[dict[str, Any]]:
    if stats.fmt == "csv":
        encoding = {"utf-16": "utf-16"}.get(stats.layout["encoding"], stats.layout["encoding"])
        delimiter = {"tab": "\t"}.get(stats.layout["delimiter"], stats.layout["delimiter"])
        table = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline=""), delimiter=delimiter))
    else:
        wb = load_workbook(path, read_only=True)
        table = [list(r) for r in wb.active.iter_rows(values_only=True)]
        wb.close()
    body = table[stats.layout["first_data_row"] - 1 : stats.layout["last_data_row"]]
    return [dict(zip(stats.layout["columns"], r, strict=False)) for r in body]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], Any]:
    files = generate("tourism_establishments", tmp_path_factory.mktemp("est"))
    [path], [stats] = files, files.stats  # type: ignore[attr-defined]
    return rows_of(path, stats), stats


def test_default_scale_and_name(default: tuple[list[dict[str, Any]], Any]) -> None:
    rows, stats = default
    assert stats.file == "co_so_luu_tru_20241231.xlsx" and stats.rows == gen.DEFAULT_ROWS
    assert len(rows) == stats.data_rows == stats.rows + stats.exact_duplicates
    assert abs(stats.layout["rooms_total"] / 19_100 - 1) < 0.08  # DOMAIN §6: 19,100 rooms
    kinds = {r["accommodation_type"] for r in rows}
    assert {"Khách sạn", "Nhà nghỉ du lịch", "Nhà ở có phòng cho khách du lịch thuê"} <= kinds


def test_beds_cover_rooms_except_the_counted_defect(default: tuple[list[dict[str, Any]], Any]) -> None:
    rows, stats = default
    below = sum(1 for r in rows[: stats.rows] if r["rooms"] and int(r["beds"]) < int(r["rooms"]))
    assert below <= stats.defects.get("beds_below_rooms", 0)


def test_stars_belong_to_hotels_except_the_counted_defect(default: tuple[list[dict[str, Any]], Any]) -> None:
    rows, stats = default
    starred = [r for r in rows[: stats.rows] if r["star_rating"] and "sao" in str(r["star_rating"])]
    odd = [r for r in starred if r["accommodation_type"] in ("Nhà nghỉ du lịch", "Nhà nghỉ", "Homestay",
                                                               "Nhà ở có phòng cho khách du lịch thuê")]  # fmt: skip
    assert len(odd) <= stats.defects.get("star_not_hotel", 0)
    assert any(r["accommodation_type"] in ("Khách sạn", "KS", "Resort") for r in starred)


def test_company_tax_codes_are_the_enterprise_generators(
    tmp_path: Path, default: tuple[list[dict[str, Any]], Any]
) -> None:
    rows, stats = default
    enterprises = generate("enterprises", tmp_path, rows=9_000, fmt="csv")
    text = enterprises[0].read_bytes()
    codes = [str(r["tax_code"]) for r in rows if r["tax_code"]]
    clean = [c for c in codes if c.isdigit() and len(c) == 10 and c.startswith("41")]
    invalid = [c for c in clean if not mst.is_valid(c)]
    assert len(clean) > 200 and len(invalid) <= stats.defects.get("tax_code_bad_check_digit", 0)
    clean = [c for c in clean if c not in invalid]
    registered = sum(1 for c in clean if c.encode() in text or c.encode("utf-16-le") in text)
    assert registered / len(clean) > 0.85


def test_names_are_unique_in_their_2025_commune_except_conflicts(default: tuple[list[dict[str, Any]], Any]) -> None:
    rows, stats = default
    keys = [(name_key(str(r["name"])), r["commune_name"]) for r in rows[: stats.rows]]
    assert len(keys) - len(set(keys)) <= stats.conflict_rows + 5  # same name, commune written two ways is fine


def test_after_the_reorganisation_no_district_column(tmp_path: Path) -> None:
    files = generate("tourism_establishments", tmp_path, rows=50, period="2025-08-31", fmt="csv")
    [stats] = files.stats  # type: ignore[attr-defined]
    assert "district_name" not in stats.layout["columns"] and files[0].name == "co_so_luu_tru_20250831.csv"


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = generate("tourism_establishments", tmp_path / "a", rows=200)
    b = generate("tourism_establishments", tmp_path / "b", rows=200)
    c = generate("tourism_establishments", tmp_path / "c", rows=200, seed=1)
    assert a[0].read_bytes() == b[0].read_bytes() != c[0].read_bytes()
