"""Specs load into typed objects; a malformed spec fails at load naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.specs import SCHEMAS_DIR, SpecError, available_datasets, get_spec, load_spec
from pipelines.validate import load_checks

pytestmark = pytest.mark.unit


def test_every_spec_loads_with_a_suite_whose_checks_name_real_columns() -> None:
    from pipelines.conform import output_schema

    assert available_datasets(), "no spec found"
    for name in available_datasets():
        spec = get_spec(name)
        columns = set(output_schema(spec).names)
        assert set(spec.output_key) <= columns, name
        for check in load_checks(spec.suite_path):
            if check.column:
                assert check.column in columns, f"{name}: {check.type} names unknown column {check.column}"


def test_enterprise_spec_shape() -> None:
    spec = get_spec("enterprises")
    assert spec.natural_key == ("tax_code",) and spec.load_mode == "scd2"
    assert spec.column("representative_id").output_name == "representative_id_key"
    assert spec.column("representative_name").output_name is None  # personal: never leaves restricted
    assert spec.output_column("address") == "address_key"


def _write(tmp_path: Path, data: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / f"{data.get('dataset', 'broken')}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _base() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((SCHEMAS_DIR / "enterprises.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("owner"), "missing key 'owner'"),
        (lambda d: d["columns"][0].pop("type"), "missing key 'columns.tax_code.type'"),
        (lambda d: d["columns"][0].update(type="money"), "key 'columns.tax_code.type' is 'money'"),
        (lambda d: d["columns"][1].update(pii="secret"), "key 'columns.name.pii'"),
        (lambda d: d["load"].update(mode="append"), "key 'load.mode'"),
        (lambda d: d.update(natural_key=["nope"]), "key 'natural_key' names 'nope'"),
        (lambda d: d["source"].update(pattern="doanh_nghiep_(\\d{8})"), "(?P<period>...)"),
        (lambda d: d["columns"][2].pop("values"), "key 'columns.legal_form.values'"),
        (lambda d: d["columns"][0].update(colour="red"), "unknown key 'columns.tax_code.colour'"),
        (lambda d: d["load"].update(target="enterprise"), "key 'load.target'"),
    ],
)
def test_malformed_spec_names_file_and_key(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = _base()
    mutate(data)
    with pytest.raises(SpecError) as exc:
        load_spec(_write(tmp_path, data))
    assert str(exc.value).startswith("enterprises.yaml: ")
    assert message in str(exc.value)


def test_invalid_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "enterprises.yaml"
    path.write_text("dataset: [unclosed", encoding="utf-8")
    with pytest.raises(SpecError, match=r"^enterprises.yaml: not valid YAML"):
        load_spec(path)
