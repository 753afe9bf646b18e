"""Indicator marts (schema `mart`) for the Intelligent Operations Centre and BI tools.

Each mart is declared once (grain, dimensions, measures, comments) and built in both geographies:
`mart.<name>_pre2025` by old district and commune (codes before 2025-07-01) and `mart.<name>_2025`
by new commune, through the conformed codes every row carries. Rows that cannot be placed in a
geography (a split commune without a documented target, a post-2025 record of a new commune
merged from several old ones) are kept as an explicit "unallocated" row (code null,
`is_unallocated` true), never spread over communes. Counts of people or households broken down
by a sensitive attribute are suppressed below `SMALL_CELL` (null, `is_suppressed` true).

Marts are tables rebuilt whole in one transaction (readers see the previous build until commit),
from `core` and `ref` only, with SQL that runs on DuckDB and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipelines.warehouse import Warehouse
from pipelines.warehouse.tables import literal, qualified, quote

SMALL_CELL = 10  # cells below this many people/households are suppressed when split by a sensitive attribute

GEOGRAPHIES = {
    "pre2025": (
        ("district_code_pre2025", "Mã huyện (trước 01/7/2025) / District code (before 2025-07-01)"),
        ("district_name_pre2025", "Tên huyện / District name"),
        ("commune_code_pre2025", "Mã xã (trước 01/7/2025) / Commune code (before 2025-07-01)"),
        ("commune_name_pre2025", "Tên xã / Commune name"),
    ),
    "2025": (
        ("commune_code_2025", "Mã xã (từ 01/7/2025) / Commune code (from 2025-07-01)"),
        ("commune_name_2025", "Tên xã / Commune name"),
    ),
}
UNALLOCATED_NAME = "Chưa phân bổ được / Unallocated"
WHOLE_DISTRICT_NAME = "(Toàn huyện / Whole district)"


@dataclass(frozen=True)
class Measure:
    name: str
    sql: str  # an aggregate over the source rows (alias `f`)
    comment: str
    sensitive_split: bool = False  # suppressed below SMALL_CELL


@dataclass(frozen=True)
class Mart:
    name: str
    comment: str  # Vietnamese / English, with the grain
    source: str  # FROM clause over core tables, alias `f`; must expose the conformed geography columns
    dimensions: tuple[tuple[str, str, str], ...]  # (name, SQL expression, comment)
    measures: tuple[Measure, ...]
    requires: tuple[str, ...]  # core tables that must exist for the mart to be built
    derived: tuple[tuple[str, str, str], ...] = ()  # (name, SQL over the measures, comment), e.g. rates
    year_on_year: tuple[str, ...] = ()  # measures that get `<name>_yoy_pct` (needs a `month` dimension)


def _geo_select(geography: str) -> tuple[str, str]:
    if geography == "pre2025":
        select = "f.district_code_pre2025 AS district_code_pre2025, f.commune_code_pre2025 AS commune_code_pre2025"
        group = "f.district_code_pre2025, f.commune_code_pre2025"
    else:
        select = "f.commune_code_2025 AS commune_code_2025"
        group = "f.commune_code_2025"
    return select, group


def _names(geography: str) -> tuple[str, str]:
    """Name columns joined from ref.admin_unit, and the unallocated flag."""
    if geography == "pre2025":
        joins = (
            "LEFT JOIN ref.admin_unit d ON d.code_system = 'pre2025' AND d.code = a.district_code_pre2025 "
            "LEFT JOIN ref.admin_unit c ON c.code_system = 'pre2025' AND c.code = a.commune_code_pre2025"
        )
        # A district-level row (a report by old district) is placed in its district, not unallocated.
        cols = (
            "a.district_code_pre2025, d.name AS district_name_pre2025, a.commune_code_pre2025, "
            f"CASE WHEN a.commune_code_pre2025 IS NULL AND a.district_code_pre2025 IS NOT NULL "
            f"THEN {literal(WHOLE_DISTRICT_NAME)} ELSE COALESCE(c.name, {literal(UNALLOCATED_NAME)}) END "
            "AS commune_name_pre2025, "
            "(a.commune_code_pre2025 IS NULL AND a.district_code_pre2025 IS NULL) AS is_unallocated"
        )
    else:
        joins = "LEFT JOIN ref.admin_unit c ON c.code_system = '2025' AND c.code = a.commune_code_2025"
        cols = (
            f"a.commune_code_2025, COALESCE(c.name, {literal(UNALLOCATED_NAME)}) AS commune_name_2025, "
            "(a.commune_code_2025 IS NULL) AS is_unallocated"
        )
    return cols, joins


def build_sql(mart: Mart, geography: str) -> str:
    geo_select, geo_group = _geo_select(geography)
    dims = ", ".join(f"{expr} AS {quote(name)}" for name, expr, _ in mart.dimensions)
    dim_group = ", ".join(expr for _, expr, _ in mart.dimensions)
    measures = ", ".join(f"{m.sql} AS {quote(m.name)}" for m in mart.measures)
    name_cols, joins = _names(geography)
    outer_measures = []
    for m in mart.measures:
        if m.sensitive_split:
            outer_measures.append(
                f"CASE WHEN a.{quote(m.name)} < {SMALL_CELL} THEN NULL ELSE a.{quote(m.name)} END AS {quote(m.name)}"
            )
        else:
            outer_measures.append(f"a.{quote(m.name)}")
    suppressed = [f"a.{quote(m.name)} < {SMALL_CELL}" for m in mart.measures if m.sensitive_split]
    flag = f", ({' OR '.join(suppressed)}) AS is_suppressed" if suppressed else ""
    derived = "".join(f", {expr} AS {quote(name)}" for name, expr, _ in mart.derived)
    dim_cols = ", ".join(f"a.{quote(name)}" for name, _, _ in mart.dimensions)
    sql = f"""
        SELECT {dim_cols}, {name_cols}, {", ".join(outer_measures)}{flag}{derived}
        FROM (
            SELECT {dims}, {geo_select}, {measures}
            FROM {mart.source}
            GROUP BY {dim_group}, {geo_group}
        ) a
        {joins}
    """
    geo_keys = [c for c, _ in GEOGRAPHIES[geography] if c.endswith("_code_pre2025") or c.endswith("_code_2025")]
    order = ", ".join([quote(name) for name, _, _ in mart.dimensions] + geo_keys)
    if not mart.year_on_year:
        return f"{sql} ORDER BY {order}"
    # Year-on-year: the same month of the previous year, same place and other dimensions ('YYYY-MM' text).
    same = " AND ".join(
        f"p.{quote(c)} IS NOT DISTINCT FROM t.{quote(c)}"
        for c in [name for name, _, _ in mart.dimensions if name != "month"] + geo_keys
    )
    previous = "CAST(CAST(substr(t.month, 1, 4) AS INTEGER) - 1 AS VARCHAR) || substr(t.month, 5)"
    yoy = ", ".join(
        f"round(CAST(100.0 * (t.{quote(m)} - p.{quote(m)}) / NULLIF(p.{quote(m)}, 0) AS NUMERIC), 1) AS {quote(m + '_yoy_pct')}"
        for m in mart.year_on_year
    )
    return f"""
        SELECT t.*, {yoy}
        FROM ({sql}) t LEFT JOIN ({sql}) p ON p.month = {previous} AND {same}
        ORDER BY {", ".join("t." + c for c in order.split(", "))}
    """


def _comments(mart: Mart, geography: str) -> dict[str, str]:
    comments = {name: comment for name, _, comment in mart.dimensions}
    comments.update(dict(GEOGRAPHIES[geography]))
    comments["is_unallocated"] = (
        "Dòng không phân bổ được về xã (xã bị chia không có đích, hoặc không có mã theo địa giới này) / "
        "Rows that cannot be placed in a commune of this geography"
    )
    comments["is_suppressed"] = f"Ô dưới {SMALL_CELL} bị ẩn (thuộc tính nhạy cảm) / Cells below {SMALL_CELL} suppressed"
    comments.update({m.name: m.comment for m in mart.measures})
    comments.update({name: comment for name, _, comment in mart.derived})
    comments.update(
        {f"{m}_yoy_pct": f"Thay đổi so với cùng tháng năm trước (%) / Change on the same month a year earlier (%): {m}"
         for m in mart.year_on_year}
    )  # fmt: skip
    return comments


def build_marts(
    wh: Warehouse, marts: tuple[Mart, ...] | None = None, *, reference_date: date | None = None
) -> dict[str, int]:
    """Rebuild every mart whose sources exist, in one transaction; returns rows per mart table.

    A full build (`marts` None) also rebuilds `mart.data_delivery_scoreboard` from the audit, as of
    `reference_date` (default: the latest audit event; the DAG and the CLI pass today)."""
    counts: dict[str, int] = {}
    if not wh.table_exists("ref.admin_unit"):  # names and months come from ref: load it on first use
        from pipelines.refdata import refresh_reference

        refresh_reference(wh)
    with wh.transaction():
        wh.execute(f"CREATE SCHEMA IF NOT EXISTS {quote('mart')}")
        for mart in marts if marts is not None else MARTS:
            if not all(wh.table_exists(t) for t in mart.requires):
                continue
            for geography in GEOGRAPHIES:
                table = f"mart.{mart.name}_{geography}"
                wh.execute(f"DROP TABLE IF EXISTS {qualified(table)}")
                wh.execute(f"CREATE TABLE {qualified(table)} AS {build_sql(mart, geography)}")
                wh.execute(f"COMMENT ON TABLE {qualified(table)} IS {literal(mart.comment)}")
                for column, comment in _comments(mart, geography).items():
                    if _has_column(wh, table, column):
                        wh.execute(f"COMMENT ON COLUMN {qualified(table)}.{quote(column)} IS {literal(comment)}")
                counts[table] = wh.count(table)
        if marts is None:
            from pipelines.scoreboard import build_scoreboard

            counts.update(build_scoreboard(wh, reference_date))
    return counts


def _has_column(wh: Warehouse, table: str, column: str) -> bool:
    schema, _, name = table.partition(".")
    rows = wh.query(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = ?",
        (schema, name, column),
    )
    return bool(rows[0][0])


_MONTH_END_STATE = """
    (SELECT m.month_label, m.month_start, m.month_end, e.*
     FROM (SELECT month_label, min(date) AS month_start, max(date) AS month_end FROM ref.date GROUP BY month_label) m
     JOIN core.enterprise e
       ON e.valid_from <= m.month_end AND (e.valid_to IS NULL OR e.valid_to > m.month_end)
     WHERE m.month_end >= (SELECT min(valid_from) FROM core.enterprise)
       AND m.month_start <= (SELECT max(valid_from) FROM core.enterprise)) f
