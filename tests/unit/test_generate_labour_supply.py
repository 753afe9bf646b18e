"""`kds generate labour_supply`: names and defaults, determinism, layout, realistic people, defect rates."""

from __future__ import annotations

import re
import time
import tracemalloc
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipelines.datasets.labour_supply import person_id_consistent, read_birth, reference_day
from pipelines.generate import GENERATORS, generate
from pipelines.generate import labour_supply as gen
from pipelines.generate.common import GenerationStats, new_units, vsic_divisions
from pipelines.specs import get_spec
from tests.fixtures.generated import binomial_ok, data_rows, read_table

pytestmark = pytest.mark.unit

SPEC = get_spec("labour_supply")


def one(out: Path, **kwargs: Any) -> tuple[Path, GenerationStats]:
    files = generate("labour_supply", out, **kwargs)
    assert len(files) == 1
    return files[0], files.stats[0]  # type: ignore[attr-defined]


def test_name_defaults_and_periods(tmp_path: Path) -> None:
    assert GENERATORS["labour_supply"] is gen.generate_labour_supply
    assert gen.DEFAULT_ROWS == 848_500 and date(2025, 3, 1) == gen.DEFAULT_PERIOD
    path, stats = one(tmp_path / "a", rows=30)
    assert path.name == "cung_lao_dong_202503.xlsx" and stats.period == "2025-03-01"
    assert [p.name for p in (tmp_path / "a").iterdir()] == [path.name]
    assert SPEC.file_pattern.match(path.name)
    for period, name in (("2025-09", "cung_lao_dong_202509.csv"), ("202412", "cung_lao_dong_202412.csv"),
                         (date(2024, 6, 15), "cung_lao_dong_202406.csv")):  # fmt: skip
        assert one(tmp_path / name, rows=5, period=period, fmt="csv")[0].name == name
    with pytest.raises(ValueError):
        one(tmp_path, rows=5, period="03/2025")
    with pytest.raises(ValueError):
        one(tmp_path, rows=5, fmt="json")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, fmt: str) -> None:
    a, _ = one(tmp_path / "a", rows=300, seed=7, fmt=fmt)
    time.sleep(1.1)  # a clock leaking into the file would show now
    b, _ = one(tmp_path / "b", rows=300, seed=7, fmt=fmt)
    c, _ = one(tmp_path / "c", rows=300, seed=8, fmt=fmt)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


@pytest.mark.parametrize(("fmt", "seed"), [("xlsx", 3), ("xlsx", 12), ("csv", 2), ("csv", 6)])
def test_data_rows_are_rows_plus_exact_duplicates(tmp_path: Path, fmt: str, seed: int) -> None:
    path, stats = one(tmp_path, rows=800, seed=seed, fmt=fmt)
    table = read_table(path, stats)
    layout = stats.layout
    assert stats.data_rows == stats.rows + stats.exact_duplicates
    assert layout["last_data_row"] - layout["first_data_row"] + 1 == stats.data_rows
    if layout["header_rows"] == 1:
        header = table[layout["header_row"] - 1]
        assert [str(h) for h in header[: len(layout["headers"])]] == layout["headers"]
    assert len(table) - layout["last_data_row"] == layout["footer_rows"]
    titles = [str(v) for row in table[: layout["title_rows"]] for v in row if v]
    assert all(
        not t.startswith("Kỳ báo cáo") or t in ("Kỳ báo cáo: 03/2025", "Kỳ báo cáo: tháng 3 năm 2025") for t in titles
    )


def test_people_are_plausible() -> None:
    factory = gen.PersonFactory(5, gen.DEFAULT_PERIOD)
    day = reference_day(gen.DEFAULT_PERIOD)
    divisions = vsic_divisions()
    people = [factory.new() for _ in range(6_000)]
    ids = [p.person_id for p in people] + [p.old_id for p in people]
    assert len(set(ids)) == len(ids)  # nobody shares a CCCD or a CMND by accident
    activity: Counter[str] = Counter()
    minority: Counter[str] = Counter()
    for p in people:
        age = day.year - p.born.year - ((day.month, day.day) < (p.born.month, p.born.day))
        assert 15 <= age <= 90
        assert person_id_consistent(p.person_id, p.born.year, p.sex) is True
        assert re.fullmatch(r"\d{9}", p.old_id)
        assert p.commune.province_code == "52"
        assert p.education in SPEC.column("general_education").values
        assert p.qualification in SPEC.column("qualification").values
        activity[p.activity] += 1
        if p.activity == "Có việc làm":
            assert (
                p.job and p.vsic and p.vsic[:2] in divisions and p.employment in SPEC.column("employment_status").values
            )
            assert p.unemployed_months is None
        else:
            assert p.job is None and p.employment is None and p.vsic is None
        assert (p.unemployed_months is not None) == (p.activity == "Thất nghiệp")
        if p.ethnicity != "Kinh":
            minority[p.commune.district.code in gen.MOUNTAIN_DISTRICTS] += 1
    n = len(people)
    assert 0.65 < activity["Có việc làm"] / n < 0.85 and 0.01 < activity["Thất nghiệp"] / n < 0.06
    assert minority[True] > 2 * minority[False]  # minorities live mostly in the mountain districts


