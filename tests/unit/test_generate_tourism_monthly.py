"""`kds generate tourism_monthly`: one file per month, the 2024 scale, areas by level, determinism."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from pipelines.generate import generate
from pipelines.generate import tourism_monthly as gen
from pipelines.parse import parse_decimal, parse_integer
from pipelines.reference import PlaceResolver

pytestmark = pytest.mark.unit


def rows_of(path: Path, stats: Any) -> list[dict[str, Any]]:
    wb = load_workbook(path, read_only=True)
    table = [list(r) for r in wb.active.iter_rows(values_only=True)]
    wb.close()
    body = table[stats.layout["first_data_row"] - 1 : stats.layout["last_data_row"]]
    return [dict(zip(stats.layout["columns"], r, strict=False)) for r in body]


def number(cell: Any, decimal: bool = False) -> float:
    if cell is None:
        return 0.0
    if isinstance(cell, int | float):
        return float(cell)
    text = str(cell).rstrip("%")
    return parse_decimal(text) if decimal else float(parse_integer(text))


def test_default_is_the_year_2024_at_its_scale(tmp_path: Path) -> None:
    files = generate("tourism_monthly", tmp_path)
    stats = files.stats  # type: ignore[attr-defined]
    assert len(files) == 12 and sum(s.rows for s in stats) == 132
    assert [s.layout["month"] for s in stats] == [date(2024, m, 1).isoformat() for m in range(1, 13)]
    visitors = revenue = 0.0
    for path, s in zip(files, stats, strict=True):
        for row in rows_of(path, s)[: s.rows]:  # duplicates come after their row
            visitors += number(row["visitors_total"])
            revenue += number(row["revenue_total_million_vnd"], decimal=True)
    target_visitors, target_revenue = gen.expected_totals(2024)
    assert abs(visitors / target_visitors - 1) < 0.08
    assert abs(revenue / target_revenue - 1) < 0.10
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in files)  # nothing else written


def test_titles_name_the_month_and_areas_are_old_districts(tmp_path: Path) -> None:
    files = generate("tourism_monthly", tmp_path, rows=11, period="2024-06")
    [path], [s] = files, files.stats  # type: ignore[attr-defined]
    wb = load_workbook(path, read_only=True)
    titles = [str(r[0]) for r in wb.active.iter_rows(max_row=s.layout["title_rows"], values_only=True) if r[0]]
    wb.close()
    assert "Kỳ báo cáo: Tháng 6 năm 2024" in titles
    resolver = PlaceResolver.default()
    names = [row["area_name"] for row in rows_of(path, s)]
    answers = resolver.resolve_areas((n, date(2024, 6, 1)) for n in names)
    placed = [a for a in answers.values() if a.ok]
    assert len(placed) >= len(answers) - 1 and {a.level for a in placed} == {"district"}


def test_after_the_reorganisation_communes(tmp_path: Path) -> None:
    files = generate("tourism_monthly", tmp_path, rows=58, period="2025-08-01")
    [s] = files.stats  # type: ignore[attr-defined]
    assert s.rows == 58 == len(gen.areas_at(date(2025, 8, 1)))
    names = [row["area_name"] for row in rows_of(files[0], s)]
    answers = PlaceResolver.default().resolve_areas((n, date(2025, 8, 1)) for n in names)
    placed = [a for a in answers.values() if a.ok]
    assert len(placed) >= 0.9 * len(answers) and {a.level for a in placed} == {"commune"}


def test_rows_are_taken_month_by_month_backwards(tmp_path: Path) -> None:
    files = generate("tourism_monthly", tmp_path, rows=25, period="2024-03")
    assert [(s.layout["month"], s.rows) for s in files.stats] == [  # type: ignore[attr-defined]
        ("2024-01-01", 3), ("2024-02-01", 11), ("2024-03-01", 11)]  # fmt: skip


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = generate("tourism_monthly", tmp_path / "a", rows=22, seed=7)
    b = generate("tourism_monthly", tmp_path / "b", rows=22, seed=7)
    c = generate("tourism_monthly", tmp_path / "c", rows=22, seed=8)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]


def test_csv_and_defects_are_counted(tmp_path: Path) -> None:
    files = generate("tourism_monthly", tmp_path, rows=660, fmt="csv", period="2024-12")
    stats = files.stats  # type: ignore[attr-defined]
    assert all(p.suffix == ".csv" for p in files)
    assert sum(s.data_rows for s in stats) == 660 + sum(s.exact_duplicates for s in stats)
    defects: dict[str, int] = {}
    for s in stats:
        for k, v in s.defects.items():
            defects[k] = defects.get(k, 0) + v
    assert 2 <= defects.get("visitors_total_mismatch", 0) <= 35
    assert defects.get("area_style_variant", 0) > 20
