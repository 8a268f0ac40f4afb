#!/usr/bin/env bash
# Re-resolve requirements.lock after changing dependencies in pyproject.toml.
# torch is resolved against its CPU build (so no CUDA packages enter the lock) and left out of
# the lock; scripts/setup.sh installs it separately, portably.
set -euo pipefail
cd "$(dirname "$0")/.."
override=$(mktemp)
echo "torch==2.13.0+cpu" > "$override"
.venv/bin/uv pip compile pyproject.toml --extra test --python 3.11 --find-links "${PIP_FIND_LINKS:-/opt/wheels}" \
    --override "$override" --no-emit-package torch --no-header -o requirements.lock --quiet
rm -f "$override"
echo "lock: requirements.lock updated; run scripts/setup.sh to install"
