"""The data delivery scoreboard: did each department deliver each expected period, on time, and how
good was what arrived. Owner: the data platform team; subjects: every department with a spec.

Grain of `mart.data_delivery_scoreboard`: one row per dataset and expected period, as of a
reference date. The rules are pure functions over audit rows (`audit.file` plus the failing
`block` checks of `audit.check_result`) and the spec's promise (cadence, deadline_days); the
reference date is always a parameter (only the CLI and the DAGs default it to today), so the same
audit gives the same scoreboard. `kds status`, the overview report, the mart and the
`watch_deliveries` DAG all read these functions.

Definitions
- Periods follow the cadence: daily → every day; monthly → every month (dated the 1st); annual →
  every year (dated 1 January), as the file names and the lake label them.
- A period ends on the day itself, the month's last day or 31 December; it is due `deadline_days`
  after its end.
- Expected periods run from the first period ever delivered to the last one that ended before
  the reference date (plus any period delivered ahead). A dataset never delivered has none.
  Files that arrived after the reference date are not known yet: a date's scoreboard never changes.
- Arrival is the first time the pipeline recorded a file of the period (`audit.file.finished_at`,
  in Asia/Ho_Chi_Minh). The nightly ingest starts at 01:00, so a file dropped on its due date is
  only seen the next morning: arrival up to ARRIVAL_GRACE after the due date's midnight is on time.
- Timeliness: `on_time` / `late` by that deadline; `missing` when nothing was recorded and the
  reference date is after the due date; `pending` when nothing arrived yet but it is not due.
- Quality score of a period, 0–100: 100 × rows loaded / (rows loaded + rows quarantined) of the
  period's current delivery (exact duplicates do not count against it; 100 for an empty file, 0
  when nothing was loaded), minus BLOCK_PENALTY points per blocked or rejected attempt for the
  period (each one cost a round trip with the department), never below 0. A missing period scores
  0; a pending one has no score. Failed runs (infrastructure) cost nothing: not the department's doing.
- A dataset's score is the mean of its last SCORE_WINDOW scored periods; its trend is that mean
  minus the mean of the (up to) SCORE_WINDOW periods before (None when there are none).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pipelines.specs import DatasetSpec

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
ARRIVAL_GRACE = timedelta(hours=6)  # the nightly run (01:00) and its retries see the due date's files
BLOCK_PENALTY = 10.0
SCORE_WINDOW = 6
TREND_PERIODS = 3  # a period's trend: its score minus the mean of this many scored periods before it

TIMELINESS = ("on_time", "late", "missing", "pending")


def local_today() -> date:
    """Today in the province. Call only at the edges (CLI, DAG tasks), never inside the rules."""
    return datetime.now(LOCAL).date()


@dataclass(frozen=True)
class Promise:
    """What a department promised for one dataset (from its spec)."""

    dataset: str
    department: str
    cadence: str  # daily | monthly | annual
    deadline_days: int

    @classmethod
    def of(cls, spec: DatasetSpec) -> Promise:
        return cls(spec.name, spec.department, spec.cadence, spec.deadline_days)


@dataclass(frozen=True)
class FileEvent:
    """One `audit.file` row (one file in one run), with its failing blocking checks."""

    dataset: str
    file_name: str
    sha256: str
    period: date | None
    status: str
    finished_at: datetime
    scope: str = "all"
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    replaces_sha256: str | None = None
    run_id: str = ""
    blocking_failures: int = 0

    @property
    def seen_at(self) -> datetime:
        at = self.finished_at if self.finished_at.tzinfo else self.finished_at.replace(tzinfo=UTC)
        return at.astimezone(LOCAL)


@dataclass(frozen=True)
class PeriodScore:
    """One row of `mart.data_delivery_scoreboard`."""

    department: str
    dataset: str
    cadence: str
    period: date
    period_end: date
    due_date: date
    timeliness: str  # on_time | late | missing | pending
    first_seen_at: datetime | None
    days_late: int | None
    files: int
    attempts_blocked: int
    attempts_rejected: int
    is_loaded: bool
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    share_quarantined: float | None
    blocking_failures: int
    quality_score: float | None
    score_trend: float | None
    reference_date: date


@dataclass(frozen=True)
class DatasetScore:
    """A dataset's line on the scoreboard (what `kds status` and the overview show)."""

    department: str
    dataset: str
    cadence: str
    deadline_days: int
    first_period: date | None
    last_file: str | None
    last_period: date | None
    last_seen_at: datetime | None
    last_status: str | None
    on_time: int
    late: int
    missing: int
    pending: int
    latest_missing: date | None
    rows_loaded: int  # current deliveries of all periods
    rows_quarantined: int
    share_quarantined: float | None
    blocking_failures: int
    unattributed_rejections: int  # rejected files whose name gives no period
    quality_score: float | None
    quality_trend: float | None
    scores: list[tuple[date, float]] = field(default_factory=list)  # (period, score), oldest first

    @property
    def timeliness(self) -> dict[str, int]:
        return {"on_time": self.on_time, "late": self.late, "missing": self.missing, "pending": self.pending}


