#!/usr/bin/env bash
# Install Groundswell into ./.venv from the committed development lock (requirements-dev.lock: the
# core, the airflow and test extras, everything the demo and the tests need). Production images
# install requirements.lock instead (no test tools, hashes; see docker/Dockerfile and scripts/lock.sh).
#
# torch is kept out of the lock so the install stays portable: a local CPU wheel
# is used where pip's find-links has one (PIP_FIND_LINKS), otherwise
# TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cpu) or PyPI's default
# build. Re-running is cheap: uv skips what is already installed, and the rest is skipped while
# nothing changed (see the stamp below).
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
# `uv pip show` reads the installed metadata (0.1 s; importing torch to check takes seconds).
if ! "$UV" pip show --quiet torch >/dev/null 2>&1; then
    echo "setup: installing torch==$TORCH_VERSION"
    "$UV" pip install --quiet "${torch_args[@]}" "torch==$TORCH_VERSION"
fi

# scripts/test.sh runs this before every test run, so a re-run with nothing changed must cost next to
# nothing: uv checks the lock against what is installed (0.1 s, it re-installs anything missing); the
# editable install and the bytecode compile are skipped while the lock, pyproject.toml, the torch
# version and the Python are those of the last completed setup (GROUNDSWELL_SETUP_FORCE=1 redoes them).
stamp=.venv/.groundswell-setup
want="$(cat requirements-dev.lock pyproject.toml | sha256sum | cut -d' ' -f1) torch==$TORCH_VERSION $(.venv/bin/python -c 'import sys; print(sys.version.split()[0])')"
echo "setup: installing locked dependencies (requirements-dev.lock)"
"$UV" pip install --quiet -r requirements-dev.lock
if [ -z "${GROUNDSWELL_SETUP_FORCE:-}" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup: done (nothing changed since the last setup). Try: .venv/bin/groundswell demo"
    exit 0
fi
"$UV" pip install --quiet --no-deps -e .
# Where PYTHONDONTWRITEBYTECODE is set (some shells and CI images), every process would compile torch,
# transformers, spaCy ... from source again: about twice the CPU of each start. Compile them once here
# (Python still reads .pyc files with that variable set); a re-run only compares timestamps.
echo "setup: compiling bytecode of the installed packages"
.venv/bin/python -m compileall -q -j 0 .venv/lib/python*/site-packages >/dev/null 2>&1 || true
echo "$want" >"$stamp"
echo "setup: done. Try: .venv/bin/groundswell demo"
