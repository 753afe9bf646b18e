"""Run a real multi-process Airflow (the production topology, without Docker) for integration tests.

`airflow_stack()` creates a fresh PostgreSQL database for the Airflow metadata (and, on request, one for
the warehouse), migrates it, creates a FAB admin user and the `kds_warehouse` pool, then starts
`airflow scheduler`, `airflow dag-processor`, `airflow api-server` on a free loopback port and, with
CeleryExecutor, `airflow celery worker`. Every process runs in its own process group and is stopped
(SIGTERM, then SIGKILL) when the context ends, on failure too; the databases are dropped.

Why the FAB auth manager: it is the production auth manager (docker-compose.yml), and with it the test
knows the credentials it created (`airflow users create`), so `POST /auth/token` gives a token the same
way an operator's script gets one. (The simple auth manager generates its password into a file at start,
which works too, but would test a configuration production never runs.)
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
AIRFLOW = str(VENV_BIN / "airflow")
ADMIN_USER = "kds_admin"
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
TEST_PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef0123456789abcdef"


def postgres_admin_url() -> str:
    return os.environ.get("KDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def redis_url() -> str:
    return os.environ.get("KDS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def postgres_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(postgres_admin_url(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def redis_available() -> bool:
    parts = urlsplit(redis_url())
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url(name: str, driver: str = "postgresql+psycopg") -> str:
    parts = urlsplit(postgres_admin_url())
    return parts._replace(scheme=driver, path=f"/{name}").geturl()


@contextmanager
def temporary_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the test server (unique name), dropped at the end; yields its name."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _forget_queue(broker: str, queue: str) -> None:
    """Remove the run's own queue and its bindings from Redis (shared with other tests and runs)."""
    import redis

    with suppress(redis.RedisError), redis.Redis.from_url(broker, socket_timeout=5) as r:
        keys = list(r.scan_iter(match=f"*{queue}*"))
        if keys:
            r.delete(*keys)


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@dataclass
class AirflowStack:
    """Processes of one Airflow deployment; `http()` talks to its REST API v2 with a FAB token."""

    home: Path
    env: dict[str, str]
    base_url: str
    admin_password: str
    executor: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _token: str | None = None

    @property
    def logs(self) -> Path:
        return self.home / "process-logs"

    def cli(self, *args: str, timeout: float = 300) -> str:
        """Run one `airflow` command to completion; its output on failure."""
        done = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.home
        )
        if done.returncode:
            raise RuntimeError(
                f"airflow {' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def finish(self, name: str, timeout: float = 300) -> None:
        """Wait for a one-shot command started with `start()`; its output on failure."""
        proc = self.procs.pop(name)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.procs[name] = proc  # stop() kills it
            raise RuntimeError(f"airflow {name} still running after {timeout:.0f}s:\n{self.tail(name)}") from None
        if code:
            raise RuntimeError(f"airflow {name} failed ({code}):\n{self.tail(name)}")

    def start(self, name: str, *args: str) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("wb") as out:
            self.procs[name] = subprocess.Popen(
                [AIRFLOW, *args],
                env=self.env,
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() reaches every child it forks
            )

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return "(no output)"
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, grace: float = 20) -> None:
        """SIGTERM every process group, wait, then SIGKILL whatever is left (workers' children included)."""
        for proc in self.procs.values():
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            # The group may outlive its leader (a forked task runner): kill the group in any case.
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)

    def wait_until_serving(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with (
                suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{self.base_url}/api/v2/monitor/health", timeout=5) as r,
            ):
                if r.status == 200:
                    return
            time.sleep(1)
        raise TimeoutError(f"api-server not serving after {timeout:.0f}s:\n{self.tail('api-server')}")

    def token(self) -> str:
        """A JWT from the FAB auth manager's token endpoint (what `airflow` clients and scripts use)."""
        if self._token is None:
            body = self.http(
                "POST", "/auth/token", {"username": ADMIN_USER, "password": self.admin_password}, auth=False
            )
            self._token = str(body["access_token"])
        return self._token

    def http(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base_url}{path}", data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: HTTP {e.code} {e.read()[:500]!r}") from None

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict[str, Any]:
        """Until the dag-processor has serialised the DAG (the API answers 404 before)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                return dict(self.http("GET", f"/api/v2/dags/{dag_id}"))
            except RuntimeError as e:
                last = str(e)
            time.sleep(2)
        raise TimeoutError(f"{dag_id} not parsed after {timeout:.0f}s ({last}):\n{self.tail('dag-processor')}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        """Poll the run until it ends (or the timeout); returns its final state."""
        deadline = time.monotonic() + timeout
        state = "unknown"
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.http("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return str(state)
            time.sleep(2)
        return f"still {state} after {timeout:.0f}s"

    def task_logs(self, dag_id: str, run_id: str) -> str:
        """Where the task logs of a run are, with their last lines (for a failure message)."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        files = sorted(folder.rglob("*.log")) if folder.exists() else []
        out = [f"task logs: {folder}" + ("" if files else " (no log file written)")]
        for f in files:
            lines = [_readable(line) for line in f.read_text(encoding="utf-8", errors="replace").splitlines()]
            out.append(f"--- {f}\n" + "\n".join(lines[-40:]))
        return "\n".join(out)

    def diagnostics(self) -> str:
        return "\n".join(
            f"=== airflow {name} ({self.logs / (name + '.log')})\n{self.tail(name, 30)}" for name in self.procs
        )


