"""RELIABILITY.md's faults on the enterprises dataset: a run killed at each checkpoint, a full disk, a
blocked correction, a missing secret, two runs at once, a dropped connection, a lock held by a BI
query, re-deliveries. After the fault the past is intact; after one re-run the state is the one an
uninterrupted run gives (core, quarantine and lake content; run ids and audit times aside).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pipelines import publish
from pipelines.publish import published_files
from pipelines.run import run_dataset
from pipelines.warehouse.postgres import libpq_url
from tests.conftest import REPO, TEST_KEY
from tests.fixtures.enterprise_files import CANARY_ID, april_rows, march_rows, write_csv, write_xlsx
from tests.reliability.invariants import (
    SPEC,
    Child,
    assert_atomic_lake,
    assert_exactly_once,
    assert_invariants,
    assert_one_line,
    audit_files,
    audit_runs,
    lake_as_of,
    landing,
    query,
    run_child,
    snapshot,
    temp_files,
    wait_for,
)

pytestmark = pytest.mark.reliability

MARCH, APRIL = date(2025, 3, 31), date(2025, 4, 30)
M, A = "period=2025-03-31", "period=2025-04-30"


@dataclass(frozen=True)
class Deliveries:
    march: Path  # the hand-written snapshot (.xlsx): loaded, quarantined and duplicate rows
    april: Path  # the next snapshot (.csv)
    march_fixed: Path  # a corrected March (.csv): the quarantined rows left out


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> Deliveries:
    """Written once: an .xlsx records its creation time, and every test must see the same bytes."""
    folder = tmp_path_factory.mktemp("deliveries")
    fixed = [r for r in march_rows() if not r.fate.startswith("quarantine")]
    return Deliveries(
        march=write_xlsx(folder / "doanh_nghiep_20250331.xlsx", march_rows(), period_text="31/03/2025"),
        april=write_csv(folder / "doanh_nghiep_20250430.csv", april_rows()),
        march_fixed=write_csv(folder / "doanh_nghiep_20250331.csv", fixed),
    )


def deliver(home: Path, *files: Path) -> None:
    for f in files:
        shutil.copy(f, landing(home) / f.name)


@pytest.fixture(scope="module")
def reference(deliveries: Deliveries, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """March, then April, uninterrupted, on DuckDB: what every crash followed by a re-run must give."""
    home = tmp_path_factory.mktemp("reference") / "kds"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KDS_HOME", str(home))
        mp.setenv("KDS_PSEUDONYM_KEY", TEST_KEY)
        mp.delenv("KDS_WAREHOUSE_URL", raising=False)
        mp.delenv("KDS_ENV", raising=False)
        deliver(home, deliveries.march)
        [march] = run_dataset("enterprises")
        march_only = snapshot(home)
        deliver(home, deliveries.april)
        results = run_dataset("enterprises")
        assert [r.status for r in results] == ["skipped_duplicate_file", "loaded"]
        assert_invariants(home, march, results[1])
        return {"march": march_only, "both": snapshot(home)}


def backend() -> str:
    return "postgres" if os.environ.get("KDS_WAREHOUSE_URL") else "duckdb"


def pg() -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(os.environ["KDS_WAREHOUSE_URL"]), autocommit=True)


def load_march(home: Path, deliveries: Deliveries, reference: dict[str, Any]) -> dict[str, Any]:
    deliver(home, deliveries.march)
    [march] = run_dataset("enterprises")
    assert march.status == "loaded", march.message
    before = snapshot(home)
    assert before == reference["march"]  # same bytes, same key: the same state on either backend
    return before


def assert_past_intact(home: Path, before: dict[str, Any]) -> dict[str, Any]:
    """5. The warehouse and the March partition are exactly as before the fault."""
    now = snapshot(home)
    assert now["core"] == before["core"]
    assert now["quarantine"] == before["quarantine"]
    assert now["lake"][M] == before["lake"][M]
    assert_exactly_once()
    return now


# ----------------------------------------------------------------------------- killed mid-run

KILL_POINTS = ["lake.temp_written", "lake.before_manifest", "lake.published", "warehouse.before_commit"]
KILLS = [pytest.param("duckdb", m, id=f"duckdb-{m}") for m in KILL_POINTS] + [
    pytest.param("postgres", m, id=f"postgres-{m}", marks=pytest.mark.postgres)
    for m in ("lake.published", "warehouse.before_commit")
]


@pytest.mark.parametrize(("kds_home", "marker"), KILLS, indirect=["kds_home"])
def test_run_killed_keeps_the_past_and_the_rerun_converges(
    kds_home: Path, marker: str, deliveries: Deliveries, reference: dict[str, Any], tmp_path: Path
) -> None:
    before = load_march(kds_home, deliveries, reference)
    deliver(kds_home, deliveries.april)

    child = run_child(tmp_path, {"KDS_TEST_KILL_AT": marker})
    assert child.killed, child

    after = assert_past_intact(kds_home, before)
    april_published = marker in ("lake.published", "warehouse.before_commit")
    if april_published:  # the lake is ahead of the warehouse until the re-run
        assert after["lake"][A] == reference["both"]["lake"][A]
        assert APRIL in lake_as_of(kds_home)
        assert query("SELECT count(*) FROM core.enterprise WHERE valid_from = ?", (APRIL,)) == [(0,)]
    else:  # a partition without its manifest is invisible
        assert after["lake"].get(A) is None
        assert published_files(kds_home / "lake", SPEC, APRIL) == []
    if marker == "lake.temp_written":
        assert temp_files(kds_home / "lake"), "the kill should have left the part's temporary file"
    # The audit never claims what the tables do not hold.
    assert [a["period"] for a in audit_files() if a["status"] == "loaded"] == [MARCH]
    assert any((kds_home / "work").iterdir()), "the killed run's scratch is left behind"

    results = run_dataset("enterprises")
    assert [r.status for r in results] == ["skipped_duplicate_file", "loaded"], [r.message for r in results]
    assert_invariants(kds_home, results[1])
    assert snapshot(kds_home) == reference["both"]  # 4. as if nothing had happened
    assert [a["status"] for a in audit_files()] == ["loaded", "loaded"]
    assert list((kds_home / "work").iterdir()) == []  # the dead run's staged rows (identifiers in clear) are gone


@pytest.mark.parametrize("kds_home", ["duckdb"], indirect=True)
@pytest.mark.parametrize("marker", ["lake.temp_written", "lake.before_manifest"])
def test_run_killed_while_replacing_a_partition_leaves_it_unchanged(
    kds_home: Path, marker: str, deliveries: Deliveries, reference: dict[str, Any], tmp_path: Path
) -> None:
    """A corrected March killed mid-publish: readers keep getting the March that was published (its
    manifest, and the part it lists, byte for byte); the next run cleans up and publishes the correction."""
    before = load_march(kds_home, deliveries, reference)
    (landing(kds_home) / deliveries.march.name).unlink()
    deliver(kds_home, deliveries.march_fixed)

    assert run_child(tmp_path, {"KDS_TEST_KILL_AT": marker}).killed
    now = assert_past_intact(kds_home, before)
    assert now["lake"] == before["lake"]

    [corrected] = run_dataset("enterprises")
    assert corrected.status == "loaded", corrected.message
    assert_invariants(kds_home, corrected)  # no temporary file, no unlisted part left
    assert audit_files()[-1]["replaces_sha256"] == audit_files()[0]["sha256"]
    assert query("SELECT count(*) FROM restricted.quarantine") == [(0,)]


# ------------------------------------------------------------------------------------ disk full


def _enospc(*_: Any, **__: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("kds_home", ["duckdb"], indirect=True)
@pytest.mark.parametrize("where", ["stage", "part", "manifest"])
def test_disk_full_publishes_nothing_and_the_retry_succeeds(
    kds_home: Path, where: str, deliveries: Deliveries, reference: dict[str, Any]
) -> None:
    before = load_march(kds_home, deliveries, reference)
    (landing(kds_home) / deliveries.march.name).unlink()
    deliver(kds_home, deliveries.march_fixed)  # a corrected March: the partition it would replace is live

    calls = {"fsync": 0}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # the lake's writes are the only Python fsync calls in a run
        calls["fsync"] += 1
        if calls["fsync"] == {"part": 1, "manifest": 2}[where]:
            _enospc()  # as a full disk (or NFS quota) reports it: the data was written, the flush fails
        real_fsync(fd)

    with pytest.MonkeyPatch.context() as mp:
        if where == "stage":
            mp.setattr(publish.Stage, "add", _enospc)
        else:
            mp.setattr(os, "fsync", fsync)
        [failed] = run_dataset("enterprises")

    assert failed.status == "failed"
    assert_one_line(failed.message, deliveries.march_fixed.name, "No space left on device")
    assert_past_intact(kds_home, before)
    assert snapshot(kds_home)["lake"] == before["lake"]
    assert_atomic_lake(kds_home)  # no temporary file, no unlisted part left in the published folder
    audit = audit_files()
    assert [a["status"] for a in audit] == ["loaded", "failed"] and audit[-1]["message"] == failed.message
    run = audit_runs()[-1]  # 6. the attempt: its run id, try, status, counts and reason
    assert (run["run_id"], run["status"], run["files"]) == (audit[-1]["run_id"], "failed", 1)
    assert failed.message in run["message"]

    [retry] = run_dataset("enterprises")
    assert retry.status == "loaded", retry.message
    assert_invariants(kds_home, retry)
    assert audit_files()[-1]["replaces_sha256"] == audit[0]["sha256"]
    assert query("SELECT count(*) FROM restricted.quarantine") == [(0,)]


# ------------------------------------------------------------------------------ blocking check


def test_blocked_correction_keeps_the_published_period(
    kds_home: Path, deliveries: Deliveries, reference: dict[str, Any]
) -> None:
    before = load_march(kds_home, deliveries, reference)
    rows = march_rows()
    for r in rows:
        r.cells[7] = "Xã Không Có"  # no row can be placed: place_unresolved blocks the file
    (landing(kds_home) / deliveries.march.name).unlink()
    write_csv(landing(kds_home) / "doanh_nghiep_20250331.csv", rows)

    [blocked] = run_dataset("enterprises")

    assert blocked.status == "blocked"
    assert_one_line(blocked.message, "doanh_nghiep_20250331.csv", "nothing published", "place_unresolved")
    now = assert_past_intact(kds_home, before)
    assert now["lake"] == before["lake"]  # March is still served, from the lake and from core
    audit = audit_files()
    assert [a["status"] for a in audit] == ["loaded", "blocked"]
    assert audit[-1]["message"] == blocked.message and audit[-1]["rows_in"] == len(rows)
    failing = query("SELECT reason_code FROM audit.check_result WHERE sha256 = ? AND NOT success", (blocked.sha256,))
    assert ("place_unresolved",) in failing


# ------------------------------------------------------------------------------ missing secret


def test_production_without_the_pseudonym_key_refuses_and_writes_nothing(
    kds_home: Path, deliveries: Deliveries
) -> None:
    deliver(kds_home, deliveries.march)
    env = {**os.environ, "KDS_ENV": "production"}
    env.pop("KDS_PSEUDONYM_KEY")
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", "run", "enterprises"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("kds:")]
    assert len(errors) == 1, proc.stderr
    assert_one_line(errors[0], "KDS_PSEUDONYM_KEY", "production")
    assert "Traceback" not in proc.stderr and CANARY_ID not in proc.stderr + proc.stdout
    # Nothing written: no raw archive, no lake, no scratch, no generated key, no DuckDB file.
    assert sorted(p.name for p in kds_home.iterdir()) == ["landing"]
    if backend() == "postgres":
        assert query("SELECT count(*) FROM information_schema.tables WHERE table_schema IN "
                     "('core', 'mart', 'audit', 'restricted', 'ref')") == [(0,)]  # fmt: skip


# ------------------------------------------------------------------------------ two runs at once


def test_two_runs_at_once_end_as_a_serial_run(
    kds_home: Path, deliveries: Deliveries, reference: dict[str, Any], tmp_path: Path
) -> None:
    """On PostgreSQL both run (the partition lock and the advisory lock serialise the lake and the
    load); on DuckDB the second waits for the file and then finds both files loaded."""
    deliver(kds_home, deliveries.march, deliveries.april)
    first, second = Child(tmp_path), Child(tmp_path)
    runs = [first.wait(), second.wait()]

    by_file: dict[str, list[str]] = {}
    for run in runs:
        assert run.exitcode == 0, run
        if run.error:  # DuckDB: gave up waiting for the other run's file lock, cleanly
            assert backend() == "duckdb" and "in use by another process" in run.error
            continue
        for r in run.results:
            by_file.setdefault(r["file"], []).append(r["status"])
    assert set(by_file) == {deliveries.march.name, deliveries.april.name}
    for file, seen in by_file.items():
        assert "loaded" in seen and set(seen) <= {"loaded", "skipped_duplicate_file"}, (file, seen)
    assert snapshot(kds_home) == reference["both"]
    assert_invariants(kds_home)
    assert [r.status for r in run_dataset("enterprises")] == ["skipped_duplicate_file"] * 2


def _blocked_on_flock(pid: int) -> bool:
    """/proc/locks lists a process waiting for a flock() as `N: -> FLOCK ADVISORY WRITE <pid> …`."""
    return any("->" in line and f" {pid} " in line for line in Path("/proc/locks").read_text().splitlines())


@pytest.mark.postgres
@pytest.mark.parametrize("kds_home", ["postgres"], indirect=True)
def test_second_publisher_waits_instead_of_deleting_the_first_ones_temp_file(
    kds_home: Path, deliveries: Deliveries, reference: dict[str, Any], tmp_path: Path
) -> None:
    """Run A is stopped with its part written under a temporary name; run B of the same period must
    not take that file for a crashed run's leftover (and delete it under A's feet), nor interleave its
    manifest update with A's: it waits for the partition, then both end loaded."""
    deliver(kds_home, deliveries.march)
    a = Child(tmp_path, {"KDS_TEST_PAUSE_AT": "lake.temp_written", "KDS_TEST_PAUSE_DIR": str(tmp_path)})
    wait_for(tmp_path / "lake.temp_written.paused")
    [pending] = temp_files(kds_home / "lake")
    b = Child(tmp_path)
    deadline = time.monotonic() + 120
    while not _blocked_on_flock(b.process.pid or 0):
        assert b.process.is_alive() and time.monotonic() < deadline, "B never reached the partition"
        time.sleep(0.05)
    assert pending.exists()
    (tmp_path / "lake.temp_written.resume").touch()
    runs = [a.wait(), b.wait()]
    assert [[r["status"] for r in run.results] for run in runs] == [["loaded"], ["loaded"]], runs
    assert snapshot(kds_home) == reference["march"]
    assert_invariants(kds_home)


