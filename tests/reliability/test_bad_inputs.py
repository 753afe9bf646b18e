"""RELIABILITY.md's bad inputs on the enterprises dataset. Each ends loaded correctly, quarantined with
a reason, or rejected with ONE line naming the file, the row or column, and what to fix; never a
stack trace as the only explanation, never a silent drop (conservation holds whenever a file loads).

The file-level cases (encodings, CSV structure, schema drift, shapes) are delivered together, one
period each, and processed by one run on DuckDB (the reader and the checks do not depend on the
backend); each case's outcome is then asserted on its own. Cell-level cases (numbers, dates,
identifiers, injection-shaped text) are rows of one file with a known fate each. What the warehouse
backend does with hostile text is checked on both backends.
"""

from __future__ import annotations

import csv
import io
import json
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from stdnum.vn import mst

from pipelines.conform import pseudonymise
from pipelines.quarantine import export
from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.text import encode_legacy
from pipelines.warehouse import connect
from tests.conftest import TEST_KEY
from tests.fixtures.enterprise_files import FOOTER, HEADER, TITLE, tax_code
from tests.reliability.invariants import (
    assert_conservation,
    assert_invariants,
    assert_one_line,
    landing,
    query,
    table_exists,
)

pytestmark = pytest.mark.reliability

COL = {name: i for i, name in enumerate(
    ["stt", "tax_code", "name", "legal_form", "registered", "last_changed", "address", "commune", "district", "vsic",
     "capital", "employees", "status", "rep_name", "rep_id"])}  # fmt: skip
PLACES = [("P. Nhơn Bình", "TP. Quy Nhơn"), ("Xã Phước Lộc", "Huyện Tuy Phước"),
          ("Phường Bồng Sơn", "Thị xã Hoài Nhơn"), ("Phường Trần Phú", "TP. Quy Nhơn")]  # fmt: skip


def code_of(seed: int) -> str:
    """A valid tax code; distinct seeds give distinct codes (`tax_code(n)` moves on to the next valid one)."""
    return tax_code(10 * seed)


def row(seed: int, **cells: object) -> list[object]:
    """A valid enterprise row (its tax code derived from `seed`), with some cells replaced."""
    commune, district = PLACES[seed % len(PLACES)]
    out: list[object] = [
        seed, code_of(seed), f"Công ty TNHH Thương Mại Đồng Xuân Hưng Thịnh {seed}", "Công ty TNHH một thành viên",
        "05/03/2015", "", f"{seed} Lê Lợi", commune, district, "4620", "1.500.000.000", 10, "Đang hoạt động",
        "Nguyễn Thị Ánh Tuyết", "052085001111",
    ]  # fmt: skip
    for name, value in cells.items():
        out[COL[name]] = value
    return out


def csv_text(rows: list[list[object]], header: list[str] = HEADER, delimiter: str = ";") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue()


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def windows_1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letters (â, ơ, đ…) precomposed, tone marks combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
        out.append((base + "".join(c for c in decomposed if c in _TONES)).encode("cp1258"))
    return b"".join(out)


