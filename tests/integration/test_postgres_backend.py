"""The PostgreSQL warehouse behind the same interface as DuckDB: DDL with comments, COPY round trips,
transactions, advisory locks, lock_timeout behind a blocking session, a dropped connection, and the
engine's load SQL (SCD2, quarantine, audit) giving the same state as on DuckDB.

Every test gets its own database `kds_<uuid>` on the server of KDS_TEST_POSTGRES_URL, dropped after.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import load
from pipelines.conform import output_schema
from pipelines.specs import get_spec
from pipelines.warehouse import Warehouse, WarehouseError, connect
from pipelines.warehouse.postgres import COPY_BATCH_ROWS, PostgresWarehouse, lock_key, mask_url, to_psycopg
from pipelines.warehouse.tables import QUARANTINE, Column, Table, core_table
from tests.pg import admin, fresh_database, server_url

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

SPEC = get_spec("enterprises")
INJECTION = "'); DROP TABLE x; --"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database(server_url()) as url:
        yield url


@pytest.fixture
def wh(pg_url: str) -> Iterator[PostgresWarehouse]:
    warehouse = connect(pg_url)
    assert isinstance(warehouse, PostgresWarehouse)
    with warehouse:
        yield warehouse


@pytest.fixture
def other(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A second session on the test database (a BI user, an operator, another run)."""
    with admin(pg_url) as con:
        yield con


# --- DDL -------------------------------------------------------------------------------------------


def test_ensure_creates_schemas_and_tables_with_comments(wh: PostgresWarehouse, other: psycopg.Connection[Any]) -> None:
    load.ensure_warehouse(wh, [SPEC])
    load.ensure_warehouse(wh, [SPEC])  # idempotent

    schemas = {r[0] for r in other.execute("SELECT nspname FROM pg_namespace")}
    assert {"ref", "core", "mart", "audit", "restricted"} <= schemas
    table = core_table(SPEC)
    comment = other.execute("SELECT obj_description('core.enterprise'::regclass, 'pg_class')").fetchone()
    assert comment == (table.comment,)
    columns = dict(
        other.execute(
            """SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a
               WHERE a.attrelid = 'core.enterprise'::regclass AND a.attnum > 0 AND NOT a.attisdropped"""
        ).fetchall()
    )
    assert list(columns) == table.column_names
    assert {n: c for n, c in columns.items() if c} == {c.name: c.comment for c in table.columns if c.comment}
    assert "Mã số doanh nghiệp" in (columns["tax_code"] or "")  # Vietnamese survives as written
    types = dict(
        other.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'quarantine'"
        ).fetchall()
    )
    assert types["period"] == "date" and types["_source_row_number"] == "bigint" and types["record"] == "text"