# ---------------------------------------------------------------------- PostgreSQL: session faults


@pytest.mark.postgres
@pytest.mark.parametrize("kds_home", ["postgres"], indirect=True)
def test_connection_dropped_mid_load_fails_the_file_and_the_retry_converges(
    kds_home: Path, deliveries: Deliveries, reference: dict[str, Any], tmp_path: Path
) -> None:
    before = load_march(kds_home, deliveries, reference)
    deliver(kds_home, deliveries.april)
    child = Child(tmp_path, {"KDS_TEST_PAUSE_AT": "warehouse.before_commit", "KDS_TEST_PAUSE_DIR": str(tmp_path)})
    wait_for(tmp_path / "warehouse.before_commit.paused")
    with pg() as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'kds' AND state = 'idle in transaction'"
        ).fetchall()
    assert killed == [(True,)]
    (tmp_path / "warehouse.before_commit.resume").touch()
    run = child.wait()

    assert run.exitcode == 0, run
    [skipped, failed] = run.results
    assert failed["status"] == "failed"
    assert_one_line(failed["message"], deliveries.april.name, "connection to the warehouse", "lost", "re-run")
    assert_past_intact(kds_home, before)
    assert [a["status"] for a in audit_files()] == ["loaded", "failed"]  # written on a new connection

    results = run_dataset("enterprises")
    assert [r.status for r in results] == ["skipped_duplicate_file", "loaded"]
    assert_invariants(kds_home, results[1])
    assert snapshot(kds_home) == reference["both"]


