"""Fixtures for tests that need an Elasticsearch-compatible server (osmem-server) or both store backends.

Import the fixtures you use explicitly (fixture names differ from the function names so that test
arguments do not shadow the import):

    from tests.es_fixtures import es_client_fixture, osmem_base_fixture, store_fixture  # noqa: F401

- `osmem_base`: one osmem-server for the session (skipped with a message when the binary is missing);
- `es_client`: an `Elasticsearch` client on a fresh clone of it, with Groundswell's templates installed;
- `store`: parametrized over "sqlite" and "elasticsearch", the same tests run against both backends;
- `OsmemProcess`: a server on a fixed port that a test can stop and restart (fault tests).

The elasticsearch 8/9 client sends `application/vnd.elasticsearch+json; compatible-with=N`, which
osmem answers with 406; `CompatNode` rewrites those headers to plain JSON. In tests only.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from elastic_transport import Urllib3HttpNode
from elasticsearch import Elasticsearch

from groundswell.store.base import Store
from groundswell.store.sqlite import SqliteStore

PREFIX = "gs-test"


class CompatNode(Urllib3HttpNode):
    """Urllib3 node that sends plain `application/json` / `application/x-ndjson` (osmem rejects vendor types)."""

    def perform_request(self, method, target, body=None, headers=None, request_timeout=None):  # type: ignore[no-untyped-def]
        rewritten = {}
        for name, value in (headers or {}).items():
            if name.lower() in ("accept", "content-type") and "vnd.elasticsearch" in value:
                value = "application/x-ndjson" if "ndjson" in value else "application/json"
            rewritten[name] = value
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
    from groundswell.store.elasticsearch import ElasticsearchStore

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
