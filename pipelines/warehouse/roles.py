"""PostgreSQL roles for the warehouse: who may change, load, and read what (RELIABILITY.md, Security).

Four NOLOGIN group roles, created and granted by `ensure_roles` (idempotent: run it again after
adding a schema or when in doubt; `kds warehouse roles` runs it):

- `kds_owner`   owns the schemas ref, core, mart, audit, restricted and their tables (DDL).
- `kds_loader`  writes core, mart and restricted, appends to audit (SELECT + INSERT only, so a run
                cannot erase the audit trail), reads ref; may create temporary tables (the SCD2 stage).
- `bi_reader`   USAGE and SELECT on mart only, including tables and views created later. No access to
                core (person-level rows), restricted (quarantined raw rows) or audit.
- `kds_steward` reads everything, including restricted, to review quarantined rows.

Login users are created by the operator (passwords from the secret store, never the repository) and
made members of these roles, as a superuser or a CREATEROLE administrator:

    CREATE ROLE kds_airflow LOGIN PASSWORD '…' IN ROLE kds_owner;   -- the pipelines: DDL and loads
    ALTER ROLE kds_airflow SET role = 'kds_owner';  -- what it creates belongs to kds_owner, so the
                                                    -- default privileges below apply to new tables
    CREATE ROLE superset LOGIN PASSWORD '…' IN ROLE bi_reader;          -- the BI tool
    CREATE ROLE steward_lan LOGIN PASSWORD '…' IN ROLE kds_steward;     -- a data steward
    -- Stricter: DDL applied by an operator login (IN ROLE kds_owner, same ALTER ROLE … SET role) and the
    -- pipelines' login IN ROLE kds_loader only; `ensure()` then issues no DDL unless a spec changed.

Run `ensure_roles` as a superuser (or a member of the owner role with CREATEROLE and CREATE on the
database). Default privileges are set FOR ROLE kds_owner, hence the `SET role` above: tables created by
another role are not covered until `ensure_roles` runs again (it re-owns and re-grants existing ones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.warehouse import Warehouse, WarehouseError
from pipelines.warehouse.tables import SCHEMAS, literal, quote

OWNER, LOADER, READER, STEWARD = "kds_owner", "kds_loader", "bi_reader", "kds_steward"

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_WRITE = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE"
_APPEND = "SELECT, INSERT"
_KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE"}


@dataclass(frozen=True)
class RoleGrants:
    """What `ensure_roles` did, for the command's summary."""

    database: str
    created: tuple[str, ...]
    reowned: tuple[str, ...]
    owner: str
    loader: str
    reader: str
    steward: str


def _create_role(name: str) -> str:
    # Roles are cluster-wide: another database may create the same role at the same moment.
    return f"""DO $$BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {literal(name)}) THEN
    CREATE ROLE {quote(name)} NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END$$"""


def _table_privileges(schema: str, privileges: dict[str, str], revoked: list[str]) -> list[str]:
    """Grants on a schema, its existing tables, and the tables the owner creates there later."""
    s = quote(schema)
    out = [f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC"]
    for role in revoked:
        out += [
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {quote(role)}",
            f"REVOKE ALL ON SCHEMA {s} FROM {quote(role)}",
        ]
    for role, grant in privileges.items():
        out += [
            f"GRANT USAGE ON SCHEMA {s} TO {quote(role)}",
            f"GRANT {grant} ON ALL TABLES IN SCHEMA {s} TO {quote(role)}",
        ]
    return out


def _default_privileges(owner: str, schema: str, privileges: dict[str, str], revoked: list[str]) -> list[str]:
    prefix = f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(owner)} IN SCHEMA {quote(schema)}"
    return [f"{prefix} REVOKE ALL ON TABLES FROM {quote(r)}" for r in revoked] + [
        f"{prefix} GRANT {grant} ON TABLES TO {quote(role)}" for role, grant in privileges.items()
    ]