@pytest.mark.postgres
@pytest.mark.parametrize("kds_home", ["postgres"], indirect=True)
def test_lock_held_by_a_bi_query_fails_fast_and_never_blocks_readers(
    kds_home: Path, deliveries: Deliveries, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = load_march(kds_home, deliveries, reference)
    current = query("SELECT count(*) FROM core.enterprise WHERE is_current")
    deliver(kds_home, deliveries.april)
    monkeypatch.setenv("KDS_PG_LOCK_TIMEOUT", "2s")

    # A report holds a lock that conflicts with the loader's writes (SHARE: what CREATE INDEX or
    # a tool's "consistent snapshot" takes), without blocking plain SELECTs.
    bi = psycopg.connect(libpq_url(os.environ["KDS_WAREHOUSE_URL"]))
    bi.execute("LOCK TABLE core.enterprise IN SHARE MODE")
    results: list[Any] = []
    loader = threading.Thread(target=lambda: results.extend(run_dataset("enterprises")))
    loader.start()
    try:
        with pg() as watch:
            deadline = time.monotonic() + 120
            while not watch.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'kds' "
                "AND wait_event_type = 'Lock'"
            ).fetchall():
                assert loader.is_alive() and time.monotonic() < deadline, "the loader never waited for the lock"
                time.sleep(0.05)
            waiting = time.monotonic()
            # While the loader queues for its lock, a reader is served at once, and sees the old state.
            watch.execute("SET statement_timeout = '1s'")
            assert watch.execute("SELECT count(*) FROM core.enterprise WHERE is_current").fetchall() == current
            watch.execute("RESET statement_timeout")
            while watch.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'kds' "
                "AND wait_event_type = 'Lock'"
            ).fetchall():
                time.sleep(0.05)
            gave_up = time.monotonic() - waiting  # lock_timeout, not the 10 s default or forever
        loader.join(120)
    finally:
        bi.rollback()
        bi.close()
    assert not loader.is_alive()
    [skipped, failed] = results
    assert failed.status == "failed" and gave_up < 6, gave_up
    assert_one_line(failed.message, deliveries.april.name, "lock_timeout=2s", "retry")
    assert_past_intact(kds_home, before)
    assert [a["status"] for a in audit_files()] == ["loaded", "failed"]

    retry = run_dataset("enterprises")  # the BI query is over
    assert [r.status for r in retry] == ["skipped_duplicate_file", "loaded"]
    assert_invariants(kds_home, retry[1])
    assert snapshot(kds_home) == reference["both"]


