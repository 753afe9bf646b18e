"""Shared fixtures: an isolated KDS_HOME per test, and the warehouse backends to run on."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Airflow reads its configuration when first imported: point it at a throw-away home with this
# repo's DAGs and SQLite metadata before any test imports it.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="kds-airflow-test-")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

TEST_KEY = "test-pseudonym-key-0123456789abcdef0123456789abcdef"


def require_services() -> bool:
    """In CI (KDS_REQUIRE_SERVICES=1) a missing PostgreSQL or Redis fails the test instead of skipping it."""
    return os.environ.get("KDS_REQUIRE_SERVICES") == "1"


def service_missing(what: str) -> None:
    if require_services():
        pytest.fail(f"{what} is required in CI (KDS_REQUIRE_SERVICES=1) but is not available")
    pytest.skip(f"{what} not available (set it up to run this test; CI requires it)")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def kds_home(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KDS_HOME and warehouse with a fixed pseudonym key, once per warehouse backend.

    Every test that uses it runs on the embedded DuckDB and on PostgreSQL (a throw-away database
    on the server of KDS_TEST_POSTGRES_URL; skipped locally without it, failing in CI).
    """
    home = tmp_path / "kds"
    monkeypatch.setenv("KDS_HOME", str(home))
    monkeypatch.setenv("KDS_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("KDS_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("KDS_ENV", raising=False)
    if request.param == "duckdb":
        yield home
        return
    from tests.pg import fresh_database, server_url

    with fresh_database(server_url()) as url:
        monkeypatch.setenv("KDS_WAREHOUSE_URL", url.replace("postgresql://", "postgresql+psycopg://", 1))
        yield home


def reset_warehouse() -> None:
    """Drop every schema of the current warehouse (as if it were new), on either backend."""
    from pipelines.settings import load_settings
    from pipelines.warehouse import connect
    from pipelines.warehouse.tables import SCHEMAS, quote

    with connect(load_settings().warehouse_url) as wh, wh.transaction():
        for schema in SCHEMAS:
            wh.execute(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised Airflow metadata database (SQLite) for `dag.test()`."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=600)
    return Path(os.environ["AIRFLOW_HOME"])