def ensure_roles(
    wh: Warehouse,
    *,
    owner: str = OWNER,
    loader: str = LOADER,
    reader: str = READER,
    steward: str = STEWARD,
) -> RoleGrants:
    """Create the group roles if missing and (re)apply every grant of the warehouse's database."""
    if wh.dialect != "postgresql":
        raise WarehouseError(f"roles exist on PostgreSQL only; {wh.url} is {wh.dialect}")
    names = (owner, loader, reader, steward)
    for name in names:
        if not _ROLE_NAME.match(name):
            raise WarehouseError(f"role name {name!r}: use lower-case letters, digits and _ (at most 63)")
    # Who may read what, per schema; the reader is named only where it may read.
    access: dict[str, dict[str, str]] = {
        "ref": {loader: "SELECT", steward: "SELECT"},
        "core": {loader: _WRITE, steward: "SELECT"},
        "mart": {loader: _WRITE, reader: "SELECT", steward: "SELECT"},
        "audit": {loader: _APPEND, steward: "SELECT"},
        "restricted": {loader: _WRITE, steward: "SELECT"},
    }
    assert set(access) == set(SCHEMAS)
    with wh.transaction():
        wh.lock("kds:roles")
        existing = {r[0] for r in wh.query("SELECT rolname FROM pg_roles WHERE rolname = ANY(?)", [list(names)])}
        for name in names:
            wh.execute(_create_role(name))
        database = str(wh.query("SELECT current_database()")[0][0])
        db = quote(database)
        wh.execute(f"GRANT CONNECT ON DATABASE {db} TO {', '.join(quote(n) for n in (loader, reader, steward))}")
        wh.execute(f"GRANT TEMPORARY ON DATABASE {db} TO {quote(loader)}")
        for schema in SCHEMAS:
            wh.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
            wh.execute(f"ALTER SCHEMA {quote(schema)} OWNER TO {quote(owner)}")
        reowned = _reown(wh, owner)
        for schema, privileges in access.items():
            revoked = [r for r in (loader, reader, steward) if r not in privileges]
            for statement in _table_privileges(schema, privileges, revoked):
                wh.execute(statement)
            for statement in _default_privileges(owner, schema, privileges, revoked):
                wh.execute(statement)
    return RoleGrants(database, tuple(n for n in names if n not in existing), reowned, owner, loader, reader, steward)


def _reown(wh: Warehouse, owner: str) -> tuple[str, ...]:
    """Tables created before the roles (or by another login) are handed to the owner."""
    rows = wh.query(
        """SELECT n.nspname, c.relname, c.relkind FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = ANY(?) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
             AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = ?)
           ORDER BY 1, 2""",
        [list(SCHEMAS), owner],
    )
    for schema, name, kind in rows:
        wh.execute(f"ALTER {_KINDS[kind]} {quote(schema)}.{quote(name)} OWNER TO {quote(owner)}")
    return tuple(f"{schema}.{name}" for schema, name, _ in rows)


def main_roles(
    url: str, *, owner: str = OWNER, loader: str = LOADER, reader: str = READER, steward: str = STEWARD
) -> str:
    """`kds warehouse roles`: apply `ensure_roles` to the warehouse at `url`; a one-paragraph summary."""
    from pipelines.warehouse import connect

    with connect(url) as wh:
        done = ensure_roles(wh, owner=owner, loader=loader, reader=reader, steward=steward)
        where = wh.url
    created = f"created {', '.join(done.created)}" if done.created else "all four roles already existed"
    reowned = f"; {len(done.reowned)} existing table(s) handed to {done.owner}" if done.reowned else ""
    return (
        f"Warehouse roles on {where} (database {done.database}): {created}{reowned}. "
        f"{done.owner} owns ref, core, mart, audit and restricted; {done.loader} writes core, mart and restricted, "
        f"appends to audit and reads ref; {done.reader} reads mart only (tables created later included); "
        f"{done.steward} reads everything including restricted. Grant them to login users, e.g. "
        f"CREATE ROLE superset LOGIN PASSWORD '…' IN ROLE {done.reader}; for the pipelines' login also "
        f"ALTER ROLE <login> SET role = '{done.owner}' so new tables get these grants. Safe to re-run."
    )
