"""End to end on hand-written accommodation registers: every row's fate, the tax-code join to the
enterprises in the lake (and its absence), SCD2 across the 2025 reorganisation, no identifier leak."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.warehouse import connect
from tests.fixtures import enterprise_files
from tests.fixtures.tourism_establishment_files import (
    CANARY_ID,
    FIRST_DATA_ROW_XLSX,
    T,
    august_2025_rows,
    december_rows,
    write_csv,
    write_xlsx,
)

pytestmark = pytest.mark.integration


def landing(home: Path, dataset: str = "tourism_establishments") -> Path:
    folder = home / "landing" / dataset
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with connect(load_settings().warehouse_url) as wh:
        return wh.query(sql, params)


def load_enterprises(home: Path) -> None:
    enterprise_files.write_xlsx(
        landing(home, "enterprises") / "doanh_nghiep_20250331.xlsx", enterprise_files.march_rows()
    )
    [result] = run_dataset("enterprises")
    assert result.status == "loaded", result.message


def test_december_register_every_row_has_its_fate(kds_home: Path) -> None:
    load_enterprises(kds_home)
    rows = december_rows()
    write_xlsx(landing(kds_home) / "co_so_luu_tru_20241231.xlsx", rows)

    [result] = run_dataset("tourism_establishments")

    fates = Counter(r.fate.split(":")[0] for r in rows)
    assert result.status == "loaded", result.message
    assert (result.rows_in, result.rows_loaded, result.rows_duplicate, result.rows_quarantined) == (
        len(rows), fates["loaded"], fates["duplicate"], fates["quarantine"])  # fmt: skip
    quarantined = dict(
        query(
            "SELECT _source_row_number, reason_code FROM restricted.quarantine WHERE dataset = 'tourism_establishments'"
        )
    )
    assert quarantined == {
        FIRST_DATA_ROW_XLSX + i: r.fate.split(":")[1] for i, r in enumerate(rows) if r.fate.startswith("quarantine")
    }
    state = {
        r[0]: r[1:]
        for r in query(
            """SELECT name, accommodation_type, star_rating, rooms, beds, enterprise_tax_code, is_registered_enterprise,
                      commune_code_pre2025, commune_code_2025, tax_code_key IS NOT NULL
               FROM core.tourism_establishment"""
        )
    }
    assert set(state) == {r.name for r in rows if r.fate == "loaded"}
    assert state["Khách sạn Hải Âu"] == ("Khách sạn", "4 sao", 120, 200, T[0], True, "21592", "21592", True)
    assert state["KS Hoàng Yến"][:2] == ("Khách sạn", "3 sao")  # aliases "KS", "3*"
    assert state["KS Hoàng Yến"][5] is False  # a valid tax code that is no registered enterprise: a warning
    assert state["Nhà nghỉ Thanh Bình"][4:6] == (None, None)  # a personal ID as tax code: pseudonym only
    assert state["Nhà nghỉ Thanh Bình"][8] is True
    assert state["Biệt thự Biển Xanh"][4:6] == (f"{T[1]}-001", True)  # a branch matches its head office
    assert state["Khách sạn Sai Mã Số"][4:] == (None, None, "21580", "21583", False)  # bad check digit: dropped

    checks = {
        c[0]: c[1:]
        for c in query(
            """SELECT reason_code, severity, success, unexpected_count FROM audit.check_result
               WHERE dataset = 'tourism_establishments'"""
        )
    }
    assert checks["tax_code_not_in_enterprises"] == ("warn", False, 1)
    assert checks["star_rating_villa_apartment_boat"] == ("warn", False, 1)
    assert checks["star_rating_not_hotel"] == ("quarantine", False, 1)
    assert result.rows_warned >= 3  # Hoàng Yến (not registered), Biển Xanh (stars), Sai Mã Số (bad tax code)


def test_without_enterprise_data_the_join_is_unknown_not_a_failure(kds_home: Path) -> None:
    write_xlsx(landing(kds_home) / "co_so_luu_tru_20241231.xlsx", december_rows())
    [result] = run_dataset("tourism_establishments")
    assert result.status == "loaded", result.message
    assert query("SELECT count(*) FROM core.tourism_establishment WHERE is_registered_enterprise IS NOT NULL") == [(0,)]
    assert query("SELECT enterprise_tax_code FROM core.tourism_establishment WHERE name = 'Khách sạn Hải Âu'") == [
        (T[0],)
    ]
    checks = dict(query("SELECT reason_code, success FROM audit.check_result"))
    assert checks["tax_code_not_in_enterprises"] is True


def test_versions_continue_across_the_reorganisation(kds_home: Path) -> None:
    load_enterprises(kds_home)
    folder = landing(kds_home)
    write_xlsx(folder / "co_so_luu_tru_20241231.xlsx", december_rows())
    write_csv(folder / "co_so_luu_tru_20250831.csv", august_2025_rows())
    results = run_dataset("tourism_establishments")
    assert [r.status for r in results] == ["loaded", "loaded"], [r.message for r in results]
    versions = query(
        """SELECT name_key, count(*), max(valid_from), bool_or(is_current) FROM core.tourism_establishment
           GROUP BY name_key ORDER BY name_key"""
    )
    by_key = {v[0]: v[1:] for v in versions}
    assert by_key["khách sạn hải âu"] == (1, date(2024, 12, 31), True)  # same place under its 2025 name
    assert by_key["khách sạn hoàng yến"][:2] == (2, date(2025, 8, 31))  # upgraded to 4 stars
    assert by_key["nhà nghỉ thanh bình"] == (1, date(2024, 12, 31), True)
    assert by_key["biệt thự biển xanh"][2] is False  # gone from the register: closed
    assert by_key["khách sạn mới mở"] == (1, date(2025, 8, 31), True)
    current = query(
        "SELECT name_key, commune_code_2025, count(*) FROM core.tourism_establishment WHERE is_current GROUP BY name_key, commune_code_2025 HAVING count(*) > 1"
    )
    assert current == []


def test_identifiers_never_leave_the_restricted_zone(kds_home: Path) -> None:
    write_xlsx(landing(kds_home) / "co_so_luu_tru_20241231.xlsx", december_rows())
    [result] = run_dataset("tourism_establishments")
    assert result.status == "loaded"
    for path in (kds_home / "lake").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert CANARY_ID.encode() not in data and "489 An Dương Vương".encode() not in data, path
    for schema, table in query(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('core', 'mart', 'audit')"
    ):
        for row in query(f'SELECT * FROM "{schema}"."{table}"'):
            text = " ".join(map(str, row))
            assert CANARY_ID not in text and "An Dương Vương" not in text, f"{schema}.{table}"
