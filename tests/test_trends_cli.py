"""`groundswell trends detect` and `groundswell trends list` on a small SQLite store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

import trends.cli
from groundswell.config import load_config
from groundswell.store import open_store
from tests.kit.trends import DAY0, DAYS, planted_mentions
from trends.cli import app

runner = CliRunner()


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "groundswell.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path),
                "brands": [
                    {"id": "acme", "name": "Acme", "products": [{"id": "acme-phone", "name": "Acme Phone"}]}
                ],
                "competitors": [{"id": "globex", "name": "Globex"}],
            }
        )
    )
    return path


def test_cli_detect_then_list_shows_the_shift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trends.cli, "console", Console(width=250))
    path = _config(tmp_path)
    with open_store(load_config(path)) as store:
        store.upsert_mentions(planted_mentions())
    end = (DAY0.replace(tzinfo=None) + timedelta(days=DAYS)).isoformat()
    result = runner.invoke(
        app, ["detect", "-c", str(path), "--start", DAY0.replace(tzinfo=None).isoformat(), "--end", end]
    )
    assert result.exit_code == 0, result.output
    assert "shift level entity:acme-phone negative_share up" in result.output
    listed = runner.invoke(app, ["list", "-c", str(path), "--kind", "shift", "--entity", "acme-phone"])
    assert listed.exit_code == 0, listed.output
    assert "acme-phone" in listed.output and "blip" not in listed.output


def test_cli_list_rejects_unknown_kind(tmp_path: Path) -> None:
    result = runner.invoke(app, ["list", "-c", str(_config(tmp_path)), "--kind", "crisis"])
    assert result.exit_code == 2 and "shift, blip, developing, health" in result.output  # a usage error


def test_cli_missing_config_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["detect", "-c", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "not found" in result.output  # a configuration error
