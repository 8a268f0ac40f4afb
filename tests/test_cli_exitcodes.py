"""A server that cannot be reached is answered in one line naming its URL and what to check, exit 2,
by every command that talks to one; groundswell/exitcodes.py is the one table of exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from groundswell import exitcodes
from groundswell.app.cli import entry
from groundswell.store.base import StoreError
from index_mappings.cli import app as es_app
from tests.kit.es import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(name="dead_url")
def dead_url_fixture() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture(name="no_backoff")
def no_backoff_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Elasticsearch store retries a lost connection with backoff: no waiting in tests."""
    monkeypatch.setattr("index_mappings.store.time.sleep", lambda seconds: None)


def _config(tmp_path: Path, url: str, prefix: str = "groundswell") -> Path:
    path = tmp_path / "groundswell.yaml"
    path.write_text(
        f"data_dir: {tmp_path}\nstore:\n  backend: elasticsearch\n  elasticsearch:\n"
        f"    hosts: ['{url}']\n    kibana_url: {url}\n    index_prefix: {prefix}\n"
        "    username_env: null\n    password_env: null\n"
    )
    return path


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("command", ["check", "install", "replay-dead-letter"])
def test_es_commands_answer_an_unreachable_elasticsearch_in_one_line_exit_2(
    command: str, tmp_path: Path, dead_url: str, no_backoff: None
) -> None:
    config = _config(tmp_path, dead_url)
    result = CliRunner().invoke(es_app, [command, "-c", str(config)])
    assert result.exit_code == exitcodes.UNREACHABLE == 2
    line = _one_line(result.output)
    assert f"cannot reach Elasticsearch at {dead_url}" in line
    assert "store.elasticsearch.hosts" in line and str(config) in line
    assert "Traceback" not in result.output


def test_kibana_import_answers_an_unreachable_kibana_in_one_line_exit_2(
    tmp_path: Path, dead_url: str
) -> None:
    result = CliRunner().invoke(es_app, ["kibana-import", "-c", str(_config(tmp_path, dead_url))])
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert f"cannot reach Kibana at {dead_url} (connection refused)" in line and "kibana_url" in line


def test_kibana_import_sends_the_objects_of_the_configured_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: dict[str, bytes] = {}

    def fake_post(url: str, **kwargs: object) -> httpx.Response:
        files = kwargs["files"]
        sent["file"] = files["file"][1]  # type: ignore[index]
        return httpx.Response(
            200, json={"success": True, "successCount": 3}, request=httpx.Request("POST", url)
        )

    monkeypatch.setattr("index_mappings.kibana.httpx.post", fake_post)
    result = CliRunner().invoke(
        es_app, ["kibana-import", "-c", str(_config(tmp_path, "http://kibana:5601", prefix="acme"))]
    )
    assert result.exit_code == 0, result.output
    assert "generated for index prefix 'acme'" in result.output
    body = sent["file"].decode()
    assert '"acme-mentions*"' in body and "groundswell-mentions" not in body


@pytest.mark.parametrize(
    "args",
    [["tickets", "list"], ["trends", "list"], ["search", "steam"], ["serve"]],
    ids=["tickets", "trends", "search", "serve"],
)
def test_commands_on_an_unreachable_store_exit_2_with_one_line(
    args: list[str],
    tmp_path: Path,
    dead_url: str,
    no_backoff: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config(tmp_path, dead_url)
    with pytest.raises(SystemExit) as exited:
        entry([*args, "-c", str(config)])
    assert exited.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert f"cannot reach Elasticsearch at {dead_url}" in line and str(config) in line


def test_connection_failures_are_told_from_other_errors() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    assert exitcodes.connection_failure(refused) == "connection refused"
    wrapped = StoreError("searching failed")
    wrapped.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert exitcodes.connection_failure(wrapped) == "connection refused"
    assert exitcodes.connection_failure(StoreError("unknown sort 'x'")) is None
    assert exitcodes.connection_failure(ValueError("Connection refused")) is None


def test_the_readme_has_the_exit_code_table() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| (\d) \| ([^|]+) \|", readme, flags=re.M))
    assert set(rows) == {"0", "1", "2", "3"}, rows
    assert "unreachable" in rows["2"] and "configuration" in rows["2"] and "usage" in rows["2"]
    assert "partial" in rows["3"]
