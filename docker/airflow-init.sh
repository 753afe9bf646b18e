#!/usr/bin/env bash
# airflow-init (docker-compose.yml): the one-off set-up that must finish before any Airflow service starts.
# Idempotent: it runs at every `docker compose up`. Runs as root only to hand the shared folders to the
# Airflow user; every Airflow and kds command runs as that user (uid AIRFLOW_UID, group 0).
set -euo pipefail

uid="${AIRFLOW_UID:-50000}"
missing=()
for var in AIRFLOW__CORE__FERNET_KEY AIRFLOW__API__SECRET_KEY AIRFLOW__API_AUTH__JWT_SECRET KDS_PSEUDONYM_KEY \
           _AIRFLOW_WWW_USER_USERNAME _AIRFLOW_WWW_USER_PASSWORD; do
  [ -n "${!var:-}" ] || missing+=("$var")
done
if (( ${#missing[@]} )); then
  echo "airflow-init: not set: ${missing[*]} (copy .env.example to .env and generate the secrets)" >&2
  exit 1
fi
if [ "${#KDS_PSEUDONYM_KEY}" -lt 32 ]; then
  echo "airflow-init: KDS_PSEUDONYM_KEY is shorter than 32 characters (openssl rand -hex 32)" >&2
  exit 1
fi

# The data volume (landing, raw, lake, docs, exports) and the task logs shared by every worker. A bind
# mount arrives owned by the host's user: only the top folders are handed over (not -R: the lake may be large).
mkdir -p "$KDS_HOME/landing" /opt/airflow/logs
chown "$uid:0" "$KDS_HOME" "$KDS_HOME/landing" /opt/airflow/logs
chmod g+rwx "$KDS_HOME" "$KDS_HOME/landing" /opt/airflow/logs

as_airflow() { HOME=/opt/airflow setpriv --reuid="$uid" --regid=0 --clear-groups -- "$@"; }

echo "airflow-init: $(as_airflow airflow version) — migrating the metadata database"
as_airflow airflow db migrate
# Prints "already exists" and succeeds when the admin exists; change a password with `airflow users reset-password`.
as_airflow airflow users create --role Admin --username "$_AIRFLOW_WWW_USER_USERNAME" \
  --password "$_AIRFLOW_WWW_USER_PASSWORD" --email "${_AIRFLOW_WWW_USER_EMAIL:-admin@example.invalid}" \
  --firstname Data --lastname Centre
# Several warehouse writers at once: on PostgreSQL, advisory locks serialise one dataset/period.
as_airflow airflow pools set kds_warehouse "${KDS_WAREHOUSE_POOL_SLOTS:-4}" \
  "Warehouse writers (PostgreSQL: advisory locks serialise one dataset/period)"
# Warehouse grants (owner, loader, BI reader, steward); safe to re-run.
if as_airflow kds warehouse roles --help >/dev/null 2>&1; then
  as_airflow kds warehouse roles
else
  echo "airflow-init: WARNING: this image has no 'kds warehouse roles': warehouse grants not applied" >&2
fi
echo "airflow-init: done"
