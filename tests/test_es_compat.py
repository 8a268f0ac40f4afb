"""One Elasticsearch major per release line: the client pin, the compose default and the docs agree.

A 9.x client sends `compatible-with=9`, which Elasticsearch 8 rejects with 400
`media_type_header_exception` on every request, so a stack whose client and server majors differ
does not start. The test transport (tests/es_fixtures.CompatNode) answers like the shipped server.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import ClassVar

import elasticsearch
from elastic_transport import ApiResponseMeta, HttpHeaders, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse
from packaging.requirements import Requirement

from tests.kit.es import compose_stack_version, media_type_problem

ROOT = Path(__file__).resolve().parents[1]


def documented_major() -> int:
    text = (ROOT / "docker" / "README.md").read_text()
    match = re.search(r"Supported Elasticsearch: (\d+)\.x", text)
    assert match, "docker/README.md must say 'Supported Elasticsearch: N.x'"
    return int(match.group(1))


def client_major() -> int:
    return int(elasticsearch.__versionstr__.split(".")[0])


def compose_major() -> int:
    return int(compose_stack_version().split(".")[0])


def test_client_major_compose_default_and_docs_agree() -> None:
    majors = {
        "installed elasticsearch client": client_major(),
        "docker-compose.yml STACK_VERSION default": compose_major(),
        "docker/README.md 'Supported Elasticsearch'": documented_major(),
    }
    assert len(set(majors.values())) == 1, f"Elasticsearch majors disagree: {majors}"


def test_dependency_pin_and_locks_stay_on_the_supported_major() -> None:
    major = documented_major()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (req,) = [Requirement(d) for d in project["dependencies"] if Requirement(d).name == "elasticsearch"]
    assert req.specifier.contains(f"{major}.99.0"), f"pyproject.toml's {req} excludes Elasticsearch {major}"
    assert not req.specifier.contains(f"{major + 1}.0.0"), (
        f"pyproject.toml's {req} lets a {major + 1}.x client in, which Elasticsearch {major} rejects"
    )
    for lock in ("requirements.lock", "requirements-dev.lock"):
        pins = re.findall(r"^elasticsearch==(\d+)\.", (ROOT / lock).read_text(), flags=re.M)
        assert pins == [str(major)], f"{lock} pins elasticsearch major {pins}, expected {major}"


class _RecordingNode(Urllib3HttpNode):
    """Answers every request with `{}` and keeps the headers the client sent."""

    sent: ClassVar[list[dict[str, str]]] = []

    def perform_request(self, method, target, body=None, headers=None, request_timeout=None):  # type: ignore[no-untyped-def]
        _RecordingNode.sent.append(dict(headers or {}))
        meta = ApiResponseMeta(
            status=200,
            http_version="1.1",
            headers=HttpHeaders({"content-type": "application/json", "x-elastic-product": "Elasticsearch"}),
            duration=0.0,
            node=self.config,
        )
        return NodeApiResponse(meta, b"{}")


def test_the_shipped_server_accepts_the_headers_the_installed_client_sends() -> None:
    _RecordingNode.sent.clear()
    client = elasticsearch.Elasticsearch("http://127.0.0.1:9", node_class=_RecordingNode)
    client.indices.exists(index="groundswell-mentions")
    client.close()
    (headers,) = _RecordingNode.sent
    assert "compatible-with" in headers.get("accept", "")
    assert media_type_problem(headers, server_major=compose_major()) is None


def test_elasticsearch_8_rejects_a_9_client_and_accepts_7_and_8() -> None:
    nine = {"accept": "application/vnd.elasticsearch+json; compatible-with=9"}
    problem = media_type_problem(nine, server_major=8)
    assert problem is not None and "compatible-with=9 is not supported by Elasticsearch 8" in problem
    for accepted in (7, 8):
        assert (
            media_type_problem(
                {"accept": f"application/vnd.elasticsearch+json; compatible-with={accepted}"}, server_major=8
            )
            is None
        )
    assert media_type_problem({"accept": "application/json"}, server_major=8) is None
