"""docker-compose.yml, Dockerfile, .env.example and docker/ checked without a Docker engine.

The structure is read with PyYAML (merge keys resolved as compose does); where a Compose v2 binary is on
PATH (`docker compose` or `docker-compose` 2.x) the file is also validated by it. The PostgreSQL init
script runs for real, as the postgres image's entrypoint runs it, on a private throw-away cluster.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.airflow_procs import free_port
from tests.conftest import REPO, service_missing

pytestmark = [pytest.mark.integration]

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
PG_INIT = REPO / "docker" / "postgres" / "init-databases.sh"
AIRFLOW_INIT = REPO / "docker" / "airflow-init.sh"

AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
SERVICES = ("postgres", "redis", "airflow-init", *AIRFLOW_SERVICES)
FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
# A reference to .env: ${VAR}, ${VAR:-default} or ${VAR:?message}.
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$|_AUTH$|PRIVATE")
URL_PASSWORD = re.compile(r"://[^/:@\s]*:(?P<password>[^@\s]*)@")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _references(text: str) -> set[str]:
    """The .env variables a compose file uses (comments are not interpolated; `$$` is a literal `$`)."""
    code = re.sub(r"(?m)(^|\s)#.*$", "", text).replace("$$", "")
    return {m.group("name") for m in REFERENCE.finditer(code)}


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line.strip())
        if m:
            values[m.group(1)] = m.group(2)
    return values


def _looks_like_a_secret(token: str) -> bool:
    """A key- or password-like literal: long, and digits mixed with lower-case letters (hex, base64)."""
    return len(token) >= 20 and sum(c.isdigit() for c in token) >= 3 and any(c.islower() for c in token)


def test_every_service_of_the_topology_is_there(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert set(SERVICES) <= set(services), f"missing: {set(SERVICES) - set(services)}"
    commands = {name: services[name].get("command") for name in AIRFLOW_SERVICES}
    assert commands == {
        "airflow-apiserver": ["api-server"],
        "airflow-scheduler": ["scheduler"],
        "airflow-dag-processor": ["dag-processor"],
        "airflow-triggerer": ["triggerer"],
        "airflow-worker": ["celery", "worker"],
    }


def test_airflow_runs_celery_with_the_fab_auth_manager_on_postgres(compose: dict[str, Any]) -> None:
    for name in ("airflow-init", *AIRFLOW_SERVICES):
        env = _env(_services(compose)[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__AUTH_MANAGER"] == FAB, name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://"), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg://"), name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["KDS_ENV"] == "production"


def test_the_warehouse_is_its_own_database_created_by_the_init_script(compose: dict[str, Any]) -> None:
    env = _env(_services(compose)["airflow-worker"])
    warehouse, metadata = env["KDS_WAREHOUSE_URL"], env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert warehouse.startswith("postgresql+psycopg://") and warehouse.endswith("@postgres:5432/kds_warehouse")
    assert metadata.endswith("@postgres:5432/airflow")
    init = PG_INIT.read_text(encoding="utf-8")
    assert "CREATE DATABASE airflow OWNER airflow" in init
    assert "CREATE DATABASE kds_warehouse OWNER kds_owner" in init
    mounts = _services(compose)["postgres"]["volumes"]
    assert "./docker/postgres/init-databases.sh:/docker-entrypoint-initdb.d/10-init-databases.sh:ro" in mounts
    assert os.access(PG_INIT, os.X_OK) and os.access(AIRFLOW_INIT, os.X_OK)


def test_airflow_init_migrates_creates_the_admin_and_the_warehouse_pool(compose: dict[str, Any]) -> None:
    services = _services(compose)
    init = services["airflow-init"]
    assert init["entrypoint"] == ["/bin/bash", "/opt/kds/docker/airflow-init.sh"]
    script = AIRFLOW_INIT.read_text(encoding="utf-8")
    for step in ("airflow db migrate", "airflow users create --role Admin", "airflow pools set kds_warehouse"):
        assert step in script
    # Every Airflow service starts only after airflow-init has finished successfully.
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}


def test_no_secret_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        for key, value in _env(service).items():
            if SECRET_NAME.search(key):
                assert REFERENCE.fullmatch(value), f"{name}: {key} must be a ${{VAR}} from .env, not a literal"
            for m in URL_PASSWORD.finditer(value):
                assert REFERENCE.fullmatch(m.group("password")), f"{name}: {key} has a password literal in its URL"
    for path in (COMPOSE, DOCKERFILE, PG_INIT, AIRFLOW_INIT):
        text = REFERENCE.sub("", path.read_text(encoding="utf-8"))
        tokens = [t for t in re.findall(r"[A-Za-z0-9+=_-]{20,}", text) if _looks_like_a_secret(t)]
        assert not tokens, f"{path.name}: key- or password-like literals {tokens}"
        # `password: x`, `PASSWORD=x` (psql's `PASSWORD :'variable'` is a reference, not a literal).
        literal = re.search(r"(?i)password[ \t]*(=|:(?!'))[ \t]*['\"]?[A-Za-z0-9]", text)
        assert not literal, f"{path.name}: a password literal: {literal.group(0) if literal else ''}"


def test_env_example_declares_every_variable_with_placeholders_only() -> None:
    used = _references(COMPOSE.read_text(encoding="utf-8"))
    declared = _env_example()
    assert used - set(declared) == set(), f".env.example lacks {sorted(used - set(declared))}"
    assert set(declared) - used == set(), f".env.example declares unused {sorted(set(declared) - used)}"
    for name, value in declared.items():
        if SECRET_NAME.search(name):
            assert value == "", f".env.example: {name} must be empty (a placeholder), not a value"
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    tokens = [t for t in re.findall(r"[A-Za-z0-9+=_-]{20,}", example) if _looks_like_a_secret(t)]
    assert not tokens, f".env.example holds key-like literals {tokens}"
    # Each secret has the command that generates it on the comment line just above it.
    lines = example.splitlines()
    for i, line in enumerate(lines):
        name = line.split("=", 1)[0]
        if "=" in line and SECRET_NAME.search(name):
            assert re.match(r"#\s*(openssl rand|python3 -c)", lines[i - 1]), f"no generate command above {name}"


def test_required_secrets_stop_compose_when_missing() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for name in _env_example():
        if SECRET_NAME.search(name):
            refs = re.findall(r"\$\{" + name + r"(:?[-?])?", text)
            assert refs and all(r == ":?" for r in refs), (
                f"{name}: use ${{{name}:?message}} (no default, no silent empty)"
            )


def test_dot_env_is_never_committed() -> None:
    if shutil.which("git") and (REPO / ".git").exists():
        assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO).returncode == 0, (
            ".env is not git-ignored"
        )
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", "data", ".git"} <= set(ignored)


def test_every_image_is_pinned_to_an_exact_version(compose: dict[str, Any]) -> None:
    project_version = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert project_version
    for name, service in _services(compose).items():
        image = str(service.get("image", ""))
        assert image, f"{name}: no image"
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and "${" not in image, f"{name}: {image} is not pinned"
        if "build" in service:
            assert tag == project_version.group(1), f"{name}: the built image's tag is the project's version"
        else:
            # PostgreSQL (10+) versions are major.minor; the others major.minor.patch.
            exact = r"\d+\.\d+" if repo == "postgres" else r"\d+\.\d+\.\d+"
            assert re.fullmatch(exact + r"(-[a-z0-9.]+)?", tag), f"{name}: {image} is not an exact version"
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert froms and all(re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*", f) for f in froms), froms


def test_the_image_installs_exactly_the_lock() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^COPY pyproject.toml uv.lock", dockerfile, re.M)
    assert "uv sync --frozen --no-dev" in dockerfile
    uv_version = re.search(r"^UV_VERSION := (\S+)", (REPO / "Makefile").read_text(), re.M)
    assert uv_version and f"ARG UV_VERSION={uv_version.group(1)}" in dockerfile, "uv pinned as in the Makefile"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        if service.get("restart") == "no" and not service.get("healthcheck"):
            # A one-off is healthy by exiting 0, which its dependents require.
            dependents = [s for s in _services(compose).values() if name in (s.get("depends_on") or {})]
            assert dependents and all(
                s["depends_on"][name]["condition"] == "service_completed_successfully" for s in dependents
            ), name
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    for name, service in _services(compose).items():
        for dep, condition in (service.get("depends_on") or {}).items():
            if dep in ("postgres", "redis"):
                assert condition == {"condition": "service_healthy"}, f"{name} → {dep}"


def test_the_worker_scales_out(compose: dict[str, Any]) -> None:
    worker = _services(compose)["airflow-worker"]
    for fixed in ("container_name", "hostname", "ports"):
        assert fixed not in worker, f"airflow-worker has {fixed}: --scale airflow-worker=N would collide"
    assert "deploy" not in worker or "replicas" not in worker["deploy"]
    assert not any("container_name" in s for s in _services(compose).values())


def test_dags_and_data_are_mounted_into_every_airflow_service(compose: dict[str, Any]) -> None:
    for name in ("airflow-init", *AIRFLOW_SERVICES):
        service = _services(compose)[name]
        env, volumes = _env(service), service["volumes"]
        assert f"./dags:{env['AIRFLOW__CORE__DAGS_FOLDER']}:ro" in volumes, name
        assert any(v.startswith("${KDS_DATA_DIR") and v.endswith(f":{env['KDS_HOME']}") for v in volumes), name
        assert "airflow-logs:/opt/airflow/logs" in volumes, name


def test_ui_and_warehouse_bind_to_loopback_unless_the_operator_chooses(compose: dict[str, Any]) -> None:
    services = _services(compose)
    published = {name: s.get("ports", []) for name, s in services.items() if s.get("ports")}
    assert set(published) == {"airflow-apiserver", "postgres"}
    for ports in published.values():
        assert all(str(p).startswith("${") and ":-127.0.0.1}" in str(p) for p in ports), ports


def _compose_v2() -> list[str] | None:
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]):
            out = subprocess.run([*cmd, "version"], capture_output=True, text=True)
            if out.returncode == 0 and re.search(r"version v?2\.\d+", out.stdout):
                return cmd
    return None


def test_compose_v2_accepts_the_file_with_generated_secrets(tmp_path: Path) -> None:
    cmd = _compose_v2()
    if cmd is None:
        pytest.skip("no Compose v2 binary on PATH (the structure is checked by the tests above)")
    env_file = tmp_path / ".env"
    lines = []
    for name, value in _env_example().items():
        lines.append(f"{name}={secrets.token_hex(32) if value == '' else value}")
    env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        [*cmd, "--env-file", str(env_file), "-f", str(COMPOSE), "--profile", "cli", "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    empty = subprocess.run(
        [*cmd, "--env-file", os.devnull, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert empty.returncode != 0 and "in .env" in empty.stderr, "a missing secret must stop compose with a message"


# --- docker/postgres/init-databases.sh on a real server --------------------------------------------------


def _pg_bin() -> Path | None:
    done = (
        subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True) if shutil.which("pg_config") else None
    )
    candidates = [Path(done.stdout.strip())] if done and done.returncode == 0 else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()), None)


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[dict[str, str]]:
    """A throw-away PostgreSQL cluster (initdb, its own port and socket), initialised by the init script
    exactly as the postgres image's entrypoint runs it. Roles are cluster-wide, so this must not be the
    shared test server: the script creates `airflow`, `kds_owner`, `bi_reader`, … ."""
    bindir = _pg_bin()
    if bindir is None:
        service_missing("PostgreSQL server binaries (initdb, pg_ctl)")
    assert bindir is not None
    base = Path(tempfile.mkdtemp(prefix="kds-pg-init-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(base, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", free_port()
    env = {**os.environ, "PGHOST": str(base), "PGPORT": str(port), "PGUSER": "postgres"}
    run = lambda *a: subprocess.run([*as_postgres, *a], env=env, capture_output=True, text=True, timeout=120)  # noqa: E731
    try:
        done = run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        assert done.returncode == 0, done.stderr
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start")
        assert done.returncode == 0, done.stderr + (base / "log").read_text(errors="replace")
        passwords = {
            v: secrets.token_hex(16) for v in ("AIRFLOW_DB_PASSWORD", "KDS_WAREHOUSE_DB_PASSWORD", "KDS_BI_DB_PASSWORD")
        }
        init_env = {**env, **passwords, "POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres"}
        done = subprocess.run(["bash", str(PG_INIT)], env=init_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        yield {"host": "127.0.0.1", "port": str(port), **passwords, "output": done.stdout}
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _url(pg: dict[str, str], user: str, password: str, db: str, driver: str = "postgresql") -> str:
    return f"{driver}://{user}:{password}@{pg['host']}:{pg['port']}/{db}"


@pytest.mark.postgres
def test_init_script_creates_two_databases_and_their_logins(private_postgres: dict[str, str]) -> None:
    import psycopg

    pg = private_postgres
    with psycopg.connect(_url(pg, "postgres", "", "postgres")) as conn:
        databases = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        owners = dict(conn.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database").fetchall())
        logins = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolcanlogin")}
        superusers = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolsuper")}
    assert {"airflow", "kds_warehouse"} <= databases
    assert (owners["airflow"], owners["kds_warehouse"]) == ("airflow", "kds_owner")
    assert {"airflow", "kds_airflow", "kds_bi"} <= logins and superusers == {"postgres"}
    with psycopg.connect(_url(pg, "kds_airflow", pg["KDS_WAREHOUSE_DB_PASSWORD"], "kds_warehouse")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("kds_owner",)  # ALTER ROLE … SET role
    # Each login reaches its own database only.
    for user, password, db in (
        ("kds_bi", pg["KDS_BI_DB_PASSWORD"], "airflow"),
        ("airflow", pg["AIRFLOW_DB_PASSWORD"], "kds_warehouse"),
    ):
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(_url(pg, user, password, db)).close()


@pytest.mark.postgres
@pytest.mark.slow
def test_airflow_migrates_its_database_as_the_airflow_login(private_postgres: dict[str, str], tmp_path: Path) -> None:
    """PostgreSQL 15 no longer lets every user create in `public`: the non-superuser `airflow` login can
    migrate because it owns its database."""
    pg = private_postgres
    url = _url(pg, "airflow", pg["AIRFLOW_DB_PASSWORD"], "airflow", driver="postgresql+psycopg")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(
        AIRFLOW_HOME=str(tmp_path),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=url,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=url,
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__AUTH_MANAGER=FAB,
    )
    airflow = str(Path(sys.executable).parent / "airflow")
    started = time.monotonic()
    done = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"\nairflow db migrate as `airflow`: {time.monotonic() - started:.0f}s")


@pytest.mark.postgres
def test_the_pipelines_login_applies_the_warehouse_grants(private_postgres: dict[str, str], tmp_path: Path) -> None:
    """`kds warehouse roles`, as airflow-init runs it, works as kds_airflow (no superuser) because the init
    script created the group roles; then the BI login reads mart and nothing of core."""
    import psycopg

    from pipelines.warehouse import connect

    pg = private_postgres
    url = _url(pg, "kds_airflow", pg["KDS_WAREHOUSE_DB_PASSWORD"], "kds_warehouse", driver="postgresql+psycopg")
    with connect(url) as wh, wh.transaction():
        wh.execute("CREATE SCHEMA IF NOT EXISTS core")
        wh.execute("CREATE TABLE IF NOT EXISTS core.person_like (id_key text)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KDS_")}
    env.update(KDS_HOME=str(tmp_path), KDS_WAREHOUSE_URL=url, KDS_PSEUDONYM_KEY=secrets.token_hex(32))
    kds = str(Path(sys.executable).parent / "kds")
    done = subprocess.run([kds, "warehouse", "roles"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bi_reader" in done.stdout and pg["KDS_WAREHOUSE_DB_PASSWORD"] not in done.stdout + done.stderr
    with connect(url) as wh, wh.transaction():
        wh.execute("CREATE TABLE IF NOT EXISTS mart.indicator (value int)")  # after the grants: default privileges
        wh.execute("INSERT INTO mart.indicator VALUES (1)")
    with psycopg.connect(_url(pg, "kds_bi", pg["KDS_BI_DB_PASSWORD"], "kds_warehouse"), autocommit=True) as bi:
        assert bi.execute("SELECT value FROM mart.indicator").fetchall() == [(1,)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("SELECT * FROM core.person_like")
