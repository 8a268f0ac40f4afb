#!/usr/bin/env bash
# Install Groundswell into ./.venv from the committed development lock (requirements-dev.lock: the
# core, the airflow and test extras, everything the demo and the tests need). Production images
# install requirements.lock instead (no test tools, hashes; see docker/Dockerfile and scripts/lock.sh).
#
# torch is kept out of the lock so the install stays portable: a local CPU wheel
# is used where pip's find-links has one (PIP_FIND_LINKS), otherwise
# TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cpu) or PyPI's default
# build. Re-running is cheap: uv skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
fi
UV=".venv/bin/uv"
export VIRTUAL_ENV="$PWD/.venv"

torch_args=()
if [ -n "${PIP_FIND_LINKS:-}" ]; then
    for dir in $PIP_FIND_LINKS; do torch_args+=(--find-links "$dir"); done
fi
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    torch_args+=(--index-url "$TORCH_INDEX_URL")
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    echo "setup: installing torch==$TORCH_VERSION"
    "$UV" pip install --quiet "${torch_args[@]}" "torch==$TORCH_VERSION"
fi

echo "setup: installing locked dependencies (requirements-dev.lock)"
"$UV" pip install --quiet -r requirements-dev.lock
"$UV" pip install --quiet --no-deps -e .
# Where PYTHONDONTWRITEBYTECODE is set (some shells and CI images), every process would compile torch,
# transformers, spaCy ... from source again: about twice the CPU of each start. Compile them once here
# (Python still reads .pyc files with that variable set); a re-run only compares timestamps.
echo "setup: compiling bytecode of the installed packages"
.venv/bin/python -m compileall -q -j 0 .venv/lib/python*/site-packages >/dev/null 2>&1 || true
echo "setup: done. Try: .venv/bin/groundswell demo"
