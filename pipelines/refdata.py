"""The warehouse `ref` schema: code lists, both admin-unit geographies, the crosswalk and dates.

Loaded from the vendored CSVs in `schemas/reference/` (provenance in its README) in one
transaction: each table is replaced whole, so a refresh is idempotent and readers see the old
lists or the new ones. Grain: one row per code (per code system where codes repeat across
systems), one row per old commune → new commune pair, one row per calendar day.
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa

from pipelines.reference import DRAFT_CODES_2025, NEW2025, PRE2025, REORGANISATION_DATE, load_reference
from pipelines.warehouse import Warehouse
from pipelines.warehouse.tables import Table, make_table, qualified

ADMIN_UNIT = make_table(
    "ref", "admin_unit",
    "Đơn vị hành chính hai hệ mã (trước và từ 01/7/2025) / Administrative units in both code systems",
    ("code", "text", "Mã GSO/NSO / GSO/NSO code"),
    ("code_system", "text", "Hệ mã: pre2025 hoặc 2025 / Code system: pre2025 or 2025"),
    ("level", "text", "Cấp: province, district, commune / Level"),
    ("unit_type", "text", "Loại: tinh, thanh_pho, thi_xa, huyen, phuong, thi_tran, xa / Unit type"),
    ("name", "text", "Tên chính thức / Official name"),
    ("parent_code", "text", "Mã đơn vị cấp trên / Parent unit code"),
    ("province_code", "text", "Mã tỉnh / Province code"),
    ("valid_from", "date", "Hiệu lực từ / Valid from"),
    ("valid_to", "date", "Hiệu lực đến (không gồm) / Valid until (exclusive)"),
)  # fmt: skip

CROSSWALK = make_table(
    "ref", "admin_unit_crosswalk",
    "Xã cũ → xã mới theo Nghị quyết 1664/NQ-UBTVQH15 / Old commune → new commune (Resolution 1664/NQ-UBTVQH15)",
    ("old_commune_code", "text", "Mã xã cũ / Old commune code"),
    ("old_commune_name", "text", "Tên xã cũ / Old commune name"),
    ("old_district_code", "text", "Mã huyện cũ / Old district code"),
    ("old_province_code", "text", "Mã tỉnh cũ / Old province code"),
    ("new_commune_code", "text", "Mã xã mới / New commune code"),
    ("new_commune_name", "text", "Tên xã mới / New commune name"),
    ("new_province_code", "text", "Mã tỉnh mới / New province code"),
    ("is_split", "boolean", "Xã cũ bị chia / The old commune was divided"),
    ("is_default_target", "boolean", "Đích mặc định khi không rõ địa chỉ chi tiết / Documented target without a finer address"),
    ("note_official", "text", "Nội dung theo nghị quyết / Wording of the resolution"),
)  # fmt: skip

CODE_REMAP = make_table(
    "ref", "commune_code_remap",
    "Mã dự thảo → mã chính thức (5 xã Gia Lai, 2025) / Draft → official commune codes (2025)",
    ("draft_code", "text", "Mã dự thảo / Draft code"),
    ("official_code", "text", "Mã chính thức / Official code"),
)  # fmt: skip

VSIC_SECTION = make_table(
    "ref", "vsic_section", "Ngành cấp 1 VSIC 2018 / VSIC 2018 sections (Decision 27/2018/QĐ-TTg)",
    ("section", "text", "Mã ngành cấp 1 / Section letter"),
    ("division_from", "text", "Ngành cấp 2 từ / First division"),
    ("division_to", "text", "Ngành cấp 2 đến / Last division"),
    ("name_vi", "text", "Tên tiếng Việt / Vietnamese name"),
    ("name_en", "text", "Tên tiếng Anh / English name"),
)  # fmt: skip

VSCO_GROUP = make_table(
    "ref", "vsco_group", "Nhóm nghề cấp 1 VSCO 2020 / VSCO 2020 major groups (Decision 34/2020/QĐ-TTg)",
    ("code", "text", "Mã nhóm / Group code"),
    ("name_vi", "text", "Tên tiếng Việt / Vietnamese name"),
    ("name_en", "text", "Tên tiếng Anh / English name"),
)  # fmt: skip

LAND_USE_CODE = make_table(
    "ref", "land_use_code",
    "Mã mục đích sử dụng đất, hai hệ mã / Land-use purpose codes of both systems (TT25_2014, TT08_2024)",
    ("code_system", "text", "Hệ mã / Code system"),
    ("code", "text", "Mã / Code"),
    ("name_vi", "text", "Tên / Name"),
    ("land_use_group", "text", "Nhóm đất / Land-use group"),
    ("verified", "text", "Đã đối chiếu văn bản (yes/partly) / Checked against the gazette"),
)  # fmt: skip

DATE = make_table(
    "ref", "date", "Bảng ngày / Date dimension (2000–2035)",
    ("date", "date", "Ngày / Date"),
    ("year", "bigint", "Năm / Year"),
    ("quarter", "bigint", "Quý / Quarter"),
    ("month", "bigint", "Tháng / Month"),
    ("day", "bigint", "Ngày trong tháng / Day of month"),
    ("month_label", "text", "Tháng YYYY-MM / Month label"),
    ("iso_week", "bigint", "Tuần ISO / ISO week"),
    ("day_of_week", "bigint", "Thứ (1 = thứ Hai) / ISO day of week (1 = Monday)"),
    ("is_weekend", "boolean", "Cuối tuần / Weekend"),
    ("code_system", "text", "Hệ mã địa bàn hiệu lực / Admin code system in force"),
)  # fmt: skip

REF_TABLES: tuple[Table, ...] = (ADMIN_UNIT, CROSSWALK, CODE_REMAP, VSIC_SECTION, VSCO_GROUP, LAND_USE_CODE, DATE)

_VALID = {PRE2025: (None, REORGANISATION_DATE), NEW2025: (REORGANISATION_DATE, None)}
_FILES = {PRE2025: "admin_units_pre2025", NEW2025: "admin_units_2025"}


def _admin_units() -> pa.Table:
    rows = []
    for system, name in _FILES.items():
        valid_from, valid_to = _VALID[system]
        by_code = {r["code"]: r for r in load_reference(name)}
        for r in by_code.values():
            province = r["code"]
            while by_code.get(province, {}).get("parent_code"):
                province = by_code[province]["parent_code"]
            rows.append(
                {"code": r["code"], "code_system": system, "level": r["level"], "unit_type": r["unit_type"],
                 "name": r["name"], "parent_code": r["parent_code"] or None, "province_code": province,
                 "valid_from": valid_from, "valid_to": valid_to}
            )  # fmt: skip
    return pa.Table.from_pylist(rows, schema=_schema(ADMIN_UNIT))


def _schema(table: Table) -> pa.Schema:
    types = {"text": pa.string(), "date": pa.date32(), "boolean": pa.bool_(), "bigint": pa.int64()}
    return pa.schema([pa.field(c.name, types[c.type]) for c in table.columns])


def _crosswalk() -> pa.Table:
    rows = [
        {**{k: r[k] for k in ("old_commune_code", "old_commune_name", "old_district_code", "old_province_code",
                              "new_commune_code", "new_commune_name", "new_province_code", "note_official")},
         "is_split": r["split"] == "1", "is_default_target": r["default_target"] == "1"}
        for r in load_reference("admin_unit_crosswalk_2025")
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=_schema(CROSSWALK))


def _dates(first: date = date(2000, 1, 1), last: date = date(2035, 12, 31)) -> pa.Table:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return pa.table(
        {
            "date": days,
            "year": [d.year for d in days],
            "quarter": [(d.month - 1) // 3 + 1 for d in days],
            "month": [d.month for d in days],
            "day": [d.day for d in days],
            "month_label": [f"{d.year:04d}-{d.month:02d}" for d in days],
            "iso_week": [d.isocalendar().week for d in days],
            "day_of_week": [d.isoweekday() for d in days],
            "is_weekend": [d.isoweekday() >= 6 for d in days],
            "code_system": [NEW2025 if d >= REORGANISATION_DATE else PRE2025 for d in days],
        },
        schema=_schema(DATE),
    )


def _plain(name: str, table: Table, rename: dict[str, str] | None = None) -> pa.Table:
    rename = rename or {}
    rows = [{rename.get(k, k): v or None for k, v in r.items()} for r in load_reference(name)]
    return pa.Table.from_pylist(rows, schema=_schema(table))


def reference_tables() -> dict[str, pa.Table]:
    return {
        ADMIN_UNIT.qualified: _admin_units(),
        CROSSWALK.qualified: _crosswalk(),
        CODE_REMAP.qualified: pa.table(
            {"draft_code": list(DRAFT_CODES_2025), "official_code": list(DRAFT_CODES_2025.values())},
            schema=_schema(CODE_REMAP),
        ),
        VSIC_SECTION.qualified: _plain("vsic2018_sections", VSIC_SECTION),
        VSCO_GROUP.qualified: _plain("vsco2020_major_groups", VSCO_GROUP),
        LAND_USE_CODE.qualified: _plain("land_use_codes", LAND_USE_CODE, {"group": "land_use_group"}),
        DATE.qualified: _dates(),
    }


def refresh_reference(wh: Warehouse) -> dict[str, int]:
    """Replace every `ref` table from the vendored lists in one transaction; returns row counts."""
    wh.ensure(REF_TABLES)
    counts = {}
    with wh.transaction():
        for name, data in reference_tables().items():
            wh.execute(f"DELETE FROM {qualified(name)}")
            counts[name] = wh.insert_arrow(name, data)
    return counts
