"""Fixtures for tests that need an Elasticsearch-compatible server (osmem-server) or both store backends.

`tests/conftest.py` registers these fixtures for every test (`pytest_plugins`); a test names them as
arguments and imports nothing:

- `osmem_base`: one osmem-server for the session (skipped with a message when the binary is missing);
- `es_client`: an `Elasticsearch` client on a fresh clone of it, with Groundswell's templates installed;
- `store`: parametrized over "sqlite" and "elasticsearch", the same tests run against both backends;
- `OsmemProcess`: a server on a fixed port that a test can stop and restart (fault tests).

The elasticsearch client sends `application/vnd.elasticsearch+json; compatible-with=N`, which
osmem answers with 406; `CompatNode` rewrites those headers to plain JSON. In tests only. Before
rewriting it CHECKS them as a real server would: Elasticsearch M accepts `compatible-with` M or
M-1 and answers anything else with 400 `media_type_header_exception`. M is the major of the
Elasticsearch image docker-compose.yml starts by default (`STACK_VERSION`), so a client whose major
the shipped server would reject fails every Elasticsearch test here instead of passing unseen.
"""

from __future__ import annotations

import http.server
import json
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse
from elasticsearch import Elasticsearch

from groundswell.store.base import Store
from groundswell.store.sqlite import SqliteStore

PREFIX = "gs-test"


COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
_COMPAT = re.compile(r"compatible-with=(\d+)")


def compose_stack_version() -> str:
    """The Elasticsearch version docker-compose.yml starts when STACK_VERSION is unset (e.g. '8.19.4')."""
    match = re.search(
        r"image:\s*docker\.elastic\.co/elasticsearch/elasticsearch:\$\{STACK_VERSION:-([0-9.]+)\}",
        COMPOSE_FILE.read_text(),
    )
    if match is None:
        raise AssertionError(f"{COMPOSE_FILE}: no elasticsearch image with a STACK_VERSION default")
    return match.group(1)


SERVER_MAJOR = int(compose_stack_version().split(".")[0])


def media_type_problem(headers: dict[str, str], server_major: int = SERVER_MAJOR) -> str | None:
    """What Elasticsearch `server_major` answers to these headers: None if accepted, else its 400 reason."""
    for name, value in headers.items():
        if name.lower() not in ("accept", "content-type") or "vnd.elasticsearch" not in value:
            continue
        match = _COMPAT.search(value)
        if match is None:
            return f"Invalid media-type value on headers [{name}]: {value!r} has no compatible-with"
        wanted = int(match.group(1))
        if wanted not in (server_major, server_major - 1):
            return (
                f"A compatible version is required on both Content-Type and Accept headers if either one "
                f"has requested a compatible version. Accept={value}; compatible-with={wanted} is not "
                f"supported by Elasticsearch {server_major} (it accepts {server_major - 1} or {server_major})"
            )
    return None


def media_type_error(problem: str) -> bytes:
    """The body of Elasticsearch's 400 answer to a media type it rejects."""
    error = {"type": "media_type_header_exception", "reason": problem}
    return json.dumps({"error": {"root_cause": [error], **error}, "status": 400}).encode()


