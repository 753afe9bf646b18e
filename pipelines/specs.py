"""Dataset specs: `schemas/<dataset>.yaml` loaded into typed, validated objects.

One spec drives the reader (headers), the conformer (types, PII), the validator (suite), the
publisher and warehouse (keys, load mode, DDL, comments) and the DAG (owner, cadence, docs).
A malformed spec fails at load time with a message naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

DATASETS = (
    "enterprises",
    "labour_supply",
    "poor_households",
    "tourism_establishments",
    "tourism_monthly",
    "land_parcels",
    "cultural_relics",
)

COLUMN_TYPES = frozenset(
    {
        "text",  # free text, NFC, trimmed
        "code",  # text code kept as text (leading zeros preserved)
        "enum",  # one of `values` (matched case- and diacritics-insensitively, or via `aliases`)
        "integer",
        "decimal",
        "money_vnd",  # "1.500.000 đ", "1,5 tỷ" → integer đồng
        "percent",  # "3,13%" → 3.13
        "date",  # dd/mm/yyyy, yyyy-mm-dd, Excel serial, "ngày 5 tháng 3 năm 2024"
        "month",  # "MM/YYYY" → first day of the month
        "year",
        "tax_code",  # Vietnamese tax code (python-stdnum), 10 or 10-3 digits
        "person_id",  # CCCD (12 digits) or CMND (9 digits)
        "holder_id",  # person_id or tax_code
        "vsic",  # VSIC 2018 code, 2–5 digits
        "vsco",  # VSCO 2020 code, 1–4 digits
        "mark",  # deprivation mark: "x", "1", "có" → True; blank, "0", "không" → False
        "land_use_codes",  # "ODT+CLN" → ["ODT", "CLN"]
    }
)
PII_CLASSES = frozenset({"none", "personal", "sensitive", "identifier"})
LOAD_MODES = frozenset({"replace_period", "scd2", "snapshot"})
CADENCES = {"daily": "day", "monthly": "month", "annual": "year"}
ON_ERROR = frozenset({"quarantine", "warn", "null"})
# Conformed geography, added to every dataset that has a `place`: codes are text, null where not derivable.
GEO_COLUMNS = ("commune_code_pre2025", "district_code_pre2025", "commune_code_2025")
# Added when the place is a reporting area (`place.area`): which unit a row describes, as a code with its
# system ("district_pre2025" / "commune_pre2025" / "commune_2025"), never null for a placed row: a natural key.
AREA_COLUMNS = ("area_level", "area_code")


class SpecError(ValueError):
    """A spec file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Text:
    vi: str
    en: str


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    headers: tuple[str, ...]
    description: Text
    required: bool = True  # the column must be present in the file
    nullable: bool = True  # an empty cell is allowed
    pii: str = "none"
    on_error: str = "quarantine"  # what an unparseable value does to its row
    values: tuple[str, ...] = ()  # for enum
    aliases: dict[str, str] = field(default_factory=dict)  # for enum: variant → value

    @property
    def reason_invalid(self) -> str:
        return f"invalid_{self.name}"

    @property
    def output_name(self) -> str | None:
        """Name in the lake and core; None when the column never leaves the restricted zone."""
        if self.pii == "identifier":
            return f"{self.name}_key"
        if self.pii == "personal":
            return None
        return self.name


@dataclass(frozen=True)
class DerivedSpec:
    """A column computed by the dataset's rules module (`pipelines/datasets/<dataset>.py`).

    With `completes`, it is a spec column of the same name and type whose final value the rules
    module gives (e.g. a land-use code system left blank, inferred from the certificate date):
    the column keeps its canonical name, the module's values replace the parsed ones.
    """

    name: str
    type: str
    description: Text
    completes: bool = False


@dataclass(frozen=True)
class PlaceSpec:
    """Which columns locate a row; resolved to both code systems by the one resolver.

    `area` instead of `commune`/`code`: a reporting area that may be an old district or a commune
    ("TP. Quy Nhơn", "Xã Nhơn Lý"); rows then also get `area_level` and `area_code` (AREA_COLUMNS).
    """

    commune: str | None = None
    district: str | None = None
    code: str | None = None
    code_system: str | None = None  # fixed code system of `code` if the layout says so
    date: str | None = None  # record date column; the period date otherwise
    required: bool = True  # an unresolved place quarantines the row (else: warning, codes null)
    area: str | None = None  # a column naming an old district or a commune


