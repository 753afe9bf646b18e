"""End to end on hand-written cadastral extracts: every row's fate, the code system per row, the
land-use bridge table, snapshots replaced per commune, nothing personal outside the restricted zone."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.warehouse import connect
from tests.fixtures.land_files import (
    CANARY_ADDRESS,
    CANARY_ID,
    CANARY_NAME,
    FIRST_DATA_ROW,
    nhon_binh_rows,
    tuy_phuoc_rows,
    write_csv,
)

pytestmark = pytest.mark.integration


def landing(home: Path) -> Path:
    folder = home / "landing" / "land_parcels"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with connect(load_settings().warehouse_url) as wh:
        return wh.query(sql, params)


def bridge() -> dict[tuple[object, ...], list[tuple[object, ...]]]:
    rows = query(
        """SELECT commune_code, map_sheet_no, parcel_no, ordinal, land_use_code, land_use_code_system, land_use_group
           FROM core.land_parcel_use ORDER BY 1, 2, 3, 4"""
    )
    out: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    for r in rows:
        out.setdefault(r[:3], []).append(r[3:])
    return out


def test_two_communes_every_row_has_its_fate(kds_home: Path) -> None:
    rows = nhon_binh_rows()
    write_csv(landing(kds_home) / "thua_dat_21550_20250630.csv", rows)
    write_csv(landing(kds_home) / "thua_dat_21952_20250630.csv", tuy_phuoc_rows(), encoding="utf-16", delimiter="\t")

    first, second = run_dataset("land_parcels")

    fates = Counter(r.fate.split(":")[0] for r in rows)
    assert first.status == second.status == "loaded", (first.message, second.message)
    assert (first.rows_in, first.rows_loaded, first.rows_duplicate, first.rows_quarantined) == (
        len(rows), fates["loaded"], fates["duplicate"], fates["quarantine"])  # fmt: skip
    quarantined = dict(query("SELECT _source_row_number, reason_code FROM restricted.quarantine WHERE scope = '21550'"))
    assert quarantined == {
        FIRST_DATA_ROW + i: r.fate.split(":")[1] for i, r in enumerate(rows) if r.fate.startswith("quarantine")
    }

    loaded = [r for r in rows + tuy_phuoc_rows() if r.fate == "loaded"]
    assert bridge() == {r.key: [(i, *u) for i, u in enumerate(r.uses, 1)] for r in loaded}
    core = {
        r[:3]: r[3:]
        for r in query(
            """SELECT commune_code, map_sheet_no, parcel_no, area_m2, land_use_codes, land_use_code_system,
                      land_use_code_system_basis, is_long_term, use_until_date, commune_code_2025, _scope
               FROM core.land_parcel"""
        )
    }
    assert set(core) == {r.key for r in loaded}
    assert core[("21550", 12, 102)][:4] == (1250.0, "ODT+CLN", "TT08_2024", "certificate_date")
    assert core[("21550", 12, 103)][4:6] == (False, date(2043, 10, 15))
    assert core[("21550", 12, 106)][1:4] == ("BHK+ONT", "TT25_2014", "codes")
    assert core[("21952", 3, 15)][6:] == ("21952", "21952")  # the scope is the file's commune code

    warned = {c[0]: c[1] for c in query(
        "SELECT reason_code, unexpected_count FROM audit.check_result WHERE sha256 = ?", (first.sha256,))}  # fmt: skip
    assert warned["invalid_certificate_serial"] == 1


def test_a_commune_snapshot_replaces_only_that_commune(kds_home: Path) -> None:
    folder = landing(kds_home)
    write_csv(folder / "thua_dat_21550_20250630.csv", nhon_binh_rows())
    write_csv(folder / "thua_dat_21952_20250630.csv", tuy_phuoc_rows())
    assert [r.status for r in run_dataset("land_parcels")] == ["loaded", "loaded"]
    tuy_phuoc_before = query("SELECT * FROM core.land_parcel_use WHERE _scope = '21952' ORDER BY 1, 2, 3, 4")

    # The September extract of Nhơn Bình: one parcel merged away, one purpose changed.
    september = [r for r in nhon_binh_rows() if r.fate == "loaded" and r.key != ("21550", 12, 106)]
    september[0].cells[4] = "ODT+CLN"
    write_csv(folder / "thua_dat_21550_20250930.csv", september)
    results = run_dataset("land_parcels")
    assert [r.status for r in results][-1] == "loaded"
    assert query("SELECT DISTINCT period FROM core.land_parcel WHERE _scope = '21550'") == [(date(2025, 9, 30),)]
    assert query("SELECT count(*) FROM core.land_parcel WHERE _scope = '21550'") == [(len(september),)]
    assert bridge()[("21550", 12, 101)] == [
        (1, "ODT", "TT25_2014", "phi_nong_nghiep"),
        (2, "CLN", "TT25_2014", "nong_nghiep"),
    ]
    assert ("21550", 12, 106) not in bridge()
    assert query("SELECT * FROM core.land_parcel_use WHERE _scope = '21952' ORDER BY 1, 2, 3, 4") == tuy_phuoc_before

    # A late copy of the June extract does not roll the commune back.
    (folder / "thua_dat_21550_20250630.csv").unlink()
    write_csv(folder / "thua_dat_21550_20250630.csv", nhon_binh_rows()[:3])
    late = {r.file: r.status for r in run_dataset("land_parcels", period="2025-06-30")}
    assert late["thua_dat_21550_20250630.csv"] == "loaded"
    assert query("SELECT DISTINCT period FROM core.land_parcel WHERE _scope = '21550'") == [(date(2025, 9, 30),)]
    assert query("SELECT DISTINCT period FROM core.land_parcel_use WHERE _scope = '21550'") == [(date(2025, 9, 30),)]


def test_holder_data_never_leaves_the_restricted_zone(kds_home: Path) -> None:
    write_csv(landing(kds_home) / "thua_dat_21550_20250630.csv", nhon_binh_rows())
    [result] = run_dataset("land_parcels")
    assert result.status == "loaded"
    secrets = (CANARY_ID, CANARY_NAME, CANARY_ADDRESS)
    for path in (kds_home / "lake").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path
    for schema, table in query(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('core', 'mart', 'audit')"
    ):
        for row in query(f'SELECT * FROM "{schema}"."{table}"'):
            text = " ".join(map(str, row))
            assert not any(s in text for s in secrets), f"{schema}.{table}"
    keys = query("SELECT holder_id_key FROM core.land_parcel WHERE parcel_no = 101")
    assert keys and len(str(keys[0][0])) == 64
