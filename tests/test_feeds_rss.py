"""RSS/Atom/JSON Feed client on the real recorded feeds, served from a loopback server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from crawlers.feeds import client_for
from crawlers.feeds.replay import ReplayServer
from crawlers.http import ApiHttp
from groundswell.config import parse_config
from groundswell.paths import shared_data_dir

FEEDS = shared_data_dir() / "real_sources" / "feeds"
pytestmark = pytest.mark.skipif(not FEEDS.is_dir(), reason=f"shared reference feeds not found at {FEEDS}")

WELL_KNOWN = [
    "feedjira__AmazonWebServicesBlog.xml",
    "feedjira__FeedBurnerXHTML.xml",
    "feedjira__HREFConsideredHarmful.xml",
    "feedjira__HuffPostCanada.xml",
    "feedjira__RSSWithComments.xml",
    "feedjira__SamRuby.xml",
    "feedjira__TechCrunch.xml",
    "feedjira__TenderLovemaking.xml",
    "feedjira__a10.xml",
    "feedjira__google_alerts_atom.xml",
    "feedjira__itunes_feedburner.xml",
    "feedjira__youtube_atom.xml",
]


def _client(url: str, *, extra_urls: list[str] | None = None):  # type: ignore[no-untyped-def]
    config = parse_config(
        {"sources": [{"name": "feeds", "kind": "rss", "url": url, "params": {"urls": extra_urls or []}}]}
    )
    http = ApiHttp(user_agent="test", max_retries=1, backoff=0.0, sleep=lambda s: None)
    return client_for(config, config.source("feeds"), http=http)


def _serve(server: ReplayServer, name: str, content_type: str = "application/xml") -> str:
    server.add(f"/{name}", body=(FEEDS / name).read_bytes(), headers={"Content-Type": content_type})
    return f"{server.url}/{name}"


@pytest.mark.parametrize("name", WELL_KNOWN)
def test_rss_client_reads_real_feed_into_mentions(name: str) -> None:
    with ReplayServer() as server:
        run = _client(_serve(server, name)).collect({})
    assert run.errors == 0, run.error_reasons
    assert run.pages == 1
    assert run.mentions, f"{name}: no entries became mentions"
    for m in run.mentions:
        assert m.source == "feeds" and m.source_kind == "feed"
        assert m.url.startswith("http")
        assert m.published.tzinfo is not None and m.published.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert m.text and "&amp;" not in m.text
        if name != "feedjira__TenderLovemaking.xml":  # its posts quote HTML source code as text
            assert "<p>" not in m.text and "<div" not in m.text
    assert len({m.id for m in run.mentions}) == len(run.mentions)


def test_rss_client_keeps_utf8_text_of_feed_with_leading_whitespace() -> None:
    with ReplayServer() as server:
        run = _client(_serve(server, "feedjira__TechCrunch.xml")).collect({})
    assert any("Angie’s List" in m.title for m in run.mentions)  # curly quote intact, not mojibake
    assert run.warnings == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("feedparser__illformed__chardet__koi8r.xml", "праздник"),
        ("feedparser__illformed__chardet__shiftjis.xml", "記事投稿"),
    ],
)
def test_rss_client_guesses_undeclared_encodings(name: str, expected: str) -> None:
    with ReplayServer() as server:
        run = _client(_serve(server, name, content_type="text/xml")).collect({})
    assert run.errors == 0
    assert any(expected in f"{m.title} {m.text}" for m in run.mentions)


def test_rss_client_reads_json_feed() -> None:
    with ReplayServer() as server:
        run = _client(
            _serve(server, "feedjira__json_feed.json", content_type="application/feed+json")
        ).collect({})
    assert run.errors == 0
    assert len(run.mentions) >= 5
    assert all(m.url.startswith("http") and m.text for m in run.mentions)


def test_rss_client_counts_unparseable_feeds_and_keeps_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bad = ["feedparser__illformed__undeclared_namespace.xml"]
    with ReplayServer() as server:
        good_url = _serve(server, "feedjira__a10.xml")
        bad_urls = [_serve(server, n) for n in bad]
        server.add(
            "/html",
            body=b"<html><body><h1>Not a feed</h1></body></html>",
            headers={"Content-Type": "text/html"},
        )
        server.add("/noise", body=bytes(range(256)) * 4, headers={"Content-Type": "application/octet-stream"})
        server.add("/gone", status=404, body=b"Not Found")
        with caplog.at_level(logging.ERROR):
            run = _client(
                good_url,
                extra_urls=[*bad_urls, f"{server.url}/html", f"{server.url}/noise", f"{server.url}/gone"],
            ).collect({})
    assert run.errors == 4, run.error_reasons
    assert len(run.mentions) == 5  # the good feed's entries are kept
    for url in (*bad_urls, f"{server.url}/html", f"{server.url}/noise", f"{server.url}/gone"):
        assert any(url in reason for reason in run.error_reasons), url
        assert url in caplog.text
    assert "HTTP 404" in " ".join(run.error_reasons)


@pytest.mark.parametrize(
    ("name", "mentions", "warnings"),
    [
        # (file, entries that become mentions, ill-formed-but-readable warnings): feedparser's "Expect" says
        # bozo (ill-formed) for linenoise, incomplete CDATA and the truncated InvalidDateFormat feed
        ("feedparser__encoding__bozo_linenoise.xml", 1, 1),
        ("feedparser__encoding__euc-kr.xml", 0, 0),
        ("feedparser__encoding__http_i18n.xml", 0, 0),
        ("feedparser__encoding__utf-16le-bom.xml", 0, 0),
        ("feedparser__illformed__rss_incomplete_cdata.xml", 0, 1),
        ("feedjira__InvalidDateFormat.xml", 2, 1),
        ("feedparser__wellformed__sanitize__large_atom_feed_that_needs_css_sanitisation.xml", 15, 0),
    ],
)
def test_rss_client_survives_ill_formed_and_odd_encodings(name: str, mentions: int, warnings: int) -> None:
    with ReplayServer() as server:
        run = _client(_serve(server, name)).collect({})
    assert (run.pages, run.errors) == (1, 0)
    assert (len(run.mentions), run.warnings) == (mentions, warnings)
    for m in run.mentions:
        assert "\ufffd" not in m.text


def test_rss_client_falls_back_when_an_item_date_is_invalid() -> None:
    with ReplayServer() as server:
        run = _client(_serve(server, "feedjira__InvalidDateFormat.xml")).collect({})
    assert all(m.published.year == 2017 for m in run.mentions)  # the feed's other date fields are used


def test_rss_client_skips_entries_without_title_or_text() -> None:
    # the recorded item has only a <link>: nobody said anything, so there is no mention
    with ReplayServer() as server:
        run = _client(
            _serve(server, "feedparser__illformed__rss_item_link_corrupted_ampersands.xml")
        ).collect({})
    assert run.mentions == [] and run.errors == 0 and run.warnings == 1


def test_rss_client_uses_conditional_get_on_the_next_run() -> None:
    with ReplayServer() as server:
        url = f"{server.url}/feed.xml"
        body = (FEEDS / "feedjira__a10.xml").read_bytes()
        server.add("/feed.xml", body=body, headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'})
        server.add("/feed.xml", status=304, query={}, times=None)
        client = _client(url)
        first = client.collect({})
        # from now on the server answers 304 to a request that carries the validator
        server.routes.clear()
        server.add("/feed.xml", status=304)
        second = client.collect(first.state)
    assert len(first.mentions) == 5
    assert first.state["validators"][url] == {"etag": '"v1"'}
    assert server.requests[-1].headers.get("if-none-match") == '"v1"'
    assert second.mentions == [] and second.errors == 0


def test_rss_client_reads_utf16_feed_title_without_error(tmp_path: Path) -> None:
    with ReplayServer() as server:
        run = _client(_serve(server, "feedparser__encoding__utf-16le-bom.xml")).collect({})
    assert run.errors == 0
