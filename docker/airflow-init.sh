#!/usr/bin/env bash
# One-shot, run by docker compose before the Airflow services start (idempotent): create or migrate
# the metadata database and write the admin password (AIRFLOW_ADMIN_PASSWORD from .env) for
# Airflow's simple auth manager.
set -euo pipefail
: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is not set}"
airflow db migrate
mkdir -p "$(dirname "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE}")"
python -c 'import json, os, sys; json.dump({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}, sys.stdout)' \
    > "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE}"
echo "airflow-init: done"