def test_ensure_on_existing_tables_adds_only_what_changed_without_blocking_readers(
    wh: PostgresWarehouse, pg_url: str, other: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader in the middle of a query must not make the next run's ensure() wait (no needless ALTER)."""
    table = Table("core", "thing", (Column("id", "bigint", "Khoá / Key"), Column("note", "text", "Ghi chú")), "Vật")
    wh.ensure([table])
    monkeypatch.setenv("KDS_PG_LOCK_TIMEOUT", "300ms")
    with connect(pg_url) as second, other.transaction():
        other.execute("SELECT * FROM core.thing")  # a BI query holds ACCESS SHARE until it ends
        second.ensure([table])  # nothing changed: no ALTER, so no wait

    note = Column("note", "text", "Ghi chú (sửa) / Note")
    grown = Table("core", "thing", (table.columns[0], note, Column("extra", "date", "Mới / New")), "Vật (v2)")
    wh.ensure([grown])
    comments = dict(
        other.execute(
            "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute "
            "WHERE attrelid = 'core.thing'::regclass AND attnum > 0"
        ).fetchall()
    )
    assert comments == {"id": "Khoá / Key", "note": "Ghi chú (sửa) / Note", "extra": "Mới / New"}
    assert other.execute("SELECT obj_description('core.thing'::regclass, 'pg_class')").fetchone() == ("Vật (v2)",)


# --- COPY ------------------------------------------------------------------------------------------

TRICKY = [
    "",
    None,
    INJECTION,
    "quote \" double and ' single",
    "semi;colon, comma",
    "tab\there",
    "new\nline and \r\n CRLF",
    "back\\slash \\N \\. and \\",
    "line\n\\.\nafter end marker",
    "\\.",
    "Bình Định – Quy Nhơn ✓ 🏭",
    "NULL",
    "   padded   ",
    "=cmd|' /C calc'!A0",
]


def test_insert_arrow_round_trips_every_type(wh: PostgresWarehouse, other: psycopg.Connection[Any]) -> None:
    other.execute("CREATE TABLE public.x (id int)")  # what the injection text names
    table = Table(
        "core",
        "sample",
        (
            Column("id", "bigint"),
            Column("label", "text"),
            Column("amount", "double"),
            Column("day", "date"),
            Column("flag", "boolean"),
            Column("at", "timestamp"),
        ),
        "round trip",
    )
    wh.ensure([table])
    n = len(TRICKY)
    big = [2**63 - 1, -(2**63), 0, None]
    days = [date(1, 1, 1), date(9999, 12, 31), date(2024, 2, 29), None]
    amounts = [0.1, 1 / 3, -1e300, float("inf"), float("-inf"), None, 1e-300]
    stamp = datetime(2025, 7, 1, 1, 2, 3, 456789, tzinfo=UTC)
    data = pa.table(
        {  # columns in another order than the table: COPY maps them by name
            "at": pa.array([stamp if i % 3 else None for i in range(n)], pa.timestamp("us", tz="UTC")),
            "label": pa.array(TRICKY, pa.string()),
            "id": pa.array([big[i % 4] if i >= 4 else i for i in range(n)], pa.int64()),
            "flag": pa.array([[True, False, None][i % 3] for i in range(n)], pa.bool_()),
            "day": pa.array([days[i % 4] for i in range(n)], pa.date32()),
            "amount": pa.array([amounts[i % 7] for i in range(n)], pa.float64()),
        }
    )
    with wh.transaction():
        assert wh.insert_arrow("core.sample", data) == n

    got = wh.query('SELECT id, label, amount, day, flag, "at" FROM core.sample')
    expected = list(
        zip(*(data.column(c).to_pylist() for c in ("id", "label", "amount", "day", "flag", "at")), strict=True)
    )
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert wh.count("core.sample", "label IS NULL") == 1 and wh.count("core.sample", "label = ''") == 1
    assert wh.count("core.sample", "label = ?", [INJECTION]) == 1
    assert other.execute("SELECT to_regclass('public.x')").fetchone() == ("x",)


def test_insert_arrow_streams_batches_and_handles_empty_input(wh: PostgresWarehouse) -> None:
    table = Table("core", "many", (Column("id", "bigint"), Column("label", "text")), "batches")
    wh.ensure([table])
    schema = pa.schema([("id", pa.int64()), ("label", pa.string())])
    sizes = [1000, 3 * COPY_BATCH_ROWS + 7, 0, 1]  # small, larger than one COPY chunk, empty, one row
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    batches = [
        pa.record_batch([pa.array(range(s, s + n), pa.int64()), pa.array(["a\nb"] * n, pa.string())], schema=schema)
        for s, n in zip(starts, sizes, strict=True)
    ]
    total = sum(sizes)
    with wh.transaction():
        assert wh.insert_arrow("core.many", pa.RecordBatchReader.from_batches(schema, iter(batches))) == total
        assert wh.insert_arrow("core.many", schema.empty_table()) == 0
    assert wh.query(
        "SELECT count(DISTINCT id), min(id), max(id), count(*) FILTER (WHERE label = ?) FROM core.many", ["a\nb"]
    ) == [(total, 0, total - 1, total)]


def test_placeholders_leave_literals_and_percent_alone(wh: PostgresWarehouse) -> None:
    assert wh.query("SELECT '100%', ?, 'a?b', \"?column?\" FROM (SELECT 1 AS \"?column?\") t -- why?", ["x%?"]) == [
        ("100%", "x%?", "a?b", 1)
    ]
    assert to_psycopg("SELECT $$?%$$, ?") == "SELECT $$?%%$$, %s"


# --- transactions ----------------------------------------------------------------------------------


def test_rollback_leaves_nothing(wh: PostgresWarehouse) -> None:
    load.ensure_warehouse(wh, [SPEC])
    row = {"run_id": "r1", "dataset": "enterprises", "file_name": "a.xlsx", "sha256": "s", "status": "loaded"}
    with pytest.raises(RuntimeError, match="boom"), wh.transaction():
        load.record_file(wh, row)
        with wh.transaction():  # nested: part of the outer one
            wh.execute("CREATE TEMP TABLE kds_stage AS SELECT tax_code FROM core.enterprise WHERE false")
            wh.insert_arrow("kds_stage", pa.table({"tax_code": ["4100000001"]}))
        raise RuntimeError("boom")
    assert wh.count("audit.file") == 0
    assert not wh.query("SELECT to_regclass('pg_temp.kds_stage')")[0][0]

    # A failed statement swallowed inside a transaction must not end as a silent rollback at COMMIT.
    with pytest.raises(WarehouseError, match="failed earlier"), wh.transaction():
        load.record_file(wh, row)
        with pytest.raises(WarehouseError, match="no_such_table"):
            wh.execute("SELECT * FROM no_such_table")
    assert wh.count("audit.file") == 0

    with wh.transaction():
        load.record_file(wh, row)
    assert wh.count("audit.file") == 1


def test_lock_outside_a_transaction_is_refused(wh: PostgresWarehouse) -> None:
    with pytest.raises(WarehouseError, match="outside transaction"):
        wh.lock("enterprises:2025-03-31")
    assert (
        lock_key("enterprises:2025-03-31") == lock_key("enterprises:2025-03-31") != lock_key("enterprises:2025-04-30")
    )
    assert -(2**63) <= lock_key("x") < 2**63


def test_advisory_lock_serialises_runs_of_one_period(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "enterprises:2025-03-31"
    events: list[str] = []
    errors: list[BaseException] = []

    def second_run(timeout: str) -> None:
        monkeypatch.setenv("KDS_PG_LOCK_TIMEOUT", timeout)
        try:
            with connect(pg_url) as wh2, wh2.transaction():
                wh2.lock(name)
                events.append("second got the lock")
        except WarehouseError as exc:
            errors.append(exc)

    with connect(pg_url) as wh1:
        # 1. The holder keeps it past a short lock_timeout: the second run fails cleanly, with a reason.
        with wh1.transaction():
            wh1.lock(name)
            with connect(pg_url) as unrelated, unrelated.transaction():
                unrelated.lock("enterprises:2025-04-30")  # another period does not wait
            second_run("300ms")
        assert not events and len(errors) == 1
        assert "lock_timeout=300ms" in str(errors[0]) and "\n" not in str(errors[0])

        # 2. With a longer timeout the second run waits, and proceeds once the first commits.
        errors.clear()
        with wh1.transaction():
            wh1.lock(name)
            thread = threading.Thread(target=second_run, args=("60s",))
            thread.start()
            assert wait_for(lambda: waiting_on_advisory_lock(wh1)), "the second run should be waiting"
            events.append("first commits")
        thread.join(timeout=60)
        assert not errors and events == ["first commits", "second got the lock"]


def waiting_on_advisory_lock(wh: Warehouse) -> bool:
    rows = wh.query(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return bool(rows[0][0])


def wait_for(condition: Any, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    "blocker",
    [
        "LOCK TABLE core.enterprise IN ACCESS EXCLUSIVE MODE",
        "SELECT * FROM core.enterprise WHERE period = %s FOR UPDATE",
    ],
    ids=["table-lock", "row-lock"],
)
def test_loader_fails_fast_behind_a_lock_and_changes_nothing(
    pg_url: str, other: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch, blocker: str
) -> None:
    period = date(2025, 3, 31)
    with connect(pg_url) as setup:
        load.ensure_warehouse(setup, [SPEC])
        setup.execute(
            "INSERT INTO core.enterprise (tax_code, period, is_current) VALUES ('4100000001', ?, true)", [period]
        )
    monkeypatch.setenv("KDS_PG_LOCK_TIMEOUT", "300ms")
    with connect(pg_url) as wh, other.transaction():
        other.execute(blocker, [period] if "%s" in blocker else None)
        started = time.monotonic()
        with pytest.raises(WarehouseError) as caught, wh.transaction():
            wh.lock(f"enterprises:{period}")
            wh.execute('DELETE FROM core.enterprise WHERE "period" = ?', [period])
        message = str(caught.value)
        assert "lock_timeout=300ms" in message and "pg_stat_activity" in message and "\n" not in message
        assert time.monotonic() - started < 10  # fails fast: not the default 10 s, nor forever
        assert wh.count("audit.run") == 0  # the session is usable after the failure
    assert other.execute("SELECT count(*) FROM core.enterprise").fetchone() == (1,)


def test_statement_timeout_cancels_a_runaway_statement(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KDS_PG_STATEMENT_TIMEOUT", "200ms")
    with connect(pg_url) as wh, pytest.raises(WarehouseError, match="statement_timeout=200ms"), wh.transaction():
        wh.execute("SELECT pg_sleep(5)")
    monkeypatch.setenv("KDS_PG_STATEMENT_TIMEOUT", "soon")
    with pytest.raises(WarehouseError, match="KDS_PG_STATEMENT_TIMEOUT"):
        connect(pg_url)


def test_connection_dropped_mid_transaction(wh: PostgresWarehouse, other: psycopg.Connection[Any]) -> None:
    load.ensure_warehouse(wh, [SPEC])
    with wh.transaction():
        load.record_file(wh, {"run_id": "r0", "dataset": "enterprises", "sha256": "old", "status": "loaded"})
    with pytest.raises(WarehouseError) as caught, wh.transaction():
        load.record_file(wh, {"run_id": "r1", "dataset": "enterprises", "sha256": "new", "status": "loaded"})
        other.execute("SELECT pg_terminate_backend(%s, 5000)", (wh.backend_pid,))  # returns once it is gone
        wh.execute("DELETE FROM audit.file")
    message = str(caught.value)
    assert "connection to the warehouse" in message and "lost" in message and "\n" not in message
    assert other.execute("SELECT sha256 FROM audit.file").fetchall() == [("old",)]
    # The next transaction (e.g. the run's audit row for the failure) reconnects.
    with wh.transaction():
        load.record_file(wh, {"run_id": "r1", "dataset": "enterprises", "sha256": "new", "status": "failed"})
    assert other.execute("SELECT count(*) FROM audit.file").fetchone() == (2,)

    # A session killed while idle (server restart, idle timeout) is replaced at the next BEGIN.
    other.execute("SELECT pg_terminate_backend(%s, 5000)", (wh.backend_pid,))  # returns once it is gone
    with wh.transaction():
        load.record_file(wh, {"run_id": "r2", "dataset": "enterprises", "sha256": "next", "status": "loaded"})
    assert other.execute("SELECT count(*) FROM audit.file").fetchone() == (3,)


# --- connection errors -----------------------------------------------------------------------------


def test_unreachable_server_and_bad_credentials_give_one_line_without_password(pg_url: str) -> None:
    with pytest.raises(WarehouseError) as caught:
        PostgresWarehouse("postgresql+psycopg://kds:s3cr3t-pw@127.0.0.1:1/warehouse")
    message = str(caught.value)
    assert "127.0.0.1:1/warehouse" in message and "s3cr3t-pw" not in message and "\n" not in message

    parts = urlsplit(pg_url)
    missing_role = urlunsplit(
        (
            parts.scheme,
            f"no_such_role_{uuid.uuid4().hex[:8]}:s3cr3t-pw@{parts.hostname}:{parts.port or 5432}",
            parts.path,
            "",
            "",
        )
    )
    with pytest.raises(WarehouseError, match="does not exist") as caught:
        PostgresWarehouse(missing_role)
    assert "s3cr3t-pw" not in str(caught.value)

    with_password = urlunsplit(
        (parts.scheme, f"{parts.username}:s3cr3t-pw@{parts.hostname}:{parts.port or 5432}", parts.path, "", "")
    )
    assert "s3cr3t-pw" not in mask_url(with_password) and "***" in mask_url(with_password)
    assert "s3cr3t-pw" not in mask_url("postgresql://u@h/db?password=s3cr3t-pw&sslmode=require")


# --- the engine's load SQL ---------------------------------------------------------------------------


def snapshot(tmp_path: Path, day: date, rows: list[tuple[str, str, int]]) -> Path:
    """A published Parquet snapshot of core columns: (tax_code, status, employees) per enterprise."""
    schema = output_schema(SPEC)
    n = len(rows)
    columns: dict[str, Any] = {f.name: pa.nulls(n, f.type) for f in schema}
    columns["tax_code"] = pa.array([r[0] for r in rows], pa.string())
    columns["status"] = pa.array([r[1] for r in rows], pa.string())
    columns["employees"] = pa.array([r[2] for r in rows], pa.int64())
    columns["name"] = pa.array([INJECTION] * n, pa.string())
    columns["period"] = pa.array([day] * n, pa.date32())
    columns["_source_file_sha256"] = pa.array([f"sha-{day}"] * n, pa.string())
    columns["_source_row_number"] = pa.array(range(5, 5 + n), pa.int64())
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{day}.parquet"
    pq.write_table(pa.table(columns, schema=schema), path)
    return path


def run_loads(wh: Warehouse, tmp_path: Path) -> list[tuple[Any, ...]]:
    march, april = date(2025, 3, 31), date(2025, 4, 30)
    published = {
        march: [
            snapshot(
                tmp_path,
                march,
                [("4100000001", "active", 10), ("4100000002", "active", 5), ("4100000003", "active", 1)],
            )
        ],
        april: [snapshot(tmp_path, april, [("4100000001", "dissolved", 10), ("4100000003", "active", 2)])],
    }
    quarantine = pa.table(
        {
            "_source_row_number": pa.array([9], pa.int64()),
            "reason_code": ["bad_tax_code"],
            "reason_codes": ["bad_tax_code;missing_name"],
            "detail": [INJECTION],
            "record": ['{"Số định danh": "052090001234", "note": "tab\\there"}'],
        }
    )
    load.ensure_warehouse(wh, [SPEC])
    files_before = wh.count("audit.file")
    for day in (march, april, april, march):  # a re-run of April and a late re-delivery of March converge
        file_row = {"run_id": f"run-{day}", "dataset": "enterprises", "file_name": f"dn_{day}.xlsx",
                    "sha256": f"sha-{day}", "period": day, "scope": "all", "status": "loaded", "rows_in": 4,
                    "finished_at": datetime(2025, 5, 1, tzinfo=UTC)}  # fmt: skip
        load.load_file(wh, SPEC, period=day, scope="all", part=published[day][0], lake_periods=published,
                       quarantine=quarantine, file_row=file_row, checks=[])  # fmt: skip
    load.record_run(wh, {"run_id": "run-x", "dataset": "enterprises", "status": "success", "files": 4,
                         "started_at": datetime(2025, 5, 1, tzinfo=UTC)})  # fmt: skip
    assert load.file_already_loaded(wh, "enterprises", "sha-2025-04-30")
    assert load.previous_delivery(wh, "enterprises", april, "all", "sha-other") == "sha-2025-04-30"
    assert wh.count(QUARANTINE.qualified) == 2  # one per (period, scope): the latest delivery's
    assert wh.count("audit.file") == files_before + 4 and wh.count("audit.run", "run_id = 'run-x'") >= 1
    return wh.query(
        "SELECT tax_code, status, employees, name, valid_from, valid_to, is_current FROM core.enterprise "
        "ORDER BY tax_code, valid_from"
    )


def test_engine_load_functions_give_the_same_state_as_duckdb(wh: PostgresWarehouse, tmp_path: Path) -> None:
    state = run_loads(wh, tmp_path / "pg")
    march, april = date(2025, 3, 31), date(2025, 4, 30)
    assert state == [
        ("4100000001", "active", 10, INJECTION, march, april, False),
        ("4100000001", "dissolved", 10, INJECTION, april, None, True),
        ("4100000002", "active", 5, INJECTION, march, april, False),
        ("4100000003", "active", 2, INJECTION, march, None, True),  # untracked column corrected in place
    ]
    with connect(f"duckdb:///{tmp_path / 'same.duckdb'}") as duck:
        assert run_loads(duck, tmp_path / "duck") == state
