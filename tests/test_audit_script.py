"""scripts/audit.sh never reports a pass when it audited nothing (issue 17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, report: dict | None, exit_code: int = 0) -> subprocess.CompletedProcess[str]:
    """Run the script with a stand-in pip-audit that writes `report` (or crashes like an unreachable database)."""
    fake = tmp_path / "pip-audit"
    payload = json.dumps(report) if report is not None else ""
    body = (
        'out=""; while [ $# -gt 0 ]; do if [ "$1" = "-o" ]; then out="$2"; fi; shift; done\n'
        + (
            f"printf '%s' '{payload}' > \"$out\"\n"
            if report is not None
            else "echo 'ConnectionError: api.osv.dev' >&2\n"
        )
        + f"exit {exit_code}\n"
    )
    fake.write_text("#!/usr/bin/env bash\n" + body)
    fake.chmod(0o755)
    lock = tmp_path / "requirements.lock"
    lock.write_text("httpx==0.28.1\n")
    env = {**os.environ, "PIP_AUDIT": str(fake), "PYTHON": sys.executable}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "audit.sh"), str(lock)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _dep(name: str, vulns: list | None = None, skip: str | None = None) -> dict:
    d: dict = {"name": name, "version": "1.0"}
    if skip:
        d["skip_reason"] = skip
    else:
        d["vulns"] = vulns or []
    return d


def test_everything_skipped_is_not_audited(tmp_path: Path) -> None:
    r = _run(
        tmp_path, {"dependencies": [_dep("a", skip="Dependency not found on PyPI"), _dep("b", skip="x")]}
    )
    assert r.returncode == 2 and "NOT AUDITED: 0 of 2" in r.stdout


def test_unreachable_database_is_not_audited(tmp_path: Path) -> None:
    r = _run(tmp_path, None, exit_code=1)
    assert r.returncode == 2 and "NOT AUDITED" in r.stdout and "unreachable" in r.stdout


def test_partial_audit_is_not_a_pass(tmp_path: Path) -> None:
    r = _run(tmp_path, {"dependencies": [_dep("a"), _dep("b", skip="not found")]})
    assert r.returncode == 2 and "PARTIAL" in r.stdout and "b" in r.stdout


@pytest.mark.parametrize(
    ("deps", "code", "text"),
    [
        ([_dep("a"), _dep("b")], 0, "OK: all 2 packages"),
        (
            [_dep("a", vulns=[{"id": "GHSA-1", "fix_versions": ["1.1"]}]), _dep("b")],
            1,
            "VULNERABLE a 1.0: GHSA-1",
        ),
    ],
)
def test_verdict_on_a_full_audit(tmp_path: Path, deps: list, code: int, text: str) -> None:
    r = _run(tmp_path, {"dependencies": deps}, exit_code=code)
    assert r.returncode == code and text in r.stdout
