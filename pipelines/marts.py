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


def _geo_select(geography: str) -> tuple[str, str]:
    if geography == "pre2025":
        select = (
            "f.district_code_pre2025 AS district_code_pre2025, f.commune_code_pre2025 AS commune_code_pre2025"
        )
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
        cols = (
            "a.district_code_pre2025, d.name AS district_name_pre2025, a.commune_code_pre2025, "
            f"COALESCE(c.name, {literal(UNALLOCATED_NAME)}) AS commune_name_pre2025, "
            "(a.commune_code_pre2025 IS NULL) AS is_unallocated"
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
    return f"""
        SELECT {dim_cols}, {name_cols}, {", ".join(outer_measures)}{flag}{derived}
        FROM (
            SELECT {dims}, {geo_select}, {measures}
            FROM {mart.source}
            GROUP BY {dim_group}, {geo_group}
        ) a
        {joins}
        ORDER BY {dim_cols}, {"a.commune_code_pre2025" if geography == "pre2025" else "a.commune_code_2025"}
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
    return comments


def build_marts(
    wh: Warehouse, marts: tuple[Mart, ...] | None = None, *, reference_date: date | None = None
) -> dict[str, int]:
    """Rebuild every mart whose sources exist, in one transaction; returns rows per mart table.

    A full build (`marts` None) also rebuilds `mart.data_delivery_scoreboard` from the audit, as of
    `reference_date` (default: the latest audit event; the DAG and the CLI pass today)."""
    counts: dict[str, int] = {}
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

MARTS: tuple[Mart, ...] = (ENTERPRISE,)