def test_after_reorganisation_no_district_and_2025_communes(tmp_path: Path) -> None:
    path, stats = one(tmp_path, rows=1_000, seed=4, period="2025-09", fmt="csv")
    assert "district_name" not in stats.layout["columns"] and not stats.layout["district_column"]
    names = {u.bare.casefold() for u in new_units().values()}
    communes = [str(r["commune_name"]) for r in data_rows(path, stats) if r["commune_name"]]
    in_new = sum(any(c.casefold().endswith(n) for n in names) for c in communes)
    assert in_new / len(communes) > 0.75


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], GenerationStats]:
    path, stats = one(tmp_path_factory.mktemp("sample"), rows=5_000, seed=2, fmt="csv")
    return data_rows(path, stats), stats


def test_defect_counts_within_rates(sample: tuple[list[dict[str, Any]], GenerationStats]) -> None:
    _, stats = sample
    n = stats.rows
    for defect in ("person_id_lost_zero", "person_id_cmnd", "person_id_spaces", "birth_year_only", "date_variant",
                   "place_style_variant", "person_id_inconsistent"):  # fmt: skip
        assert binomial_ok(stats.defects.get(defect, 0), n, stats.rates[defect]), defect
    hard = sum(stats.defects.get(d, 0) for d in gen.HARD_DEFECTS)
    assert binomial_ok(hard, n, sum(gen.DEFECT_RATES[d] for d in gen.HARD_DEFECTS))
    assert binomial_ok(stats.exact_duplicates, n, gen.DEFECT_RATES["exact_duplicate"])
    assert binomial_ok(stats.conflict_rows, n, gen.DEFECT_RATES["conflict"])


def test_defects_remeasured_from_the_file(sample: tuple[list[dict[str, Any]], GenerationStats]) -> None:
    rows, stats = sample
    ids = [str(r["person_id"] or "") for r in rows]
    assert sum(len(i) == 9 for i in ids) >= stats.defects.get("person_id_cmnd", 0)
    assert sum(len(i) == 11 and i.isdigit() for i in ids) >= stats.defects.get("person_id_lost_zero", 0) - 2
    assert sum(" " in i for i in ids) >= stats.defects.get("person_id_spaces", 0)
    assert sum(i == "" for i in ids) >= stats.defects.get("person_id_blank", 0)
    bare_years = sum(bool(re.fullmatch(r"\d{4}", str(r["birth_date"]))) for r in rows)
    assert bare_years >= stats.defects.get("birth_year_only", 0)
    unreadable = []
    for r in rows:
        try:
            read_birth(str(r["birth_date"]))
        except ValueError:
            unreadable.append(str(r["birth_date"]))
    assert len(unreadable) >= stats.defects.get("birth_date_invalid", 0)  # (exact copies come on top)
    assert all(re.fullmatch(r"(31/02|00/00|\d\d/13)/\d{4}", b) for b in unreadable), unreadable
    statuses = set(SPEC.column("activity_status").values) | set(SPEC.column("activity_status").aliases)
    unknown = [r["activity_status"] for r in rows if r["activity_status"] not in statuses]
    assert set(unknown) <= set(gen.ACTIVITY_UNKNOWN)


def test_progress_every_n_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.generate import common

    monkeypatch.setattr(common, "PROGRESS_EVERY", 400)
    seen: list[int] = []
    _, stats = one(tmp_path, rows=1_000, fmt="csv", progress=seen.append)
    assert seen[:2] == [400, 800] and seen[-1] == stats.data_rows


def test_memory_stays_flat_while_streaming(tmp_path: Path) -> None:
    peaks = []
    for rows in (600, 3_600):
        tracemalloc.start()
        one(tmp_path / str(rows), rows=rows, fmt="csv", seed=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] + 8 * 2**20, peaks
