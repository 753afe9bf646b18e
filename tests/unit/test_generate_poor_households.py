"""`kds generate poor_households`: names and defaults, determinism, layout, households that fit the
standard (or deliberately do not), the end-2023 volumes, defect rates."""

from __future__ import annotations

import time
import tracemalloc
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipelines.datasets.poor_households import AGREES_WITH, standard_for
from pipelines.generate import GENERATORS, generate
from pipelines.generate import poor_households as gen
from pipelines.generate.common import GenerationStats
from pipelines.specs import get_spec
from tests.fixtures.generated import binomial_ok, data_rows, read_table

pytestmark = pytest.mark.unit

SPEC = get_spec("poor_households")


def one(out: Path, **kwargs: Any) -> tuple[Path, GenerationStats]:
    files = generate("poor_households", out, **kwargs)
    assert len(files) == 1
    return files[0], files.stats[0]  # type: ignore[attr-defined]


def test_name_defaults_and_periods(tmp_path: Path) -> None:
    assert GENERATORS["poor_households"] is gen.generate_poor_households
    assert gen.DEFAULT_ROWS == 50_000 and date(2023, 1, 1) == gen.DEFAULT_PERIOD
    path, stats = one(tmp_path / "a", rows=20)
    assert path.name == "ra_soat_ho_ngheo_2023.xlsx" and stats.period == "2023-01-01" and stats.fmt == "xlsx"
    assert [p.name for p in (tmp_path / "a").iterdir()] == [path.name]
    assert SPEC.file_pattern.match(path.name)
    assert one(tmp_path / "b", rows=5, period="2024")[0].name == "ra_soat_ho_ngheo_2024.xlsx"
    assert one(tmp_path / "c", rows=5, period="2022", fmt="csv")[0].name == "ra_soat_ho_ngheo_2022.csv"
    with pytest.raises(ValueError, match="no poverty standard"):
        one(tmp_path, rows=5, period="2019")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, fmt: str) -> None:
    a, _ = one(tmp_path / "a", rows=300, seed=7, fmt=fmt)
    time.sleep(1.1)
    b, _ = one(tmp_path / "b", rows=300, seed=7, fmt=fmt)
    c, _ = one(tmp_path / "c", rows=300, seed=8, fmt=fmt)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


@pytest.mark.parametrize(("fmt", "seed"), [("xlsx", 1), ("xlsx", 4), ("xlsx", 9), ("csv", 2)])
def test_layout_rows_and_headers(tmp_path: Path, fmt: str, seed: int) -> None:
    path, stats = one(tmp_path, rows=600, seed=seed, fmt=fmt)
    table = read_table(path, stats)
    layout = stats.layout
    assert stats.data_rows == stats.rows + stats.exact_duplicates
    assert layout["last_data_row"] - layout["first_data_row"] + 1 == stats.data_rows
    assert len(table) - layout["last_data_row"] == layout["footer_rows"]
    header = [str(h) for h in table[layout["header_row"] - 1 + layout["header_rows"] - 1] if h]
    indicator = "Việc làm" if layout["indicator_headers"] == "names" else "Thiếu hụt 1"
    assert any(h.casefold() == indicator.casefold() for h in header)
    if layout["two_row_header"]:
        assert gen.GROUP_TITLE in table[layout["header_row"] - 1]


def test_households_fit_their_class_and_the_volumes_of_end_2023() -> None:
    factory = gen.HouseholdFactory(5, gen.DEFAULT_PERIOD)
    standard = standard_for(2023)
    assert standard is not None
    households = [factory.new() for _ in range(8_000)]
    assert len({h.code for h in households}) == len(households)
    assert len({h.head_id for h in households}) == len(households)
    classes = Counter(h.classification for h in households)
    for h in households:
        expected = standard.classify(h.area, h.income, len(h.deprived))
        assert expected in AGREES_WITH[h.classification], h
        assert 1 <= h.members <= 10 and h.income > 0
        assert (h.area == "Thành thị") == (h.commune.unit.unit_type in ("phuong", "thi_tran"))
    scale = gen.DEFAULT_ROWS / len(households)
    assert 12_500 < classes["Hộ nghèo"] * scale < 14_300  # 13,384 poor at end 2023 (DOMAIN §6)
    assert 12_400 < classes["Hộ cận nghèo"] * scale < 14_200  # 13,326 near-poor
    mountain = Counter(h.commune.district.code in gen.MOUNTAIN_DISTRICTS for h in households if h.ethnicity != "Kinh")
    assert mountain[True] > mountain[False]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], GenerationStats]:
    path, stats = one(tmp_path_factory.mktemp("sample"), rows=5_000, seed=2, fmt="csv")
    return data_rows(path, stats), stats


def test_defect_counts_within_rates(sample: tuple[list[dict[str, Any]], GenerationStats]) -> None:
    _, stats = sample
    n = stats.rows
    for defect in ("classification_disagrees", "count_mismatch", "head_id_blank", "head_id_cmnd", "enum_alias",
                   "money_variant", "place_style_variant"):  # fmt: skip
        assert binomial_ok(stats.defects.get(defect, 0), n, stats.rates[defect]), defect
    hard = sum(stats.defects.get(d, 0) for d in gen.HARD_DEFECTS)
    assert binomial_ok(hard, n, sum(gen.DEFECT_RATES[d] for d in gen.HARD_DEFECTS))
    assert binomial_ok(stats.exact_duplicates, n, gen.DEFECT_RATES["exact_duplicate"])


def test_marks_and_totals_remeasured_from_the_file(sample: tuple[list[dict[str, Any]], GenerationStats]) -> None:
    rows, stats = sample
    yes, no = stats.layout["marks"]
    mismatched = 0
    for r in rows:
        cells = [r[f"deprived_{i:02d}"] for i in range(1, 13)]
        assert all(c in (yes, no or "", *gen.MARK_VARIANTS, *gen.INVALID_MARKS) for c in cells), cells
        marked = sum(c not in (no or "", "") for c in cells)
        mismatched += str(marked) != str(r["deprivation_count"])
    assert mismatched >= stats.defects.get("count_mismatch", 0)
    assert (
        mismatched
        <= stats.defects.get("count_mismatch", 0) + stats.defects.get("mark_invalid", 0) + stats.exact_duplicates
    )
    blank_codes = sum(not r["household_code"] for r in rows)
    assert blank_codes >= stats.defects.get("household_code_blank", 0)


def test_memory_stays_flat_while_streaming(tmp_path: Path) -> None:
    peaks = []
    for rows in (500, 3_000):
        tracemalloc.start()
        one(tmp_path / str(rows), rows=rows, fmt="csv", seed=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] + 8 * 2**20, peaks