"""

ENTERPRISE = Mart(
    name="enterprise_monthly",
    comment=(
        "Doanh nghiệp theo ngành cấp 1 (VSIC), xã và tháng: đang hoạt động, đăng ký mới, tạm ngừng, đã giải thể "
        "(trạng thái cuối tháng theo ảnh chụp gần nhất) / Enterprises by VSIC section, commune and month: active, "
        "newly registered, suspended, dissolved (state at month end from the latest snapshot). "
        "Grain: one row per month, VSIC section and commune."
    ),
    source=_MONTH_END_STATE,
    dimensions=(
        ("month", "f.month_label", "Tháng (YYYY-MM) / Month"),
        ("vsic_section", "f.main_vsic_section", "Ngành cấp 1 VSIC 2018 / VSIC 2018 section"),
    ),
    measures=(
        Measure("enterprises", "count(*)", "Tổng số doanh nghiệp còn hiệu lực / Enterprises on the register"),
        Measure("active", "count(*) FILTER (WHERE f.status = 'Đang hoạt động')", "Đang hoạt động / Active"),
        Measure(
            "newly_registered",
            "count(*) FILTER (WHERE f.registered_date BETWEEN f.month_start AND f.month_end)",
            "Đăng ký mới trong tháng / Newly registered in the month",
        ),
        Measure(
            "suspended", "count(*) FILTER (WHERE f.status = 'Tạm ngừng kinh doanh')", "Tạm ngừng kinh doanh / Suspended"
        ),
        Measure(
            "dissolving",
            "count(*) FILTER (WHERE f.status = 'Đang làm thủ tục giải thể')",
            "Đang làm thủ tục giải thể / Being dissolved",
        ),
        Measure("dissolved", "count(*) FILTER (WHERE f.status = 'Đã giải thể')", "Đã giải thể / Dissolved"),
        Measure(
            "charter_capital_billion_vnd",
            "round(sum(f.charter_capital_vnd) / 1e9, 3)",
            "Tổng vốn điều lệ (tỷ đồng) / Total charter capital (billion VND)",
        ),
    ),
    requires=("core.enterprise", "ref.date", "ref.admin_unit"),
)


def _current(table: str) -> str:
    """The current versions of an SCD2 core table."""
    return f"(SELECT * FROM {table} WHERE is_current) f"


def _monthly(table: str) -> str:
    """A period-partitioned core table with its month label from ref.date (no dialect date formatting)."""
    return f"(SELECT t.*, d.month_label FROM {table} t JOIN ref.date d ON d.date = t.period) f"


def _share(numerator: str, denominator: str) -> str:
    return f"round(CAST(100.0 * a.{quote(numerator)} / NULLIF(a.{quote(denominator)}, 0) AS NUMERIC), 2)"


_POOR = "f.classification = 'Hộ nghèo'"
_NEAR_POOR = "f.classification = 'Hộ cận nghèo'"

POVERTY = Mart(
    name="poverty_annual",
    comment=(
        "Hộ nghèo, hộ cận nghèo và tỷ lệ theo xã, năm rà soát và khu vực (chuẩn nghèo 2022–2025) / Poor and "
        "near-poor households and rates by commune, review year and area type (2022–2025 standard). Rates are "
        "over the households in the review file. Grain: one row per review year, area type and commune."
    ),
    source="core.poor_household f",
    dimensions=(
        ("review_year", "f.review_year", "Năm rà soát / Review year"),
        ("area_type", "f.area_type", "Khu vực: Thành thị / Nông thôn / Area type: urban or rural"),
    ),
    measures=(
        Measure("households", "count(*)", "Số hộ trong danh sách rà soát / Households in the review"),
        Measure("poor_households", f"count(*) FILTER (WHERE {_POOR})", "Hộ nghèo / Poor households"),
        Measure("near_poor_households", f"count(*) FILTER (WHERE {_NEAR_POOR})", "Hộ cận nghèo / Near-poor households"),
        Measure(
            "poor_members", f"sum(f.members) FILTER (WHERE {_POOR})", "Nhân khẩu hộ nghèo / People in poor households"
        ),
        Measure(
            "inconsistent_classifications",
            "count(*) FILTER (WHERE NOT f.is_classification_consistent)",
            "Hộ có phân loại không khớp chuẩn (được báo cáo, không sửa) / Households whose classification "
            "disagrees with the standard (reported, not rewritten)",
        ),
    ),
    derived=(
        ("poor_rate_pct", _share("poor_households", "households"), "Tỷ lệ hộ nghèo (%) / Poor household rate (%)"),
        (
            "near_poor_rate_pct",
            _share("near_poor_households", "households"),
            "Tỷ lệ hộ cận nghèo (%) / Near-poor rate (%)",
        ),
    ),
    requires=("core.poor_household",),
)

POVERTY_ETHNICITY = Mart(
    name="poverty_by_ethnicity_annual",
    comment=(
        "Hộ nghèo, cận nghèo theo dân tộc của chủ hộ, xã và năm; ô dưới 10 hộ bị ẩn / Poor and near-poor households "
        f"by the head's ethnicity (sensitive), commune and year; cells below {SMALL_CELL} households are suppressed. "
        "Grain: one row per review year, ethnicity and commune."
    ),
    source="core.poor_household f",
    dimensions=(
        ("review_year", "f.review_year", "Năm rà soát / Review year"),
        ("head_ethnicity", "f.head_ethnicity", "Dân tộc của chủ hộ (dữ liệu nhạy cảm) / Head's ethnicity (sensitive)"),
    ),
    measures=(
        Measure("households", "count(*)", "Số hộ rà soát / Households reviewed", sensitive_split=True),
        Measure(
            "poor_households", f"count(*) FILTER (WHERE {_POOR})", "Hộ nghèo / Poor households", sensitive_split=True
        ),
        Measure(
            "near_poor_households",
            f"count(*) FILTER (WHERE {_NEAR_POOR})",
            "Hộ cận nghèo / Near-poor households",
            sensitive_split=True,
        ),
    ),
    requires=("core.poor_household",),
)

_IN_LABOUR_FORCE = "f.activity_status IN ('Có việc làm', 'Thất nghiệp')"

LABOUR = Mart(
    name="labour_monthly",
    comment=(
        "Lực lượng lao động, có việc làm, thất nghiệp và tỷ lệ thất nghiệp theo xã và tháng / Labour force, employed, "
        "unemployed and unemployment rate by commune and month (people aged 15+ on the labour-supply register). "
        "Grain: one row per month and commune."
    ),
    source=_monthly("core.labour_supply"),
    dimensions=(("month", "f.month_label", "Tháng (YYYY-MM) / Month"),),
    measures=(
        Measure("people", "count(*)", "Người trong sổ cung lao động / People on the register"),
        Measure("labour_force", f"count(*) FILTER (WHERE {_IN_LABOUR_FORCE})", "Lực lượng lao động / Labour force"),
        Measure("employed", "count(*) FILTER (WHERE f.activity_status = 'Có việc làm')", "Có việc làm / Employed"),
        Measure("unemployed", "count(*) FILTER (WHERE f.activity_status = 'Thất nghiệp')", "Thất nghiệp / Unemployed"),
    ),
    derived=(
        (
            "unemployment_rate_pct",
            _share("unemployed", "labour_force"),
            "Tỷ lệ thất nghiệp (%) / Unemployment rate (%)",
        ),
    ),
    requires=("core.labour_supply", "ref.date"),
)

LABOUR_OCCUPATION = Mart(
    name="labour_by_occupation_monthly",
    comment=(
        "Người có việc làm theo nhóm nghề cấp 1 (VSCO 2020), xã và tháng / Employed people by VSCO 2020 major "
        "group, commune and month. Grain: one row per month, occupation group and commune."
    ),
    source=_monthly("core.labour_supply"),
    dimensions=(
        ("month", "f.month_label", "Tháng (YYYY-MM) / Month"),
        ("occupation_vsco_group", "f.occupation_vsco_group", "Nhóm nghề cấp 1 VSCO 2020 / VSCO 2020 major group"),
    ),
    measures=(
        Measure("employed", "count(*) FILTER (WHERE f.activity_status = 'Có việc làm')", "Có việc làm / Employed"),
    ),
    requires=("core.labour_supply", "ref.date"),
)

TOURISM = Mart(
    name="tourism_monthly",
    comment=(
        "Lượt khách (nội địa, quốc tế), khách lưu trú, doanh thu du lịch theo tháng và địa bàn, có so sánh cùng kỳ / "
        "Visitors (domestic, international), overnight guests and tourism revenue by month and area, with the change "
        "on the same month a year earlier. Reports by old district (before 2025-07) appear at district level in the "
        "pre-2025 table and as unallocated in the 2025 table. Grain: one row per month and area."
    ),
    source=_monthly("core.tourism_monthly"),
    dimensions=(("month", "f.month_label", "Tháng (YYYY-MM) / Month"),),
    measures=(
        Measure("visitors_total", "sum(f.visitors_total)", "Tổng lượt khách / Visitors"),
        Measure("visitors_domestic", "sum(f.visitors_domestic)", "Khách nội địa / Domestic visitors"),
        Measure("visitors_international", "sum(f.visitors_international)", "Khách quốc tế / International visitors"),
        Measure("overnight_guests", "sum(f.overnight_guests)", "Khách lưu trú / Overnight guests"),
        Measure("guest_nights", "sum(f.guest_nights)", "Ngày khách lưu trú / Guest nights"),
        Measure(
            "revenue_total_million_vnd",
            "sum(f.revenue_total_million_vnd)",
            "Tổng doanh thu (triệu đồng) / Revenue (million VND)",
        ),
    ),
    year_on_year=("visitors_total", "visitors_international", "revenue_total_million_vnd"),
    requires=("core.tourism_monthly", "ref.date"),
)

ACCOMMODATION = Mart(
    name="accommodation_capacity",
    comment=(
        "Năng lực lưu trú hiện hành theo loại hình, hạng sao và xã / Current accommodation capacity by type, rating "
        "and commune. Grain: one row per type, rating and commune."
    ),
    source=_current("core.tourism_establishment"),
    dimensions=(
        ("accommodation_type", "f.accommodation_type", "Loại hình cơ sở lưu trú / Accommodation type"),
        ("star_rating", "COALESCE(f.star_rating, 'Chưa xếp hạng')", "Hạng / Rating (Chưa xếp hạng = unrated)"),
    ),
    measures=(
        Measure("establishments", "count(*)", "Số cơ sở / Establishments"),
        Measure("rooms", "sum(f.rooms)", "Số phòng / Rooms"),
        Measure("beds", "sum(f.beds)", "Số giường / Beds"),
    ),
    requires=("core.tourism_establishment",),
)

LAND = Mart(
    name="land_use_area",
    comment=(
        "Diện tích đất theo nhóm đất và hệ mã theo xã (ảnh chụp mới nhất của mỗi xã); thửa có mục đích ghép được tính "
        "ở mỗi nhóm của nó / Land area by land-use group and code system by commune (latest snapshot of each commune); "
        "a parcel with a compound purpose counts in each of its groups. Grain: one row per code system, group and commune."
    ),
    source=(
        "(SELECT p.commune_code_pre2025, p.district_code_pre2025, p.commune_code_2025, p.area_m2, "
        "u.land_use_group, u.land_use_code_system FROM core.land_parcel p JOIN core.land_parcel_use u "
        "ON u.commune_code = p.commune_code AND u.map_sheet_no = p.map_sheet_no AND u.parcel_no = p.parcel_no) f"
    ),
    dimensions=(
        ("land_use_code_system", "f.land_use_code_system", "Hệ mã mục đích sử dụng đất / Land-use code system"),
        ("land_use_group", "f.land_use_group", "Nhóm đất / Land-use group"),
    ),
    measures=(
        Measure("parcels", "count(*)", "Số thửa / Parcels"),
        Measure("area_ha", "round(CAST(sum(f.area_m2) / 10000.0 AS NUMERIC), 2)", "Diện tích (ha) / Area (ha)"),
    ),
    requires=("core.land_parcel", "core.land_parcel_use"),
)

RELICS = Mart(
    name="cultural_relics",
    comment=(
        "Di tích đã xếp hạng theo cấp, loại hình và xã / Ranked relics by rank, type and commune. "
        "Grain: one row per rank, type and commune."
    ),
    source=_current("core.cultural_relic"),
    dimensions=(
        ("rank", "f.rank", "Cấp xếp hạng / Rank"),
        ("relic_type", "f.relic_type", "Loại hình di tích / Relic type"),
    ),
    measures=(
        Measure("relics", "count(*)", "Số di tích / Relics"),
        Measure(
            "protected_area_ha",
            "round(CAST(sum(f.protected_area_m2) / 10000.0 AS NUMERIC), 2)",
            "Diện tích khoanh vùng (ha) / Protected area (ha)",
        ),
    ),
    requires=("core.cultural_relic",),
)

MARTS: tuple[Mart, ...] = (
    ENTERPRISE,
    POVERTY,
    POVERTY_ETHNICITY,
    LABOUR,
    LABOUR_OCCUPATION,
    TOURISM,
    ACCOMMODATION,
    LAND,
    RELICS,
)
