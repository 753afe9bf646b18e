"""The delivery scoreboard on hand-made audit rows: on time / late / missing / pending at their
boundaries, expected periods per cadence, the quality score and its trend."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from pipelines.scoreboard import (
    LOCAL,
    FileEvent,
    Promise,
    by_department,
    deadline,
    due_date,
    expected_periods,
    next_period,
    overdue,
    period_end,
    score_periods,
    scoreboard,
    summarise,
)

pytestmark = pytest.mark.unit

MONTHLY = Promise("labour_supply", "Sở Nội vụ", "monthly", 5)
DAILY = Promise("enterprises", "Sở Tài chính", "daily", 2)
ANNUAL = Promise("poor_households", "Sở Nông nghiệp và Môi trường", "annual", 30)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL)  # type: ignore[misc]


def event(
    promise: Promise,
    period: date | None,
    seen: datetime,
    status: str = "loaded",
    loaded: int = 100,
    quarantined: int = 0,
    *,
    sha: str | None = None,
    scope: str = "all",
    blocking: int = 0,
) -> FileEvent:
    return FileEvent(
        dataset=promise.dataset, file_name=f"{promise.dataset}_{period}.xlsx", sha256=sha or f"{period}-{seen}",
        period=period, status=status, finished_at=seen, scope=scope,
        rows_in=loaded + quarantined if status == "loaded" else 0,
        rows_loaded=loaded if status == "loaded" else 0, rows_quarantined=quarantined if status == "loaded" else 0,
        blocking_failures=blocking,
    )  # fmt: skip


def only(rows: list, period: date):  # type: ignore[no-untyped-def]
    [row] = [r for r in rows if r.period == period]
    return row


# --- calendar --------------------------------------------------------------------------------


def test_period_ends_and_due_dates() -> None:
    assert period_end(date(2024, 2, 1), "monthly") == date(2024, 2, 29)  # leap year
    assert period_end(date(2025, 1, 1), "annual") == date(2025, 12, 31)
    assert period_end(date(2025, 3, 31), "daily") == date(2025, 3, 31)
    assert next_period(date(2025, 12, 1), "monthly") == date(2026, 1, 1)
    assert due_date(date(2025, 3, 1), MONTHLY) == date(2025, 4, 5)
    assert due_date(date(2025, 3, 31), DAILY) == date(2025, 4, 2)
    assert due_date(date(2024, 1, 1), ANNUAL) == date(2025, 1, 30)
    assert deadline(date(2025, 4, 5)) == local(2025, 4, 6, 6, 0)


def test_expected_periods_run_from_the_first_delivery_to_the_last_ended_period() -> None:
    assert expected_periods(date(2025, 1, 1), date(2025, 5, 10), "monthly") == [
        date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]  # fmt: skip
    # A period that ends on the reference date has not ended yet.
    assert expected_periods(date(2025, 3, 31), date(2025, 4, 3), "daily") == [
        date(2025, 3, 31), date(2025, 4, 1), date(2025, 4, 2)]  # fmt: skip
    assert expected_periods(date(2023, 1, 1), date(2025, 6, 1), "annual") == [date(2023, 1, 1), date(2024, 1, 1)]
    # The first delivery itself is always expected, even when delivered ahead of its end.
    assert expected_periods(date(2025, 6, 1), date(2025, 6, 10), "monthly") == [date(2025, 6, 1)]


# --- timeliness at the boundaries ------------------------------------------------------------


@pytest.mark.parametrize(
    ("seen", "timeliness", "days_late"),
    [
        (local(2025, 4, 5, 23, 59), "on_time", None),  # on the due date
        (local(2025, 4, 6, 5, 59), "on_time", None),  # the nightly run the morning after
        (local(2025, 4, 6, 6, 0), "on_time", None),  # the last instant of the grace
        (local(2025, 4, 6, 6, 1), "late", 1),
        (local(2025, 4, 20, 9, 0), "late", 15),
        (datetime(2025, 4, 5, 23, 30, tzinfo=UTC), "late", 1),  # 06:30 on the 6th in Quy Nhơn
        (datetime(2025, 4, 5, 22, 59, tzinfo=UTC), "on_time", None),  # 05:59 on the 6th in Quy Nhơn
    ],
)
def test_on_time_or_late_by_first_arrival(seen: datetime, timeliness: str, days_late: int | None) -> None:
    rows = score_periods(MONTHLY, [event(MONTHLY, date(2025, 3, 1), seen)], reference=date(2025, 5, 1))
    row = only(rows, date(2025, 3, 1))
    assert (row.timeliness, row.days_late) == (timeliness, days_late)
    assert row.due_date == date(2025, 4, 5)


def test_a_naive_timestamp_is_read_as_utc() -> None:
    row = score_periods(MONTHLY, [event(MONTHLY, date(2025, 3, 1), datetime(2025, 4, 5, 23, 30))], date(2025, 5, 1))[0]
    assert row.timeliness == "late"


def test_missing_only_after_the_due_date_pending_before() -> None:
    march = event(MONTHLY, date(2025, 3, 1), local(2025, 4, 2, 1, 0))
    on_due = score_periods(MONTHLY, [march], reference=date(2025, 5, 5))  # April is due on 5 May
    assert only(on_due, date(2025, 4, 1)).timeliness == "pending"
    assert only(on_due, date(2025, 4, 1)).quality_score is None
    after = score_periods(MONTHLY, [march], reference=date(2025, 5, 6))
    april = only(after, date(2025, 4, 1))
    assert (april.timeliness, april.quality_score, april.files, april.is_loaded) == ("missing", 0.0, 0, False)
    assert [r.period for r in after] == [date(2025, 3, 1), date(2025, 4, 1)]  # May has not ended


def test_gaps_between_deliveries_are_missing_and_a_late_delivery_turns_missing_into_late() -> None:
    jan = event(MONTHLY, date(2025, 1, 1), local(2025, 2, 3, 1, 0))
    mar = event(MONTHLY, date(2025, 3, 1), local(2025, 4, 3, 1, 0))
    rows = score_periods(MONTHLY, [jan, mar], reference=date(2025, 5, 10))
    assert [(r.period.month, r.timeliness) for r in rows] == [
        (1, "on_time"), (2, "missing"), (3, "on_time"), (4, "missing")]  # fmt: skip
    assert [r.period for r in overdue(rows)["labour_supply"]] == [date(2025, 2, 1), date(2025, 4, 1)]
    feb_late = event(MONTHLY, date(2025, 2, 1), local(2025, 5, 12, 1, 0))
    rows = score_periods(MONTHLY, [jan, mar, feb_late], reference=date(2025, 5, 13))
    assert only(rows, date(2025, 2, 1)).timeliness == "late"
    assert only(rows, date(2025, 2, 1)).days_late == 68  # due 5 March


def test_what_arrived_after_the_reference_date_is_not_known_yet() -> None:
    march = event(MONTHLY, date(2025, 3, 1), local(2025, 4, 2, 1, 0))
    april = event(MONTHLY, date(2025, 4, 1), local(2025, 5, 20, 1, 0))
    rows = score_periods(MONTHLY, [march, april], reference=date(2025, 5, 10))
    assert only(rows, date(2025, 4, 1)).timeliness == "missing"
    line = summarise(MONTHLY, rows, [march, april])
    assert line.last_period == date(2025, 3, 1) and line.missing == 1
    assert (
        only(score_periods(MONTHLY, [march, april], reference=date(2025, 5, 20)), date(2025, 4, 1)).timeliness == "late"
    )


def test_daily_cadence_boundaries() -> None:
    rows = score_periods(DAILY, [event(DAILY, date(2025, 3, 31), local(2025, 4, 1, 1, 0))], reference=date(2025, 4, 4))
    assert [(r.period.day, r.timeliness) for r in rows] == [
        (31, "on_time"),
        (1, "missing"),
        (2, "pending"),
        (3, "pending"),
    ]


def test_annual_cadence() -> None:
    rows = score_periods(
        ANNUAL, [event(ANNUAL, date(2023, 1, 1), local(2024, 1, 20, 1, 0))], reference=date(2025, 1, 31)
    )
    assert [(r.period.year, r.timeliness) for r in rows] == [(2023, "on_time"), (2024, "missing")]
    rows = score_periods(
        ANNUAL, [event(ANNUAL, date(2023, 1, 1), local(2024, 1, 20, 1, 0))], reference=date(2025, 1, 30)
    )
    assert only(rows, date(2024, 1, 1)).timeliness == "pending"


def test_a_rejected_attempt_is_an_arrival_but_not_a_load() -> None:
    rejected = event(MONTHLY, date(2025, 3, 1), local(2025, 4, 2, 1, 0), status="rejected")
    row = score_periods(MONTHLY, [rejected], reference=date(2025, 4, 30))[0]
    assert (row.timeliness, row.is_loaded, row.attempts_rejected, row.quality_score) == ("on_time", False, 1, 0.0)


# --- quality ---------------------------------------------------------------------------------


def test_quality_score_is_the_loaded_share_minus_penalties() -> None:
    p = date(2025, 3, 1)
    seen = local(2025, 4, 2, 1, 0)
    later = local(2025, 4, 3, 1, 0)

    def score(*events: FileEvent) -> float | None:
        return only(score_periods(MONTHLY, list(events), reference=date(2025, 4, 30)), p).quality_score

    assert score(event(MONTHLY, p, seen, loaded=90, quarantined=10)) == 90.0
    assert score(event(MONTHLY, p, seen, loaded=0, quarantined=0)) == 100.0  # an empty file has no defect
    blocked = event(MONTHLY, p, seen, status="blocked", blocking=2)
    assert score(blocked, event(MONTHLY, p, later, loaded=90, quarantined=10)) == 80.0
    rejected = event(MONTHLY, p, seen, status="rejected")
    assert score(rejected, blocked, event(MONTHLY, p, later, loaded=90, quarantined=10)) == 70.0
    assert score(event(MONTHLY, p, seen, status="failed"), event(MONTHLY, p, later, loaded=90, quarantined=10)) == 90.0
    assert score(*[event(MONTHLY, p, local(2025, 4, 2, h, 0), status="blocked") for h in range(12)]) == 0.0  # floor
    # A corrected file replaces the first one: the period scores what is loaded now.
    first = event(MONTHLY, p, seen, loaded=50, quarantined=50, sha="a")
    fixed = event(MONTHLY, p, later, loaded=100, quarantined=0, sha="b")
    row = only(score_periods(MONTHLY, [first, fixed], reference=date(2025, 4, 30)), p)
    assert (row.quality_score, row.files, row.rows_quarantined, row.timeliness) == (100.0, 2, 0, "on_time")
    assert row.blocking_failures == 0
    assert only(score_periods(MONTHLY, [blocked], reference=date(2025, 4, 30)), p).blocking_failures == 2


def test_scopes_add_up_within_a_period() -> None:
    p = date(2025, 3, 1)
    a = event(MONTHLY, p, local(2025, 4, 2, 1, 0), loaded=60, quarantined=0, scope="21550", sha="a")
    b = event(MONTHLY, p, local(2025, 4, 2, 1, 0), loaded=30, quarantined=10, scope="21553", sha="b")
    row = score_periods(MONTHLY, [a, b], reference=date(2025, 4, 30))[0]
    assert (row.rows_loaded, row.rows_quarantined, row.quality_score, row.share_quarantined) == (90, 10, 90.0, 0.1)


def test_trend_per_period_and_per_dataset() -> None:
    shares = [100, 100, 100, 90, 80, 70, 60, 50, 40]
    events = []
    month = date(2024, 1, 1)
    for good in shares:
        seen = datetime.combine(period_end(month, "monthly") + timedelta(days=1), time(1), LOCAL)
        events.append(event(MONTHLY, month, seen, loaded=good, quarantined=100 - good))
        month = next_period(month, "monthly")
    rows = score_periods(MONTHLY, events, reference=date(2024, 10, 10))
    assert [r.quality_score for r in rows] == [float(s) for s in shares]
    assert rows[0].score_trend is None
    assert rows[3].score_trend == -10.0  # 90 against the mean of 100, 100, 100
    assert rows[8].score_trend == -20.0  # 40 against the mean of 70, 60, 50
    line = summarise(MONTHLY, rows, events)
    assert line.quality_score == 65.0  # the last six: 90 80 70 60 50 40
    assert line.quality_trend == -35.0  # against 100 100 100
    assert line.on_time == 9 and line.missing == 0


def test_summary_and_department_counts() -> None:
    jan = event(MONTHLY, date(2025, 1, 1), local(2025, 2, 3, 1, 0), loaded=80, quarantined=20)
    mar = event(MONTHLY, date(2025, 3, 1), local(2025, 4, 9, 1, 0), loaded=100)
    stray = event(MONTHLY, None, local(2025, 4, 10, 1, 0), status="rejected")
    d = event(DAILY, date(2025, 5, 8), local(2025, 5, 9, 1, 0))
    rows, lines = scoreboard([MONTHLY, DAILY, ANNUAL], [jan, mar, stray, d], reference=date(2025, 5, 10))
    by_name = {line.dataset: line for line in lines}
    labour = by_name["labour_supply"]
    assert (labour.on_time, labour.late, labour.missing, labour.pending) == (1, 1, 2, 0)
    assert labour.latest_missing == date(2025, 4, 1)
    assert labour.last_status == "rejected" and labour.unattributed_rejections == 1
    assert (labour.rows_loaded, labour.rows_quarantined, labour.share_quarantined) == (180, 20, 0.1)
    assert labour.quality_score == round((80 + 0 + 100 + 0) / 4, 1)
    never = by_name["poor_households"]
    assert never.first_period is None and never.quality_score is None and never.timeliness == dict.fromkeys(
        ("on_time", "late", "missing", "pending"), 0)  # fmt: skip
    assert by_department(lines)["Sở Nội vụ"] == {"on_time": 1, "late": 1, "missing": 2, "pending": 0}
    assert by_department(lines)["Sở Tài chính"]["on_time"] == 1
    assert [line.department for line in lines] == sorted(line.department for line in lines)
    assert {r.reference_date for r in rows} == {date(2025, 5, 10)}
    # Same audit, same reference date: same scoreboard.
    assert scoreboard([MONTHLY, DAILY, ANNUAL], [jan, mar, stray, d], reference=date(2025, 5, 10)) == (rows, lines)
