"""The core install (no extras) runs the command line, the web UI and the pipeline on the embedded
store without Airflow: `apache-airflow` is only in the `airflow` extra and no core path imports it.

Each check runs in a fresh interpreter in which importing `airflow` fails, as it does where only
`pip install groundswell` was run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]

NO_AIRFLOW = """
import importlib.abc, sys
class _NoAirflow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ModuleNotFoundError(f"No module named {name!r} (core install: no airflow extra)")
        return None
sys.meta_path.insert(0, _NoAirflow())
"""


def _run_without_airflow(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_AIRFLOW + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_airflow_is_an_extra_and_not_a_core_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {Requirement(d).name for d in project["dependencies"]}
    extras = {k: {Requirement(d).name for d in v} for k, v in project["optional-dependencies"].items()}
    assert "apache-airflow" not in core
    assert "apache-airflow" in extras["airflow"] and "psycopg2-binary" in extras["airflow"]
    assert {"airflow", "gpu", "test"} <= set(extras)
    assert not core & {"pytest", "playwright", "mypy", "ruff", "osmem-server"}
    assert not core & {"requests", "statsmodels"}, "declared but never imported"


@pytest.mark.slow
def test_cli_web_ui_and_pipeline_run_without_airflow(tmp_path: Path) -> None:
    done = _run_without_airflow(
        """
        from datetime import date, datetime, UTC
        from typer.testing import CliRunner
        from fastapi.testclient import TestClient

        from groundswell.app import pipeline, tasks
        from groundswell.app.cli import app
        from tests.kit.sample import load_sample, sample_config
        from groundswell.store.sqlite import SqliteStore
        from web.app import create_app
        import crawlers.collect, nlp.enricher, trends.detect, alerts, brief

        assert CliRunner().invoke(app, ["--help"]).exit_code == 0
        config = sample_config()
        config.base_dir = __import__("pathlib").Path.cwd()
        config.brief.pdf = False  # WeasyPrint needs no Airflow either; the PDF is tested in test_brief_build.py
        store = SqliteStore("core.sqlite")
        mentions, truth, events, tickets = load_sample(store, n=300, seed=3)
        last = max(m.published for m in mentions)
        detected = pipeline.detect(config, store, now=last)
        pipeline.act(config, store, detected.events, now=last)
        report = pipeline.report(config, store, week_start=tasks.week_of(last), out_dir=__import__("pathlib").Path("briefs"))
        assert report.html_path.is_file()
        page = TestClient(create_app(config, store), base_url="http://127.0.0.1").get("/search?q=kettle")
        assert page.status_code == 200, page.status_code
        import os
        os.environ["GROUNDSWELL_CONFIG"] = "absent.yaml"
        try:
            tasks.config_path()
        except Exception as err:
            assert "configuration file not found" in str(err), err
        assert "airflow" not in sys.modules
        print("ok")
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


def test_setup_the_locks_and_the_image_agree_on_the_torch_build() -> None:
    import re

    pinned = re.search(r"^torch==(\S+)\+cpu$", (ROOT / "scripts" / "torch-cpu.txt").read_text(), re.M)
    assert pinned, "scripts/torch-cpu.txt pins torch==X+cpu"
    version = pinned.group(1)
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert f"TORCH_VERSION=${{TORCH_VERSION:-{version}}}" in setup
    assert re.search(
        rf"^torch=={re.escape(version)}\+cpu \\$", (ROOT / "requirements.lock").read_text(), re.M
    )
    assert not re.search(r"^torch==", (ROOT / "requirements-dev.lock").read_text(), re.M)
