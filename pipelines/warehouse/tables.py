"""Warehouse tables, declared once and rendered as DDL for each dialect (with comments).

Core tables are generated from the dataset specs; audit and restricted tables are fixed here.
Identifiers are quoted by the dialect; descriptions become `COMMENT ON` in Vietnamese and English.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from pipelines.conform import FILE_SHA, PERIOD, PLACE_STATUS, ROW_NUMBER, output_schema
from pipelines.specs import GEO_COLUMNS, DatasetSpec

SCHEMAS = ("ref", "core", "mart", "audit", "restricted")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | bigint | double | date | boolean | timestamp
    comment: str = ""


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    comment: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


_SQL_TYPES = {
    "duckdb": {"text": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN",
               "timestamp": "TIMESTAMPTZ"},
    "postgresql": {"text": "TEXT", "bigint": "BIGINT", "double": "DOUBLE PRECISION", "date": "DATE",
                   "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ"},
}  # fmt: skip


def arrow_to_logical(dtype: pa.DataType) -> str:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "text"
    if pa.types.is_integer(dtype):
        return "bigint"
    if pa.types.is_floating(dtype):
        return "double"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    raise TypeError(f"no warehouse type for {dtype}")


def quote(name: str) -> str:
    """Quote an identifier (both dialects use double quotes); names come from specs only."""
    if '"' in name:
        raise ValueError(f"identifier {name!r} contains a quote")
    return f'"{name}"'


def qualified(table: str) -> str:
    """`schema.table` → `"schema"."table"`; a bare name (a temporary table) → `"name"`."""
    return ".".join(quote(part) for part in table.split("."))


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_statements(table: Table, dialect: str) -> list[str]:
    types = _SQL_TYPES[dialect]
    cols = ",\n  ".join(f"{quote(c.name)} {types[c.type]}" for c in table.columns)
    statements = [f"CREATE TABLE IF NOT EXISTS {qualified(table.qualified)} (\n  {cols}\n)"]
    # Columns added to a spec after the table was created are added, never dropped.
    statements += [
        f"ALTER TABLE {qualified(table.qualified)} ADD COLUMN IF NOT EXISTS {quote(c.name)} {types[c.type]}"
        for c in table.columns
    ]
    statements.append(f"COMMENT ON TABLE {qualified(table.qualified)} IS {literal(table.comment)}")
    statements += [
        f"COMMENT ON COLUMN {qualified(table.qualified)}.{quote(c.name)} IS {literal(c.comment)}"
        for c in table.columns
        if c.comment
    ]
    return statements


_META_COMMENTS = {
    PERIOD: "Kỳ dữ liệu (ngày chốt, đầu tháng hoặc đầu năm) / Period (snapshot date, first day of month or year)",
    FILE_SHA: "SHA-256 của tệp nguồn / SHA-256 of the source file",
    ROW_NUMBER: "Số dòng trong tệp nguồn như khi mở bằng Excel / Row number in the source file as seen in Excel",
    PLACE_STATUS: "Trạng thái xác định địa bàn (trống = đã xác định) / Place resolution status (null = resolved)",
    "commune_code_pre2025": "Mã xã/phường/thị trấn trước 01/7/2025 (GSO) / Commune code before 2025-07-01 (GSO)",
    "district_code_pre2025": "Mã huyện trước 01/7/2025 / District code before 2025-07-01",
    "commune_code_2025": "Mã xã/phường từ 01/7/2025 / Commune code from 2025-07-01",
    "area_level": "Cấp địa bàn báo cáo kèm hệ mã: district_pre2025 (huyện cũ, không có mã xã), commune_pre2025, "
    "commune_2025 / Level of the reporting area with its code system: district_pre2025 (an old district, "
    "no commune code: add up by district or province, never spread over communes), commune_pre2025, commune_2025",
    "area_code": "Mã địa bàn báo cáo trong hệ mã của area_level / Code of the reporting area in the system of area_level",
    "ordinal": "Thứ tự của giá trị trong ô nhiều giá trị (1 = đầu tiên) / Position of the value in the multi-valued cell (1 = first)",
    "_scope": "Phạm vi tệp trong kỳ (all hoặc mã xã) / What the file covers within its period (all, or a commune code)",
    "_run_id": "Mã lần chạy đã nạp dòng này / Run that loaded this row",
    "valid_from": "Hiệu lực từ (ngày ảnh chụp) / Version valid from (snapshot date)",
    "valid_to": "Hiệu lực đến (không gồm; trống = hiện hành) / Version valid until (exclusive; null = current)",
    "is_current": "Phiên bản hiện hành / Whether this is the current version",
}


def core_table(spec: DatasetSpec) -> Table:
    """The core table of a dataset: its conformed columns plus the load mode's bookkeeping."""
    schema = output_schema(spec)
    descriptions = {}
    for col in spec.columns:
        if col.output_name:
            descriptions[col.output_name] = f"{col.description.vi} / {col.description.en}"
            if col.type == "vsic":
                descriptions[f"{col.name}_section"] = "Ngành cấp 1 (VSIC 2018) / VSIC 2018 section"
    for d in spec.derived:
        if not d.completes:
            descriptions[d.name] = f"{d.description.vi} / {d.description.en}"
    columns = [
        Column(f.name, arrow_to_logical(f.type), descriptions.get(f.name) or _META_COMMENTS.get(f.name, ""))
        for f in schema
    ]
    extra = ["_scope", "_run_id"]
    if spec.load_mode == "scd2":
        extra = ["valid_from", "valid_to", "is_current", *extra]
    types = {"valid_from": "date", "valid_to": "date", "is_current": "boolean", "_scope": "text", "_run_id": "text"}
    columns += [Column(name, types[name], _META_COMMENTS[name]) for name in extra]
    _, _, name = spec.target_table.partition(".")
    comment = f"{spec.title.vi} / {spec.title.en}. {spec.grain} Nguồn / source: {spec.department}."
    return Table("core", name, tuple(columns), comment)