def plain_media_types(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the vendor media types (`application/vnd.elasticsearch+json; compatible-with=N`)
    as plain JSON / NDJSON, which osmem-server accepts."""
    rewritten = {}
    for name, value in headers.items():
        if name.lower() in ("accept", "content-type") and "vnd.elasticsearch" in value:
            value = "application/x-ndjson" if "ndjson" in value else "application/json"
        rewritten[name] = value
    return rewritten


class CompatNode(Urllib3HttpNode):
    """Urllib3 node that sends plain `application/json` / `application/x-ndjson` (osmem rejects vendor types).

    It first answers, as the shipped Elasticsearch major would, 400 `media_type_header_exception` to a
    `compatible-with` that server would reject (see the module docstring).
    """

    def perform_request(self, method, target, body=None, headers=None, request_timeout=None):  # type: ignore[no-untyped-def]
        problem = media_type_problem(dict(headers or {}))
        if problem is not None:
            meta = ApiResponseMeta(
                status=400,
                http_version="1.1",
                headers=HttpHeaders({"content-type": "application/json"}),
                duration=0.0,
                node=self.config,
            )
            return NodeApiResponse(meta, media_type_error(problem))
        rewritten = plain_media_types(dict(headers or {}))
        return super().perform_request(
            method, target, body=body, headers=rewritten, request_timeout=request_timeout
        )


def osmem_binary() -> str:
    try:
        from osmem_server import OsmemError, resolve_binary
    except ImportError:
        pytest.skip("osmem-server is not installed (pip install osmem-server); Elasticsearch tests skipped")
    try:
        return resolve_binary()
    except OsmemError as err:
        pytest.skip(f"no osmem-server binary for this platform ({err}); Elasticsearch tests skipped")


def make_client(url: str, *, request_timeout: float = 10.0) -> Elasticsearch:
    return Elasticsearch(url, node_class=CompatNode, request_timeout=request_timeout, max_retries=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OsmemProcess:
    """osmem-server on a fixed port, so that a test can stop it and start it again at the same address."""

    def __init__(self, port: int | None = None) -> None:
        self.binary = osmem_binary()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> OsmemProcess:
        self.process = subprocess.Popen(
            [self.binary, "-addr", f"127.0.0.1:{self.port}", "-no-stdin-watch", "-no-ja"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"osmem-server did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(scope="session", name="osmem_base")
def osmem_base_fixture() -> Iterator[object]:
    binary = osmem_binary()
    from osmem_server import OsmemServer

    server = OsmemServer.start(binary=binary, japanese=False, freeze=True)
    yield server
    server.close()


@pytest.fixture(name="es_client")
def es_client_fixture(osmem_base: object) -> Iterator[Elasticsearch]:
    from index_mappings.templates import install

    clone = osmem_base.clone()  # type: ignore[attr-defined]
    client = make_client(clone.url)
    install(client, PREFIX)
    yield client
    client.close()
    clone.close()


def make_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if backend == "sqlite":
        return SqliteStore(":memory:")
    from index_mappings.store import ElasticsearchStore

    client = request.getfixturevalue("es_client")
    return ElasticsearchStore(
        client, index_prefix=PREFIX, dead_letter_path=tmp_path / "dead-letter.ndjson", retry_base=0.01
    )


@pytest.fixture(name="store", params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.es)])
def store_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store = make_store(request.param, request, tmp_path)
    yield store
    store.close()


@pytest.fixture(name="both_stores")
def both_stores_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """An embedded and an Elasticsearch store side by side, to compare their answers on the same data."""
    sqlite, es = make_store("sqlite", request, tmp_path), make_store("elasticsearch", request, tmp_path)
    yield sqlite, es
    sqlite.close()
    es.close()


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    """A quiet request handler for a test proxy in front of osmem-server: every method goes to
    `forward`, which a subclass writes; `reply` answers as Elasticsearch does (its product header)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        pass

    def forward(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self.forward()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, payload: bytes, content_type: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class LoopbackProxy:
    """A `ProxyHandler` subclass served on a free loopback port from a daemon thread (`url`, `close`)."""

    def __init__(self, handler: type[ProxyHandler]) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class CompatProxy(LoopbackProxy):
    """An HTTP proxy in front of osmem-server that does what `CompatNode` does, for other processes.

    Worker processes (`groundswell.app.processes`) open the store from the configuration with the
    production client, which no test can hand a `CompatNode`: they are pointed at this proxy instead.
    It answers a `compatible-with` the shipped Elasticsearch major would reject with that server's
    400, rewrites the vendor media types to plain JSON and forwards the request to `upstream`.
    """

    def __init__(self, upstream: str) -> None:
        target = upstream.rstrip("/")

        class Handler(ProxyHandler):
            def forward(self) -> None:
                body = self.body()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                problem = media_type_problem(headers)
                if problem is not None:
                    self.reply(400, media_type_error(problem))
                    return
                headers = plain_media_types(headers)
                request = urllib.request.Request(
                    target + self.path, data=body or None, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        self.reply(response.status, response.read(), response.headers.get("Content-Type"))
                except urllib.error.HTTPError as err:
                    self.reply(err.code, err.read(), err.headers.get("Content-Type"))

        super().__init__(Handler)
