"""Rules of the cadastral extract (code system per row, codes in their system, use term), the
bridge rows built from compound purposes, and the spec keys behind them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from pipelines.datasets.land_parcels import check_codes, derive, use_term
from pipelines.load import bridge_batch
from pipelines.specs import SCHEMAS_DIR, SpecError, get_spec, load_spec
from pipelines.warehouse.tables import bridge_tables

pytestmark = pytest.mark.unit

SPEC = get_spec("land_parcels")


def _parsed(codes: list[str | None], systems: list[str | None], dates: list[date | None]) -> dict[str, pd.Series]:
    n = len(codes)
    parsed = {c: pd.Series([None] * n, dtype=object) for c in SPEC.column_names}
    parsed["land_use_codes"] = pd.Series(codes, dtype=object)
    parsed["land_use_code_system"] = pd.Series(systems, dtype=object)
    parsed["certificate_date"] = pd.Series(dates, dtype=object)
    return parsed


def test_code_system_given_from_the_certificate_date_or_from_the_codes() -> None:
    values, problems = derive(
        _parsed(
            ["ODT", "ODT+CLN", "LUC", "BHK+ONT", "ODT", "HNK", "ODT", None],
            ["TT08_2024", None, None, None, None, None, "TT99", None],
            [date(2010, 1, 1), date(2024, 8, 1), date(2024, 7, 31), None, None, date(2015, 1, 1), None, None],
        ),
        date(2025, 6, 30),
    )
    assert values["land_use_code_system"].tolist() == [
        "TT08_2024", "TT08_2024", "TT25_2014", "TT25_2014", None, "TT25_2014", "TT99", None]  # fmt: skip
    assert values["land_use_code_system_basis"].tolist() == [
        "given", "certificate_date", "certificate_date", "codes", None, "certificate_date", None, None]  # fmt: skip
    assert values["land_use_groups"].tolist() == [
        "phi_nong_nghiep",
        "phi_nong_nghiep+nong_nghiep",
        "nong_nghiep",
        "nong_nghiep+phi_nong_nghiep",
        "phi_nong_nghiep",
        "",
        None,
        None,
    ]  # fmt: skip  (row 4: both systems agree on ODT's group)
    [problem] = problems
    assert (problem.row, problem.reason_code, problem.severity) == (5, "unknown_land_use_code", "quarantine")
    assert "HNK" in problem.detail and "TT08_2024" in problem.detail


def test_a_code_means_something_else_in_the_other_system() -> None:
    assert check_codes("SKN", "TT25_2014")[2] == "phi_nong_nghiep"
    assert check_codes("SKN", None)[:2] == (None, None)  # in both lists: the system stays unknown
    assert check_codes("CSK", "TT25_2014")[3] == ("CSK",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lâu dài", (True, None)),
        ("lau dai", (True, None)),
        ("đến ngày 15/10/2043", (False, date(2043, 10, 15))),
        ("Đến 15/10/2043", (False, date(2043, 10, 15))),
        ("2043-10-15", (False, date(2043, 10, 15))),
        ("50 năm", (None, None)),
    ],
)
def test_use_term(text: str, expected: tuple[bool | None, date | None]) -> None:
    assert use_term(text) == expected


def test_bridge_rows_one_per_code_with_ordinal_group_and_system() -> None:
    [bridge] = SPEC.bridges
    batch = pa.record_batch(
        {
            "commune_code": ["21550", "21550", "21550"],
            "map_sheet_no": [1, 1, 2],
            "parcel_no": [1, 2, 1],
            "land_use_codes": ["ODT+CLN", "LUC", None],
            "land_use_groups": ["phi_nong_nghiep+nong_nghiep", "", None],
            "land_use_code_system": ["TT25_2014", None, None],
            "period": [date(2025, 6, 30)] * 3,
        }
    )
    rows = bridge_batch(bridge, SPEC.output_key, batch).to_pylist()
    assert [(r["parcel_no"], r["ordinal"], r["land_use_code"], r["land_use_group"], r["land_use_code_system"])
            for r in rows] == [(1, 1, "ODT", "phi_nong_nghiep", "TT25_2014"), (1, 2, "CLN", "nong_nghiep", "TT25_2014"),
                               (2, 1, "LUC", None, None)]  # fmt: skip


def test_bridge_table_ddl_follows_the_spec() -> None:
    [table] = bridge_tables(SPEC)
    assert table.qualified == "core.land_parcel_use"
    assert table.column_names == [
        "commune_code", "map_sheet_no", "parcel_no", "ordinal", "land_use_code", "land_use_group",
        "land_use_code_system", "period", "_scope", "_run_id"]  # fmt: skip
    assert all(c.comment for c in table.columns)


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load((SCHEMAS_DIR / "land_parcels.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "land_parcels.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["load"]["bridges"][0].update(column="nope"), "load.bridges[0].column' names 'nope'"),
        (lambda d: d["load"]["bridges"][0].update(carry=["holder_name"]), "load.bridges[0].carry' names 'holder_name'"),
        (lambda d: d["load"]["bridges"][0].update(table="core.land_parcel"), "must be another 'core.<table>'"),
        (lambda d: d["load"].update(mode="scd2", tracked=["area_m2"]), "needs load mode replace_period or snapshot"),
        (lambda d: d["derived"][0].update(type="text"), "derived.land_use_code_system.completes"),
        (lambda d: d["derived"][0].pop("completes"), "repeats a column name"),
        (lambda d: d["place"].update(area="use_term"), "place.area' names the whole place"),
    ],
)
def test_malformed_bridge_and_derived_keys(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError, match="^land_parcels.yaml: ") as exc:
        load_spec(_write(tmp_path, mutate))
    assert message in str(exc.value)