def bridge_tables(spec: DatasetSpec) -> list[Table]:
    """The bridge tables of a dataset (`load.bridges`): the natural key, `ordinal`, the value, the
    parallel values and carried columns, then period and bookkeeping; one row per entity per value."""
    core = {c.name: c for c in core_table(spec).columns}
    tables = []
    for bridge in spec.bridges:
        columns = [core[k] for k in spec.output_key]
        columns.append(Column("ordinal", "bigint", _META_COMMENTS["ordinal"]))
        columns.append(Column(bridge.value, "text", f"Một giá trị của {bridge.column} / One value of {bridge.column}"))
        for source, name in bridge.parallel.items():
            columns.append(Column(name, "text", f"{core[source].comment} (mục tương ứng / the matching item)"))
        columns += [core[c] for c in bridge.carry]
        columns += [core[PERIOD], core["_scope"], core["_run_id"]]
        _, _, name = bridge.table.partition(".")
        comment = (
            f"{bridge.description.vi} / {bridge.description.en}. {bridge.grain} Nguồn / source: {spec.department}."
        )
        tables.append(Table("core", name, tuple(columns), comment))
    return tables


def make_table(schema: str, name: str, comment: str, *columns: tuple[str, str, str]) -> Table:
    return Table(schema, name, tuple(Column(*c) for c in columns), comment)


AUDIT_RUN = make_table(
    "audit", "run", "Một dòng mỗi lần chạy một bộ dữ liệu / One row per run of one dataset",
    ("run_id", "text", "Mã lần chạy / Run id"),
    ("dataset", "text", "Bộ dữ liệu / Dataset"),
    ("trigger", "text", "Nguồn kích hoạt (cli, airflow) / What started the run"),
    ("try_number", "bigint", "Lần thử (Airflow) / Airflow try number"),
    ("status", "text", "success | partial | failed"),
    ("files", "bigint", "Số tệp xem xét / Files considered"),
    ("rows_in", "bigint", "Dòng đọc vào / Rows read"),
    ("rows_loaded", "bigint", "Dòng đã nạp / Rows loaded"),
    ("rows_quarantined", "bigint", "Dòng cách ly / Rows quarantined"),
    ("rows_duplicate", "bigint", "Dòng trùng lặp y hệt / Exact duplicate rows"),
    ("message", "text", "Tóm tắt / Summary"),
    ("pseudonym_key_id", "text", "Dấu vân tay khóa giả danh / Fingerprint of the pseudonym key"),
    ("started_at", "timestamp", "Bắt đầu (UTC) / Started (UTC)"),
    ("finished_at", "timestamp", "Kết thúc (UTC) / Finished (UTC)"),
)  # fmt: skip

