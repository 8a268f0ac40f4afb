#!/usr/bin/env bash
# One-shot, run by docker compose before Airflow and the web UI start (idempotent): install or
# upgrade the Elasticsearch templates, ILM policy and aliases, then import the Kibana saved objects.
set -euo pipefail
groundswell es install
groundswell es kibana-import --url "${KIBANA_URL:-http://kibana:5601}"
echo "groundswell-init: done"
