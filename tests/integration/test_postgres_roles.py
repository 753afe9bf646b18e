"""Warehouse roles: the BI reader sees mart only, the steward reads restricted, the loader loads but
cannot rewrite history or the schema; `ensure_roles` is idempotent.

Roles are cluster-wide, so every test uses its own random role names and drops them (with what they
own in the test database) afterwards: safe to run next to other test databases on the same server.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from pipelines.specs import get_spec
from pipelines.warehouse import WarehouseError, connect
from pipelines.warehouse.postgres import PostgresWarehouse
from pipelines.warehouse.roles import ensure_roles, main_roles
from pipelines.warehouse.tables import Column, Table
from tests.integration.test_postgres_backend import run_loads
from tests.pg import admin, fresh_database, server_url

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

SPEC = get_spec("enterprises")


@dataclass(frozen=True)
class Roles:
    owner: str
    loader: str
    reader: str
    steward: str

    @property
    def names(self) -> dict[str, str]:
        return {"owner": self.owner, "loader": self.loader, "reader": self.reader, "steward": self.steward}


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database(server_url()) as url:
        yield url


@pytest.fixture
def roles(pg_url: str) -> Iterator[Roles]:
    tag = uuid.uuid4().hex[:10]
    made = Roles(f"kds_owner_{tag}", f"kds_loader_{tag}", f"bi_reader_{tag}", f"kds_steward_{tag}")
    yield made
    # Runs before the database is dropped: remove what the roles own or were granted there, then them.
    every = [*made.names.values(), *(f"{r}_login" for r in made.names.values())]
    with admin(pg_url) as con:
        con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY(%s)", (every,))
        present = [r[0] for r in con.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (every,))]
        for name in present:  # one by one: DROP OWNED BY a, b trips over a default ACL naming both
            con.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        for name in present:
            con.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def login(pg_url: str, group: str) -> str:
    """A LOGIN user `<group>_login` in `group`; returns a URL connecting as it (password works under any auth)."""
    user, password = f"{group}_login", secrets.token_hex(16)
    with admin(pg_url) as con:
        con.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(user), sql.Literal(password), sql.Identifier(group)
            )
        )
    parts = urlsplit(pg_url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def as_user(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(urlsplit(url)._replace(scheme="postgresql").geturl(), autocommit=True)


def refused(con: psycopg.Connection[Any], statement: str) -> bool:
    try:
        con.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


@pytest.fixture
def warehouse(pg_url: str, roles: Roles, tmp_path: Path) -> str:
    """A loaded warehouse (core, restricted, audit rows) with a mart table, then the roles applied twice."""
    with connect(pg_url) as wh:
        run_loads(wh, tmp_path / "lake")
        wh.execute("CREATE TABLE mart.enterprise_count AS SELECT count(*) AS n FROM core.enterprise WHERE is_current")
        first = ensure_roles(wh, **roles.names)
        second = ensure_roles(wh, **roles.names)
    assert set(first.created) == set(roles.names.values()) and "core.enterprise" in first.reowned
    assert second.created == () and second.reowned == ()  # idempotent: nothing left to do
    return pg_url


def test_bi_reader_reads_mart_only(warehouse: str, roles: Roles) -> None:
    # The pipelines' login as the module docstring sets it up: member of the owner, sessions run as it,
    # so a mart table or view it creates later gets the default grants.
    pipeline = login(warehouse, roles.owner)
    with admin(warehouse) as con:
        con.execute(sql.SQL("ALTER ROLE {} SET role = {}").format(
            sql.Identifier(f"{roles.owner}_login"), sql.Literal(roles.owner)))  # fmt: skip
    with connect(pipeline) as wh:
        wh.ensure([Table("mart", "later", (Column("n", "bigint", "Số / Count"),), "Bảng mart tạo sau / later")])
        wh.execute(
            "CREATE VIEW mart.enterprise_by_status AS SELECT status, count(*) AS n FROM core.enterprise GROUP BY 1"
        )
        assert wh.query("SELECT tableowner FROM pg_tables WHERE tablename = 'later'") == [(roles.owner,)]
    with as_user(login(warehouse, roles.reader)) as bi:
        assert bi.execute("SELECT n FROM mart.enterprise_count").fetchone() == (2,)
        assert len(bi.execute("SELECT * FROM mart.enterprise_by_status").fetchall()) == 2
        assert bi.execute("SELECT count(*) FROM mart.later").fetchone() == (0,)
        for statement in (
            "SELECT * FROM core.enterprise",
            "SELECT * FROM restricted.quarantine",
            "SELECT * FROM audit.file",
            "SELECT * FROM audit.run",
            "INSERT INTO mart.enterprise_count VALUES (1)",
            "CREATE TABLE mart.mine (x int)",
        ):
            assert refused(bi, statement), statement


def test_steward_reads_restricted_and_core_but_writes_nothing(warehouse: str, roles: Roles) -> None:
    with as_user(login(warehouse, roles.steward)) as steward:
        assert steward.execute("SELECT count(*) FROM restricted.quarantine").fetchone() == (2,)
        assert steward.execute("SELECT count(*) FROM core.enterprise").fetchone() == (4,)
        assert refused(steward, "DELETE FROM restricted.quarantine")
        assert refused(steward, "UPDATE core.enterprise SET status = 'x'")


def test_loader_loads_but_cannot_erase_audit_or_change_the_schema(warehouse: str, roles: Roles, tmp_path: Path) -> None:
    url = login(warehouse, roles.loader)
    with connect(url) as wh:
        assert isinstance(wh, PostgresWarehouse) and "_login:***@" in wh.url  # the password never shows
        run_loads(wh, tmp_path / "lake")  # ensure() has nothing to change, then SCD2, quarantine, audit
        for statement in (
            "DELETE FROM audit.file",
            "DROP TABLE core.enterprise",
            "ALTER TABLE core.enterprise ADD x int",
        ):
            with pytest.raises(WarehouseError, match="InsufficientPrivilege|must be owner"):
                wh.execute(statement)
        assert wh.count("audit.file") == 8  # both loads' audit rows are there


def test_main_roles_summarises(pg_url: str, roles: Roles) -> None:
    summary = main_roles(pg_url, **roles.names)
    assert roles.reader in summary and "mart only" in summary and "\n" not in summary
    assert "already existed" in main_roles(pg_url, **roles.names)


def test_ensure_roles_refuses_odd_names_and_duckdb(pg_url: str, tmp_path: Path) -> None:
    with connect(pg_url) as wh, pytest.raises(WarehouseError, match="role name"):
        ensure_roles(wh, reader='bi"; DROP ROLE postgres; --')
    with connect(f"duckdb:///{tmp_path / 'w.duckdb'}") as duck, pytest.raises(WarehouseError, match="PostgreSQL only"):
        ensure_roles(duck)
