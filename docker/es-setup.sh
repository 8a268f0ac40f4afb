#!/usr/bin/env bash
# One-shot: give the built-in kibana_system user the password from .env (KIBANA_PASSWORD), so that
# Kibana connects to Elasticsearch with its own credentials rather than the superuser's.
set -euo pipefail
: "${ELASTIC_PASSWORD:?ELASTIC_PASSWORD is not set}"
: "${KIBANA_PASSWORD:?KIBANA_PASSWORD is not set}"
until curl -fsS -u "elastic:${ELASTIC_PASSWORD}" http://elasticsearch:9200/_cluster/health >/dev/null; do
    echo "es-setup: waiting for Elasticsearch"
    sleep 2
done
curl -fsS -u "elastic:${ELASTIC_PASSWORD}" -H "Content-Type: application/json" \
    -X POST http://elasticsearch:9200/_security/user/kibana_system/_password \
    -d "{\"password\":\"${KIBANA_PASSWORD}\"}" >/dev/null
echo "es-setup: kibana_system password set"