AUDIT_FILE = make_table(
    "audit", "file", "Một dòng mỗi tệp mỗi lần chạy / One row per file per run",
    ("run_id", "text", "Mã lần chạy / Run id"),
    ("dataset", "text", "Bộ dữ liệu / Dataset"),
    ("file_name", "text", "Tên tệp / File name"),
    ("sha256", "text", "SHA-256 của tệp / File SHA-256"),
    ("period", "date", "Kỳ dữ liệu / Period"),
    ("scope", "text", "Phạm vi / Scope"),
    ("status", "text", "loaded | skipped_duplicate_file | rejected | blocked | failed"),
    ("rows_in", "bigint", "Dòng dữ liệu đọc vào / Data rows read"),
    ("rows_loaded", "bigint", "Dòng đã nạp / Rows loaded"),
    ("rows_quarantined", "bigint", "Dòng cách ly / Rows quarantined"),
    ("rows_duplicate", "bigint", "Dòng trùng lặp y hệt / Exact duplicate rows"),
    ("rows_warned", "bigint", "Dòng có cảnh báo / Rows with a warning"),
    ("drift", "text", "Cột lạ trong tệp / Unknown columns (schema drift)"),
    ("message", "text", "Lý do hoặc tóm tắt / Reason or summary"),
    ("replaces_sha256", "text", "Tệp cùng kỳ được thay thế / File of the same period this one replaces"),
    ("seconds", "double", "Thời gian xử lý (giây) / Processing time (s)"),
    ("finished_at", "timestamp", "Kết thúc (UTC) / Finished (UTC)"),
)  # fmt: skip

AUDIT_CHECK = make_table(
    "audit", "check_result", "Một dòng mỗi kiểm tra mỗi tệp mỗi lần chạy / One row per expectation per file per run",
    ("run_id", "text", "Mã lần chạy / Run id"),
    ("dataset", "text", "Bộ dữ liệu / Dataset"),
    ("sha256", "text", "SHA-256 của tệp / File SHA-256"),
    ("expectation_type", "text", "Loại kiểm tra (GX) / GX expectation type"),
    ("column_name", "text", "Cột / Column"),
    ("severity", "text", "block | warn | quarantine"),
    ("reason_code", "text", "Mã lý do / Reason code"),
    ("success", "boolean", "Đạt / Passed"),
    ("element_count", "bigint", "Số dòng kiểm tra / Rows checked"),
    ("unexpected_count", "bigint", "Số dòng không đạt / Failing rows"),
    ("unexpected_percent", "double", "Tỷ lệ không đạt (%) / Failing share (%)"),
    ("expectation_index", "bigint", "Thứ tự kiểm tra trong bộ GX / Position of the expectation in its suite"),
    ("kwargs", "text", "Tham số kiểm tra lúc chạy (JSON) / The expectation's arguments at run time (JSON)"),
    ("missing_count", "bigint", "Số dòng trống, không xét / Null rows, not evaluated"),
    ("exception_message", "text", "Lý do kiểm tra không chạy được / Why the check could not run"),
)  # fmt: skip

QUARANTINE = make_table(
    "restricted", "quarantine",
    "Dòng bị cách ly kèm lý do; chứa dữ liệu cá nhân, chỉ cán bộ quản lý dữ liệu được đọc / "
    "Quarantined rows with reasons; holds personal data, stewards only",
    ("dataset", "text", "Bộ dữ liệu / Dataset"),
    ("period", "date", "Kỳ dữ liệu / Period"),
    ("scope", "text", "Phạm vi tệp trong kỳ / What the file covers within its period"),
    ("file_name", "text", "Tên tệp / File name"),
    (FILE_SHA, "text", "SHA-256 của tệp nguồn / Source file SHA-256"),
    (ROW_NUMBER, "bigint", "Số dòng trong tệp (như Excel) / Row number in the file (as in Excel)"),
    ("reason_code", "text", "Lý do chính / Main reason code"),
    ("reason_codes", "text", "Tất cả lý do, cách nhau bởi ; / All reason codes, ; separated"),
    ("detail", "text", "Giải thích / Explanation"),
    ("record", "text", "Nội dung gốc của dòng (JSON) / The row as delivered (JSON)"),
    ("_run_id", "text", "Mã lần chạy / Run id"),
)  # fmt: skip

FIXED_TABLES = (AUDIT_RUN, AUDIT_FILE, AUDIT_CHECK, QUARANTINE)

assert set(GEO_COLUMNS) <= set(_META_COMMENTS)
