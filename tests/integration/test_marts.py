"""Marts in both geographies: totals agree with core, unallocated rows are explicit, comments exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.marts import MARTS, build_marts
from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.warehouse import connect
from tests.fixtures.enterprise_files import T, april_rows, march_rows, write_csv, write_xlsx

pytestmark = pytest.mark.integration


def test_enterprise_mart_in_both_geographies(kds_home: Path) -> None:
    folder = kds_home / "landing" / "enterprises"
    folder.mkdir(parents=True)
    write_xlsx(folder / "doanh_nghiep_20250331.xlsx", march_rows())
    write_csv(folder / "doanh_nghiep_20250430.csv", april_rows())
    assert {r.status for r in run_dataset("enterprises")} == {"loaded"}

    with connect(load_settings().warehouse_url) as wh:
        counts = build_marts(wh)
        assert counts["mart.enterprise_monthly_pre2025"] > 0 and counts["mart.enterprise_monthly_2025"] > 0
        for geography in ("pre2025", "2025"):
            table = f"mart.enterprise_monthly_{geography}"
            months = wh.query(
                f"SELECT month, sum(enterprises), sum(active), sum(suspended) FROM {table} GROUP BY 1 ORDER BY 1"
            )
            # March: 6 enterprises, T7 suspended; April: T7 gone, T0 suspended, T10 new.
            assert [(m, int(n), int(a), int(s)) for m, n, a, s in months] == [
                ("2025-03", 6, 5, 1),
                ("2025-04", 6, 5, 1),
            ], geography
        # Both geographies name their places; the Nhơn Bình enterprise sits in Phường Quy Nhơn Đông after 2025.
        row = wh.query(
            "SELECT commune_name_2025, is_unallocated FROM mart.enterprise_monthly_2025 "
            "WHERE month = '2025-03' AND commune_code_2025 = '21601'"
        )
        assert row == [("Phường Quy Nhơn Đông", False)]
        old = wh.query(
            "SELECT district_name_pre2025, commune_name_pre2025 FROM mart.enterprise_monthly_pre2025 "
            "WHERE month = '2025-03' AND commune_code_pre2025 = '21550'"
        )
        assert old == [("Thành phố Quy Nhơn", "Phường Nhơn Bình")]
        new_in_april = wh.query(
            "SELECT sum(newly_registered) FROM mart.enterprise_monthly_2025 WHERE month = '2025-04'"
        )
        assert int(new_in_april[0][0]) == 1  # T10, registered 2025-04-15
        assert T[10]  # the fixture's new enterprise
        # Rebuilding gives the same tables.
        before = wh.query(
            "SELECT * FROM mart.enterprise_monthly_2025 ORDER BY ALL"
            if wh.dialect == "duckdb"
            else "SELECT * FROM mart.enterprise_monthly_2025 ORDER BY 1, 2, 3"
        )
        build_marts(wh)
        after = wh.query(
            "SELECT * FROM mart.enterprise_monthly_2025 ORDER BY ALL"
            if wh.dialect == "duckdb"
            else "SELECT * FROM mart.enterprise_monthly_2025 ORDER BY 1, 2, 3"
        )
        assert before == after


def test_every_mart_builds_on_empty_core_tables(kds_home: Path) -> None:
    """Each mart's SQL runs on both dialects (against empty core tables created from the specs)."""
    from pipelines import load
    from pipelines.specs import available_datasets, get_spec

    with connect(load_settings().warehouse_url) as wh:
        load.ensure_warehouse(wh, [get_spec(n) for n in available_datasets()])
        counts = build_marts(wh)
        built = {name.rsplit("_", 1)[0].removeprefix("mart.") for name in counts if not name.endswith("scoreboard")}
        present = {t for (t,) in wh.query("SELECT table_schema || '.' || table_name FROM information_schema.tables")}
        expected = {m.name for m in MARTS if all(r in present for r in m.requires)}
        assert expected <= built
        comments = wh.query("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'mart'")
        assert comments[0][0] >= 2 * len(expected)
