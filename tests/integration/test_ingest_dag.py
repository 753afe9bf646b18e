"""The Airflow DAG runs the same pipeline end to end (`dag.test()`, SQLite metadata)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.settings import load_settings
from pipelines.warehouse import connect
from tests.conftest import REPO
from tests.fixtures.enterprise_files import march_rows, write_xlsx

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _dag(dag_id: str):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors
    return bag.get_dag(dag_id)


def test_ingest_enterprises_dag_loads_the_landing_zone(kds_home: Path, airflow_db: Path) -> None:
    folder = kds_home / "landing" / "enterprises"
    folder.mkdir(parents=True)
    rows = march_rows()
    write_xlsx(folder / "doanh_nghiep_20250331.xlsx", rows)

    run = _dag("ingest_enterprises").test(logical_date=None, run_conf={"period": "2025-03-31"})

    assert str(run.state) == "success"
    with connect(load_settings().warehouse_url) as wh:
        loaded = wh.query("SELECT count(*) FROM core.enterprise WHERE is_current")[0][0]
        audit = wh.query("SELECT trigger, status FROM audit.run")
        files = wh.query("SELECT status, rows_in, rows_loaded, rows_quarantined, rows_duplicate FROM audit.file")
    assert loaded == sum(r.fate == "loaded" for r in rows)
    assert audit == [("airflow", "success")]
    [(status, rows_in, rows_loaded, rows_quarantined, rows_duplicate)] = files
    assert status == "loaded" and rows_in == rows_loaded + rows_quarantined + rows_duplicate == len(rows)


def test_a_rejected_file_fails_the_run_without_retry(kds_home: Path, airflow_db: Path) -> None:
    folder = kds_home / "landing" / "enterprises"
    folder.mkdir(parents=True)
    (folder / "doanh_nghiep_20250331.csv").write_bytes(b"")  # an empty delivery

    run = _dag("ingest_enterprises").test(logical_date=None)

    assert str(run.state) == "failed"
    with connect(load_settings().warehouse_url) as wh:
        assert wh.query("SELECT status FROM audit.file") == [("rejected",)]
        assert wh.query("SELECT count(*) FROM audit.run")[0][0] == 1  # failed without retry: one attempt
