"""`groundswell es install|check|replay-dead-letter` against osmem-server, and `from_settings` errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from groundswell.config import parse_config
from groundswell.mention import Mention
from groundswell.store.base import StoreError
from index_mappings.cli import app
from index_mappings.store import ElasticsearchStore, client_from_settings
from tests.kit.es import CompatNode

pytestmark = pytest.mark.es


def _config(tmp_path: Path, prefix: str) -> Path:
    path = tmp_path / "groundswell.yaml"
    path.write_text(
        f"data_dir: {tmp_path}\nstore:\n  backend: elasticsearch\n  elasticsearch:\n    index_prefix: {prefix}\n    username_env: null\n    password_env: null\n"
    )
    return path


@pytest.fixture(name="cli_client")
def cli_client_fixture(osmem_base: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[Elasticsearch]:
    """The CLI's client, pointed at a fresh osmem clone through the test-only content-type shim."""
    clone = osmem_base.clone()  # type: ignore[attr-defined]
    monkeypatch.setattr(
        "index_mappings.store.client_from_settings",
        lambda config: Elasticsearch(clone.url, node_class=CompatNode),
    )
    client = Elasticsearch(clone.url, node_class=CompatNode)
    yield client
    client.close()
    clone.close()


def test_cli_check_fails_before_install_and_passes_after(cli_client: Elasticsearch, tmp_path: Path) -> None:
    config = str(_config(tmp_path, "cli"))
    runner = CliRunner()
    before = runner.invoke(app, ["check", "-c", config])
    assert before.exit_code == 1
    assert (
        "index template 'cli-mentions' is missing" in before.output
        and "groundswell es install" in before.output
    )
    installed = runner.invoke(app, ["install", "-c", config])
    assert installed.exit_code == 0, installed.output
    assert "9 templates, ILM off, created 9 indices" in installed.output
    assert "no _ilm API" in installed.output
    after = runner.invoke(app, ["check", "-c", config])
    assert after.exit_code == 0, after.output
    assert "mapping version 1" in after.output
    again = runner.invoke(app, ["install", "-c", config])
    assert again.exit_code == 0 and "created 0 indices, upgraded 9" in again.output


def test_cli_replay_dead_letter(cli_client: Elasticsearch, tmp_path: Path) -> None:
    config = _config(tmp_path, "cli")
    assert CliRunner().invoke(app, ["install", "-c", str(config)]).exit_code == 0
    mention = Mention(
        source="s", source_kind="forum", url="https://x.org/1", published="2024-01-01T00:00:00Z", text="hello"
    )
    record = {"id": mention.id, "reason": "test", "status": 400, "mention": mention.model_dump(mode="json")}
    (tmp_path / "dead-letter.ndjson").write_text(json.dumps(record) + "\n")
    result = CliRunner().invoke(app, ["replay-dead-letter", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "1 written, 0 failed again" in result.output
    assert not (tmp_path / "dead-letter.ndjson").exists()
    assert ElasticsearchStore(cli_client, index_prefix="cli").get_mentions([mention.id]) == [mention]


def test_from_settings_needs_both_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GS_USER_ONLY", "elastic")
    monkeypatch.delenv("GS_PASS_MISSING", raising=False)
    config = parse_config(
        {
            "store": {
                "backend": "elasticsearch",
                "elasticsearch": {"username_env": "GS_USER_ONLY", "password_env": "GS_PASS_MISSING"},
            }
        }
    )
    with pytest.raises(StoreError, match="environment variable GS_PASS_MISSING is not set"):
        client_from_settings(config)


def test_from_settings_reports_an_unreachable_cluster(tmp_path: Path) -> None:
    config = parse_config(
        {
            "data_dir": str(tmp_path),
            "store": {
                "backend": "elasticsearch",
                "elasticsearch": {
                    "hosts": ["http://127.0.0.1:9"],
                    "username_env": None,
                    "password_env": None,
                },
            },
        }
    )
    client = client_from_settings(config)
    with pytest.raises(
        StoreError, match=r"checking the index mappings failed after 0 retries: connection failed"
    ):
        ElasticsearchStore(client, max_retries=0)
