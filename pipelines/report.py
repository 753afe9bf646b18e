"""Static HTML reports people would rather look at than read: one per run and a province overview.

Files under `$KDS_HOME/docs/` (owner: the data platform team; readers: the data centre, department
heads, whoever the folder is served to):
- `docs/index.html` — the overview: rows loaded against quarantined by dataset, why rows were
  quarantined, delivery timeliness by department, quality score trends, the scoreboard, last runs;
- `docs/runs/<run_id>.html` — one run: each file's fate, its checks, its quarantine reasons, and
  links to the file's GX Data Docs page (`docs/gx/`, see `pipelines/quality.py`).

Self-contained pages: inline CSS and charts drawn here as inline SVG (no JavaScript, no CDN, no
network), labels in Vietnamese and English. They hold no personal data: counts, reason codes, file
names and messages with anything shaped like an ID masked (`alerts.redact`); never a row's content.
Pages are written to a temporary name and renamed, so a reader never sees half a page.
"""

from __future__ import annotations

import html
import logging
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipelines.alerts import redact
from pipelines.settings import Settings
from pipelines.warehouse.tables import AUDIT_CHECK, AUDIT_FILE, AUDIT_RUN, QUARANTINE, qualified

log = logging.getLogger(__name__)

COLORS = {
    "loaded": "#2e7d32", "quarantined": "#ef6c00", "duplicate": "#9e9e9e",
    "on_time": "#2e7d32", "late": "#f9a825", "missing": "#c62828", "pending": "#90a4ae",
    "blocked": "#c62828", "rejected": "#ad1457", "failed": "#6a1b9a", "skipped_duplicate_file": "#9e9e9e",
    "success": "#2e7d32",
}  # fmt: skip
LINE_COLORS = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#455a64")
LABELS = {
    "loaded": "Đã nạp / Loaded", "quarantined": "Cách ly / Quarantined", "duplicate": "Trùng lặp / Duplicate",
    "on_time": "Đúng hạn / On time", "late": "Trễ / Late", "missing": "Thiếu / Missing",
    "pending": "Chưa đến hạn / Not yet due",
    "blocked": "Bị chặn / Blocked", "rejected": "Bị từ chối / Rejected", "failed": "Lỗi / Failed",
    "skipped_duplicate_file": "Đã có / Already loaded", "success": "Thành công / Success",
}  # fmt: skip


def run_report_path(settings: Settings, run_id: str) -> Path:
    return settings.docs / "runs" / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', run_id)}.html"


def overview_path(settings: Settings) -> Path:
    return settings.docs / "index.html"


# --- SVG charts ------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".")  # Vietnamese thousands separator


def legend(series: Sequence[str]) -> str:
    items = "".join(
        f'<span class="key"><i style="background:{COLORS.get(s, "#777")}"></i>{_e(LABELS.get(s, s))}</span>'
        for s in series
    )
    return f'<div class="legend">{items}</div>'


def stacked_bars(rows: Sequence[tuple[str, dict[str, float]]], series: Sequence[str], *, width: int = 760,
                 percent: bool = False) -> str:  # fmt: skip
    """Horizontal stacked bars: one row per label, segments in `series` order, total at the end."""
    if not rows:
        return '<p class="empty">Chưa có dữ liệu / No data yet</p>'
    label_w, bar_h, gap, right = 230, 22, 10, 90
    plot = width - label_w - right
    height = len(rows) * (bar_h + gap) + gap
    top = max((sum(v.get(s, 0) for s in series) for _, v in rows), default=0) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" role="img">']
    for i, (label, values) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        total = sum(values.get(s, 0) for s in series)
        scale = plot / (total if percent and total else top)
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.7}" text-anchor="end" class="lbl">{_e(label)}</text>')
        x = float(label_w)
        for s in series:
            v = values.get(s, 0)
            if v <= 0:
                continue
            w = v * scale
            share = f" ({100 * v / total:.1f}%)" if total else ""
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" fill="{COLORS.get(s, "#777")}">'
                f"<title>{_e(label)} — {_e(LABELS.get(s, s))}: {_n(v)}{share}</title></rect>"
            )
            if w > 38:
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar_h * 0.7}" text-anchor="middle" class="in">{_n(v)}</text>'
                )
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + bar_h * 0.7}" class="tot">{_n(total)}</text>')
    parts.append("</svg>")
    return "".join(parts) + legend(series)


