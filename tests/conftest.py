"""Shared test set-up: offline model loading, and the reference data folder."""

from __future__ import annotations

import os
import socket
from datetime import date
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

from groundswell.paths import shared_data_dir

# osmem-server and both-store-backend fixtures: `osmem_base`, `es_client`, `store`, `both_stores`
pytest_plugins = ["tests.kit.es"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`; tests that need it are skipped with a message when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set GROUNDSWELL_SHARED_DATA)")
    return path


DEMO_END = date(2026, 11, 22)  # the last day of the shared demo market (a Sunday)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`groundswell demo` run once per session: the README's main job on the seeded demo market.

    The slowest path of the suite (crawl, enrich every mention with the offline models, detect,
    ticket, brief), so every test that needs an enriched demo store shares this one:
    `tests/test_end_to_end.py` checks it, `tests/test_dags_end_to_end.py` seeds its store from it.
    Tests that write to the store (re-runs) must leave its mentions as they were.
    """
    from typer.testing import CliRunner

    from groundswell.app.cli import app
    from groundswell.app.demo.truth import MarketTruth

    out = tmp_path_factory.mktemp("demo")
    port = free_port()
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--end", DEMO_END.isoformat(), "--port", str(port)]
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    truth = MarketTruth.model_validate_json((out / "web" / "truth.json").read_text(encoding="utf-8"))
    return {"out": out, "port": port, "output": result.output, "truth": truth, "end": DEMO_END}
