"""Conform one batch of raw text cells into the dataset's typed, comparable shape.

Per column, driven by the spec: parse by type (once per distinct value), match enums, check codes
against the reference lists, pseudonymise identifiers with a keyed HMAC, drop personal fields,
and resolve the place to both code systems with the one resolver. Every cell that cannot be
conformed becomes a row problem with a reason code; nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines import datasets, extract, reference
from pipelines.parse import PARSERS, ParseError
from pipelines.sources.files import SourceError
from pipelines.specs import AREA_COLUMNS, GEO_COLUMNS, ColumnSpec, DatasetSpec
from pipelines.text import fold, fold_ascii

# Lineage and period columns carried by every conformed row (DESIGN §4).
ROW_NUMBER = "_source_row_number"
FILE_SHA = "_source_file_sha256"
PERIOD = "period"
PLACE_STATUS = "place_status"  # null when resolved; else the resolver's reason (e.g. split_commune_unallocated)

_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "code": pa.string(),
    "enum": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "money_vnd": pa.int64(),
    "percent": pa.float64(),
    "date": pa.date32(),
    "month": pa.date32(),
    "year": pa.int64(),
    "tax_code": pa.string(),
    "person_id": pa.string(),
    "holder_id": pa.string(),
    "vsic": pa.string(),
    "vsco": pa.string(),
    "mark": pa.bool_(),
    "land_use_codes": pa.string(),  # "ODT+CLN", canonical order kept; split into a bridge table by the loader
}


@dataclass
class Problem:
    """One reason a source row cannot be loaded as it is."""

    row: int  # position in the batch
    reason_code: str
    column: str | None
    detail: str
    severity: str  # quarantine | warn


@dataclass
class ConformedBatch:
    frame: pd.DataFrame  # output columns in `output_schema` order, one row per source row
    problems: list[Problem] = field(default_factory=list)

    def rows_with(self, severity: str) -> set[int]:
        return {p.row for p in self.problems if p.severity == severity}


def pseudonymise(value: str, key: bytes) -> str:
    """Keyed HMAC-SHA256 of an identifier: stable across runs, irreversible without the key.

    A plain hash of a 12-digit ID is not a pseudonym (it can be reversed by trying every value),
    hence the key, which lives outside the warehouse (DOMAIN §5).
    """
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def output_schema(spec: DatasetSpec) -> pa.Schema:
    """The conformed (lake and core) schema of a dataset: identifiers as keys, personal fields absent."""
    fields: list[pa.Field] = []
    for col in spec.columns:
        name = col.output_name
        if name is None or col.name == spec.period_column:  # the period column becomes `period`
            continue
        fields.append(pa.field(name, pa.string() if col.pii == "identifier" else _ARROW_TYPES[col.type]))
        if col.type == "vsic":
            fields.append(pa.field(f"{col.name}_section", pa.string()))
    fields.extend(pa.field(d.name, _ARROW_TYPES[d.type]) for d in spec.derived if not d.completes)
    if spec.place is not None:
        fields.extend(pa.field(name, pa.string()) for name in GEO_COLUMNS)
        fields.append(pa.field(PLACE_STATUS, pa.string()))
        if spec.place.area:
            fields.extend(pa.field(name, pa.string()) for name in AREA_COLUMNS)
    fields.append(pa.field(PERIOD, pa.date32()))
    fields.append(pa.field(FILE_SHA, pa.string()))
    fields.append(pa.field(ROW_NUMBER, pa.int64()))
    return pa.schema(fields)


def business_columns(spec: DatasetSpec) -> list[str]:
    """Output columns that describe the entity: what an exact duplicate must agree on."""
    lineage = {FILE_SHA, ROW_NUMBER}
    return [f.name for f in output_schema(spec) if f.name not in lineage]


class _EnumMatcher:
    def __init__(self, col: ColumnSpec) -> None:
        self.exact: dict[str, str] = {}
        self.loose: dict[str, str] = {}
        for variant, value in [(v, v) for v in col.values] + list(col.aliases.items()):
            self.exact.setdefault(fold(variant), value)
            self.loose.setdefault(fold_ascii(variant), value)

    def __call__(self, text: str) -> str:
        """The canonical value, or the text unchanged (the suite's in-set check reports it)."""
        return self.exact.get(fold(text)) or self.loose.get(fold_ascii(text)) or text


def _map_distinct(series: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """Apply `fn` once per distinct non-null value (files repeat values a lot)."""
    values = series.dropna().unique()
    if not len(values):  # all blank: None (map({}) would give float NaN, which Arrow cannot cast to a date)
        return pd.Series([None] * len(series), dtype=object, index=series.index)
    table = {v: fn(v) for v in values}
    return series.map(table)


@dataclass
class Conformer:
    """Conforms batches of one file; holds the per-file context (period, key, resolver cache)."""

    spec: DatasetSpec
    period: date
    file_sha256: str
    key: bytes
    resolver: reference.PlaceResolver = field(default_factory=reference.PlaceResolver.default)
    _enums: dict[str, _EnumMatcher] = field(default_factory=dict)
    _schema: pa.Schema | None = None

    def __post_init__(self) -> None:
        self._enums = {c.name: _EnumMatcher(c) for c in self.spec.columns if c.type == "enum"}
        self._schema = output_schema(self.spec)

    @property
    def schema(self) -> pa.Schema:
        assert self._schema is not None
        return self._schema

    def conform(self, raw: pd.DataFrame) -> ConformedBatch:
        """Conform a batch of cleaned text cells (one column per canonical name present)."""
        n = len(raw)
        out: dict[str, Any] = {}
        problems: list[Problem] = []
        parsed: dict[str, pd.Series] = {}
        for col in self.spec.columns:
            if col.name in raw.columns:
                values, col_problems = self._parse_column(col, raw[col.name])
                problems.extend(col_problems)
            else:
                values = pd.Series([None] * n, dtype=object, index=raw.index)
            parsed[col.name] = values
            name = col.output_name
            if name is None or col.name == self.spec.period_column:
                continue
            if col.pii == "identifier":
                out[name] = _map_distinct(values, lambda v: pseudonymise(_identity_text(v), self.key))
            else:
                out[name] = values
            if col.type == "vsic":
                sections = _map_distinct(values, reference.vsic_section)
                problems += _code_problems(col, values, sections.isna(), "is not in a VSIC 2018 division")
                out[f"{col.name}_section"] = sections
            elif col.type == "vsco":
                unknown = ~_map_distinct(values, reference.vsco_group_exists).astype("boolean").fillna(True)
                problems += _code_problems(col, values, unknown, "is not in a VSCO 2020 major group")
        if self.spec.derived:
            derived, derived_problems = datasets.derive(self.spec, parsed, self.period)
            out.update({d.name: derived[d.name] for d in self.spec.derived})
            problems.extend(derived_problems)
        if self.spec.place is not None:
            problems.extend(self._resolve_places(parsed, out, n))
        if self.spec.period_column is not None:
            problems.extend(self._check_periods(parsed[self.spec.period_column]))
        out[PERIOD] = [self.period] * n
        out[FILE_SHA] = [self.file_sha256] * n
        out[ROW_NUMBER] = raw[ROW_NUMBER].to_numpy()
        frame = pd.DataFrame(out, index=raw.index)[self.schema.names]
        return ConformedBatch(frame=frame.reset_index(drop=True), problems=problems)

    def _parse_column(self, col: ColumnSpec, series: pd.Series) -> tuple[pd.Series, list[Problem]]:
        if col.type == "enum":
            return _map_distinct(series, self._enums[col.name]), []
        parser = PARSERS[col.type]
        errors: dict[Hashable, str] = {}

        def parse(value: str) -> Any:
            try:
                result = parser(value)
            except ParseError as exc:
                errors[value] = str(exc)
                return None
            return "+".join(result) if isinstance(result, tuple) else result  # land-use codes: "ODT+CLN"

        values = _map_distinct(series, parse)
        problems = []
        if errors:
            severity = "warn" if col.on_error in ("warn", "null") else "quarantine"
            for i in _positions(series.isin(list(errors))):
                problems.append(Problem(i, col.reason_invalid, col.name, errors[series.iat[i]], severity))
        return values, problems

    def _check_periods(self, periods: pd.Series) -> list[Problem]:
        """The period column against the file's period (from its title, else its name).

        The file's period decides where rows are published, so a row of another period is
        quarantined (`period_mismatch`); a file none of whose rows is of its period is rejected with a
        message saying which period the rows hold. A blank cell takes the file's period.
        """
        column = self.spec.period_column
        assert column is not None
        label = extract.period_label(self.period, self.spec.granularity)
        found = {extract.period_label(v, self.spec.granularity) for v in periods.dropna().unique()}
        if found and label not in found:
            raise SourceError(
                f"the rows' '{self.spec.column(column).headers[0]}' ({column}) is {', '.join(sorted(found))}, but the "
                f"file name or title says {label}; name the file for the period its rows hold, or correct the column",
                "period_mismatch",
            )
        wrong = periods.notna() & periods.map(lambda v: v != self.period if v is not None else False).astype(bool)
        return [
            Problem(i, "period_mismatch", column,
                    f"the row is for {extract.period_label(periods.iat[i], self.spec.granularity)}, the file for {label}",
                    "quarantine")
            for i in _positions(wrong)
        ]  # fmt: skip

    def _resolve_places(self, parsed: dict[str, pd.Series], out: dict[str, Any], n: int) -> list[Problem]:
        place = self.spec.place
        assert place is not None
        if place.area:
            return self._resolve_areas(parsed, out, n)

        def column(name: str | None) -> list[Any]:
            return list(parsed[name]) if name else [None] * n

        communes, districts, codes = column(place.commune), column(place.district), column(place.code)
        # Without a record date, a row describes its period as of the period's end: a 2025 annual
        # review names the communes in force at the end of 2025, not on 1 January.
        as_of = extract.period_end(self.period, self.spec.granularity)
        dates = column(place.date) if place.date else [as_of] * n
        cache: dict[tuple[Any, ...], reference.Resolution] = {}
        geo: dict[str, list[str | None]] = {name: [None] * n for name in GEO_COLUMNS}
        status: list[str | None] = [None] * n
        problems: list[Problem] = []
        severity = "quarantine" if place.required else "warn"
        for i in range(n):
            args = (communes[i], districts[i], codes[i], dates[i] or as_of, place.code_system)
            if args[0] is None and args[2] is None:
                status[i] = "missing_place"
                problems.append(Problem(i, "missing_place", place.commune or place.code, "no commune given", severity))
                continue
            res = cache.get(args)
            if res is None:
                res = cache[args] = self.resolver.resolve(*args)
            geo["commune_code_pre2025"][i] = res.commune_code_pre2025
            geo["district_code_pre2025"][i] = res.district_code_pre2025
            geo["commune_code_2025"][i] = res.commune_code_2025
            status[i] = res.reason
            if res.reason is not None and not res.ok:
                problems.append(Problem(i, res.reason, place.commune or place.code, res.detail, severity))
        out.update(geo)
        out[PLACE_STATUS] = status
        return problems

    def _resolve_areas(self, parsed: dict[str, pd.Series], out: dict[str, Any], n: int) -> list[Problem]:
        """Reporting areas (an old district or a commune), resolved together so that a bare name
        takes the level of the rest of the report (`PlaceResolver.resolve_areas`).

        A district row has `district_code_pre2025` only, commune codes null, and `area_level`
        "district_pre2025": marts add it up by old district or province, never spread it over
        communes (see the spec's description of `area_level`).
        """
        place = self.spec.place
        assert place is not None and place.area is not None
        names = list(parsed[place.area])
        as_of = extract.period_end(self.period, self.spec.granularity)
        dates = [d or as_of for d in parsed[place.date]] if place.date else [as_of] * n
        answers = self.resolver.resolve_areas(
            (name, when) for name, when in zip(names, dates, strict=True) if name is not None
        )
        columns: dict[str, list[str | None]] = {
            name: [None] * n for name in (*GEO_COLUMNS, *AREA_COLUMNS, PLACE_STATUS)
        }
        problems: list[Problem] = []
        severity = "quarantine" if place.required else "warn"
        for i, (name, when) in enumerate(zip(names, dates, strict=True)):
            if name is None:
                columns[PLACE_STATUS][i] = "missing_place"
                problems.append(Problem(i, "missing_place", place.area, "no reporting area given", severity))
                continue
            res = answers[(name, when)]
            for geo, code in zip(GEO_COLUMNS, res.codes, strict=True):
                columns[geo][i] = code
            columns["area_level"][i], columns["area_code"][i] = self.resolver.area_code(res, when)
            columns[PLACE_STATUS][i] = res.reason
            if not res.ok:
                problems.append(Problem(i, str(res.reason), place.area, res.detail, severity))
        out.update(columns)
        return problems


def _code_problems(col: ColumnSpec, values: pd.Series, unknown: pd.Series, what: str) -> list[Problem]:
    """A parsed code that the reference code list does not know."""
    severity = "warn" if col.on_error in ("warn", "null") else "quarantine"
    return [
        Problem(i, col.reason_invalid, col.name, f"code {values.iat[i]} {what}", severity)
        for i in _positions(values.notna() & unknown)
    ]


def _identity_text(value: Any) -> str:
    """The canonical text of an identifier before hashing (free text is folded so that
    "12 Lê Lợi" and "12 lê lợi " give one pseudonym)."""
    return value if isinstance(value, str) and value.isascii() else fold(str(value))


def _positions(mask: pd.Series) -> list[int]:
    return [int(i) for i in mask.to_numpy().nonzero()[0]]