def bars(rows: Sequence[tuple[str, float]], *, color: str = COLORS["quarantined"], width: int = 760) -> str:
    """Horizontal bars, largest first as given (e.g. quarantine reasons)."""
    if not rows:
        return '<p class="empty">Không có dòng nào bị cách ly / Nothing quarantined</p>'
    label_w, bar_h, gap, right = 330, 20, 8, 70
    plot = width - label_w - right
    top = max(v for _, v in rows) or 1
    height = len(rows) * (bar_h + gap) + gap
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" role="img">']
    for i, (label, v) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = plot * v / top
        short = label if len(label) <= 52 else label[:51] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.72}" text-anchor="end" class="lbl">'
                     f"<title>{_e(label)}</title>{_e(short)}</text>")  # fmt: skip
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" fill="{color}"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.72}" class="tot">{_n(v)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_table(rows: Sequence[tuple[str, str, float]], *, color: str = COLORS["quarantined"]) -> str:
    """A table of (sentence, code, count) with an inline bar: long labels stay readable."""
    if not rows:
        return '<p class="empty">Không có dòng nào bị cách ly / Nothing quarantined</p>'
    top = max(v for _, _, v in rows) or 1
    body = [
        [_e(text), f"<code>{_e(code)}</code>", _n(v),
         f'<svg width="220" height="14"><rect width="{max(1.0, 220 * v / top):.1f}" height="14" fill="{color}"/></svg>']
        for text, code, v in rows
    ]  # fmt: skip
    return _table(["Lý do / Reason", "Mã / Code", "Dòng / Rows", ""], body, numeric=(2,))


def line_chart(series: dict[str, list[tuple[date, float]]], *, width: int = 760, height: int = 260) -> str:
    """Quality score (0–100) over periods, one line per dataset."""
    points = [p for values in series.values() for p in values]
    if not points:
        return '<p class="empty">Chưa có kỳ nào được chấm điểm / No scored period yet</p>'
    left, right, top, bottom = 44, 150, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    days = [d.toordinal() for d, _ in points]
    lo, hi = min(days), max(days)
    span = (hi - lo) or 1

    def xy(d: date, v: float) -> tuple[float, float]:
        x = left + (plot_w * (d.toordinal() - lo) / span if hi != lo else plot_w / 2)
        return x, top + plot_h * (1 - v / 100)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" role="img">']
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - tick / 100)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{tick}</text>')
    first, last = date.fromordinal(lo), date.fromordinal(hi)
    parts.append(f'<text x="{left}" y="{height - 8}" class="axis">{first.isoformat()}</text>')
    if hi != lo:
        parts.append(
            f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="axis">{last.isoformat()}</text>'
        )
    ends: list[tuple[float, str, str]] = []  # (y, text, color) of each line's label at the right
    for i, (name, values) in enumerate(sorted(series.items())):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        coords = [xy(d, v) for d, v in sorted(values)]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), (d, v) in zip(coords, sorted(values), strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{_e(name)} {d}: {v:.1f}</title></circle>'
            )
        ends.append((coords[-1][1] + 4, f"{name} {sorted(values)[-1][1]:.0f}", color))
    placed: list[tuple[float, str, str]] = []
    for y, text, color in sorted(ends):  # labels of lines ending at the same score are stacked, not overlaid
        placed.append((max(y, placed[-1][0] + 14) if placed else y, text, color))
    overflow = max(0.0, (placed[-1][0] if placed else 0) - (height - 4))
    for y, text, color in placed:
        parts.append(
            f'<text x="{left + plot_w + 8}" y="{y - overflow:.1f}" class="lbl" style="fill:{color}">{_e(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[float], *, width: int = 110, height: int = 24) -> str:
    if not values:
        return ""
    if len(values) == 1:
        values = [values[0], values[0]]
    step = width / (len(values) - 1)
    pts = " ".join(f"{i * step:.1f},{2 + (height - 4) * (1 - v / 100):.1f}" for i, v in enumerate(values))
    return (f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            f'<polyline points="{pts}" fill="none" stroke="#1565c0" stroke-width="1.5"/></svg>')  # fmt: skip


# --- page frame --------------------------------------------------------------------------------

_CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --bg:#f5f7fa; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.45 "Noto Sans", "Segoe UI", Roboto, Arial, sans-serif; color:var(--ink); background:var(--bg); }
header { background:#0b3c5d; color:#fff; padding:18px 28px; }
header h1 { margin:0; font-size:22px; font-weight:600; }
header p { margin:4px 0 0; color:#cfe3f2; }
header a { color:#fff; }
main { max-width:1180px; margin:0 auto; padding:20px 28px 40px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px 20px; margin:0 0 18px; }
h2 { font-size:17px; margin:0 0 2px; }
h2 + .en, .sub { color:var(--muted); margin:0 0 12px; font-size:13px; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(170px, 1fr)); gap:12px; margin-bottom:18px; }
.tile { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.tile b { display:block; font-size:26px; font-weight:600; }
.tile span { color:var(--muted); font-size:12.5px; }
.tile.bad b { color:#c62828; } .tile.good b { color:#2e7d32; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:18px; }
@media (max-width: 900px) { .grid2 { grid-template-columns:1fr; } }
.grid2 section { margin:0; }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12.5px; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff; font-size:12px; white-space:nowrap; }
.chart { display:block; max-width:100%; height:auto; }
.chart .lbl { font-size:12.5px; fill:var(--ink); } .chart .in { font-size:11px; fill:#fff; }
.chart .tot, .chart .axis { font-size:11.5px; fill:var(--muted); } .chart .grid { stroke:var(--line); }
.legend { margin:6px 0 0; font-size:12.5px; color:var(--muted); }
.key { margin-right:14px; white-space:nowrap; } .key i { display:inline-block; width:11px; height:11px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
.empty { color:var(--muted); font-style:italic; }
.up { color:#2e7d32; } .down { color:#c62828; }
details summary { cursor:pointer; color:var(--muted); margin:8px 0; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:10px; }
a { color:#0b5cad; }
"""


def _page(title: str, subtitle: str, body: str, *, depth: int = 0) -> str:
    home = "../" * depth + "index.html"
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body><header><h1>{_e(title)}</h1><p>{subtitle}</p></header>
<main>{body}</main>
<footer>Kho dữ liệu số — tạo tự động, không chứa dữ liệu cá nhân / Provincial data repository — generated, holds
no personal data · <a href="{home}">Tổng quan / Overview</a></footer></body></html>
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _section(vi: str, en: str, content: str) -> str:
    return f'<section><h2>{_e(vi)}</h2><p class="en">{_e(en)}</p>{content}</section>'


def _badge(status: str | None) -> str:
    status = status or "-"
    return f'<span class="badge" style="background:{COLORS.get(status, "#52606d")}">{_e(LABELS.get(status, status))}</span>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()) -> str:
    nums = set(numeric)
    th = "".join(f'<th class="num">{h}</th>' if i in nums else f"<th>{h}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in nums else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        from pipelines.scoreboard import LOCAL

        at = value if value.tzinfo else value.replace(tzinfo=UTC)
        return at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    return "-" if value is None else _e(value)


def _short(department: str, limit: int = 38) -> str:
    """A department's name without its parenthesised note, short enough for a chart label."""
    name = department.split(" (")[0].strip()
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _rel(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start.parent)).as_posix()


# --- run report --------------------------------------------------------------------------------

_RUN_COLS = ("run_id", "dataset", "trigger", "try_number", "status", "files", "rows_in", "rows_loaded",
             "rows_quarantined", "rows_duplicate", "message", "started_at", "finished_at")  # fmt: skip
_FILE_COLS = ("file_name", "sha256", "period", "status", "rows_in", "rows_loaded", "rows_quarantined",
              "rows_duplicate", "rows_warned", "message", "replaces_sha256", "finished_at")  # fmt: skip
_CHECK_COLS = ("sha256", "expectation_type", "column_name", "severity", "reason_code", "success",
               "element_count", "unexpected_count", "unexpected_percent")  # fmt: skip
_WHAT_TO_DO = {
    "blocked": "Không công bố gì. Xem kiểm tra bị chặn bên dưới, trao đổi với đơn vị gửi, thả tệp đã sửa vào thư mục "
    "landing. / Nothing was published: see the blocking check below, ask the department for a corrected file.",
    "rejected": "Tệp không đọc được theo cấu trúc đã khai báo; thông báo nêu tệp, dòng hoặc cột cần sửa. / The file "
    "cannot be read as its layout; the message names the file, row or column to fix.",
    "failed": "Lỗi hạ tầng (ổ đĩa, kho dữ liệu): Airflow tự chạy lại; nếu vẫn lỗi, xem nhật ký. / Infrastructure "
    "failure: the task retries; if it keeps failing, read the log.",
}


MAX_BARS = 25  # rows of a per-file chart; a backfill of hundreds of files shows the worst ones


def _checks_table(checks: Sequence[dict[str, Any]]) -> str:
    """One row per check of the suite, summed over the run's files; failing checks first."""
    grouped: dict[tuple[str, str, str, str], dict[str, int]] = {}
    for c in checks:
        key = (str(c["severity"]), str(c["reason_code"]), str(c["expectation_type"]), str(c["column_name"] or ""))
        g = grouped.setdefault(key, {"files": 0, "failed": 0, "rows": 0, "failing": 0})
        g["files"] += 1
        g["failed"] += not c["success"]
        g["rows"] += int(c["element_count"] or 0)
        g["failing"] += int(c["unexpected_count"] or 0)
    order = sorted(grouped.items(), key=lambda kv: (kv[1]["failed"] == 0, ("block", "quarantine", "warn").index(kv[0][0])
                                                     if kv[0][0] in ("block", "quarantine", "warn") else 3))  # fmt: skip
    rows = []
    for (sev, code, etype, column), g in order:
        state = _badge("success") if not g["failed"] else _badge(
            "blocked" if sev == "block" else "late" if sev == "warn" else "quarantined")  # fmt: skip
        share = 100.0 * g["failing"] / g["rows"] if g["rows"] else 0.0
        rows.append([_e(sev), _e(code), f"<code>{_e(etype)}</code> {_e(column)}", state,
                     f"{g['failed']}/{g['files']}", _n(g["rows"]), _n(g["failing"]), f"{share:.2f}%"])  # fmt: skip
    head = ["Mức / Severity", "Mã / Code", "Kiểm tra / Expectation", "Kết quả / Result", "Tệp không đạt / Files failing",
            "Dòng / Rows", "Không đạt / Failing", "%"]  # fmt: skip
    failing = sum(1 for _, g in order if g["failed"])
    shown = _table(head, rows[:failing], numeric=(4, 5, 6, 7)) if failing else (
        '<p class="empty">Mọi kiểm tra đều đạt / Every check passed</p>')  # fmt: skip
    if len(rows) > failing:
        shown += (f"<details><summary>{len(rows) - failing} kiểm tra đạt / checks passed</summary>"
                  f"{_table(head, rows[failing:], numeric=(4, 5, 6, 7))}</details>")  # fmt: skip
    return shown


def write_run_report(wh: Any, settings: Settings, run_id: str, pages: Sequence[Any] = ()) -> Path:
    """`docs/runs/<run_id>.html` from the audit of one run (and its Data Docs pages)."""
    from pipelines.quarantine import reason_text
    from pipelines.specs import get_spec

    path = run_report_path(settings, run_id)
    found = wh.query(f"SELECT {', '.join(_RUN_COLS)} FROM {qualified(AUDIT_RUN.qualified)} WHERE run_id = ?", (run_id,))
    run = dict(zip(_RUN_COLS, found[-1], strict=True)) if found else {"run_id": run_id, "dataset": run_id.split("-")[0]}
    files = [dict(zip(_FILE_COLS, r, strict=True)) for r in wh.query(
        f"SELECT {', '.join(_FILE_COLS)} FROM {qualified(AUDIT_FILE.qualified)} WHERE run_id = ? ORDER BY period, file_name",
        (run_id,))]  # fmt: skip
    checks = [dict(zip(_CHECK_COLS, r, strict=True)) for r in wh.query(
        f"""SELECT {', '.join(_CHECK_COLS)} FROM {qualified(AUDIT_CHECK.qualified)} WHERE run_id = ?
            ORDER BY sha256, expectation_index""", (run_id,))]  # fmt: skip
    reasons = wh.query(
        f"""SELECT reason_code, count(*) FROM {qualified(QUARANTINE.qualified)} WHERE _run_id = ?
            GROUP BY reason_code ORDER BY count(*) DESC, reason_code""",
        (run_id,),
    )
    dataset = str(run.get("dataset"))
    try:
        spec = get_spec(dataset)
        title_vi = spec.title.vi
    except Exception:  # noqa: BLE001 — a report for a dataset no longer specified still renders
        spec, title_vi = None, dataset
    from pipelines.quality import page_path

    page_of = {p.sha256: p.path for p in pages}
    for f in files:
        candidate = page_path(settings, {**f, "run_id": run_id, "dataset": dataset, "finished_at": f["finished_at"]})
        if f["sha256"] not in page_of and candidate.exists():
            page_of[f["sha256"]] = candidate
    status = str(run.get("status") or "-")
    totals = {k: int(run.get(k) or 0) for k in ("rows_in", "rows_loaded", "rows_quarantined", "rows_duplicate")}
    tiles = "".join(
        f'<div class="tile{cls}"><b>{_n(v)}</b><span>{_e(label)}</span></div>'
        for v, label, cls in (
            (len(files), "Tệp / Files", ""),
            (totals["rows_in"], "Dòng đọc vào / Rows read", ""),
            (totals["rows_loaded"], "Đã nạp / Loaded", " good"),
            (totals["rows_quarantined"], "Cách ly / Quarantined", " bad" if totals["rows_quarantined"] else ""),
            (totals["rows_duplicate"], "Trùng lặp / Duplicates", ""),
        )
    )
    body = [f'<div class="tiles">{tiles}</div>']
    fates = [(f"{f['file_name']}", {"loaded": f["rows_loaded"] or 0, "quarantined": f["rows_quarantined"] or 0,
                                    "duplicate": f["rows_duplicate"] or 0}) for f in files if f["rows_in"]]  # fmt: skip
    note = "What became of every row, per file"
    if len(fates) > MAX_BARS:  # a backfill: the files with the most rows set aside
        fates = sorted(fates, key=lambda kv: (-kv[1]["quarantined"], kv[0]))[:MAX_BARS]
        note += f" — the {MAX_BARS} of {len(files)} files with the most quarantined rows"
    body.append(
        _section("Số phận từng dòng theo tệp", note, stacked_bars(fates, ("loaded", "quarantined", "duplicate")))
    )
    rows = []
    for f in files:
        doc = page_of.get(f["sha256"])
        link = f' · <a href="{_e(_rel(doc, path))}">Data Docs</a>' if doc else ""
        hint = _WHAT_TO_DO.get(str(f["status"]), "")
        message = _e(redact(str(f["message"] or "")))
        rows.append([
            f"{_e(f['file_name'])}<br><small>{_e(str(f['sha256'])[:12])}{link}</small>", _e(f["period"] or "-"),
            _badge(f["status"]), _n(f["rows_in"] or 0), _n(f["rows_loaded"] or 0), _n(f["rows_quarantined"] or 0),
            _n(f["rows_duplicate"] or 0), message + (f"<br><small>{_e(hint)}</small>" if hint else ""),
        ])  # fmt: skip
    body.append(_section("Tệp trong lần chạy", "Files in this run", _table(
        ["Tệp / File", "Kỳ / Period", "Kết quả / Status", "Vào / In", "Nạp / Loaded", "Cách ly / Quar.",
         "Trùng / Dup.", "Ghi chú / Message"], rows, numeric=(3, 4, 5, 6))))  # fmt: skip
    reason_rows = [(reason_text(str(code), spec), str(code), float(n)) for code, n in reasons]
    body.append(_section("Lý do cách ly", "Why rows were quarantined (main reason per row)", bar_table(reason_rows)))
    if checks:
        body.append(_section("Kiểm tra chất lượng (Great Expectations)", "Each check over the run's files, failing "
                             "first; every file's own results are on its Data Docs page. Severity: block stops the "
                             "file, quarantine sets rows aside, warn only counts", _checks_table(checks)))  # fmt: skip
    subtitle = (f"{_e(title_vi)} · {_badge(status)} · lần chạy / run <code>{_e(run_id)}</code> · "
                f"{_e(run.get('trigger') or '-')} · {_when(run.get('started_at'))} → {_when(run.get('finished_at'))}")  # fmt: skip
    return _write(path, _page(f"Báo cáo lần chạy / Run report — {dataset}", subtitle, "".join(body), depth=1))


# --- overview ---------------------------------------------------------------------------------


def write_overview(wh: Any, settings: Settings, reference_date: date | None = None) -> Path:
    """`docs/index.html`: the province's datasets, deliveries and quality as of `reference_date`."""
    from pipelines import scoreboard
    from pipelines.quarantine import reason_counts, reason_text
    from pipelines.specs import get_spec

    path = overview_path(settings)
    rows, lines, reference = scoreboard.compute(wh, reference_date)
    reference = reference_date or reference
    runs = []
    if wh.table_exists(AUDIT_RUN.qualified):
        runs = [dict(zip(_RUN_COLS, r, strict=True)) for r in wh.query(
            f"SELECT {', '.join(_RUN_COLS)} FROM {qualified(AUDIT_RUN.qualified)} ORDER BY finished_at DESC LIMIT 25")]  # fmt: skip
    delivered = [line for line in lines if line.first_period is not None]
    missing_now = sum(line.missing for line in lines)
    judged = sum(line.on_time + line.late for line in lines)
    on_time_share = 100.0 * sum(line.on_time for line in lines) / judged if judged else None
    loaded = sum(line.rows_loaded for line in lines)
    quarantined = sum(line.rows_quarantined for line in lines)
    bad_runs = sum(str(r["status"]) != "success" for r in runs)
    tiles = [
        (f"{len(delivered)}/{len(lines)}", "Bộ dữ liệu đã có / Datasets delivered", ""),
        (_n(loaded), "Dòng đang dùng / Rows in use", " good"),
        (_n(quarantined), "Dòng cách ly / Rows quarantined", " bad" if quarantined else ""),
        (f"{on_time_share:.0f}%" if on_time_share is not None else "-", "Giao đúng hạn / Delivered on time", ""),
        (str(missing_now), "Kỳ thiếu / Periods missing", " bad" if missing_now else " good"),
        (str(bad_runs), f"Lần chạy lỗi (trong {len(runs)} gần nhất) / Failed runs (of the last {len(runs)})",
         " bad" if bad_runs else ""),
    ]  # fmt: skip
    body = ['<div class="tiles">' + "".join(
        f'<div class="tile{cls}"><b>{_e(v)}</b><span>{_e(label)}</span></div>' for v, label, cls in tiles) + "</div>"]  # fmt: skip

    def title(dataset: str) -> str:
        try:
            return f"{get_spec(dataset).title.vi} ({dataset})"
        except Exception:  # noqa: BLE001
            return dataset

    fates = [
        (line.dataset, {"loaded": float(line.rows_loaded), "quarantined": float(line.rows_quarantined)})
        for line in delivered
    ]
    timeliness = [(_short(dept), {k: float(v) for k, v in counts.items()})
                  for dept, counts in scoreboard.by_department(lines).items() if sum(counts.values())]  # fmt: skip
    body.append('<div class="grid2">' + _section(
        "Dòng đã nạp và bị cách ly theo bộ dữ liệu", "Rows loaded vs quarantined by dataset (current deliveries)",
        stacked_bars(fates, ("loaded", "quarantined"), width=560)) + _section(
        "Giao nộp đúng hạn theo sở, ngành", "Delivery timeliness by department (expected periods)",
        stacked_bars(timeliness, ("on_time", "late", "missing", "pending"), width=560)) + "</div>")  # fmt: skip
    specs: dict[str, Any] = {}
    for dataset, _, _ in reason_counts(wh):
        try:
            specs[dataset] = get_spec(dataset)
        except Exception:  # noqa: BLE001
            specs[dataset] = None
    reasons = [(f"{reason_text(code, specs.get(dataset))}", f"{dataset}: {code}", float(n))
               for dataset, code, n in reason_counts(wh)[:12]]  # fmt: skip
    body.append(_section("Vì sao dòng bị cách ly", "Why rows are quarantined (current quarantine, main reason; "
                         "kds quarantine list <dataset>)", bar_table(reasons)))  # fmt: skip
    trend = {line.dataset: line.scores[-24:] for line in delivered if line.scores}
    body.append(_section("Điểm chất lượng theo kỳ", "Quality score per period (0–100: share of rows loaded, minus 10 "
                         "per blocked or rejected delivery; a missing period scores 0)", line_chart(trend)))  # fmt: skip
    board = []
    for line in lines:
        trend_txt = "-"
        if line.quality_trend is not None:
            cls = "up" if line.quality_trend > 0 else "down" if line.quality_trend < 0 else ""
            arrow = "▲" if line.quality_trend > 0 else "▼" if line.quality_trend < 0 else "■"
            trend_txt = f'<span class="{cls}">{arrow} {line.quality_trend:+.1f}</span>'
        board.append([
            f'<span title="{_e(line.department)}">{_e(_short(line.department))}</span>', _e(title(line.dataset)), _e(line.cadence), _when(line.last_seen_at),
            _badge(line.last_status) if line.last_status else "<small>chưa có / never</small>",
            str(line.on_time), str(line.late), str(line.missing),
            f"{100 * line.share_quarantined:.1f}%" if line.share_quarantined is not None else "-",
            str(line.blocking_failures),
            f"{line.quality_score:.0f}" if line.quality_score is not None else "-", trend_txt,
            sparkline([s for _, s in line.scores[-24:]]),
        ])  # fmt: skip
    body.append(_section("Bảng theo dõi giao nộp dữ liệu", f"Data delivery scoreboard as of {reference or '-'} "
                         "(mart.data_delivery_scoreboard; kds status)", _table(
        ["Sở, ngành / Department", "Bộ dữ liệu / Dataset", "Tần suất / Cadence", "Lần nhận cuối / Last delivery",
         "Kết quả / Outcome", "Đúng hạn / On time", "Trễ / Late", "Thiếu / Missing", "Cách ly / Quar.",
         "Chặn / Blocking", "Điểm / Score", "Xu hướng / Trend", ""], board, numeric=(5, 6, 7, 8, 9, 10))))  # fmt: skip
    run_rows = []
    for r in runs:
        report = run_report_path(settings, str(r["run_id"]))
        name = f'<a href="{_e(_rel(report, path))}">{_e(r["run_id"])}</a>' if report.exists() else _e(r["run_id"])
        run_rows.append([name, _e(r["dataset"]), _badge(str(r["status"])), _when(r["finished_at"]), _n(r["rows_in"] or 0),
                         _n(r["rows_loaded"] or 0), _n(r["rows_quarantined"] or 0),
                         _e(redact(str(r["message"] or "")))[:240]])  # fmt: skip
    body.append(_section("Các lần chạy gần nhất", "Last runs", _table(
        ["Lần chạy / Run", "Bộ dữ liệu / Dataset", "Kết quả / Status", "Kết thúc / Finished", "Vào / In",
         "Nạp / Loaded", "Cách ly / Quar.", "Ghi chú / Message"], run_rows, numeric=(4, 5, 6))))  # fmt: skip
    gx_index = settings.docs / "gx" / "index.html"
    docs_link = f' · <a href="{_e(_rel(gx_index, path))}">Great Expectations Data Docs</a>' if gx_index.exists() else ""
    subtitle = (f"Tổng quan vận hành / Operations overview · tính đến / as of {reference or '-'} · tạo lúc / generated "
                f"{datetime.now(UTC).astimezone(scoreboard.LOCAL).strftime('%Y-%m-%d %H:%M')}{docs_link}")  # fmt: skip
    return _write(path, _page("Kho dữ liệu số tỉnh — Tình hình dữ liệu / Provincial data repository", subtitle,
                              "".join(body)))  # fmt: skip


# --- after a run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunDocs:
    run_report: Path | None
    overview: Path | None
    data_docs: list[Any]
    seconds: float


def publish_run_docs(wh: Any, settings: Settings, run_id: str) -> RunDocs:
    """Data Docs of the run's files, the run report and the overview; each step logs where it is.

    Never raises: documentation must not turn a successful load into a failed run. The overview is
    as of the run's own date (from the audit), so it depends on nothing but the warehouse."""
    from pipelines.quality import build_data_docs, docs_url
    from pipelines.scoreboard import LOCAL

    t0 = time.monotonic()
    pages: list[Any] = []
    report = overview = None
    try:
        pages = build_data_docs(wh, settings, run_id)
        for p in pages:
            log.info("Data Docs for %s: %s", p.file_name, docs_url(settings, p.path))
    except Exception as exc:  # noqa: BLE001
        log.warning("Data Docs not built for run %s: %s: %s", run_id, type(exc).__name__, exc)
    try:
        report = write_run_report(wh, settings, run_id, pages)
        log.info("Run report: %s", docs_url(settings, report))
    except Exception as exc:  # noqa: BLE001
        log.warning("run report not written for %s: %s: %s", run_id, type(exc).__name__, exc)
    try:
        finished = wh.query(
            f"SELECT max(finished_at) FROM {qualified(AUDIT_RUN.qualified)} WHERE run_id = ?", (run_id,)
        )
        at = finished[0][0] if finished and finished[0][0] else None
        reference = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(LOCAL).date() if at else None
        overview = write_overview(wh, settings, reference)
        log.info("Overview: %s", docs_url(settings, overview))
    except Exception as exc:  # noqa: BLE001
        log.warning("overview not written after run %s: %s: %s", run_id, type(exc).__name__, exc)
    return RunDocs(report, overview, pages, round(time.monotonic() - t0, 3))
