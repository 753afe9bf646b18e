"""`kds generate cultural_relics`: names and defaults, the §3 rank split, one consistent history per
seed (what SCD2 needs), decisions that match their authority, determinism, defect rates."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipelines.datasets.cultural_relics import NATIONAL, PROVINCIAL, SPECIAL_NATIONAL, authority_rank
from pipelines.generate import GENERATORS, generate
from pipelines.generate import cultural_relics as gen
from pipelines.generate.common import GenerationStats
from pipelines.specs import get_spec
from pipelines.text import fold
from tests.fixtures.generated import binomial_ok, data_rows, read_table

pytestmark = pytest.mark.unit

SPEC = get_spec("cultural_relics")


def one(out: Path, **kwargs: Any) -> tuple[Path, GenerationStats]:
    files = generate("cultural_relics", out, **kwargs)
    assert len(files) == 1
    return files[0], files.stats[0]  # type: ignore[attr-defined]


def test_name_defaults_and_the_rank_split(tmp_path: Path) -> None:
    assert GENERATORS["cultural_relics"] is gen.generate_cultural_relics
    assert gen.DEFAULT_ROWS == 142 and date(2025, 3, 31) == gen.DEFAULT_PERIOD
    path, stats = one(tmp_path / "a")
    assert path.name == "di_tich_20250331.xlsx" and stats.fmt == "xlsx" and SPEC.file_pattern.match(path.name)
    assert [p.name for p in (tmp_path / "a").iterdir()] == [path.name]
    ranks = {k.split(":", 1)[1]: v for k, v in stats.defects.items() if k.startswith("rank:")}
    assert ranks == {SPECIAL_NATIONAL: 2, NATIONAL: 34, PROVINCIAL: 106}  # DOMAIN §3
    assert gen.rank_counts(142) == [(SPECIAL_NATIONAL, 2), (NATIONAL, 34), (PROVINCIAL, 106)]
    for n in (0, 1, 7, 50, 1000):
        assert sum(c for _, c in gen.rank_counts(n)) == n
    assert one(tmp_path / "b", rows=10, period="20250930")[0].name == "di_tich_20250930.xlsx"
    assert one(tmp_path / "c", rows=10, fmt="csv")[0].name == "di_tich_20250331.csv"


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, _ = one(tmp_path / "a", seed=7)
    time.sleep(1.1)
    b, _ = one(tmp_path / "b", seed=7)
    c, _ = one(tmp_path / "c", seed=8)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_one_history_per_seed_and_decisions_that_fit_their_rank() -> None:
    register = gen.Register(3, gen.DEFAULT_ROWS)
    days = [date(2010, 1, 1), date(2020, 1, 1), gen.DEFAULT_PERIOD, date(2025, 9, 30), date(2026, 6, 30)]
    snapshots = {d: register.at(d) for d in days}
    assert len(snapshots[gen.DEFAULT_PERIOD]) == gen.DEFAULT_ROWS
    assert len(snapshots[date(2010, 1, 1)]) < len(snapshots[date(2020, 1, 1)]) < gen.DEFAULT_ROWS

    def key(r: gen.Relic) -> tuple[str, str]:
        assert r.commune.new_unit is not None
        return (r.commune.new_unit.code, fold(r.name))

    for day, relics in snapshots.items():
        keys = [key(r) for r in relics]
        assert len(set(keys)) == len(keys), day  # one relic per (2025 commune, name)
        for r in relics:
            assert r.decision_date <= day
            assert authority_rank(r.decided_by, r.decision_no) == r.rank, r
            if r.rank == SPECIAL_NATIONAL:
                assert r.decision_date >= date(2009, 1, 1)
            if r.rank == PROVINCIAL:
                assert r.decision_date >= date(2002, 1, 1)
    before = {key(r): r for r in snapshots[gen.DEFAULT_PERIOD]}
    after = {key(r): r for r in snapshots[date(2026, 6, 30)]}
    changes = Counter()
    for k, r in after.items():
        if k not in before:
            changes["ranked"] += 1
        elif r.rank != before[k].rank:
            assert (before[k].rank, r.rank) == (PROVINCIAL, NATIONAL)
            changes["raised"] += 1
    changes["withdrawn"] = sum(k not in after for k in before)
    assert changes == Counter({"ranked": 2, "raised": 2, "withdrawn": 1})
    types = Counter(r.relic_type for r in register.relics)
    assert types.most_common(1)[0][0] == "Lịch sử" and set(types) <= set(SPEC.column("relic_type").values)


def test_layout_rows_and_headers(tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        path, stats = one(tmp_path / str(seed), seed=seed)
        table = read_table(path, stats)
        layout = stats.layout
        assert stats.data_rows == stats.rows + stats.exact_duplicates
        assert layout["last_data_row"] - layout["first_data_row"] + 1 == stats.data_rows
        assert len(table) - layout["last_data_row"] == layout["footer_rows"]
        assert [str(h) for h in table[layout["header_row"] - 1][: len(layout["headers"])]] == layout["headers"]


def test_defect_rates_over_many_registers(tmp_path: Path) -> None:
    totals: Counter[str] = Counter()
    n = 0
    for seed in range(30):
        _, stats = one(tmp_path / str(seed), seed=seed, fmt="csv")
        totals.update(stats.defects)
        n += stats.rows - stats.conflict_rows
    for defect in ("rank_alias", "type_alias", "date_variant", "place_style_variant", "rank_authority_mismatch"):
        assert binomial_ok(totals[defect], n, gen.DEFECT_RATES[defect]), (defect, totals[defect], n)
    hard = sum(totals[d] for d in gen.HARD_DEFECTS)
    assert binomial_ok(hard, n, sum(gen.DEFECT_RATES[d] for d in gen.HARD_DEFECTS))


def test_after_the_reorganisation_no_district_column(tmp_path: Path) -> None:
    path, stats = one(tmp_path, period="2025-09-30", fmt="csv")
    assert "district_name" not in stats.layout["columns"]
    rows = data_rows(path, stats)
    assert len(rows) == stats.data_rows and all("Quận/Huyện" not in str(h) for h in stats.layout["headers"])