# --- calendar ------------------------------------------------------------------------------------


def period_of(day: date, cadence: str) -> date:
    """The period a day belongs to (its label date)."""
    if cadence == "daily":
        return day
    if cadence == "monthly":
        return day.replace(day=1)
    return date(day.year, 1, 1)


def next_period(period: date, cadence: str) -> date:
    if cadence == "daily":
        return period + timedelta(days=1)
    if cadence == "monthly":
        return date(period.year + period.month // 12, period.month % 12 + 1, 1)
    return date(period.year + 1, 1, 1)


def period_end(period: date, cadence: str) -> date:
    if cadence == "daily":
        return period
    if cadence == "monthly":
        return period.replace(day=calendar.monthrange(period.year, period.month)[1])
    return date(period.year, 12, 31)


def due_date(period: date, promise: Promise) -> date:
    return period_end(period, promise.cadence) + timedelta(days=promise.deadline_days)


def deadline(due: date) -> datetime:
    """The last instant an arrival counts as on time: ARRIVAL_GRACE into the day after the due date."""
    return datetime.combine(due + timedelta(days=1), time(0), LOCAL) + ARRIVAL_GRACE


def expected_periods(first: date, reference: date, cadence: str) -> list[date]:
    """Every period from `first` whose end is before `reference` (at least `first` itself)."""
    periods: list[date] = []
    p = period_of(first, cadence)
    while period_end(p, cadence) < reference or not periods:
        periods.append(p)
        p = next_period(p, cadence)
        if p > reference:
            break
    return periods


# --- scoring -------------------------------------------------------------------------------------


def _score(loaded: FileEvent | None, current: Sequence[FileEvent], round_trips: int) -> float:
    if loaded is None:
        base = 0.0
    else:
        good = sum(e.rows_loaded for e in current)
        bad = sum(e.rows_quarantined for e in current)
        base = 100.0 * good / (good + bad) if good + bad else 100.0
    return round(max(0.0, base - BLOCK_PENALTY * round_trips), 1)


def score_periods(promise: Promise, events: Iterable[FileEvent], reference: date) -> list[PeriodScore]:
    """The dataset's expected periods as of `reference`, each with its timeliness and quality."""
    mine = [e for e in events if e.dataset == promise.dataset and e.period is not None and _known(e, reference)]
    if not mine:
        return []
    by_period: dict[date, list[FileEvent]] = defaultdict(list)
    for e in mine:
        assert e.period is not None
        by_period[period_of(e.period, promise.cadence)].append(e)
    periods = sorted(set(expected_periods(min(by_period), reference, promise.cadence)) | set(by_period))
    rows: list[PeriodScore] = []
    history: list[float] = []
    for p in periods:
        due = due_date(p, promise)
        attempts = sorted(by_period.get(p, []), key=lambda e: e.finished_at)
        # The current delivery of each scope: its latest loaded file.
        current: dict[str, FileEvent] = {}
        for e in attempts:
            if e.status == "loaded":
                current[e.scope] = e
        loaded = list(current.values())
        round_trips = sum(e.status in ("blocked", "rejected") for e in attempts)
        first_seen = attempts[0].seen_at if attempts else None
        days_late = None
        if first_seen is not None:
            timeliness = "on_time" if first_seen <= deadline(due) else "late"
            if timeliness == "late":
                days_late = (first_seen.date() - due).days
            score: float | None = _score(loaded[-1] if loaded else None, loaded, round_trips)
        elif reference > due:
            timeliness, score = "missing", 0.0
        else:
            timeliness, score = "pending", None
        trend = None
        if score is not None:
            if history:
                recent = history[-TREND_PERIODS:]
                trend = round(score - sum(recent) / len(recent), 1)
            history.append(score)
        good = sum(e.rows_loaded for e in loaded)
        bad = sum(e.rows_quarantined for e in loaded)
        rows.append(
            PeriodScore(
                department=promise.department, dataset=promise.dataset, cadence=promise.cadence, period=p,
                period_end=period_end(p, promise.cadence), due_date=due, timeliness=timeliness,
                first_seen_at=first_seen, days_late=days_late, files=len({e.sha256 for e in attempts}),
                attempts_blocked=sum(e.status == "blocked" for e in attempts),
                attempts_rejected=sum(e.status == "rejected" for e in attempts), is_loaded=bool(loaded),
                rows_in=sum(e.rows_in for e in loaded), rows_loaded=good, rows_quarantined=bad,
                share_quarantined=round(bad / (good + bad), 4) if good + bad else None,
                blocking_failures=sum(e.blocking_failures for e in attempts), quality_score=score,
                score_trend=trend, reference_date=reference,
            )
        )  # fmt: skip
    return rows


def _known(event: FileEvent, reference: date) -> bool:
    """As of a past date, what arrived later is not known yet: the scoreboard of a date never changes."""
    return event.seen_at.date() <= reference


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def summarise(
    promise: Promise, rows: Sequence[PeriodScore], events: Iterable[FileEvent], reference: date | None = None
) -> DatasetScore:
    """The dataset's line as of `reference` (default: that of `rows`): counts by timeliness, current
    rows, score and trend."""
    reference = reference or (rows[0].reference_date if rows else None)
    mine = sorted(
        (e for e in events if e.dataset == promise.dataset and (reference is None or _known(e, reference))),
        key=lambda e: e.finished_at,
    )
    last = mine[-1] if mine else None
    counts = {t: sum(r.timeliness == t for r in rows) for t in TIMELINESS}
    scored = [(r.period, r.quality_score) for r in rows if r.quality_score is not None]
    values = [s for _, s in scored]
    now = _mean(values[-SCORE_WINDOW:])
    before = _mean(values[-2 * SCORE_WINDOW : -SCORE_WINDOW])
    good = sum(r.rows_loaded for r in rows)
    bad = sum(r.rows_quarantined for r in rows)
    missing = [r.period for r in rows if r.timeliness == "missing"]
    return DatasetScore(
        department=promise.department, dataset=promise.dataset, cadence=promise.cadence,
        deadline_days=promise.deadline_days, first_period=rows[0].period if rows else None,
        last_file=last.file_name if last else None, last_period=last.period if last else None,
        last_seen_at=last.seen_at if last else None, last_status=last.status if last else None,
        on_time=counts["on_time"], late=counts["late"], missing=counts["missing"], pending=counts["pending"],
        latest_missing=max(missing) if missing else None, rows_loaded=good, rows_quarantined=bad,
        share_quarantined=round(bad / (good + bad), 4) if good + bad else None,
        blocking_failures=sum(r.blocking_failures for r in rows),
        unattributed_rejections=sum(e.period is None and e.status == "rejected" for e in mine),
        quality_score=now, quality_trend=round(now - before, 1) if now is not None and before is not None else None,
        scores=[(p, float(s)) for p, s in scored],
    )  # fmt: skip


def scoreboard(
    promises: Sequence[Promise], events: Sequence[FileEvent], reference: date
) -> tuple[list[PeriodScore], list[DatasetScore]]:
    """Every dataset's periods and its summary line, ordered by department then dataset."""
    rows: list[PeriodScore] = []
    lines: list[DatasetScore] = []
    for promise in sorted(promises, key=lambda p: (p.department, p.dataset)):
        mine = score_periods(promise, events, reference)
        rows += mine
        lines.append(summarise(promise, mine, events, reference))
    return rows, lines


def overdue(rows: Iterable[PeriodScore]) -> dict[str, list[PeriodScore]]:
    """Missing periods by dataset (oldest first): what the watcher alerts on."""
    out: dict[str, list[PeriodScore]] = defaultdict(list)
    for r in rows:
        if r.timeliness == "missing":
            out[r.dataset].append(r)
    return dict(out)


def by_department(lines: Iterable[DatasetScore]) -> dict[str, dict[str, int]]:
    """Timeliness counts per department (the report's chart)."""
    out: dict[str, dict[str, int]] = {}
    for line in lines:
        counts = out.setdefault(line.department, dict.fromkeys(TIMELINESS, 0))
        for key, value in line.timeliness.items():
            counts[key] += value
    return out


# --- warehouse -----------------------------------------------------------------------------------
# Everything below reads or writes through the Warehouse interface only (DuckDB and PostgreSQL).


def _table() -> Any:
    from pipelines.warehouse.tables import make_table

    return make_table(
        "mart", "data_delivery_scoreboard",
        "Bảng theo dõi giao nộp dữ liệu: mỗi bộ dữ liệu, mỗi kỳ dự kiến — đúng hạn, trễ, thiếu và chất lượng / "
        "Data delivery scoreboard: one row per dataset and expected period, as of reference_date — on time, "
        "late, missing, and the quality of what arrived (definitions: pipelines/scoreboard.py).",
        ("department", "text", "Sở/ngành giao dữ liệu / Delivering department"),
        ("dataset", "text", "Bộ dữ liệu / Dataset"),
        ("cadence", "text", "Tần suất cam kết: daily | monthly | annual / Promised cadence"),
        ("period", "date", "Kỳ dữ liệu / Period"),
        ("period_end", "date", "Ngày kết thúc kỳ / Last day of the period"),
        ("due_date", "date", "Hạn giao (cuối kỳ + số ngày cho phép) / Due date (period end + deadline_days)"),
        ("timeliness", "text", "on_time | late | missing | pending (đúng hạn, trễ, thiếu, chưa đến hạn)"),
        ("first_seen_at", "timestamp", "Lần đầu hệ thống nhận tệp của kỳ (UTC) / First file of the period seen (UTC)"),
        ("days_late", "bigint", "Số ngày trễ / Days late"),
        ("files", "bigint", "Số tệp khác nhau đã nhận cho kỳ / Distinct files received for the period"),
        ("attempts_blocked", "bigint", "Số lần tệp bị chặn / Blocked attempts"),
        ("attempts_rejected", "bigint", "Số lần tệp bị từ chối / Rejected attempts"),
        ("is_loaded", "boolean", "Kỳ đã có dữ liệu được nạp / The period has loaded data"),
        ("rows_in", "bigint", "Dòng của lần giao hiện hành / Rows of the current delivery"),
        ("rows_loaded", "bigint", "Dòng đã nạp / Rows loaded"),
        ("rows_quarantined", "bigint", "Dòng cách ly / Rows quarantined"),
        ("share_quarantined", "double", "Tỷ lệ cách ly (0–1) / Share quarantined (0–1)"),
        ("blocking_failures", "bigint", "Số kiểm tra chặn không đạt / Failing blocking checks"),
        ("quality_score", "double", "Điểm chất lượng 0–100 / Quality score 0–100"),
        ("score_trend", "double", "Chênh lệch so với trung bình 3 kỳ trước / Score minus the mean of the 3 scored periods before"),
        ("reference_date", "date", "Ngày tham chiếu của bảng / Reference date of the scoreboard"),
    )  # fmt: skip


SCOREBOARD_TABLE = "mart.data_delivery_scoreboard"


def load_events(wh: Any) -> list[FileEvent]:
    """Every audit.file row with its count of failing blocking checks."""
    from pipelines.warehouse.tables import AUDIT_CHECK, AUDIT_FILE, qualified

    if not wh.table_exists(AUDIT_FILE.qualified):
        return []
    blocking: dict[tuple[str, str], int] = {}
    if wh.table_exists(AUDIT_CHECK.qualified):
        for run_id, sha, n in wh.query(
            f"""SELECT run_id, sha256, count(*) FROM {qualified(AUDIT_CHECK.qualified)}
                WHERE severity = 'block' AND NOT success GROUP BY run_id, sha256"""
        ):
            blocking[(str(run_id), str(sha))] = int(n)
    rows = wh.query(
        f"""SELECT dataset, file_name, sha256, period, status, finished_at, scope, rows_in, rows_loaded,
                   rows_quarantined, rows_duplicate, replaces_sha256, run_id
            FROM {qualified(AUDIT_FILE.qualified)} ORDER BY finished_at"""
    )
    return [
        FileEvent(
            dataset=r[0],
            file_name=r[1],
            sha256=r[2],
            period=r[3],
            status=r[4],
            finished_at=r[5],
            scope=r[6] or "all",
            rows_in=r[7] or 0,
            rows_loaded=r[8] or 0,
            rows_quarantined=r[9] or 0,
            rows_duplicate=r[10] or 0,
            replaces_sha256=r[11],
            run_id=r[12] or "",
            blocking_failures=blocking.get((str(r[12]), str(r[2])), 0),
        )  # fmt: skip
        for r in rows
    ]


def default_reference(events: Sequence[FileEvent]) -> date | None:
    """Without a reference date, the scoreboard is as of the latest audit event (deterministic)."""
    return max(e.seen_at for e in events).date() if events else None


def promises(specs: Sequence[DatasetSpec] | None = None) -> list[Promise]:
    from pipelines.specs import available_datasets, get_spec

    return [Promise.of(s) for s in (specs if specs is not None else [get_spec(n) for n in available_datasets()])]


def compute(wh: Any, reference_date: date | None = None) -> tuple[list[PeriodScore], list[DatasetScore], date | None]:
    """The scoreboard from the warehouse's audit, as of `reference_date` (default: latest audit event)."""
    events = load_events(wh)
    reference = reference_date or default_reference(events)
    if reference is None:
        return [], [summarise(p, [], []) for p in promises()], None
    rows, lines = scoreboard(promises(), events, reference)
    return rows, lines, reference


def build_scoreboard(wh: Any, reference_date: date | None = None) -> dict[str, int]:
    """Rebuild `mart.data_delivery_scoreboard` (inside the caller's transaction when there is one)."""
    import pyarrow as pa

    from pipelines.warehouse.tables import arrow_to_logical, create_statements, qualified

    table = _table()
    rows, _, _ = compute(wh, reference_date)
    types = {"text": pa.string(), "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC"),
             "bigint": pa.int64(), "double": pa.float64(), "boolean": pa.bool_()}  # fmt: skip
    schema = pa.schema([pa.field(c.name, types[c.type]) for c in table.columns])
    assert all(arrow_to_logical(f.type) == c.type for f, c in zip(schema, table.columns, strict=True))
    records = [asdict(r) for r in rows]
    for rec in records:
        if rec["first_seen_at"] is not None:
            rec["first_seen_at"] = rec["first_seen_at"].astimezone(UTC)
    data = pa.Table.from_pylist(records, schema=schema)
    with wh.transaction():
        wh.execute(f"DROP TABLE IF EXISTS {qualified(SCOREBOARD_TABLE)}")
        for statement in create_statements(table, wh.dialect):
            wh.execute(statement)
        if data.num_rows:
            wh.insert_arrow(SCOREBOARD_TABLE, data)
    return {SCOREBOARD_TABLE: data.num_rows}
