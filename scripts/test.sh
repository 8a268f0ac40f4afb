#!/usr/bin/env bash
# Run the test suite: installs what it needs first (idempotent), then pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f scripts/install_browser.sh ]; then
    bash scripts/install_browser.sh || echo "test: chromium could not be installed; browser tests will be skipped"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
exec .venv/bin/python -m pytest "$@"