# ---------------------------------------------------------------------------------- re-delivery


def test_redelivery_is_a_noop_and_a_correction_replaces_the_period(
    kds_home: Path, deliveries: Deliveries, reference: dict[str, Any]
) -> None:
    first = load_march(kds_home, deliveries, reference)

    assert [r.status for r in run_dataset("enterprises")] == ["skipped_duplicate_file"]  # same bytes again
    shutil.copy(deliveries.march, landing(kds_home) / "doanh_nghiep_20250331_gui_lai.xlsx")  # same bytes, new name
    assert [r.status for r in run_dataset("enterprises")] == ["skipped_duplicate_file"] * 2
    assert snapshot(kds_home) == first and len(audit_files()) == 1  # a no-op leaves no audit row
    (landing(kds_home) / "doanh_nghiep_20250331_gui_lai.xlsx").unlink()

    # 4. Determinism: forcing the same file again gives the same tables and the same Parquet bytes.
    [forced] = run_dataset("enterprises", force=True)
    assert forced.status == "loaded"
    assert snapshot(kds_home) == first  # the manifest's sha256 of the part included

    (landing(kds_home) / deliveries.march.name).unlink()
    deliver(kds_home, deliveries.march_fixed)
    [corrected] = run_dataset("enterprises")
    assert corrected.status == "loaded" and corrected.rows_quarantined == 0
    assert_invariants(kds_home, corrected)
    [part] = snapshot(kds_home)["lake"][M]["manifest"]["parts"].values()
    assert part["source"] == {"file": deliveries.march_fixed.name, "sha256": corrected.sha256}
    assert query("SELECT count(*) FROM restricted.quarantine") == [(0,)]
    chain = [(a["sha256"], a["replaces_sha256"]) for a in audit_files() if a["status"] == "loaded"]
    original = chain[0][0]
    assert chain == [(original, None), (original, None), (corrected.sha256, original)]