@dataclass(frozen=True)
class BridgeSpec:
    """A bridge table built from a multi-valued column ("ODT+CLN"): one row per entity per value.

    The bridge holds the dataset's natural key, `ordinal` (position in the list, 1 = first), the
    value as `value`, each `parallel` column split alongside (a "+"-joined column with one item
    per value, e.g. the land-use group of each code), and the `carry` columns repeated. It is
    replaced together with the core table, per period and scope, in the same transaction.
    """

    table: str  # core.<name>
    column: str  # the multi-valued column ("+"-joined text)
    value: str  # name of the value column in the bridge
    parallel: dict[str, str]  # "+"-joined column → its name in the bridge
    carry: tuple[str, ...]  # single-valued output columns repeated on each bridge row
    grain: str
    description: Text


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    path: Path
    title: Text
    description: Text
    department: str
    owner: str
    cadence: str  # daily | monthly | annual
    file_pattern: re.Pattern[str]
    grain: str
    natural_key: tuple[str, ...]
    load_mode: str
    target_table: str
    tracked: tuple[str, ...]  # scd2: columns whose change opens a new version
    columns: tuple[ColumnSpec, ...]
    place: PlaceSpec | None
    period_column: str | None  # a column that holds the period, wins over the file name
    deadline_days: int  # a delivery is late after period end + this many days
    tags: tuple[str, ...]
    derived: tuple[DerivedSpec, ...] = ()
    bridges: tuple[BridgeSpec, ...] = ()

    @property
    def output_key(self) -> tuple[str, ...]:
        """The natural key as named in the lake and core (an identifier's pseudonym column)."""
        return tuple(self.output_column(k) for k in self.natural_key)

    def output_column(self, name: str) -> str:
        """The lake/core name of a spec column, derived column or conformed geography column."""
        for col in self.columns:
            if col.name == name:
                if col.output_name is None:
                    raise SpecError(
                        f"{self.path.name}: column {name!r} is personal and never leaves the restricted zone"
                    )
                return col.output_name
        return name

    @property
    def granularity(self) -> str:
        return CADENCES[self.cadence]

    @property
    def suite_path(self) -> Path:
        return EXPECTATIONS_DIR / f"{self.name}.json"

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name}: no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _req(data: dict[str, Any], key: str, where: str, path: Path, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise SpecError(f"{path.name}: missing key '{where}{key}'")
    value = data[key]
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(f"{path.name}: key '{where}{key}' must be a {name}, got {type(value).__name__}")
    return value


def _text(data: Any, where: str, path: Path) -> Text:
    if isinstance(data, str):
        return Text(vi=data, en=data)
    if not isinstance(data, dict):
        raise SpecError(f"{path.name}: key '{where}' must be a mapping with 'vi' and 'en'")
    return Text(vi=str(_req(data, "vi", f"{where}.", path, str)), en=str(_req(data, "en", f"{where}.", path, str)))


def _choice(value: Any, allowed: frozenset[str] | dict[str, str], where: str, path: Path) -> str:
    if value not in allowed:
        raise SpecError(f"{path.name}: key '{where}' is {value!r}, expected one of {sorted(allowed)}")
    return str(value)


def _column(data: Any, index: int, path: Path) -> ColumnSpec:
    where = f"columns[{index}]"
    if not isinstance(data, dict):
        raise SpecError(f"{path.name}: key '{where}' must be a mapping")
    name = _req(data, "name", f"{where}.", path, str)
    where = f"columns.{name}"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise SpecError(f"{path.name}: key '{where}.name' must be snake_case")
    headers = _req(data, "headers", f"{where}.", path, list)
    if not headers or not all(isinstance(h, str) and h.strip() for h in headers):
        raise SpecError(f"{path.name}: key '{where}.headers' must list at least one header")
    ctype = _choice(_req(data, "type", f"{where}.", path, str), COLUMN_TYPES, f"{where}.type", path)
    values = tuple(data.get("values") or ())
    if ctype == "enum" and not values:
        raise SpecError(f"{path.name}: key '{where}.values' is required for an enum column")
    aliases = data.get("aliases") or {}
    if not isinstance(aliases, dict) or not all(v in values for v in aliases.values()):
        raise SpecError(f"{path.name}: key '{where}.aliases' must map variants to one of its values")
    unknown = set(data) - {
        "name", "type", "headers", "description", "required", "nullable", "pii", "on_error", "values", "aliases",
    }  # fmt: skip
    if unknown:
        raise SpecError(f"{path.name}: unknown key '{where}.{sorted(unknown)[0]}'")
    return ColumnSpec(
        name=name,
        type=ctype,
        headers=tuple(headers),
        description=_text(_req(data, "description", f"{where}.", path, (dict, str)), f"{where}.description", path),
        required=bool(data.get("required", True)),
        nullable=bool(data.get("nullable", True)),
        pii=_choice(data.get("pii", "none"), PII_CLASSES, f"{where}.pii", path),
        on_error=_choice(data.get("on_error", "quarantine"), ON_ERROR, f"{where}.on_error", path),
        values=values,
        aliases={str(k): str(v) for k, v in aliases.items()},
    )


def load_spec(path: Path) -> DatasetSpec:
    """Load and validate one spec file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path.name}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path.name}: must be a mapping at top level")

    name = _req(data, "dataset", "", path, str)
    if name != path.stem:
        raise SpecError(f"{path.name}: key 'dataset' is {name!r} but the file is named {path.stem!r}")
    owner = _req(data, "owner", "", path, dict)
    source = _req(data, "source", "", path, dict)
    load = _req(data, "load", "", path, dict)
    raw_columns = _req(data, "columns", "", path, list)
    columns = tuple(_column(c, i, path) for i, c in enumerate(raw_columns))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise SpecError(f"{path.name}: key 'columns.{dup}' is declared twice")

    def known(column: Any, where: str) -> str:
        if column not in names:
            raise SpecError(f"{path.name}: key '{where}' names {column!r}, which is not a column")
        return str(column)

    try:
        pattern = re.compile(_req(source, "pattern", "source.", path, str))
    except re.error as exc:
        raise SpecError(f"{path.name}: key 'source.pattern' is not a regular expression ({exc})") from exc
    if "period" not in pattern.groupindex:
        raise SpecError(f"{path.name}: key 'source.pattern' needs a (?P<period>...) group")

    mode = _choice(_req(load, "mode", "load.", path, str), LOAD_MODES, "load.mode", path)

    place = None
    if "place" in data:
        p = data["place"]
        if not isinstance(p, dict):
            raise SpecError(f"{path.name}: key 'place' must be a mapping")
        place = PlaceSpec(
            commune=known(p["commune"], "place.commune") if p.get("commune") else None,
            district=known(p["district"], "place.district") if p.get("district") else None,
            code=known(p["code"], "place.code") if p.get("code") else None,
            code_system=p.get("code_system"),
            date=known(p["date"], "place.date") if p.get("date") else None,
            required=bool(p.get("required", True)),
            area=known(p["area"], "place.area") if p.get("area") else None,
        )
        if place.area and (place.commune or place.code or place.district or place.code_system):
            raise SpecError(f"{path.name}: key 'place.area' names the whole place; drop commune, district, code")
        if not (place.commune or place.code or place.area):
            raise SpecError(f"{path.name}: key 'place' needs 'commune', 'code' or 'area'")

    derived = []
    for i, d in enumerate(data.get("derived") or []):
        where = f"derived[{i}]"
        if not isinstance(d, dict):
            raise SpecError(f"{path.name}: key '{where}' must be a mapping")
        dname = _req(d, "name", f"{where}.", path, str)
        completes = bool(d.get("completes", False))
        if completes:
            target = next((c for c in columns if c.name == dname), None)
            if target is None or target.pii != "none" or d.get("type") != target.type:
                raise SpecError(
                    f"{path.name}: key 'derived.{dname}.completes' needs a non-personal column of that name and type"
                )
        elif dname in names:
            raise SpecError(
                f"{path.name}: key 'derived.{dname}' repeats a column name (set 'completes: true' to fill it by rule)"
            )
        derived.append(
            DerivedSpec(
                name=dname,
                type=_choice(
                    _req(d, "type", f"derived.{dname}.", path, str), COLUMN_TYPES, f"derived.{dname}.type", path
                ),
                description=_text(
                    _req(d, "description", f"derived.{dname}.", path, (dict, str)), f"derived.{dname}.description", path
                ),
                completes=completes,
            )
        )
    derived_names = {d.name for d in derived}
    conformed = set(GEO_COLUMNS) | (set(AREA_COLUMNS) if place is not None and place.area else set())
    natural_key = tuple(
        k if k in derived_names or k in conformed or k == "period" else known(k, "natural_key")
        for k in _req(data, "natural_key", "", path, list)
    )
    tracked = tuple(
        c if c in GEO_COLUMNS or c in derived_names else known(c, "load.tracked") for c in load.get("tracked", [])
    )
    if mode == "scd2" and not tracked:
        raise SpecError(f"{path.name}: key 'load.tracked' is required for load mode scd2")

    period_column = data.get("period_column")
    if period_column is not None:
        known(period_column, "period_column")
    target = _req(load, "target", "load.", path, str)
    if not re.fullmatch(r"core\.[a-z][a-z0-9_]*", target):
        raise SpecError(f"{path.name}: key 'load.target' must be 'core.<table>', got {target!r}")
    bridges = _bridges(load.get("bridges") or [], path, mode, target, columns, derived_names | conformed)

    return DatasetSpec(
        name=name,
        path=path,
        title=_text(_req(data, "title", "", path, (dict, str)), "title", path),
        description=_text(_req(data, "description", "", path, (dict, str)), "description", path),
        department=_req(owner, "department", "owner.", path, str),
        owner=_req(owner, "team", "owner.", path, str),
        cadence=_choice(_req(data, "cadence", "", path, str), CADENCES, "cadence", path),
        file_pattern=pattern,
        grain=_req(data, "grain", "", path, str),
        natural_key=natural_key,
        load_mode=mode,
        target_table=target,
        tracked=tracked,
        columns=columns,
        place=place,
        period_column=period_column,
        deadline_days=int(data.get("deadline_days", 3)),
        tags=tuple(data.get("tags", [])),
        derived=tuple(derived),
        bridges=bridges,
    )


def _bridges(
    raw: Any, path: Path, mode: str, target: str, columns: tuple[ColumnSpec, ...], other: set[str]
) -> tuple[BridgeSpec, ...]:
    """`load.bridges`: each names a core table, a multi-valued column and what to carry along."""
    if not isinstance(raw, list):
        raise SpecError(f"{path.name}: key 'load.bridges' must be a list")
    if raw and mode == "scd2":
        raise SpecError(f"{path.name}: key 'load.bridges' needs load mode replace_period or snapshot (not scd2)")
    outputs = {c.name: c.output_name for c in columns} | {name: name for name in other}
    bridges = []
    for i, b in enumerate(raw):
        where = f"load.bridges[{i}]"
        if not isinstance(b, dict):
            raise SpecError(f"{path.name}: key '{where}' must be a mapping")
        unknown = set(b) - {"table", "column", "value", "parallel", "carry", "grain", "description"}
        if unknown:
            raise SpecError(f"{path.name}: unknown key '{where}.{sorted(unknown)[0]}'")
        table = _req(b, "table", f"{where}.", path, str)
        if not re.fullmatch(r"core\.[a-z][a-z0-9_]*", table) or table == target:
            raise SpecError(f"{path.name}: key '{where}.table' must be another 'core.<table>', got {table!r}")

        def output(name: Any, key: str, where: str = where) -> str:
            if outputs.get(name) is None:
                raise SpecError(f"{path.name}: key '{where}.{key}' names {name!r}, which is not an output column")
            return str(outputs[name])

        parallel = b.get("parallel") or {}
        if not isinstance(parallel, dict):
            raise SpecError(f"{path.name}: key '{where}.parallel' must map columns to bridge column names")
        bridges.append(
            BridgeSpec(
                table=table,
                column=output(_req(b, "column", f"{where}.", path, str), "column"),
                value=_req(b, "value", f"{where}.", path, str),
                parallel={output(k, "parallel"): str(v) for k, v in parallel.items()},
                carry=tuple(output(c, "carry") for c in b.get("carry") or []),
                grain=_req(b, "grain", f"{where}.", path, str),
                description=_text(_req(b, "description", f"{where}.", path, (dict, str)), f"{where}.description", path),
            )
        )
    return tuple(bridges)


@cache
def get_spec(name: str) -> DatasetSpec:
    path = SCHEMAS_DIR / f"{name}.yaml"
    if not path.exists():
        available = ", ".join(available_datasets()) or "none"
        raise SpecError(f"no spec for dataset {name!r} (schemas/{name}.yaml); available: {available}")
    return load_spec(path)


def available_datasets() -> list[str]:
    """Datasets with a spec, in the fixed order of DESIGN §4."""
    present = {p.stem for p in SCHEMAS_DIR.glob("*.yaml")}
    return [d for d in DATASETS if d in present]
