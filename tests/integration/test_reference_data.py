"""The `ref` schema: both geographies with validity, the crosswalk, code lists, dates; idempotent."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.refdata import refresh_reference
from pipelines.warehouse import connect

pytestmark = pytest.mark.integration


def test_reference_tables_load_and_reload_identically() -> None:
    with connect("duckdb:///:memory:") as wh:
        first = refresh_reference(wh)
        second = refresh_reference(wh)
        assert first == second
        assert first["ref.admin_unit"] == 539 and first["ref.admin_unit_crosswalk"] == 376
        counts = dict(
            ((system, level), n)
            for system, level, n in wh.query("SELECT code_system, level, count(*) FROM ref.admin_unit GROUP BY ALL")
        )
        assert counts[("pre2025", "district")] == 28  # 11 Bình Định + 17 old Gia Lai
        assert counts[("2025", "commune")] == 135
        bd_communes = wh.query(
            "SELECT count(*) FROM ref.admin_unit WHERE code_system = 'pre2025' AND level = 'commune' AND province_code = '52'"
        )
        assert bd_communes == [(155,)]
        # Validity: pre-2025 units end when the 2025 units begin.
        assert wh.query("SELECT DISTINCT valid_to FROM ref.admin_unit WHERE code_system = 'pre2025'") == [
            (date(2025, 7, 1),)
        ]
        assert wh.query("SELECT DISTINCT valid_from FROM ref.admin_unit WHERE code_system = '2025'") == [
            (date(2025, 7, 1),)
        ]
        # Split communes: Canh Hiệp has no documented default target.
        canh_hiep = wh.query(
            "SELECT bool_or(is_split), bool_or(is_default_target) FROM ref.admin_unit_crosswalk WHERE old_commune_code = '22000'"
        )
        assert canh_hiep == [(True, False)]
        # Every old commune has exactly one default target, except Canh Hiệp.
        no_default = wh.query(
            """SELECT old_commune_code FROM ref.admin_unit_crosswalk GROUP BY 1
               HAVING count(*) FILTER (WHERE is_default_target) <> 1"""
        )
        assert no_default == [("22000",)]
        assert wh.query("SELECT official_code FROM ref.commune_code_remap WHERE draft_code = '21898'") == [("21880",)]
        assert wh.query("SELECT count(DISTINCT code_system) FROM ref.land_use_code") == [(2,)]
        assert wh.query("SELECT code_system FROM ref.date WHERE date = DATE '2025-06-30'") == [("pre2025",)]
        assert wh.query("SELECT code_system FROM ref.date WHERE date = DATE '2025-07-01'") == [("2025",)]
        comment = wh.query(
            "SELECT comment FROM duckdb_columns() WHERE schema_name = 'ref' AND table_name = 'admin_unit' AND column_name = 'code_system'"
        )
        assert comment and "pre2025" in str(comment[0][0])
