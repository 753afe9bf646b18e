# The image every Airflow service of docker-compose.yml runs: this project and exactly the versions of
# uv.lock (Airflow 3.3.2 and its providers included), installed with `uv sync --frozen --no-dev`.
#
# Why python:3.11-slim and not apache/airflow:3.3.2-python3.11: the official image already carries an
# Airflow installed from Airflow's own constraints file (other versions of hundreds of packages than
# uv.lock), so `uv sync` on top would give two resolutions in one image, and the image would no longer be
# what CI tested. Here uv.lock is the only source of versions. What the official image adds and this one
# replaces: its entrypoint (docker/airflow-init.sh does the one-off set-up explicitly), dumb-init (compose
# runs every service with `init: true`), and the `airflow` user with group 0 (created below, same uid).
FROM python:3.11.14-slim-bookworm

# uv pinned as in the Makefile (UV_VERSION), installed from PyPI like every other package.
ARG UV_VERSION=0.13.9
ARG AIRFLOW_UID=50000

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/kds/.venv \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/kds/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    KDS_HOME=/opt/kds/data \
    GX_ANALYTICS_ENABLED=False \
    UV_CACHE_DIR=/var/cache/uv \
    PATH=/opt/kds/.venv/bin:$PATH

RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
 && useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --create-home --shell /bin/bash airflow

WORKDIR /opt/kds

# Dependencies first: this layer is rebuilt only when the lock changes, not on every code change.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/var/cache/uv \
    uv sync --frozen --no-dev --no-install-project

# The project, installed editable: specs, suites and reference lists are read from /opt/kds at run time.
COPY pipelines ./pipelines
COPY schemas ./schemas
COPY expectations ./expectations
COPY dags ./dags
COPY docker ./docker
RUN --mount=type=cache,target=/var/cache/uv \
    uv sync --frozen --no-dev \
 && airflow version \
 && mkdir -p /opt/kds/data /opt/airflow/logs \
 && chown -R "${AIRFLOW_UID}:0" /opt/airflow /opt/kds/data \
 && chmod -R g+rwX /opt/airflow /opt/kds/data

USER ${AIRFLOW_UID}:0
ENTRYPOINT ["airflow"]
CMD ["version"]
