"""Links to a demo source that is no longer served fall back to the stored copy, and say so."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from groundswell import links
from groundswell.mention import Mention
from groundswell.store.sqlite import SqliteStore
from tests.kit.es import free_port
from tests.kit.sample import sample_config
from web.app import create_app


@pytest.fixture(autouse=True)
def forget_probes() -> Iterator[None]:
    links._seen.clear()
    yield
    links._seen.clear()


def test_a_loopback_port_that_no_longer_answers_is_not_served() -> None:
    assert links.served(f"http://127.0.0.1:{free_port()}/forum/thread/1") is False


def test_a_listening_loopback_port_is_served() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert links.served(f"http://127.0.0.1:{server.getsockname()[1]}/x") is True


def test_links_to_the_open_web_are_never_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a page view must not send a request out")

    monkeypatch.setattr(links.socket, "create_connection", no_network)
    assert links.served("https://forum.example/thread/1") is True
    assert links.served("javascript:alert(1)") is True  # not a loopback URL; safe_url decides on links


def _mention_page(url: str) -> str:
    mention = Mention(
        source="demo-forum",
        source_kind="forum",
        url=url,
        published="2026-11-20T10:00:00Z",
        text="the steam pro overheats",
    )
    store = SqliteStore(":memory:")
    store.upsert_mentions([mention])
    client = TestClient(create_app(sample_config(), store), base_url="http://127.0.0.1")
    try:
        return client.get(f"/mentions/{mention.id}").text
    finally:
        store.close()


def test_the_mention_view_says_the_demo_source_is_gone_instead_of_linking_to_it() -> None:
    dead = f"http://127.0.0.1:{free_port()}/forum/thread/7"
    page = _mention_page(dead)
    assert f'href="{dead}"' not in page
    assert "is no longer served" in page and "this page is the stored copy" in page


def test_the_mention_view_links_to_a_source_that_is_served() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        live = f"http://127.0.0.1:{server.getsockname()[1]}/forum/thread/7"
        page = _mention_page(live)
    assert f'href="{live}" rel="noopener noreferrer nofollow"' in page
    assert "is no longer served" not in page
