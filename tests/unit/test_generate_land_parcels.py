"""`kds generate land_parcels`: one CSV per old commune, rows split over the files, codes valid in the
system of their certificate date, determinism, bounded memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipelines import reference
from pipelines.generate import generate
from pipelines.generate import land_parcels as gen
from pipelines.parse import parse_date, parse_land_use_codes

pytestmark = pytest.mark.unit


def rows_of(path: Path, stats: Any) -> list[dict[str, Any]]:
    encoding = stats.layout["encoding"]
    delimiter = {"tab": "\t"}.get(stats.layout["delimiter"], stats.layout["delimiter"])
    text = path.read_bytes().decode(encoding)
    table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    body = table[stats.layout["first_data_row"] - 1 : stats.layout["last_data_row"]]
    return [dict(zip(stats.layout["columns"], r, strict=False)) for r in body]


def test_plan_splits_rows_over_communes() -> None:
    full = gen.plan(gen.DEFAULT_ROWS, 42)
    assert len(full) == 155 and sum(n for _, n in full) == 2_000_000
    assert min(n for _, n in full) >= gen.MIN_ROWS_PER_FILE
    assert len({c.unit.code for c, _ in full}) == 155
    small = gen.plan(5_000, 42)
    assert len(small) == 2 and sum(n for _, n in small) == 5_000
    assert gen.plan(0, 42) == [] and len(gen.plan(1, 42)) == 1
    assert gen.plan(5_000, 42) == gen.plan(5_000, 42) != gen.plan(5_000, 43)


def test_files_are_named_per_commune_and_hold_their_commune(tmp_path: Path) -> None:
    files = generate("land_parcels", tmp_path, rows=6_000)
    stats = files.stats  # type: ignore[attr-defined]
    assert [p.name for p in files] == [f"thua_dat_{s.layout['commune_code']}_20250630.csv" for s in stats]
    assert sum(s.rows for s in stats) == 6_000
    for path, s in zip(files, stats, strict=True):
        rows = rows_of(path, s)
        assert len(rows) == s.data_rows == s.rows + s.exact_duplicates
        codes = {r["commune_code"] for r in rows}
        assert len(codes - {s.layout["commune_code"]}) <= s.defects.get("unknown_commune_code", 0)


def test_codes_exist_in_the_system_of_their_certificate(tmp_path: Path) -> None:
    files = generate("land_parcels", tmp_path, rows=8_000, seed=3)
    wrong = expected_wrong = 0
    compound = 0
    for path, s in zip(files, files.stats, strict=True):  # type: ignore[attr-defined]
        expected_wrong += s.defects.get("tt08_code_on_old_certificate", 0)
        for r in rows_of(path, s)[: s.rows]:
            codes = parse_land_use_codes(r["land_use_codes"])
            compound += len(codes) > 1
            issued = parse_date(r["certificate_date"]) if r["certificate_date"] else None
            system = "TT08_2024" if issued and issued >= date(2024, 8, 1) else "TT25_2014"
            wrong += not all(reference.land_use_code_exists(system, c) for c in codes)
    assert wrong <= expected_wrong + 2 and compound > 200


def test_holders_are_pseudonymisable_ids_or_blank(tmp_path: Path) -> None:
    files = generate("land_parcels", tmp_path, rows=3_000, seed=5)
    [path], [s] = files, files.stats  # type: ignore[attr-defined]
    rows = rows_of(path, s)
    ids = [r["holder_id"].replace(" ", "") for r in rows if r["holder_id"]]
    assert all(len(i) in (9, 10, 11, 12) and i.isdigit() for i in ids)
    assert sum(len(i) == 9 for i in ids) > 0.03 * len(ids)  # old CMND numbers
    assert sum(not r["holder_id"] for r in rows) > 0  # public land


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = generate("land_parcels", tmp_path / "a", rows=4_000)
    b = generate("land_parcels", tmp_path / "b", rows=4_000)
    c = generate("land_parcels", tmp_path / "c", rows=4_000, seed=9)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]


def test_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    def peak(rows: int, where: Path) -> int:
        tracemalloc.start()
        generate("land_parcels", where, rows=rows, seed=11)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    generate("land_parcels", tmp_path / "warm", rows=2_000, seed=11)  # caches (reference lists, names)
    small, large = peak(2_000, tmp_path / "s"), peak(12_000, tmp_path / "l")  # tracemalloc is slow: small sizes
    assert large < small * 1.5 + 1_000_000, (small, large)
