"""Every DAG imports, follows policy (owner, tags, docs, retries, pool), and parses fast."""

from __future__ import annotations

import time

import pytest

from pipelines.specs import available_datasets

pytestmark = pytest.mark.dags

ALLOWED_TAGS = {"kds", "ingest", "marts", "reference", "watch", "daily", "monthly", "annual"}


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import REPO

    start = time.monotonic()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    bag.parse_seconds = time.monotonic() - start  # type: ignore[attr-defined]
    return bag


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}


def test_one_ingest_dag_per_spec(dagbag) -> None:  # type: ignore[no-untyped-def]
    ingest = {d for d in dagbag.dag_ids if d.startswith("ingest_")}
    assert ingest == {f"ingest_{name}" for name in available_datasets()}


def test_policy(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and "When it fails" in dag.doc_md, dag_id
        assert "kds" in dag.tags, dag_id
        assert dag.max_active_runs == 1, dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id} has no timeout"
        if dag_id.startswith("ingest_"):
            [task] = dag.tasks
            assert task.pool == "kds_warehouse"
            assert task.outlets, "an ingest DAG updates an Asset on success"
            assert set(dag.params.keys()) >= {"period", "force"}
            assert str(dag.timetable.summary) == "0 1 * * *"
            assert "Asia/Ho_Chi_Minh" in repr(dag.timetable._timezone)


def test_tags_from_fixed_vocabulary(dagbag) -> None:  # type: ignore[no-untyped-def]
    from pipelines.specs import get_spec

    allowed = ALLOWED_TAGS | {t for name in available_datasets() for t in get_spec(name).tags}
    for dag_id, dag in dagbag.dags.items():
        assert set(dag.tags) <= allowed, f"{dag_id}: {set(dag.tags) - allowed}"


def test_dag_files_import_nothing_heavy() -> None:
    """Parsing the DAG folder must not import pandas, pyarrow, GX or database drivers (STYLE.md 1)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import sys, runpy, glob\n"
        f"for f in sorted(glob.glob({str(REPO / 'dags')!r} + '/*.py')): runpy.run_path(f)\n"
        "heavy = [m for m in ('pandas', 'pyarrow', 'great_expectations', 'duckdb', 'psycopg', 'openpyxl') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), f"heavy modules imported at parse time: {out.stdout}"