def _readable(line: str) -> str:
    """A task log line (JSON in Airflow 3) as `time level event`."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    return f"{str(record.get('timestamp', ''))[11:19]} {record.get('level', '')} {record.get('event', '')}"


@contextmanager
def airflow_stack(
    tmp: Path,
    *,
    executor: str = "CeleryExecutor",
    kds_env: dict[str, str] | None = None,
    pool_slots: int = 1,
) -> Iterator[AirflowStack]:
    """A running Airflow (metadata on a fresh PostgreSQL database) with this repo's DAGs; all stopped at exit."""
    with ExitStack() as cleanup:
        metadata_db = cleanup.enter_context(temporary_database("kds_test_airflow"))
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        home = tmp / "airflow"
        home.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "KDS_"))}
        env.update(
            {
                "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # Airflow re-invokes `airflow` from PATH
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__EXECUTOR": executor,
                "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
                "AIRFLOW__CORE__FERNET_KEY": fernet_key(),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url(metadata_db),
                # Airflow derives an asyncpg URL otherwise; psycopg 3 (locked) does both sync and async.
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": database_url(metadata_db),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(port),
                "AIRFLOW__API__BASE_URL": base_url,
                "AIRFLOW__API__WORKERS": "1",
                # Shared by every process, as in production: the api-server signs, the others verify.
                "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                # Only the runs the test triggers: no scheduled run may race with them.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                # Log servers on free ports: several stacks (or a developer's Airflow) may run on one machine.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "GX_ANALYTICS_ENABLED": "False",
                "KDS_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
            }
        )
        if executor == "CeleryExecutor":
            # A Redis database of its own and a queue of its own: concurrent runs never take each other's tasks.
            queue = f"kds-test-{uuid.uuid4().hex[:8]}"
            redis_db = 1 + int(uuid.uuid4().int % 15)
            broker = urlsplit(redis_url())._replace(path=f"/{redis_db}").geturl()
            cleanup.callback(_forget_queue, broker, queue)
            env.update(
                {
                    "AIRFLOW__CELERY__BROKER_URL": broker,
                    "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database_url(metadata_db),
                    "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
                }
            )
        env.update(kds_env or {})
        stack = AirflowStack(
            home=home, env=env, base_url=base_url, admin_password=secrets.token_urlsafe(16), executor=executor
        )
        cleanup.callback(stack.stop)

        stack.cli("db", "migrate", timeout=600)
        # The admin user and the pool are created while the services start (each `airflow` command spends
        # seconds importing Airflow); nothing is triggered before both are done.
        stack.start(
            "users-create", "users", "create", "--username", ADMIN_USER, "--password", stack.admin_password,
            "--role", "Admin", "--firstname", "KDS", "--lastname", "Admin", "--email", "kds-admin@example.invalid",
        )  # fmt: skip
        stack.start("pools-set", "pools", "set", "kds_warehouse", str(pool_slots), "warehouse writers")
        stack.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1")
        stack.start("dag-processor", "dag-processor")
        stack.start("scheduler", "scheduler")
        if executor == "CeleryExecutor":
            stack.start(
                "celery-worker", "celery", "worker", "--queues", env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"],
                "--concurrency", "2", "--celery-hostname", f"kds-test-{os.getpid()}@%h", "--without-gossip",
                "--without-mingle",
            )  # fmt: skip
        stack.finish("users-create")
        stack.finish("pools-set")
        stack.wait_until_serving()
        yield stack