def xlsx_bytes(rows: list[list[object]], path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    for line in TITLE:
        ws.append([line])
    ws.append([])
    ws.append(HEADER)
    ws.append([f"({i})" for i in range(1, len(HEADER) + 1)])
    for r in rows:
        ws.append(r)
    ws.append([])
    for line in FOOTER:
        ws.append(line)
    wb.save(path)


# ------------------------------------------------------------------------------ file-level cases


@dataclass
class Expect:
    status: str  # loaded | rejected
    message: tuple[str, ...] = ()  # must appear in the one-line message (besides the file name)
    rows_in: int | None = None
    names: dict[str, str] = field(default_factory=dict)  # tax code → name in core
    quarantined: dict[int, str] = field(default_factory=dict)  # source row → one of its reason codes


Builder = Callable[[Path, int], Expect]  # (path to write, first seed) → what must happen
CASES: dict[str, tuple[str, Builder]] = {}  # id → (suffix, builder)


def case(case_id: str, suffix: str = ".csv") -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        CASES[case_id] = (suffix, build)
        return build

    return register


def good(seed: int, n: int = 5) -> list[list[object]]:
    return [row(seed + i) for i in range(n)]


def names_of(rows: list[list[object]]) -> dict[str, str]:
    return {str(r[COL["tax_code"]]): str(r[COL["name"]]) for r in rows}


@case("utf8-bom")
def _utf8_bom(path: Path, seed: int) -> Expect:
    rows = good(seed)
    path.write_bytes(csv_text(rows).encode("utf-8-sig"))
    return Expect("loaded", rows_in=5, names=names_of(rows))


@case("utf16-tab")
def _utf16(path: Path, seed: int) -> Expect:
    rows = good(seed)
    path.write_bytes(csv_text(rows, delimiter="\t").encode("utf-16"))
    return Expect("loaded", rows_in=5, names=names_of(rows))


@case("utf16le-no-bom")
def _utf16le(path: Path, seed: int) -> Expect:
    rows = good(seed)
    path.write_bytes(csv_text(rows, delimiter=",").encode("utf-16-le"))
    return Expect("loaded", rows_in=5, names=names_of(rows))


@case("windows-1258")
def _cp1258(path: Path, seed: int) -> Expect:
    rows = good(seed)
    path.write_bytes(windows_1258(csv_text(rows)))
    return Expect("loaded", rows_in=5, names=names_of(rows))


@case("tcvn3-cells")
def _tcvn3(path: Path, seed: int) -> Expect:
    rows = good(seed)
    typed = [row(seed + i, name=encode_legacy(str(r[2]), "tcvn3"), commune=encode_legacy(str(r[7]), "tcvn3"))
             for i, r in enumerate(rows)]  # fmt: skip
    path.write_text(csv_text(typed), encoding="utf-8")
    return Expect("loaded", rows_in=5, names=names_of(rows))


@case("vni-cells")
def _vni(path: Path, seed: int) -> Expect:
    rows = good(seed)
    typed = [row(seed + i, name=encode_legacy(str(r[2]), "vni"), commune=encode_legacy(str(r[7]), "vni"))
             for i, r in enumerate(rows)]  # fmt: skip
    path.write_text(csv_text(typed), encoding="utf-8")
    return Expect("loaded", rows_in=5, names=names_of(rows))


@case("nfd")
def _nfd(path: Path, seed: int) -> Expect:
    rows = good(seed)
    path.write_text(unicodedata.normalize("NFD", csv_text(rows)), encoding="utf-8")
    return Expect("loaded", rows_in=5, names=names_of(rows))


@case("invalid-utf8")
def _invalid_utf8(path: Path, seed: int) -> Expect:
    rows = good(seed)
    data = (
        csv_text(rows).encode("utf-8").replace(f"Thịnh {seed + 2}".encode(), b"Th\xff\xfenh " + str(seed + 2).encode())
    )
    path.write_bytes(data)
    names = names_of(rows)
    names[str(rows[2][1])] = f"Công ty TNHH Thương Mại Đồng Xuân Hưng Th\ufffd\ufffdnh {seed + 2}"
    return Expect("loaded", ("not valid utf-8", "row 4", "export the file as UTF-8"), rows_in=5, names=names)


@case("nul-bytes")
def _nul(path: Path, seed: int) -> Expect:
    rows = good(seed)
    data = csv_text(rows).encode("utf-8").replace(b"Xu\xc3\xa2n", b"Xu\x00\xc3\xa2n\x00")
    path.write_bytes(data)
    return Expect("loaded", ("NUL bytes were removed",), rows_in=5, names=names_of(rows))


@case("quoted-newlines")
def _newlines(path: Path, seed: int) -> Expect:
    rows = good(seed)
    rows[1][COL["address"]] = "Số 12, đường Lê Lợi;\r\nphường Nhơn Bình"
    rows[2][COL["name"]] = 'Công ty "Sao Mai"\nchi nhánh; Bình Định'
    path.write_text(csv_text(rows), encoding="utf-8")
    names = names_of(rows)
    names[str(rows[2][1])] = 'Công ty "Sao Mai" chi nhánh; Bình Định'  # one cell, white space collapsed
    return Expect("loaded", rows_in=5, names=names)


@case("ragged-rows")
def _ragged(path: Path, seed: int) -> Expect:
    rows = good(seed, 8)
    rows[1] = rows[1][:13]  # the optional representative cells left off
    rows[2] = rows[2] + ["ghi chú thêm"]  # a value under no header
    rows[3] = rows[3][:5]  # a row cut short: no place, no status
    path.write_text(csv_text(rows), encoding="utf-8")
    names = names_of(rows)
    del names[str(rows[3][1])]
    return Expect("loaded", ("column P has values (first on row 4) but no header",), rows_in=8, names=names,
                  quarantined={5: "missing_status"})  # fmt: skip


@case("unbalanced-quote")
def _unbalanced(path: Path, seed: int) -> Expect:
    rows = good(seed, 6)
    text = csv_text(rows).replace(str(rows[1][COL["name"]]), '"' + str(rows[1][COL["name"]]), 1)
    path.write_text(text, encoding="utf-8")
    return Expect("rejected", ("row 3, column C", "quote", "close or remove it"))


@case("empty-file")
def _empty(path: Path, seed: int) -> Expect:
    path.write_bytes(b"")
    return Expect("rejected", ("the file is empty", "export the data again"))


@case("header-only")
def _header_only(path: Path, seed: int) -> Expect:
    path.write_text(csv_text([]), encoding="utf-8")
    return Expect("loaded", rows_in=0)


@case("duplicate-header")
def _duplicate_header(path: Path, seed: int) -> Expect:
    header = list(HEADER)
    header[COL["vsic"]] = "Mã số doanh nghiệp"
    path.write_text(csv_text(good(seed), header=header), encoding="utf-8")
    return Expect("rejected", ("'Mã số doanh nghiệp'", "appears twice", "columns B and J", "keep one of them"))


@case("10mb-cell")
def _huge_cell(path: Path, seed: int) -> Expect:
    rows = good(seed)
    rows[2][COL["address"]] = "x" * (10 * 1024 * 1024)
    path.write_text(csv_text(rows), encoding="utf-8")
    return Expect("rejected", ("row 4", "longer than 1024 KiB", "shorten the cell"))


@case("missing-required-column")
def _missing_required(path: Path, seed: int) -> Expect:
    keep = [i for i in range(len(HEADER)) if i != COL["status"]]
    rows = [[r[i] for i in keep] for r in good(seed)]
    path.write_text(csv_text(rows, header=[HEADER[i] for i in keep]), encoding="utf-8")
    return Expect("rejected", ("'Tình trạng hoạt động'", "not found in the header on row 1", "add it or rename"))


@case("renamed-and-missing-optional-columns")
def _drift(path: Path, seed: int) -> Expect:
    header = ["Mã số thuế" if h == "Mã số doanh nghiệp" else h for h in HEADER]  # an accepted alias
    keep = [i for i in range(len(HEADER)) if i != COL["employees"]]  # an optional column left out
    rows = good(seed)
    path.write_text(csv_text([[r[i] for i in keep] for r in rows], header=[header[i] for i in keep]), encoding="utf-8")
    return Expect("loaded", rows_in=5, names=names_of(rows))


@case("0-rows", suffix=".xlsx")
def _zero_rows(path: Path, seed: int) -> Expect:
    xlsx_bytes([], path)
    return Expect("loaded", rows_in=0)


@case("1-row", suffix=".xlsx")
def _one_row(path: Path, seed: int) -> Expect:
    rows = good(seed, 1)
    rows[0][COL["registered"]] = 45000  # an Excel date number typed as a number
    xlsx_bytes(rows, path)
    return Expect("loaded", rows_in=1, names=names_of(rows))


@case("500-columns")
def _wide(path: Path, seed: int) -> Expect:
    extra = [f"Chỉ tiêu phụ {k}" for k in range(500 - len(HEADER))]
    rows = [r + [f"giá trị {k}" for k in range(len(extra))] for r in good(seed)]
    path.write_text(csv_text(rows, header=HEADER + extra), encoding="utf-8")
    return Expect("loaded", ("unknown columns kept in raw: Chỉ tiêu phụ 0, Chỉ tiêu phụ 1",), rows_in=5,
                  names=names_of(rows))  # fmt: skip


# ------------------------------------------------------------------------------- cell-level cases

SERIAL_45000 = date(1899, 12, 30) + timedelta(days=45000)


def _leading_zero_code() -> str:
    n = 109_106
    while len(mst.calc_check_digit(f"01{n:07d}")) != 1:
        n += 1
    return f"01{n:07d}" + mst.calc_check_digit(f"01{n:07d}")


ZERO_LED = _leading_zero_code()

# (id, cells to replace, expected): ("loaded", {core column: value}) or ("quarantine", reason code)
CELL_CASES: list[tuple[str, dict[str, object], tuple[str, Any]]] = [
    ("capital-vn-thousands", {"capital": "1.500.000"}, ("loaded", {"charter_capital_vnd": 1_500_000})),
    ("capital-en-thousands", {"capital": "1,500,000"}, ("loaded", {"charter_capital_vnd": 1_500_000})),
    ("capital-decimal-comma", {"capital": "2,5 tỷ"}, ("loaded", {"charter_capital_vnd": 2_500_000_000})),
    ("capital-scientific", {"capital": "1.5E+09"}, ("quarantine", "invalid_charter_capital_vnd")),  # digits lost
    ("capital-nan", {"capital": "NaN"}, ("quarantine", "invalid_charter_capital_vnd")),
    ("capital-overflow", {"capital": "99999999999999999999999"}, ("quarantine", "invalid_charter_capital_vnd")),
    ("capital-implausible", {"capital": "900.000 tỷ"}, ("quarantine", "implausible_charter_capital")),
    ("capital-negative", {"capital": "-500.000"}, ("quarantine", "invalid_charter_capital_vnd")),
    ("capital-retyped-as-words", {"capital": "năm trăm triệu"}, ("quarantine", "invalid_charter_capital_vnd")),
    ("employees-decimal", {"employees": "12,5"}, ("quarantine", "invalid_employees")),
    ("employees-nan", {"employees": "NaN"}, ("quarantine", "invalid_employees")),
    ("employees-negative", {"employees": "-5"}, ("quarantine", "implausible_employees")),
    ("employees-thousands", {"employees": "1.200"}, ("loaded", {"employees": 1200})),
    ("date-31-feb", {"registered": "31/02/2024"}, ("quarantine", "invalid_registered_date")),
    ("date-year-0001", {"registered": "01/01/0001"}, ("quarantine", "invalid_registered_date")),
    ("date-iso-year-0001", {"registered": "0001-01-01"}, ("quarantine", "invalid_registered_date")),
    ("date-excel-serial", {"registered": "45000"}, ("loaded", {"registered_date": SERIAL_45000})),
    ("date-vietnamese", {"registered": "ngày 5 tháng 3 năm 2019"}, ("loaded", {"registered_date": date(2019, 3, 5)})),
    ("last-changed-31-feb", {"last_changed": "31/02/2024"}, ("quarantine", "invalid_last_changed_date")),
    ("tax-code-spaces", {"tax_code": "spaced"}, ("loaded", {})),
    ("tax-code-dots", {"tax_code": "dotted"}, ("loaded", {})),
    ("tax-code-branch", {"tax_code": "branch"}, ("loaded", {})),
    ("tax-code-lost-leading-zero", {"tax_code": int(ZERO_LED)}, ("loaded", {"tax_code": ZERO_LED})),
    ("tax-code-dashes", {"tax_code": "dashed"}, ("quarantine", "invalid_tax_code")),
    ("tax-code-bad-check-digit", {"tax_code": "bad_check"}, ("quarantine", "invalid_tax_code")),
    ("tax-code-all-zeros", {"tax_code": "0000000000"}, ("quarantine", "invalid_tax_code")),
    ("tax-code-scientific", {"tax_code": "4.1E+09"}, ("quarantine", "invalid_tax_code")),
    ("id-dashes", {"rep_id": "052-085-001-111"}, ("loaded", {"representative_id_key": "052085001111"})),
    ("id-spaces", {"rep_id": "052 085 001 111"}, ("loaded", {"representative_id_key": "052085001111"})),
    ("id-lost-leading-zero", {"rep_id": 52085001111}, ("loaded", {"representative_id_key": "052085001111"})),
    ("id-all-zeros", {"rep_id": "000000000000"}, ("quarantine", "invalid_representative_id")),
    ("id-bad-province", {"rep_id": "999085001111"}, ("quarantine", "invalid_representative_id")),
    ("text-sql", {"name": "'); DROP TABLE x; --"}, ("loaded", {"name": "'); DROP TABLE x; --"})),
    (
        "text-formula",
        {"name": '=HYPERLINK("http://x.vn","Bấm")'},
        ("loaded", {"name": '=HYPERLINK("http://x.vn","Bấm")'}),
    ),
    ("text-plus", {"name": "+84 256 3822 222"}, ("loaded", {"name": "+84 256 3822 222"})),
    ("text-at", {"name": "@SUM(A1:A9)"}, ("loaded", {"name": "@SUM(A1:A9)"})),
]


def _cell_rows(seed: int) -> list[tuple[str, list[object], tuple[str, Any], str]]:
    """(case id, row, expected, tax code in core) for every cell case."""
    out = []
    for i, (case_id, cells, expected) in enumerate(CELL_CASES):
        s = seed + 10 * i
        code = code_of(s)
        special = {"spaced": f"{code[:4]} {code[4:7]} {code[7:]}", "dotted": f"{code[:4]}.{code[4:7]}.{code[7:]}",
                   "branch": f"{code} - 001", "dashed": f"{code[:4]}-{code[4:7]}-{code[7:]}",
                   "bad_check": code[:-1] + str((int(code[-1]) + 1) % 10)}  # fmt: skip
        given = {k: special.get(v, v) if isinstance(v, str) else v for k, v in cells.items()}
        r = row(s, **given)
        core_code = {"branch": f"{code}-001"}.get(str(cells.get("tax_code")), code)
        if cells.get("tax_code") == int(ZERO_LED):
            core_code = ZERO_LED
        out.append((case_id, r, expected, core_code))
    return out


@case("cells")
def _cells(path: Path, seed: int) -> Expect:
    cases = _cell_rows(seed)
    filler = good(seed + 5000, 10)  # correct rows around them
    rows = filler[:5] + [r for _, r, _, _ in cases] + filler[5:]
    path.write_text(csv_text(rows), encoding="utf-8")
    quarantined = {7 + i: exp[1] for i, (_, _, exp, _) in enumerate(cases) if exp[0] == "quarantine"}
    return Expect("loaded", rows_in=len(rows), quarantined=quarantined)


# ------------------------------------------------------------------------------------- the batch


@dataclass
class Batch:
    home: Path
    results: dict[str, Any]  # case id → FileResult
    expected: dict[str, Expect]
    seeds: dict[str, int]
    period: dict[str, date]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every file-level case delivered at once, one period each, processed by one run (DuckDB)."""
    home = tmp_path_factory.mktemp("bad_inputs") / "kds"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KDS_HOME", str(home))
        mp.setenv("KDS_PSEUDONYM_KEY", TEST_KEY)
        mp.delenv("KDS_WAREHOUSE_URL", raising=False)
        mp.delenv("KDS_ENV", raising=False)
        expected, seeds, periods, names = {}, {}, {}, {}
        for i, (case_id, (suffix, build)) in enumerate(CASES.items()):
            periods[case_id] = date(2024, 1, 1) + timedelta(days=i)
            seeds[case_id] = 200_000 + 10_000 * i
            name = f"doanh_nghiep_{periods[case_id]:%Y%m%d}{suffix}"
            names[name] = case_id
            expected[case_id] = build(landing(home) / name, seeds[case_id])
        results = {names[r.file]: r for r in run_dataset("enterprises")}
        assert set(results) == set(CASES)
        yield Batch(home, results, expected, seeds, periods)


@pytest.mark.parametrize("case_id", list(CASES))
def test_bad_file_ends_loaded_quarantined_or_rejected_in_one_line(batch: Batch, case_id: str) -> None:
    result, expect = batch.results[case_id], batch.expected[case_id]
    assert result.status == expect.status, result.message
    assert_one_line(result.message, *expect.message)
    assert_conservation(batch.home, result)
    if expect.status == "rejected":
        assert result.file in result.message  # named as the department delivered it
        assert result.rows_in == result.rows_loaded == 0
        assert query("SELECT status, message FROM audit.file WHERE sha256 = ?", (result.sha256,)) == [
            ("rejected", result.message)]  # fmt: skip
        return
    if expect.rows_in is not None:
        assert result.rows_in == expect.rows_in
    for code, name in expect.names.items():
        assert query("SELECT name FROM core.enterprise WHERE tax_code = ?", (code,)) == [(name,)], code
    rows = query(
        "SELECT _source_row_number, reason_codes, detail FROM restricted.quarantine WHERE _source_file_sha256 = ?",
        (result.sha256,),
    )
    assert {n: codes for n, codes, _ in rows}.keys() == expect.quarantined.keys()
    for number, codes, detail in rows:
        assert expect.quarantined[number] in codes.split(";"), (number, codes, detail)
        assert_one_line(detail)  # the reason a department reads next to the row


@pytest.mark.parametrize(("case_id", "expected"), [(c[0], c[2]) for c in CELL_CASES], ids=[c[0] for c in CELL_CASES])
def test_bad_cell_is_parsed_or_quarantined_with_its_reason(batch: Batch, case_id: str, expected: Any) -> None:
    [(_, source, _, code)] = [c for c in _cell_rows(batch.seeds["cells"]) if c[0] == case_id]
    fate, detail = expected
    sha = batch.results["cells"].sha256
    if fate == "quarantine":
        assert query("SELECT count(*) FROM core.enterprise WHERE name = ?", (source[COL["name"]],)) == [(0,)]
        [(codes, reason)] = query(
            "SELECT reason_codes, detail FROM restricted.quarantine WHERE _source_file_sha256 = ? AND record LIKE ?",
            (sha, f'%"name": {json.dumps(source[COL["name"]], ensure_ascii=False)}%'),
        )
        assert detail in codes.split(";"), (codes, reason)
        return
    columns = ["tax_code", *detail]
    [found] = query(f"SELECT {', '.join(columns)} FROM core.enterprise WHERE tax_code = ?", (code,))
    values = dict(zip(columns, found, strict=True))
    for column, value in detail.items():
        if column == "representative_id_key":
            value = pseudonymise(value, TEST_KEY.encode())
        assert values[column] == value, column


def test_the_batch_keeps_the_invariants(batch: Batch) -> None:
    """Conservation per file, exactly once, atomic lake, lake = warehouse, across all the cases."""
    assert_invariants(batch.home, *(r for r in batch.results.values() if r.status == "loaded"))


# --------------------------------------------------------------------- hostile text, both backends


def test_injection_shaped_text_stays_literal_and_is_neutralised_in_exports(kds_home: Path, tmp_path: Path) -> None:
    hostile = [
        "'); DROP TABLE core.enterprise; --",
        'Robert"); DELETE FROM audit.file; --',
        "=cmd|' /C calc'!A0",
        "+84 256 3822 222",
        "-1+1",
        "@SUM(A1)",
        "C:\\temp\\x; \\. \\N",  # backslashes, the COPY text-format end marker and null marker
        "50% ? $1 %s {0}",  # placeholders and format strings
    ]
    rows = [row(300_000 + 10 * i, name=text) for i, text in enumerate(hostile)] + good(301_000, 2)
    rows.append(row(302_000, name='=HYPERLINK("http://x")', status="Không rõ"))  # quarantined, exported
    (landing(kds_home) / "doanh_nghiep_20250331.csv").write_text(csv_text(rows), encoding="utf-8")

    [result] = run_dataset("enterprises")

    assert result.status == "loaded" and result.rows_quarantined == 1, result.message
    assert_invariants(kds_home, result)
    assert sorted(r[0] for r in query("SELECT name FROM core.enterprise")) == sorted(
        hostile + [str(r[COL["name"]]) for r in rows[len(hostile):-1]])  # fmt: skip
    assert all(table_exists(t) for t in ("core.enterprise", "audit.file", "restricted.quarantine"))
    assert query("SELECT count(*) FROM audit.file") == [(1,)]
    # The department's spreadsheet of rows to fix: a formula-shaped cell is text, not a formula.
    settings = load_settings()
    with connect(settings.warehouse_url) as wh:
        [path] = export(wh, settings, "enterprises", tmp_path)
    cells = [c.value for r in load_workbook(path).active.iter_rows() for c in r if isinstance(c.value, str)]
    assert '\'=HYPERLINK("http://x")' in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells), [c for c in cells if c[:1] in "=+-@"]


# ------------------------------------------------------------------------------------ a big file

BIG_ROWS = 100_000


@pytest.mark.slow
@pytest.mark.parametrize("kds_home", ["duckdb"], indirect=True)
def test_a_large_file_is_conserved_row_for_row(kds_home: Path) -> None:
    path = landing(kds_home) / "doanh_nghiep_20250331.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        n, i = 0, 1  # 420000000x: digits 3-9 all zero is no tax code
        while n < BIG_ROWS:
            base = f"42{i:07d}"
            i += 1
            digit = mst.calc_check_digit(base)
            if len(digit) != 1:
                continue
            commune, district = PLACES[n % len(PLACES)]
            capital = "không rõ" if n % 1000 == 999 else f"{(n % 997 + 1) * 1_000_000}"  # 1 in 1000 quarantined
            writer.writerow([n + 1, base + digit, f"Công ty TNHH Số {n}", "Công ty TNHH một thành viên", "05/03/2015",
                             "", f"{n} Lê Lợi", commune, district, "4620", capital, n % 50, "Đang hoạt động",
                             "Nguyễn Văn An", f"0520850{n % 100_000:05d}"])  # fmt: skip
            n += 1
    t0 = time.monotonic()
    [result] = run_dataset("enterprises")
    seconds = time.monotonic() - t0
    assert result.status == "loaded", result.message
    assert (result.rows_in, result.rows_quarantined, result.rows_duplicate) == (BIG_ROWS, BIG_ROWS // 1000, 0)
    assert_invariants(kds_home, result)
    assert seconds < 120, seconds
