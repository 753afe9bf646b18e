"""RELIABILITY.md's invariants as assertions, and a forked child to crash, for the reliability tier.

Every helper reads the current warehouse (KDS_WAREHOUSE_URL, or the DuckDB file of KDS_HOME) and
lake, so a test asserts the same invariants whichever backend `kds_home` gave it.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.conform import FILE_SHA, ROW_NUMBER
from pipelines.publish import LAKE_VERSION, MANIFEST, published_files, read_manifest, verify_partition
from pipelines.settings import load_settings
from pipelines.specs import get_spec
from pipelines.warehouse import connect

SPEC = get_spec("enterprises")
KEY = SPEC.output_key[0]  # tax_code
TRACKED = [SPEC.output_column(t) for t in SPEC.tracked]
VOLATILE = {"_run_id"}  # names the run, not the data


def landing(home: Path) -> Path:
    folder = home / "landing" / "enterprises"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with connect(load_settings().warehouse_url) as wh:
        return wh.query(sql, params)


def table_exists(name: str) -> bool:
    with connect(load_settings().warehouse_url) as wh:
        return wh.table_exists(name)


# ----------------------------------------------------------------------------------------- state


def core_state() -> list[tuple[Any, ...]]:
    """Every row of core.enterprise (all versions), every column but the run id, in a stable order."""
    with connect(load_settings().warehouse_url) as wh:
        if not wh.table_exists(SPEC.target_table):
            return []
        columns = [r[0] for r in wh.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'core' AND table_name = 'enterprise'"
            " ORDER BY column_name")]  # fmt: skip
        keep = ", ".join(f'"{c}"' for c in columns if c not in VOLATILE)
        return wh.query(f"SELECT {keep} FROM core.enterprise ORDER BY {KEY}, valid_from")


def quarantine_state() -> list[tuple[Any, ...]]:
    return query(
        f"SELECT dataset, period, scope, file_name, {FILE_SHA}, {ROW_NUMBER}, reason_code, reason_codes, detail, record"
        f" FROM restricted.quarantine ORDER BY period, {ROW_NUMBER}"
    )


def partitions(home: Path) -> list[Path]:
    return sorted((home / "lake" / SPEC.name / LAKE_VERSION).glob("period=*"))


def lake_state(home: Path) -> dict[str, Any]:
    """Per partition: the manifest without run ids, and the published rows (Parquet content)."""
    state: dict[str, Any] = {}
    for folder in partitions(home):
        manifest = read_manifest(folder)
        if manifest is None:
            state[folder.name] = None  # not published: invisible to readers
            continue
        manifest.pop("run_id", None)
        for part in manifest["parts"].values():
            part.pop("run_id", None)
        tables = [pq.read_table(f) for f in published_files(home / "lake", SPEC, _period(folder))]
        rows = sorted(tuple(r.values()) for t in tables for r in t.to_pylist())
        state[folder.name] = {"manifest": manifest, "rows": rows}
    return state


def _period(folder: Path) -> date:
    return date.fromisoformat(folder.name.split("=", 1)[1])


def snapshot(home: Path) -> dict[str, Any]:
    """What a reader can see: core, quarantine and the published lake (run ids and audit aside)."""
    return {"core": core_state(), "quarantine": quarantine_state(), "lake": lake_state(home)}


def audit_files() -> list[dict[str, Any]]:
    with connect(load_settings().warehouse_url) as wh:
        if not wh.table_exists("audit.file"):
            return []
        cols = ["run_id", "file_name", "sha256", "period", "status", "rows_in", "rows_loaded", "rows_quarantined",
                "rows_duplicate", "message", "replaces_sha256"]  # fmt: skip
        rows = wh.query(f"SELECT {', '.join(cols)} FROM audit.file ORDER BY finished_at")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def audit_runs() -> list[dict[str, Any]]:
    cols = ["run_id", "try_number", "status", "files", "rows_in", "rows_loaded", "rows_quarantined", "message"]
    rows = query(f"SELECT {', '.join(cols)} FROM audit.run ORDER BY finished_at")
    return [dict(zip(cols, r, strict=True)) for r in rows]


# ------------------------------------------------------------------------------------ invariants


def assert_conservation(home: Path, result: Any) -> None:
    """1. rows_in = loaded + quarantined + duplicate, each source row (by file sha and row number) in
    exactly one of the published part and the quarantine; the audit row says the same."""
    assert result.rows_in == result.rows_loaded + result.rows_quarantined + result.rows_duplicate, result
    if result.status != "loaded":
        assert result.rows_loaded == 0 or result.status == "blocked", result
        return
    period = result.period
    loaded: list[int] = []
    for f in published_files(home / "lake", SPEC, period):
        t = pq.read_table(f, columns=[FILE_SHA, ROW_NUMBER])
        loaded += [
            n for s, n in zip(t[FILE_SHA].to_pylist(), t[ROW_NUMBER].to_pylist(), strict=True) if s == result.sha256
        ]
    quarantined = [r[0] for r in query(
        f"SELECT {ROW_NUMBER} FROM restricted.quarantine WHERE {FILE_SHA} = ? AND period = ?", (result.sha256, period))]  # fmt: skip
    assert len(loaded) == len(set(loaded)) == result.rows_loaded, (result.file, len(loaded), result.rows_loaded)
    assert len(quarantined) == len(set(quarantined)) == result.rows_quarantined, (result.file, quarantined)
    assert not set(loaded) & set(quarantined), f"{result.file}: rows both loaded and quarantined"
    audit = [a for a in audit_files() if a["sha256"] == result.sha256 and a["status"] == "loaded"]
    assert audit, f"{result.file}: no audit row says it was loaded"
    a = audit[-1]
    assert (a["rows_in"], a["rows_loaded"], a["rows_quarantined"], a["rows_duplicate"]) == (
        result.rows_in, result.rows_loaded, result.rows_quarantined, result.rows_duplicate)  # fmt: skip


def assert_exactly_once() -> None:
    """2. The natural key is unique among current rows, and one version starts per key and date."""
    assert query(f"SELECT {KEY}, count(*) FROM core.enterprise WHERE is_current GROUP BY 1 HAVING count(*) > 1") == []
    assert query(f"SELECT {KEY}, valid_from FROM core.enterprise GROUP BY 1, 2 HAVING count(*) > 1") == []


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".tmp" in p.name] if root.exists() else []


def assert_atomic_lake(home: Path) -> None:
    """3. Published partitions hold exactly what their manifest lists (checksums match), and no
    temporary file is left in a published folder."""
    assert temp_files(home / "lake") == []
    for folder in partitions(home):
        manifest = read_manifest(folder)
        if manifest is None:
            assert published_files(home / "lake", SPEC, _period(folder)) == []  # invisible
            continue
        verify_partition(folder)
        listed = {p["file"] for p in manifest["parts"].values()} | {MANIFEST}
        assert {p.name for p in folder.iterdir()} == listed, f"{folder}: files the manifest does not list"


def lake_as_of(home: Path) -> dict[date, list[tuple[Any, ...]]]:
    out = {}
    for folder in partitions(home):
        files = published_files(home / "lake", SPEC, _period(folder))
        if files:
            rows = [r for f in files for r in pq.read_table(f, columns=[KEY, *TRACKED]).to_pylist()]
            out[_period(folder)] = sorted(tuple(r.values()) for r in rows)
    return out


def assert_lake_matches_core(home: Path) -> None:
    """Lake and warehouse agree: each published snapshot equals core as of its date (key and tracked
    columns; counts and checksums)."""
    lake = lake_as_of(home)
    cols = ", ".join([KEY, *TRACKED])
    for period, rows in lake.items():
        core = sorted(query(
            f"SELECT {cols} FROM core.enterprise WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)",
            (period, period)))  # fmt: skip
        assert len(core) == len(rows), (period, len(core), len(rows))
        assert _checksum(core) == _checksum(rows), f"{period}: core and lake differ"
    latest = max(lake, default=None)
    current = query("SELECT count(*) FROM core.enterprise WHERE is_current")[0][0]
    assert current == (len(lake[latest]) if latest else 0)


def _checksum(rows: list[tuple[Any, ...]]) -> str:
    return hashlib.sha256(json.dumps([list(map(str, r)) for r in rows]).encode()).hexdigest()


def assert_invariants(home: Path, *results: Any) -> None:
    """1–3 and lake = warehouse, after a run that ended well."""
    for r in results:
        assert_conservation(home, r)
    assert_exactly_once()
    assert_atomic_lake(home)
    assert_lake_matches_core(home)


def assert_one_line(message: str, *must: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message, message
    for text in must:
        assert text in message, (text, message)


def statuses(results: list[Any]) -> Counter[str]:
    return Counter(r.status for r in results)


# ------------------------------------------------------------------------------------- children


@dataclass
class ChildResult:
    exitcode: int | None
    results: list[dict[str, Any]]
    error: str | None = None  # what run_dataset raised, if it raised

    @property
    def killed(self) -> bool:
        return self.exitcode == -signal.SIGKILL


def _child(env: dict[str, str], out: str, kwargs: dict[str, Any]) -> None:
    os.environ.update(env)
    from pipelines.run import run_dataset

    try:
        results = [asdict(r) for r in run_dataset("enterprises", **kwargs)]
    except Exception as exc:  # noqa: BLE001 — reported to the test, which decides
        Path(out).write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), encoding="utf-8")
        return
    Path(out).write_text(json.dumps({"results": results}, default=str), encoding="utf-8")


class Child:
    """`run_dataset("enterprises")` in a forked process, which may SIGKILL itself at a checkpoint.

    Forked rather than `python -c`: the child starts with pipelines, Great Expectations and the
    reference data already imported (a fresh interpreter spends 10-20 s importing them), and it
    inherits KDS_HOME, KDS_WAREHOUSE_URL and the key from the test's environment.
    """

    def __init__(self, tmp: Path, env: dict[str, str] | None = None, **kwargs: Any) -> None:
        self.out = tmp / f"child-{time.monotonic_ns()}.json"
        ctx = multiprocessing.get_context("fork")
        self.process = ctx.Process(target=_child, args=(env or {}, str(self.out), kwargs))
        self.process.start()

    def wait(self, timeout: float = 180) -> ChildResult:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
            raise AssertionError(f"the child run did not finish in {timeout} s")
        found = json.loads(self.out.read_text(encoding="utf-8")) if self.out.exists() else {}
        return ChildResult(self.process.exitcode, found.get("results", []), found.get("error"))


def run_child(tmp: Path, env: dict[str, str] | None = None, **kwargs: Any) -> ChildResult:
    return Child(tmp, env, **kwargs).wait()


def wait_for(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} did not appear in {timeout} s")
        time.sleep(0.02)
