"""The production warehouse: PostgreSQL 15+ through psycopg 3, bulk loads with `COPY`.

Same interface and SQL as the embedded DuckDB backend (`?` placeholders, one transaction per file);
what differs, and why:

- Statements outside `transaction()` commit on their own (the connection runs in autocommit and
  `transaction()` opens an explicit BEGIN … COMMIT). A status query therefore never leaves the
  session "idle in transaction" holding locks that would stall DDL or the next load.
- Every transaction sets `lock_timeout` (default 10 s, `KDS_PG_LOCK_TIMEOUT`) and
  `statement_timeout` (default 30 min, `KDS_PG_STATEMENT_TIMEOUT`) locally. A loader that
  queues behind a long BI query fails fast with a one-line reason and Airflow retries it, instead of
  waiting forever while every reader queues behind the loader's pending lock.
- `lock(name)` is a transaction-scoped advisory lock keyed by a stable 64-bit hash of the name, so
  two runs of the same (dataset, period) cannot interleave; the second waits up to `lock_timeout`,
  then fails cleanly.
- `ensure()` issues DDL only for what is missing or changed: `ALTER TABLE … ADD COLUMN IF NOT
  EXISTS` takes an ACCESS EXCLUSIVE lock even when it does nothing, which would make every run
  conflict with every reader of the core tables.
- Errors become a one-line `WarehouseError` naming host and database, never the password, and
  never row values (PostgreSQL's DETAIL/CONTEXT can quote a cell, which may hold personal data).

Triage: "lock_timeout" → look for long queries in `pg_stat_activity` on the named table and let the
retry run; "connection … lost" → the server rolled the transaction back, the retry converges.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from pipelines.warehouse import Warehouse, WarehouseError
from pipelines.warehouse.tables import SCHEMAS, Column, Table, create_statements, qualified, quote

LOCK_TIMEOUT_ENV = "KDS_PG_LOCK_TIMEOUT"
STATEMENT_TIMEOUT_ENV = "KDS_PG_STATEMENT_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = "10s"
DEFAULT_STATEMENT_TIMEOUT = "30min"
CONNECT_TIMEOUT_S = 10
COPY_BATCH_ROWS = 16_384  # rows rendered per COPY chunk: ~11 MB of CSV for core.enterprise-wide rows

# COPY rendering: pyarrow's C++ CSV writer renders a whole record batch at once, and with
# quoting "needed" it quotes every string value (strings "can contain quotes") and writes a null as an
# unquoted empty field. PostgreSQL's CSV COPY reads exactly that as text '' vs NULL; backslashes,
# tabs, semicolons and newlines are plain data inside quotes (a quoted `\.` line is not the end
# marker); dates are ISO, booleans true/false, NaN/inf as PostgreSQL spells them.
# Measured on 100k `core.enterprise` rows (26 columns), client CPU per row: this 1.6–2.0 µs; psycopg
# `write_row` 23–26 µs (text) or 13–19 µs (binary, typed), since every value goes through Python;
# psycopg's QueuedLibpqWriter (send from a thread) 1.7–2.4 µs for no steady gain. Wall time is the
# server's: this runs at 0.8–1.0× a COPY of a pre-rendered buffer (benchmarks/bench_postgres_load.py).
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed", batch_size=COPY_BATCH_ROWS)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\s*$")
# SQL tokens that may contain `?` or `%` as data: literals, quoted identifiers, dollar-quoted bodies
# and comments are copied as they are (with `%` doubled, as psycopg requires everywhere).
_SQL_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$(\w*)\$.*?\$\1\$|--[^\n]*|\?|%", re.S)


def mask_url(url: str) -> str:
    """The URL as it may be shown or logged: the password (in the netloc or the query) replaced."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:***@{hostport}" if sep else netloc
    query = urlencode([(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def libpq_url(url: str) -> str:
    """`postgresql+psycopg://…` (SQLAlchemy style) → `postgresql://…` that libpq understands."""
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url, count=1)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key (Python's hash() differs between processes)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def duration(env: str, default: str) -> str:
    """A timeout from the environment as a PostgreSQL duration; a bare number means seconds."""
    value = os.environ.get(env) or default
    match = _DURATION.match(value)
    if not match:
        raise WarehouseError(f"{env}={value!r} is not a duration; use e.g. 10s, 500ms, 2min or 1h")
    return f"{match.group(1)}{match.group(2) or 's'}"


@lru_cache(maxsize=512)
def to_psycopg(sql: str) -> str:
    """Rewrite the interface's `?` placeholders as psycopg's `%s` (and a literal `%` as `%%`)."""

    def token(m: re.Match[str]) -> str:
        text = m.group(0)
        if text == "?":
            return "%s"
        return text.replace("%", "%%")

    return _SQL_TOKENS.sub(token, sql)


class PostgresWarehouse(Warehouse):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = mask_url(url)  # what users see; the password never leaves _conninfo
        self._conninfo = libpq_url(url)
        params = _conninfo_params(self._conninfo)
        host = params.get("host") or os.environ.get("PGHOST") or "local socket"
        port = params.get("port") or os.environ.get("PGPORT") or "5432"
        dbname = params.get("dbname") or os.environ.get("PGDATABASE") or "(default database)"
        self.where = f"PostgreSQL {host}:{port}/{dbname}"
        self._password = params.get("password") or ""
        self.lock_timeout = duration(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT)
        self.statement_timeout = duration(STATEMENT_TIMEOUT_ENV, DEFAULT_STATEMENT_TIMEOUT)
        self._depth = 0
        self._con = self._open()

    # --- connection ---------------------------------------------------------------------------

    def _open(self) -> psycopg.Connection[Any]:
        try:
            con = psycopg.connect(
                self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="kds"
            )
        except psycopg.Error as exc:
            raise WarehouseError(f"cannot connect to the warehouse ({self.where}): {self._scrub(exc)}") from None
        # Naive timestamps (audit times are UTC) must not depend on the server's TimeZone setting.
        con.execute("SET TIME ZONE 'UTC'")
        return con

    def _connected(self) -> psycopg.Connection[Any]:
        """The connection; a lost one is replaced, but only between transactions (nothing in flight)."""
        if self._con.closed or self._con.broken:
            if self._depth:
                raise WarehouseError(f"the connection to the warehouse ({self.where}) was lost mid-transaction")
            self._con = self._open()
        return self._con

    @property
    def backend_pid(self) -> int:
        """The server process of this session (for `pg_stat_activity` triage and fault tests)."""
        return int(self._connected().info.backend_pid)

    def close(self) -> None:
        if not self._con.closed:
            self._con.close()

    # --- statements ---------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._errors(sql):
            self._connected().execute(to_psycopg(sql), list(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._errors(sql):
            return self._connected().execute(to_psycopg(sql), list(params)).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:  # nested: part of the outer transaction
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        con = self._begin()
        self._depth = 1
        try:
            with self._errors("SET LOCAL lock_timeout, statement_timeout"):
                con.execute(
                    "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                    (self.lock_timeout, self.statement_timeout),
                )
            yield
        except BaseException:
            self._rollback()
            raise
        else:
            if con.info.transaction_status == pq.TransactionStatus.INERROR:
                # A statement failed and the caller carried on: COMMIT would silently roll back.
                self._rollback()
                raise WarehouseError(f"{self.where}: the transaction failed earlier and was rolled back")
            with self._errors("COMMIT"):
                con.execute("COMMIT")
        finally:
            self._depth = 0

    def _begin(self) -> psycopg.Connection[Any]:
        with self._errors("BEGIN"):
            con = self._connected()
            try:
                con.execute("BEGIN")
            except psycopg.OperationalError:
                if not (con.closed or con.broken):
                    raise
                # The session died while idle (server restart, idle timeout): nothing was in flight, so
                # reconnecting once is safe, and lets a run still write its audit row after a lost connection.
                con = self._connected()
                con.execute("BEGIN")
        return con

    def _rollback(self) -> None:
        if self._con.closed or self._con.broken:
            return  # the server rolls back a transaction whose connection is gone
        with suppress(psycopg.OperationalError):  # died while rolling back: same outcome
            self._con.execute("ROLLBACK")

    def lock(self, name: str) -> None:
        if not self._depth:
            raise WarehouseError(f"lock({name!r}) outside transaction(): the lock would be released at once")
        with self._errors(f"advisory lock {name}"):
            self._connected().execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(name),))

    # --- bulk load ----------------------------------------------------------------------------

    def insert_arrow(self, table: str, data: pa.Table | pa.RecordBatchReader) -> int:
        """COPY Arrow data into a table by column name, one rendered CSV chunk per record batch."""
        reader = data.to_reader() if isinstance(data, pa.Table) else data
        cols = ", ".join(quote(n) for n in reader.schema.names)
        sql = f"COPY {qualified(table)} ({cols}) FROM STDIN (FORMAT csv)"
        with self._errors(f"COPY into {table}"), self._connected().cursor() as cur:
            with cur.copy(sql) as copy:
                for batch in reader:  # slices are zero-copy: a caller's big batch is rendered in chunks
                    for start in range(0, batch.num_rows, COPY_BATCH_ROWS):
                        sink = pa.BufferOutputStream()
                        pacsv.write_csv(batch.slice(start, COPY_BATCH_ROWS), sink, _CSV_OPTIONS)
                        copy.write(memoryview(sink.getvalue()))
            return max(cur.rowcount, 0)

    # --- DDL ----------------------------------------------------------------------------------

    def ensure(self, tables: Sequence[Table]) -> None:
        """Create what is missing, comment what changed; leave existing tables unlocked otherwise.

        With nothing to change this issues no DDL at all, so a login with only the loader role can run it.
        """
        with self.transaction():
            self.lock("kds:ddl")  # concurrent workers' CREATE … IF NOT EXISTS race on the catalog otherwise
            present = {
                r[0] for r in self.query("SELECT nspname FROM pg_namespace WHERE nspname = ANY(?)", [list(SCHEMAS)])
            }
            for schema in SCHEMAS:
                if schema not in present:  # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even then
                    self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
            current = self._comments()
            for table in tables:
                for statement in _ddl(table, current.get((table.schema, table.name)), self.dialect):
                    self.execute(statement)

    def _comments(self) -> dict[tuple[str, str], dict[str, str | None]]:
        """Existing tables of our schemas → {column ('' for the table): comment}."""
        rows = self.query(
            """SELECT n.nspname, c.relname, a.attname, d.description
               FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               LEFT JOIN pg_description d
                 ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
               WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(?)
               UNION ALL
               SELECT n.nspname, c.relname, '', d.description
               FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
               WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(?)""",
            (list(SCHEMAS), list(SCHEMAS)),
        )
        out: dict[tuple[str, str], dict[str, str | None]] = {}
        for schema, name, column, comment in rows:
            out.setdefault((schema, name), {})[column] = comment
        return out

    # --- errors -------------------------------------------------------------------------------

    def _scrub(self, exc: BaseException) -> str:
        text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        return text.replace(self._password, "***") if len(self._password) >= 4 else text

    @contextmanager
    def _errors(self, sql: str) -> Iterator[None]:
        """psycopg errors → one-line WarehouseError saying what failed where, without row values."""
        try:
            yield
        except psycopg.Error as exc:
            # Data and constraint errors quote cell values (DETAIL, CONTEXT): drop the chain for those.
            cause = None if (exc.sqlstate or "").startswith(("22", "23")) else exc
            raise WarehouseError(self._describe(exc, sql)) from cause

    def _describe(self, exc: psycopg.Error, sql: str) -> str:
        what = " ".join(sql.split())[:120]
        state = exc.sqlstate or ""
        primary = exc.diag.message_primary or self._scrub(exc)
        if state.startswith(("22", "23")):  # data errors quote the offending value: keep it out of logs
            primary = re.sub(r'"[^"]*"|\([^)]*\)=\([^)]*\)', '"…"', primary)
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return (
                f"{self.where}: gave up waiting for a lock after lock_timeout={self.lock_timeout} during: {what} — "
                "another session (a long BI query, or another run of the same dataset and period) holds it; "
                "retry later (Airflow retries the task), or find the holder in pg_stat_activity"
            )
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return (
                f"{self.where}: cancelled (statement_timeout={self.statement_timeout} or by an operator) during: {what}"
            )
        if self._con.closed or self._con.broken or state.startswith(("08", "57P")):
            outcome = (
                "the COMMIT may or may not have landed"
                if what == "COMMIT"
                else "the server rolled the transaction back"
            )
            return (
                f"the connection to the warehouse ({self.where}) was lost during: {what} ({primary}); "
                f"{outcome}; a re-run converges"
            )
        return f"{self.where}: {type(exc).__name__} ({state}) {primary} — during: {what}"


def _conninfo_params(conninfo: str) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    except psycopg.ProgrammingError as exc:
        raise WarehouseError(f"{mask_url(conninfo)} is not a valid PostgreSQL URL: {exc}") from None


def _ddl(table: Table, current: dict[str, str | None] | None, dialect: str) -> list[str]:
    """The statements that bring one table from its current state (None = absent) to the declared one."""
    if current is None:
        return create_statements(table, dialect)

    def only(columns: Sequence[Column], kind: str) -> list[str]:
        statements = create_statements(Table(table.schema, table.name, tuple(columns), table.comment), dialect)
        return [s for s in statements if s.startswith(kind)]

    missing = [c for c in table.columns if c.name not in current]
    changed = [c for c in table.columns if c.name in current and c.comment and current[c.name] != c.comment]
    out = only(missing, "ALTER TABLE") + only([*missing, *changed], "COMMENT ON COLUMN")
    if current.get("") != table.comment:
        out += only((), "COMMENT ON TABLE")
    return out
