#!/usr/bin/env bash
# PostgreSQL first start (docker-entrypoint-initdb.d; runs only while the data volume is empty):
# the Airflow metadata database and the warehouse database, separate, each with its own login.
#
# Passwords come from the environment (docker-compose.yml passes them from .env), never from this file;
# psql variables (:'name') send them as quoted literals. The warehouse's group roles are those of
# pipelines/warehouse/roles.py: created here, so that the pipelines' login, which is no superuser, can
# apply and re-apply the grants with `kds warehouse roles` (airflow-init runs it).
set -euo pipefail

for var in AIRFLOW_DB_PASSWORD KDS_WAREHOUSE_DB_PASSWORD KDS_BI_DB_PASSWORD; do
  if [ -z "${!var:-}" ]; then
    echo "init-databases: $var is not set (copy .env.example to .env and generate it)" >&2
    exit 1
  fi
done

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  --set=airflow_password="$AIRFLOW_DB_PASSWORD" \
  --set=warehouse_password="$KDS_WAREHOUSE_DB_PASSWORD" \
  --set=bi_password="$KDS_BI_DB_PASSWORD" <<'SQL'
-- Airflow metadata and the Celery result backend.
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;

-- The warehouse (DESIGN §4 schemas ref, core, mart, audit, restricted), owned by kds_owner.
CREATE ROLE kds_owner NOLOGIN;
CREATE ROLE kds_loader NOLOGIN;
CREATE ROLE bi_reader NOLOGIN;
CREATE ROLE kds_steward NOLOGIN;
CREATE DATABASE kds_warehouse OWNER kds_owner;
REVOKE ALL ON DATABASE kds_warehouse FROM PUBLIC;
GRANT CONNECT ON DATABASE kds_warehouse TO kds_loader, bi_reader, kds_steward;

-- The pipelines' login (KDS_WAREHOUSE_URL): DDL and loads as kds_owner, so every table it creates
-- belongs to kds_owner and gets the default privileges that `kds warehouse roles` sets.
CREATE ROLE kds_airflow LOGIN PASSWORD :'warehouse_password' IN ROLE kds_owner;
ALTER ROLE kds_airflow SET role = 'kds_owner';

-- The BI tools' login: a member of bi_reader, which may read the mart schema only.
CREATE ROLE kds_bi LOGIN PASSWORD :'bi_password' IN ROLE bi_reader;
SQL
echo "init-databases: created databases airflow and kds_warehouse, logins airflow, kds_airflow and kds_bi"
