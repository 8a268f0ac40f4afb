#!/usr/bin/env bash
# Run the test suite: installs what it needs first (idempotent, next to free when nothing changed),
# then pytest on pytest-xdist workers. Extra arguments go to pytest and win over the defaults here,
# e.g. `bash scripts/test.sh -m "not slow"`, or `bash scripts/test.sh -n 0` to run serially.
#
# Workers: GROUNDSWELL_TEST_WORKERS, else one per CPU up to 4 (2 on a 2-core machine); 0 (serial, no
# worker processes) on a single CPU, where a worker would only add its start-up. Tests that need the
# shared `groundswell demo` run stay together on one worker (tests/conftest.py, `--dist loadgroup`).
# The slowest 15 tests are printed at the end (`--durations=15` in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f scripts/install_browser.sh ]; then
    bash scripts/install_browser.sh || echo "test: chromium could not be installed; browser tests will be skipped"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
cpus=$(nproc 2>/dev/null || echo 1)
workers=${GROUNDSWELL_TEST_WORKERS:-$((cpus >= 4 ? 4 : (cpus >= 2 ? cpus : 0)))}
exec .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
