"""End to end on hand-written poverty reviews: every row's fate, the classification checked against
the standard (flagged, never rewritten), both header forms, idempotence, personal data kept back."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.publish import partition_dir, verify_partition
from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.specs import get_spec
from pipelines.warehouse import connect
from tests.fixtures.poverty_files import (
    CANARY_CODE,
    CANARY_ID,
    CANARY_NAME,
    CANARY_VILLAGE,
    COMMUNE,
    DISTRICT,
    FIRST_DATA_ROW_XLSX,
    Row,
    review_rows,
    write_csv,
    write_xlsx,
)
from tests.fixtures.poverty_files import (
    YEAR as YEAR_COLUMN,
)

pytestmark = pytest.mark.integration

SPEC = get_spec("poor_households")
YEAR = date(2023, 1, 1)


def landing(home: Path) -> Path:
    folder = home / "landing" / "poor_households"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with connect(load_settings().warehouse_url) as wh:
        return wh.query(sql, params)


COLUMNS = ["_source_row_number", "household_code_key", "head_id_key", "head_ethnicity", "area_type", "members",
           "income_per_capita_vnd", *[f"deprived_{i:02d}" for i in range(1, 13)], "deprivation_count",
           "deprivation_marks", "classification", "classification_expected", "is_classification_consistent",
           "is_review_year_of_period", "commune_code_pre2025", "commune_code_2025", "period"]  # fmt: skip


def core_rows() -> dict[int, dict[str, object]]:
    rows = query(f"SELECT {', '.join(COLUMNS)} FROM core.poor_household ORDER BY _source_row_number")
    return {int(str(r[0])): dict(zip(COLUMNS, r, strict=True)) for r in rows}


def test_review_every_row_has_its_fate_and_the_standard_is_checked(kds_home: Path) -> None:
    rows = review_rows()
    write_xlsx(landing(kds_home) / "ra_soat_ho_ngheo_2023.xlsx", rows)

    [result] = run_dataset("poor_households")

    fates = Counter(r.fate.split(":")[0] for r in rows)
    assert result.status == "loaded", result.message
    assert result.period == YEAR and result.rows_in == len(rows)
    assert (result.rows_loaded, result.rows_quarantined, result.rows_duplicate) == (
        fates["loaded"], fates["quarantine"], fates["duplicate"])  # fmt: skip
    assert result.rows_in == result.rows_loaded + result.rows_quarantined + result.rows_duplicate
    assert not result.drift  # the two-row header (indicator names under a merged title) is understood

    core = core_rows()
    loaded = {FIRST_DATA_ROW_XLSX + i: r for i, r in enumerate(rows) if r.fate == "loaded"}
    assert set(core) == set(loaded)
    for number, row in loaded.items():
        got = core[number]
        # The expected classification follows the standard; a disagreement is flagged, the delivered value kept.
        assert got["classification_expected"] == row.expected, number
        disagrees = "classification_disagrees_with_standard" in row.warn
        assert got["is_classification_consistent"] is (None if row.expected is None else not disagrees), number
        assert got["is_review_year_of_period"] is True and got["period"] == YEAR

    poor = core[FIRST_DATA_ROW_XLSX]
    assert (poor["area_type"], poor["members"], poor["income_per_capita_vnd"]) == ("Nông thôn", 4, 1_200_000)
    assert [poor[f"deprived_{i:02d}"] for i in (1, 4, 7, 10)] == [True] * 4 and poor["deprived_02"] is None
    assert (poor["deprivation_count"], poor["deprivation_marks"], poor["classification"]) == (4, 4, "Hộ nghèo")
    near = core[FIRST_DATA_ROW_XLSX + 1]  # "1"/"0" marks, "1.900.000 đ", a CCCD without its leading zero
    assert near["deprived_01"] is False and near["deprived_02"] is True and near["deprivation_marks"] == 2
    assert near["income_per_capita_vnd"] == 1_900_000 and near["commune_code_2025"] == "21601"
    flagged = core[FIRST_DATA_ROW_XLSX + 3]  # "Hộ nghèo" with 2 deprivations: kept as delivered, flagged
    assert (flagged["classification"], flagged["classification_expected"]) == ("Hộ nghèo", "Hộ cận nghèo")
    assert flagged["is_classification_consistent"] is False
    mismatch = core[FIRST_DATA_ROW_XLSX + 5]  # "có"/"không" marks: 3 marks, the file says 4
    assert (mismatch["deprivation_count"], mismatch["deprivation_marks"]) == (4, 3)
    aliases = core[FIRST_DATA_ROW_XLSX + 17]  # "TT", "Nghèo", a TCVN3 commune, income as a number cell
    assert (aliases["area_type"], aliases["classification"], aliases["commune_code_pre2025"]) == (
        "Thành thị", "Hộ nghèo", "21952")  # fmt: skip
    canary = core[FIRST_DATA_ROW_XLSX + 13]
    assert canary["head_ethnicity"] == "Ba Na"  # sensitive: kept in core for policy indicators
    assert canary["head_id_key"] and len(str(canary["head_id_key"])) == 64

    checks = {
        c[0]: c[1:] for c in query("SELECT reason_code, severity, success, unexpected_count FROM audit.check_result")
    }
    warned = Counter(w for r in rows if r.fate == "loaded" for w in r.warn)
    assert checks["classification_disagrees_with_standard"][:2] == ("warn", False)
    # every flagged loaded row is counted (quarantined rows may be counted too)
    assert checks["classification_disagrees_with_standard"][2] >= warned["classification_disagrees_with_standard"]
    assert checks["deprivation_count_mismatch"][:2] == ("warn", False)
    assert checks["review_year_not_period"][:2] == ("block", True)

    quarantined = query("SELECT _source_row_number, reason_code, record FROM restricted.quarantine ORDER BY 1")
    expected = {
        FIRST_DATA_ROW_XLSX + i: r.fate.split(":")[1] for i, r in enumerate(rows) if r.fate.startswith("quarantine")
    }
    assert {q[0]: q[1] for q in quarantined} == expected
    assert all(json.loads(str(q[2]))["head_name"] for q in quarantined)

    folder = partition_dir(kds_home / "lake", SPEC, YEAR)
    assert folder.name == "period=2023"
    verify_partition(folder)
    assert sum(pq.read_table(p).num_rows for p in folder.glob("part-*.parquet")) == result.rows_loaded


def test_numbered_indicator_headers_in_a_utf16_csv_give_the_same_core(kds_home: Path) -> None:
    folder = landing(kds_home)
    write_xlsx(folder / "ra_soat_ho_ngheo_2023.xlsx", review_rows())
    [first] = run_dataset("poor_households")
    columns = [c for c in COLUMNS if c != "_source_row_number"]
    as_xlsx = sorted(query(f"SELECT {', '.join(columns)} FROM core.poor_household"), key=str)
    (folder / "ra_soat_ho_ngheo_2023.xlsx").unlink()
    write_csv(folder / "ra_soat_ho_ngheo_2023.csv", review_rows())
    [second] = run_dataset("poor_households")
    assert second.status == "loaded" and not second.drift
    assert (second.rows_loaded, second.rows_quarantined, second.rows_duplicate) == (
        first.rows_loaded, first.rows_quarantined, first.rows_duplicate)  # fmt: skip
    assert sorted(query(f"SELECT {', '.join(columns)} FROM core.poor_household"), key=str) == as_xlsx
    assert query("SELECT min(_source_row_number) FROM core.poor_household") == [(2,)]  # CSV: header on row 1


def test_personal_data_never_leaves_the_restricted_zone(kds_home: Path) -> None:
    write_xlsx(landing(kds_home) / "ra_soat_ho_ngheo_2023.xlsx", review_rows())
    [result] = run_dataset("poor_households")
    assert result.status == "loaded"
    secrets = [CANARY_ID, CANARY_NAME, CANARY_VILLAGE, CANARY_CODE, "Nguyễn Văn Một", "Thôn Phú Mỹ", "21598-0001"]
    lake_files = [p for p in (kds_home / "lake").rglob("*") if p.is_file()]
    assert lake_files
    for path in lake_files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (path, secret)
    columns = {r[0] for r in query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'core' AND table_name = 'poor_household'")}  # fmt: skip
    assert {"household_code", "head_name", "head_id", "village"}.isdisjoint(columns)
    assert {"household_code_key", "head_id_key", "head_ethnicity"} <= columns
    for schema, table in query(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('core', 'mart', 'audit', 'ref')"
    ):
        for row in query(f'SELECT * FROM "{schema}"."{table}"'):
            text = " ".join(map(str, row))
            for secret in secrets:
                assert secret not in text, f"{schema}.{table}: {secret}"


def test_rerun_is_idempotent(kds_home: Path) -> None:
    write_xlsx(landing(kds_home) / "ra_soat_ho_ngheo_2023.xlsx", review_rows())
    [first] = run_dataset("poor_households")
    before = query(f"SELECT {', '.join(COLUMNS)} FROM core.poor_household ORDER BY _source_row_number")
    quarantine = query("SELECT _source_row_number, reason_codes FROM restricted.quarantine ORDER BY 1")
    [again] = run_dataset("poor_households")
    assert again.status == "skipped_duplicate_file"
    [forced] = run_dataset("poor_households", force=True)
    assert (forced.rows_loaded, forced.rows_quarantined) == (first.rows_loaded, first.rows_quarantined)
    assert query(f"SELECT {', '.join(COLUMNS)} FROM core.poor_household ORDER BY _source_row_number") == before
    assert query("SELECT _source_row_number, reason_codes FROM restricted.quarantine ORDER BY 1") == quarantine


def test_a_file_named_for_another_year_is_blocked(kds_home: Path) -> None:
    write_xlsx(landing(kds_home) / "ra_soat_ho_ngheo_2024.xlsx", review_rows(),
               title=["ỦY BAN NHÂN DÂN TỈNH BÌNH ĐỊNH", "KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO"])  # fmt: skip
    [result] = run_dataset("poor_households")
    assert result.status == "blocked"
    assert "review_year_not_period" in result.message and "nothing published" in result.message
    assert not partition_dir(kds_home / "lake", SPEC, date(2024, 1, 1)).exists()
    assert query("SELECT count(*) FROM core.poor_household") == [(0,)]


@pytest.mark.parametrize(("fmt", "seed", "period"), [("xlsx", 3, None), ("csv", 8, "2024")])
def test_a_generated_review_ends_as_its_ground_truth_says(
    kds_home: Path, fmt: str, seed: int, period: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every defect the generator injects gets the fate it should, and every deliberate
    disagreement with the standard is flagged: exact counts, not rates."""
    from pipelines.generate import generate
    from pipelines.generate import poor_households as gen
    from tests.fixtures.generated import expected_fates

    # The place resolver covers former Bình Định only; see the labour-supply round trip.
    monkeypatch.setattr(gen, "GIA_LAI_SHARE_AFTER_2025", 0.0)
    files = generate("poor_households", landing(kds_home), rows=2_500, seed=seed, fmt=fmt, period=period)
    stats = files.stats[0]  # type: ignore[attr-defined]
    [result] = run_dataset("poor_households")
    assert result.status == "loaded", result.message
    assert result.rows_in == stats.data_rows
    expected = expected_fates(stats, gen.QUARANTINING_DEFECTS)
    assert (result.rows_loaded, result.rows_quarantined, result.rows_duplicate) == (
        expected["loaded"], expected["quarantined"], expected["duplicate"])  # fmt: skip
    flagged = query("SELECT count(*) FROM core.poor_household WHERE NOT is_classification_consistent")[0][0]
    assert flagged <= stats.defects.get("classification_disagrees", 0)
    assert flagged >= stats.defects.get("classification_disagrees", 0) - stats.defects.get("income_blank", 0) - 10


def test_a_review_after_the_reorganisation_is_placed_in_2025_communes(kds_home: Path) -> None:
    rows = [r for r in review_rows() if r.fate == "loaded"][:3]
    cells = [list(r.cells) for r in rows]
    for c in cells:
        c[COMMUNE], c[DISTRICT], c[YEAR_COLUMN] = "Xã Ngô Mây", "", 2025
    write_csv(landing(kds_home) / "ra_soat_ho_ngheo_2025.csv", [Row(c, "loaded") for c in cells])
    [result] = run_dataset("poor_households")
    assert result.status == "loaded" and result.rows_quarantined == 0, result.message
