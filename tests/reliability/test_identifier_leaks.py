"""Invariant 7: a canary CCCD planted in source files appears nowhere outside landing/, raw/ and the
`restricted` schema — not in the lake, core, marts, audit, logs, the task's XCom or its failure,
Data Docs and reports under docs/, nor in work/ once the run is over.

The canary is planted where an identifier can travel: a loaded row (as typed, with dashes, and with
the leading zero Excel drops), a quarantined row, a value too long to be an ID (its parse error quotes
it), a blocked file and a rejected one. Each search also looks for it in `restricted` (or raw/), to
prove the canary was read at all.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import AirflowFailException

from pipelines.marts import build_marts
from pipelines.orchestrate import ingest_task
from pipelines.settings import load_settings
from pipelines.warehouse import connect
from tests.fixtures.enterprise_files import CANARY_ID, HEADER, T, march_rows, write_csv, write_xlsx
from tests.reliability.invariants import landing

pytestmark = pytest.mark.reliability

NEEDLES = (CANARY_ID[1:], "-".join((CANARY_ID[:3], CANARY_ID[3:6], CANARY_ID[6:9], CANARY_ID[9:])))  # any form
ALLOWED = ("landing", "raw")  # folders of KDS_HOME where identifiers may be in clear


def leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


def plant(home: Path) -> None:
    folder = landing(home)
    write_xlsx(folder / "doanh_nghiep_20250331.xlsx", march_rows())  # row 11: the canary, loaded
    april = [r for r in march_rows() if r.fate == "loaded"]
    april[1].cells[14] = CANARY_ID[:3] + "-" + CANARY_ID[3:6] + "-" + CANARY_ID[6:9] + "-" + CANARY_ID[9:]  # dashes
    april[2].cells[14] = int(CANARY_ID)  # a number: the leading zero is gone
    april[3].cells[14] = CANARY_ID + "9"  # 13 digits: quarantined, the reason quotes the value
    april[4].cells[1] = T[5][:-1] + str((int(T[5][-1]) + 1) % 10)  # a bad tax code: quarantined with the canary
    april[4].cells[14] = CANARY_ID
    write_csv(folder / "doanh_nghiep_20250430.csv", april)


def plant_bad(home: Path) -> None:
    blocked = march_rows()
    for r in blocked:
        r.cells[7], r.cells[14] = "Xã Không Có", CANARY_ID  # no place: blocked by place_unresolved
    write_csv(landing(home) / "doanh_nghiep_20250531.csv", blocked)
    header = [h if h != "Tình trạng hoạt động" else "Ghi chú" for h in HEADER]  # a missing column: rejected
    rejected = landing(home) / "doanh_nghiep_20250630.csv"
    write_csv(rejected, march_rows())
    text = rejected.read_text(encoding="utf-8-sig").replace(";".join(HEADER), ";".join(header), 1)
    rejected.write_text(text, encoding="utf-8-sig")


def files_outside_restricted(home: Path) -> list[Path]:
    warehouse = {"warehouse.duckdb", "warehouse.duckdb.wal"}  # searched through SQL below
    return [
        p for p in home.rglob("*")
        if p.is_file() and p.relative_to(home).parts[0] not in ALLOWED and p.name not in warehouse
    ]  # fmt: skip


def content(path: Path) -> str:
    """A file's text; a Parquet file's values (its bytes are compressed)."""
    if path.suffix == ".parquet":
        return json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
    return path.read_bytes().decode("utf-8", errors="replace")


def warehouse_text(schemas: tuple[str, ...]) -> dict[str, str]:
    with connect(load_settings().warehouse_url) as wh:
        tables = wh.query(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ("
            + ", ".join("?" for _ in schemas) + ")",
            schemas,
        )  # fmt: skip
        return {f"{s}.{t}": json.dumps(wh.query(f'SELECT * FROM "{s}"."{t}"'), default=str) for s, t in tables}


def test_the_canary_never_leaves_the_restricted_zone(
    kds_home: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    plant(kds_home)
    xcom = ingest_task("enterprises", {})  # what the DAG task returns (XCom)
    assert [x["status"] for x in xcom] == ["loaded", "loaded"]
    quarantined = sum(r.fate.startswith("quarantine") for r in march_rows())
    assert [x["rows_quarantined"] for x in xcom] == [quarantined, 2]

    plant_bad(kds_home)
    with pytest.raises(AirflowFailException) as failure:  # a data problem: fails without retry
        ingest_task("enterprises", {})
    outcome = getattr(failure.value, "kds_files", None)
    assert [f["status"] for f in outcome or []] == ["skipped_duplicate_file"] * 2 + ["blocked", "rejected"]
    with connect(load_settings().warehouse_url) as wh:
        build_marts(wh)

    # Returned and raised values, logs, console.
    out = capsys.readouterr()
    said = json.dumps([xcom, outcome, str(failure.value)], default=str) + caplog.text + out.out + out.err
    assert leaks(said) == []

    # The warehouse: only `restricted` holds it.
    assert not {t: leaks(text) for t, text in warehouse_text(("core", "mart", "audit", "ref")).items() if leaks(text)}
    assert any(leaks(text) for text in warehouse_text(("restricted",)).values()), "the canary was never read"

    # Files: the lake, docs and reports, GX's stores, the scratch: anything but landing/ and raw/.
    found = [p for p in files_outside_restricted(kds_home) if leaks(content(p))]
    assert found == []
    assert any((kds_home / "lake").rglob("*.parquet")) and any((kds_home / "docs").rglob("*.html"))
    assert not (kds_home / "work").exists() or list((kds_home / "work").iterdir()) == []
    assert any(leaks(content(p)) for p in (kds_home / "raw").rglob("*.csv")), "raw/ keeps the delivery as sent"
