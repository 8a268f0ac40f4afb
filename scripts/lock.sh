#!/usr/bin/env bash
# Re-resolve the locks after changing dependencies in pyproject.toml.
#
#   requirements-dev.lock  core + every extra: what scripts/setup.sh installs (development, tests, CI,
#                          the demo); torch left out (setup.sh installs a portable build of it).
#   requirements.lock      production: core + every extra except `test` and `gpu` (airflow, onnx, ...),
#                          no test tools, every package pinned WITH hashes, torch as its CPU build
#                          (torch==X+cpu, hash of that wheel); what docker/Dockerfile installs with
#                          --require-hashes and nothing else.
#
# The production lock is resolved under the development lock as constraints, so production runs the
# versions the tests ran. torch is resolved against its CPU build (no CUDA packages enter either
# lock): the CPU wheel comes from PIP_FIND_LINKS (default /opt/wheels).
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
override=scripts/torch-cpu.txt  # a fixed path: the locks name it in their "via" comments
common=(--python 3.11 --find-links "${PIP_FIND_LINKS:-/opt/wheels}"
        --override "$override" --no-header --quiet)

production_extras=()
for extra in $(.venv/bin/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"])'); do
    case "$extra" in test|gpu) ;; *) production_extras+=(--extra "$extra") ;; esac
done
"$UV" pip compile pyproject.toml --all-extras "${common[@]}" \
    --no-emit-package torch -o requirements-dev.lock
"$UV" pip compile pyproject.toml "${production_extras[@]}" "${common[@]}" \
    --constraint requirements-dev.lock --generate-hashes -o requirements.lock
echo "lock: requirements-dev.lock and requirements.lock updated; run scripts/setup.sh to install"
