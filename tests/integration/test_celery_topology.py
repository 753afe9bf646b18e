"""The production topology without Docker: Airflow on PostgreSQL metadata, CeleryExecutor with a Redis
broker on loopback, a separate PostgreSQL warehouse; `ingest_enterprises` triggered through the REST API v2.

The same processes as docker-compose.yml (api-server, scheduler, dag-processor, celery worker), started as
subprocesses in their own process groups; tests/airflow_procs.py says why the FAB auth manager is used.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.airflow_procs import (
    airflow_stack,
    database_url,
    postgres_available,
    redis_available,
    temporary_database,
)
from tests.conftest import service_missing
from tests.fixtures.enterprise_files import march_rows, write_xlsx

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.timeout(420),
]

DAG_ID = "ingest_enterprises"


def test_ingest_enterprises_runs_on_celery_workers_into_the_postgres_warehouse(tmp_path: Path) -> None:
    if not postgres_available():
        service_missing("PostgreSQL")
    if not redis_available():
        service_missing("Redis")
    import psycopg

    started = time.monotonic()
    kds_home = tmp_path / "kds"
    landing = kds_home / "landing" / "enterprises"
    landing.mkdir(parents=True)
    rows = march_rows()
    write_xlsx(landing / "doanh_nghiep_20250331.xlsx", rows)

    with temporary_database("kds_test_warehouse") as warehouse_db:
        warehouse_url = database_url(warehouse_db)
        kds_env = {"KDS_HOME": str(kds_home), "KDS_WAREHOUSE_URL": warehouse_url, "KDS_ENV": "production"}
        # Several warehouse slots, as in production: PostgreSQL advisory locks serialise one dataset/period.
        with airflow_stack(tmp_path, executor="CeleryExecutor", kds_env=kds_env, pool_slots=4) as stack:
            print(f"\nAirflow up in {time.monotonic() - started:.0f}s at {stack.base_url} (logs: {stack.logs})")
            try:
                stack.wait_for_dag(DAG_ID)
                run = stack.http(
                    "POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {"period": "2025-03-31"}}
                )
                run_id = run["dag_run_id"]
                state = stack.wait_for_run(DAG_ID, run_id, timeout=180)
                if state != "success":
                    pytest.fail(
                        f"{DAG_ID} run {run_id} ended {state}\n{stack.task_logs(DAG_ID, run_id)}\n{stack.diagnostics()}"
                    )
                tis = stack.http("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
            except BaseException:
                print(stack.diagnostics())
                raise
            queue = stack.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
        print(f"run {run_id} succeeded; {time.monotonic() - started:.0f}s in all")

        # It ran on the Celery worker (the only consumer of this run's own queue), in the warehouse pool.
        [ti] = tis
        assert (ti["task_id"], ti["state"], ti["queue"], ti["pool"]) == ("ingest", "success", queue, "kds_warehouse")
        assert ti["hostname"]

        with psycopg.connect(database_url(warehouse_db, driver="postgresql")) as conn:
            loaded = conn.execute("SELECT count(*) FROM core.enterprise WHERE is_current").fetchone()
            files = conn.execute(
                "SELECT status, rows_in, rows_loaded, rows_quarantined, rows_duplicate FROM audit.file"
            ).fetchall()
            runs = conn.execute("SELECT trigger, status FROM audit.run").fetchall()
        assert loaded == (sum(r.fate == "loaded" for r in rows),)
        [(status, rows_in, rows_loaded, rows_quarantined, rows_duplicate)] = files
        assert status == "loaded"
        assert rows_in == rows_loaded + rows_quarantined + rows_duplicate == len(rows)
        assert runs == [("airflow", "success")]
