"""Throw-away PostgreSQL databases for tests, on the server of KDS_TEST_POSTGRES_URL.

When the variable is unset or the server does not answer, tests skip locally and fail in CI
(KDS_REQUIRE_SERVICES=1), through `tests.conftest.service_missing`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from pipelines.warehouse.postgres import libpq_url
from tests.conftest import service_missing


def server_url() -> str:
    """KDS_TEST_POSTGRES_URL if its server answers; otherwise skip (locally) or fail (CI)."""
    url = os.environ.get("KDS_TEST_POSTGRES_URL")
    if not url:
        service_missing("PostgreSQL (KDS_TEST_POSTGRES_URL)")
    assert url is not None
    try:
        psycopg.connect(libpq_url(url), connect_timeout=5).close()
    except psycopg.Error:
        service_missing("PostgreSQL (KDS_TEST_POSTGRES_URL)")
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(url), autocommit=True)


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """CREATE DATABASE kds_<uuid> on the server of `url`; yields its URL; drops it (and its sessions) after."""
    name = f"kds_{uuid.uuid4().hex}"
    with admin(url) as con:
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(url, name)
    finally:
        with admin(url) as con:
            con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
