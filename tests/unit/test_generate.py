"""`kds generate`: determinism, file layout, realistic values and the documented defect rates."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
import tracemalloc
import unicodedata
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import viparse
from stdnum.vn import mst

from pipelines.generate import GENERATORS, generate
from pipelines.generate import enterprises as ent
from pipelines.generate.common import (
    VIETNAMESE_LETTERS,
    GenerationStats,
    TaxCodeAllocator,
    cccd,
    derive,
    legacy_fits_cp1258,
    new_units,
    old_communes,
    old_tone,
    to_cp1258_form,
    vsic_divisions,
)
from pipelines.specs import get_spec
from pipelines.text import clean_text, fold

pytestmark = pytest.mark.unit

SPEC = get_spec("enterprises")
DECODE = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "utf-16": "utf-16", "cp1258": "cp1258"}
DELIMITERS = {",": ",", ";": ";", "tab": "\t"}


def read_table(path: Path, stats: GenerationStats) -> list[list[Any]]:
    """All rows of a generated file as a person sees them (CSV: strings; xlsx: cell values)."""
    if stats.fmt == "csv":
        text = path.read_bytes().decode(DECODE[stats.layout["encoding"]])
        text = unicodedata.normalize("NFC", text)
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[stats.layout["delimiter"]]))
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    rows = [list(r) for r in wb.active.iter_rows(values_only=True)]
    wb.close()
    return rows


def data_rows(path: Path, stats: GenerationStats) -> list[dict[str, Any]]:
    rows = read_table(path, stats)
    layout = stats.layout
    body = rows[layout["first_data_row"] - 1 : layout["last_data_row"]]
    width = len(layout["columns"])
    return [dict(zip(layout["columns"], list(r) + [None] * (width - len(r)), strict=False)) for r in body]


def one(out: Path, **kwargs: Any) -> tuple[Path, GenerationStats]:
    files = generate("enterprises", out, **kwargs)
    assert len(files) == 1
    return files[0], files.stats[0]  # type: ignore[attr-defined]


def binomial_ok(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 2


# ----------------------------------------------------------------------------------------------
# interface, names, determinism


def test_registry_and_unknown_dataset(tmp_path: Path) -> None:
    assert "enterprises" in GENERATORS
    with pytest.raises(ValueError, match="no generator for dataset 'nope'"):
        generate("nope", tmp_path)


def test_file_name_default_period_and_nothing_else_written(tmp_path: Path) -> None:
    path, stats = one(tmp_path / "landing", rows=50)
    assert path.name == "doanh_nghiep_20250331.xlsx"
    assert [p.name for p in (tmp_path / "landing").iterdir()] == [path.name]
    assert stats.period == "2025-03-31" and stats.fmt == "xlsx"
    path, _ = one(tmp_path / "csv", rows=50, period="20250930", fmt="csv")
    assert path.name == "doanh_nghiep_20250930.csv"
    assert ent.DEFAULT_ROWS == 9_000
    from pipelines.generate.common import default_fmt

    assert default_fmt(50_000) == "xlsx" and default_fmt(50_001) == "csv"
    with pytest.raises(ValueError):
        one(tmp_path, rows=5, fmt="json")
    with pytest.raises(ValueError):
        one(tmp_path, rows=5, period="31/03/2025")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, fmt: str) -> None:
    a, _ = one(tmp_path / "a", rows=400, seed=7, fmt=fmt)
    time.sleep(1.1)  # a clock leaking into the file (zip timestamps, core.xml) would show now
    b, _ = one(tmp_path / "b", rows=400, seed=7, fmt=fmt)
    c, _ = one(tmp_path / "c", rows=400, seed=8, fmt=fmt)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_xlsx_metadata_is_fixed(tmp_path: Path) -> None:
    import zipfile

    path, _ = one(tmp_path, rows=10)
    with zipfile.ZipFile(path) as z:
        core = z.read("docProps/core.xml").decode()
        assert {i.date_time for i in z.infolist()} == {(2025, 1, 1, 8, 0, 0)}
    assert "2025-01-01T08:00:00Z" in core and core.count("2025-01-01T08:00:00Z") == 2


def test_stats_side_file_only_elsewhere(tmp_path: Path) -> None:
    landing, side = tmp_path / "landing", tmp_path / "truth"
    files = generate("enterprises", landing, rows=30, stats_out=side)
    assert [p.name for p in landing.iterdir()] == [files[0].name]
    saved = json.loads((side / "enterprises_generation_stats.json").read_text(encoding="utf-8"))
    assert saved[0]["file"] == files[0].name and saved[0]["rows"] == 30
    with pytest.raises(ValueError, match="different directory"):
        generate("enterprises", landing, rows=5, stats_out=landing)


def test_progress_every_ten_thousand_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.generate import common

    assert common.PROGRESS_EVERY == ent.PROGRESS_EVERY == 10_000
    monkeypatch.setattr(ent, "PROGRESS_EVERY", 500)  # same code path, smaller file
    seen: list[int] = []
    _, stats = one(tmp_path, rows=1_200, fmt="csv", progress=seen.append)
    assert seen[:2] == [500, 1_000]
    assert seen[-1] == stats.data_rows and len(seen) == 3


# ----------------------------------------------------------------------------------------------
# layout and counts


@pytest.mark.parametrize(("fmt", "seed"), [("xlsx", 3), ("xlsx", 11), ("csv", 2), ("csv", 5)])
def test_data_rows_are_rows_plus_exact_duplicates(tmp_path: Path, fmt: str, seed: int) -> None:
    path, stats = one(tmp_path, rows=1_000, seed=seed, fmt=fmt)
    table = read_table(path, stats)
    layout = stats.layout
    assert stats.data_rows == stats.rows + stats.exact_duplicates
    assert layout["last_data_row"] - layout["first_data_row"] + 1 == stats.data_rows
    header = table[layout["header_row"] - 1 + layout["header_rows"] - 1]
    if layout["header_rows"] == 1:
        assert [str(h) for h in header[: len(layout["headers"])]] == layout["headers"]
    body = table[layout["first_data_row"] - 1 : layout["last_data_row"]]
    assert all(any(v not in (None, "") for v in row) for row in body)
    after = table[layout["last_data_row"] :]
    assert len(after) == layout["footer_rows"]
    if layout["footer_rows"]:
        assert any(str(v).startswith("Tổng cộng: ") for row in after for v in row if v)
    titles = table[: layout["title_rows"]]
    if fmt == "xlsx":
        assert 1 <= layout["title_rows"] <= 8
    if any(v for row in titles for v in row if v and str(v).startswith("Kỳ báo cáo")):
        assert any(v == "Kỳ báo cáo: 31/03/2025" for row in titles for v in row)


def test_layout_choices_vary_at_their_rates(tmp_path: Path) -> None:
    """File-level choices over many small files: each within bounds of LAYOUT_RATES."""
    n = 120
    seen: Counter[str] = Counter()
    encodings: Counter[str] = Counter()
    for seed in range(n):
        fmt = "xlsx" if seed % 2 else "csv"
        _, stats = one(tmp_path / str(seed), rows=3, seed=seed, fmt=fmt)
        layout = stats.layout
        if fmt == "csv":
            encodings[layout["encoding"]] += 1
            seen["csv_title_rows"] += layout["title_rows"] > 0
            seen["csv_footer"] += layout["footer_rows"] > 0
        else:
            assert 1 <= layout["title_rows"] <= 8
            seen["xlsx_footer"] += layout["footer_rows"] > 0
        seen["extra_stt"] += "STT" in layout["extra_columns"]
        seen["extra_ghi_chu"] += "Ghi chú" in layout["extra_columns"]
        seen["old_tone_file"] += layout["old_tone"]
    half = n // 2
    for key, trials in [("csv_title_rows", half), ("csv_footer", half), ("xlsx_footer", half),
                        ("extra_stt", n), ("extra_ghi_chu", n), ("old_tone_file", n)]:  # fmt: skip
        assert binomial_ok(seen[key], trials, ent.LAYOUT_RATES[key], sigmas=4), (key, seen[key], trials)
    assert set(encodings) == {"utf-8", "utf-8-sig", "utf-16", "cp1258"}


def test_after_reorganisation_no_district_and_new_communes(tmp_path: Path) -> None:
    path, stats = one(tmp_path, rows=1_500, seed=4, period="2025-09-30", fmt="csv")
    assert "district_name" not in stats.layout["columns"] and not stats.layout["district_column"]
    rows = data_rows(path, stats)
    new_names = {fold(u.bare) for u in new_units().values()}
    old_names = {fold(c.unit.bare) for c in old_communes()}
    prefix = re.compile(r"^(phường|xã|thị trấn|p\.|x\.|tt\.?|p|tt)\s+", re.I)

    def bare(v: str) -> str:
        return fold(prefix.sub("", clean_text(v) or "")).replace("qui nhơn", "quy nhơn")

    communes = [bare(r["commune_name"]) for r in rows if r["commune_name"]]
    in_new = sum(c in new_names for c in communes)
    assert in_new / len(communes) > 0.8
    stale = stats.defects.get("stale_place_name", 0)
    assert binomial_ok(stale, stats.rows, stats.rates["stale_place_name"])
    assert sum(c in old_names and c not in new_names for c in communes) >= stale * 0.5
    assert sum(r["tax_code"].startswith("59") for r in rows) > 0.2 * len(rows)  # former Gia Lai territory


# ----------------------------------------------------------------------------------------------
# values


def test_tax_codes_are_valid_and_unique() -> None:
    alloc = TaxCodeAllocator(derive(1, "t"), "41")
    codes = [alloc.next() for _ in range(20_000)]
    assert len(set(codes)) == len(codes)
    assert all(mst.is_valid(c) and c.startswith("410") for c in codes)
    wide = TaxCodeAllocator(derive(1, "w"), "59", lead="")
    assert all(mst.is_valid(c) and c.startswith("59") for c in (wide.next() for _ in range(2_000)))


def test_cccd_structure() -> None:
    rng = derive(3, "cccd")
    for year, sex, g in ((1950, "M", "0"), (1999, "F", "1"), (2000, "M", "2"), (2003, "F", "3")):
        number = cccd(rng, year, sex, "052")
        assert re.fullmatch(r"052\d{9}", number) and number[3] == g and number[4:6] == f"{year % 100:02d}"
    factory = ent.EnterpriseFactory(5, ent.DEFAULT_PERIOD)
    for _ in range(2_000):
        e = factory.new()
        rep = e.rep
        assert 1950 <= rep.birth_year <= 2000
        assert rep.id_number[3] == str(2 * (rep.birth_year // 100 - 19) + (rep.sex == "F"))
        assert rep.id_number[4:6] == f"{rep.birth_year % 100:02d}"
        assert e.commune.province_code == "52" and e.commune.district.code.startswith("5")
        assert e.registered <= ent.DEFAULT_PERIOD and e.registered >= date(2000, 1, 1)
        assert e.last_changed is None or e.registered < e.last_changed <= ent.DEFAULT_PERIOD
        assert e.capital is None or 100_000_000 <= e.capital <= 50_000_000_000
        assert e.legal_form in SPEC.column("legal_form").values and e.status in SPEC.column("status").values
    counts = Counter(factory.new().commune.district.code for _ in range(3_000))
    assert 0.38 < counts["540"] / 3_000 < 0.55  # weighted towards Quy Nhơn (45 of 98.5)


def test_vsic_codes_exist_in_the_2018_divisions() -> None:
    divisions = vsic_divisions()
    assert len(divisions) == 88
    assert all(len(v) == 4 and v[:2] in divisions for v in ent.vsic_codes())


def test_names_match_legal_forms(tmp_path: Path) -> None:
    factory = ent.EnterpriseFactory(9, ent.DEFAULT_PERIOD)
    for _ in range(3_000):
        e = factory.new()
        if e.name.startswith("Chi nhánh"):
            assert "-" in e.tax_code and mst.is_valid(e.tax_code)
            continue
        expected = {
            "Doanh nghiệp tư nhân": ("Doanh nghiệp tư nhân ", "DNTN "),
            "Công ty cổ phần": ("Công ty cổ phần ", "Công ty CP "),
            "Công ty TNHH một thành viên": ("Công ty TNHH ",),
            "Công ty TNHH hai thành viên trở lên": ("Công ty TNHH ",),
            "Công ty hợp danh": ("Công ty hợp danh ", "Công ty Luật hợp danh "),
        }[e.legal_form]
        assert e.name.startswith(expected), (e.legal_form, e.name)


def test_old_tone_and_cp1258_forms() -> None:
    assert old_tone("Phường Nhơn Hòa, Thủy sản, Khỏe") == "Phường Nhơn Hoà, Thuỷ sản, Khoẻ"
    text = unicodedata.normalize("NFC", VIETNAMESE_LETTERS + " Công ty cổ phần Thủy sản Quy Nhơn")
    back = to_cp1258_form(text).encode("cp1258").decode("cp1258")
    assert unicodedata.normalize("NFC", back) == text
    assert legacy_fits_cp1258("vni") and not legacy_fits_cp1258("tcvn3")


# ----------------------------------------------------------------------------------------------
# defects: counted by the generator and re-measured from the file


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], GenerationStats]:
    out = tmp_path_factory.mktemp("sample")
    path, stats = one(out, rows=5_000, seed=2, fmt="csv")
    return data_rows(path, stats), stats


def test_defect_counts_within_rates(sample: tuple[list[dict[str, Any]], GenerationStats]) -> None:
    _, stats = sample
    n = stats.rows
    for defect, rate in ent.DEFECT_RATES.items():
        effective = stats.rates[defect]
        assert effective in (rate, 0.0)
        count = stats.defects.get(defect, 0)
        if defect in ("legacy_cell", "nfd_cell", "whitespace", "place_style_variant"):
            # the cell picked may not change (ASCII text, an empty optional cell): at most the rate
            assert count <= n * effective + 5 * math.sqrt(n * effective) + 2, defect
            assert count >= 0.5 * n * effective - 5 * math.sqrt(n * effective), defect
        else:
            assert binomial_ok(count, n, effective), (defect, count, n * effective)


def test_defects_remeasured_from_the_file(sample: tuple[list[dict[str, Any]], GenerationStats]) -> None:
    rows, stats = sample
    keyed = [tuple(r.values()) for r in rows]
    dupes = sum(c - 1 for c in Counter(keyed).values())
    assert dupes == stats.exact_duplicates > 0

    distinct: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for r, k in zip(rows, keyed, strict=True):
        if k not in seen:
            seen.add(k)
            distinct.append(r)
    assert len(distinct) == stats.rows

    def compact(v: str) -> str:
        return re.sub(r"[\s\-]", "", v)

    codes = [compact(r["tax_code"]) for r in distinct if r["tax_code"]]
    invalid = [c for c in codes if not mst.is_valid(c)]
    assert len(invalid) == stats.defects.get("tax_code_bad_check_digit", 0) > 0
    formatted = sum(bool(re.search(r"\s", r["tax_code"])) or r["tax_code"].count("-") > (len(compact(r["tax_code"])) > 10)
                    for r in distinct if r["tax_code"])  # fmt: skip
    assert formatted <= stats.defects["tax_code_formatted"]

    by_key: dict[str, set[tuple[Any, ...]]] = {}
    for r in distinct:
        if r["tax_code"] and mst.is_valid(compact(r["tax_code"])):
            by_key.setdefault(mst.compact(compact(r["tax_code"])), set()).add(tuple(r.values()))
    assert sum(len(v) > 1 for v in by_key.values()) == stats.conflicting_keys > 0

    ids = [r["representative_id"] for r in distinct if r["representative_id"]]
    lost = sum(bool(re.fullmatch(r"\d{10,11}", i)) for i in ids)  # "001…" (Hà Nội) loses two zeros
    assert lost == stats.defects["representative_id_lost_zero"]
    assert sum(bool(re.fullmatch(r"\d{9}", i)) for i in ids) == stats.defects["representative_id_cmnd"]
    assert sum(" " in i for i in ids) == stats.defects["representative_id_spaces"]

    required = ("tax_code", "name", "registered_date", "status")
    blanks = sum(any(not r[c] for c in required) for r in distinct)
    assert blanks == stats.defects["blank_required"]

    forms, statuses = set(SPEC.column("legal_form").values), set(SPEC.column("status").values)
    assert sum(clean_text(r["legal_form"]) not in forms for r in distinct) == stats.defects["legal_form_alias"]
    odd_status = sum(bool(r["status"]) and clean_text(r["status"]) not in statuses for r in distinct)
    assert odd_status == stats.defects["status_alias"]


def test_xlsx_cells_keep_their_types(tmp_path: Path) -> None:
    path, stats = one(tmp_path, rows=1_500, seed=3, fmt="xlsx")
    rows = data_rows(path, stats)
    numeric_ids = [r["representative_id"] for r in rows if isinstance(r["representative_id"], int)]
    assert numeric_ids and all(len(str(i)) in (10, 11) for i in numeric_ids)  # CCCD stored as a number
    date_cells = [r["registered_date"] for r in rows if isinstance(r["registered_date"], datetime)]
    assert stats.layout["date_style"] != "excel" or len(date_cells) > 0.8 * len(rows)


def test_legacy_cells_decode_back(tmp_path: Path) -> None:
    """Legacy-font cells decode to the intended text with their font; the pipeline's per-cell
    repair (`clean_text`) is measured too: it cannot tell short VNI cells from Unicode."""
    examples: list[dict[str, Any]] = []
    for seed in range(12):
        _, stats = one(tmp_path / str(seed), rows=600, seed=seed, fmt="csv")
        examples += stats.examples.get("legacy_text", [])
    encodings = {e["encoding"] for e in examples}
    assert encodings == {"tcvn3", "vni"} and len(examples) > 50
    for e in examples:
        fixed = unicodedata.normalize("NFC", viparse.fix(e["written"], encoding=e["encoding"]))
        assert fixed == e["intended"], e
    for enc, floor in (("tcvn3", 0.75), ("vni", 0.5)):
        subset = [e for e in examples if e["encoding"] == enc]
        repaired = sum(clean_text(e["written"]) == e["intended"] for e in subset)
        assert repaired / len(subset) >= floor, (enc, repaired, len(subset))


def test_csv_files_decode_in_their_declared_encoding(tmp_path: Path) -> None:
    seen = set()
    for seed in range(40):
        path, stats = one(tmp_path / str(seed), rows=40, seed=seed, fmt="csv")
        enc = stats.layout["encoding"]
        if enc in seen:
            continue
        seen.add(enc)
        raw = path.read_bytes()
        text = raw.decode(DECODE[enc])  # strict: raises on a byte that does not belong
        assert raw.startswith({"utf-8-sig": b"\xef\xbb\xbf", "utf-16": b"\xff\xfe"}.get(enc, b""))
        if stats.layout["line_terminator"] == "CRLF":
            assert "\r\n" in text and text.count("\n") == text.count("\r\n")
        assert "\ufffd" not in text
        nfc = unicodedata.normalize("NFC", text)
        assert "Mã số doanh nghiệp".casefold() in nfc.casefold() or "Mã số thuế".casefold() in nfc.casefold()
    assert seen == {"utf-8", "utf-8-sig", "utf-16", "cp1258"}


def test_memory_stays_flat_while_streaming(tmp_path: Path) -> None:
    """The peak traced memory does not grow with the number of rows (row-by-row streaming)."""
    peaks = []
    for rows in (800, 4_800):
        tracemalloc.start()
        one(tmp_path / str(rows), rows=rows, fmt="csv", seed=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 100 * 2**20
    assert peaks[1] < peaks[0] + 8 * 2**20, peaks
