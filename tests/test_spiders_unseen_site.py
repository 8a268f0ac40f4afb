"""A hostile site the crawler has never seen: undated posts, a lying charset, loops, empty feeds.

Each bad input is served on loopback (port 0, no network) and the test asserts what the crawl stats
record for it: items kept with `published_missing`, the charset used, the loop reason with its URL,
and why a response that yielded nothing yielded nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from groundswell.mention import Mention

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SELECTORS = {  # no post_id: posts are keyed by page URL and index, as on many real forums
    "thread": "ul.threads li.thread",
    "thread_link": "a.thread-title",
    "list_next": "nav.pager a[rel=next]",
    "post": "article.post",
    "post_author": ".author",
    "post_date": ".post-date",
    "post_body": ".post-body",
    "page_next": "nav.pager a[rel=next]",
}
LATIN1_TEXT = "Réclamation: la bouilloire a fondu, très déçu du service après-vente."


def _post(author: str, text: str, date: str | None) -> str:
    when = f'<span class="post-date">{date}</span>' if date is not None else ""
    return f'<article class="post"><span class="author">{author}</span>{when}<div class="post-body"><p>{text}</p></div></article>'


class UnseenSite(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:  # fmt: skip
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/robots.txt":
            return self.reply(200, b"User-agent: *\nAllow: /\n", "text/plain")
        if path == "/forum/index.html":
            rows = ["/t/undated.html", "/t/endless.html?page=1", "/t/redirect-a.html", "/t/latin1.html"]
            links = "".join(f'<li class="thread"><a class="thread-title" href="{r}">t</a></li>' for r in rows)
            return self.reply(200, f"<html><body><ul class='threads'>{links}</ul></body></html>".encode())
        if path == "/t/undated.html":  # no date on any post, one date in an unreadable form
            posts = _post("ann", "The kettle lid will not close anymore.", None)
            posts += _post("ben", "Mine also leaks from the base.", "\u00e9t\u00e9 dernier, vers midi")
            return self.reply(200, f"<html><body>{posts}</body></html>".encode())
        if path == "/t/endless.html":  # every page links to a next one and repeats the same replies
            n = int(query.split("=")[1]) if "=" in query else 1
            page = _post("cat", "Same replies on every page of this thread.", "Mar 3, 2026 14:05")
            nav = f'<nav class="pager"><a rel="next" href="/t/endless.html?page={n + 1}">next</a></nav>'
            return self.reply(200, f"<html><body>{page}{nav}</body></html>".encode())
        if path == "/t/redirect-a.html":
            return self.reply(302, b"", headers={"Location": "/t/redirect-b.html"})
        if path == "/t/redirect-b.html":
            return self.reply(302, b"", headers={"Location": "/t/redirect-a.html"})
        if path == "/t/latin1.html":  # ISO-8859-1 bytes sent with a header claiming UTF-8
            page = f"<html><body>{_post('dee', LATIN1_TEXT, 'Mar 5, 2026 09:00')}</body></html>"
            return self.reply(200, page.encode("latin-1"))
        if path == "/news/index.html":
            links = "".join(
                f'<a class="teaser-link" href="/news/{name}.html">x</a>' for name in ("undated", "dated-meta")
            )
            return self.reply(200, f"<html><body>{links}</body></html>".encode())
        if path == "/news/undated.html":
            body = (
                "<p>"
                + " ".join(["The regulator asked the maker for sales figures of the kettle."] * 6)
                + "</p>"
            )
            return self.reply(
                200,
                f"<html><head><title>No date here</title></head><body><article>{body}</article></body></html>".encode(),
            )
        if path == "/news/dated-meta.html":  # a date only htmldate-style metadata carries
            body = (
                "<p>"
                + " ".join(["A second report on the kettle recall and the refunds offered."] * 6)
                + "</p>"
            )
            head = '<title>Dated</title><meta name="date" content="2026-03-04">'
            return self.reply(
                200, f"<html><head>{head}</head><body><article>{body}</article></body></html>".encode()
            )
        if path == "/empty/feed.xml":  # a 0-byte feed
            return self.reply(200, b"", "application/rss+xml")
        if path == "/empty/listing.html":  # a non-empty page where the link selector finds nothing
            return self.reply(200, b"<html><body><p>Nothing to see.</p></body></html>")
        return self.reply(404, b"not found")


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), UnseenSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def crawl(tmp_path: Path, source: dict[str, Any]) -> tuple[dict[str, Any], list[Mention], str]:
    config = tmp_path / "site.yaml"
    config.write_text(
        yaml.safe_dump({"data_dir": str(tmp_path / "data"), "sources": [source]}), encoding="utf-8"
    )
    out = tmp_path / f"{source['name']}.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "crawlers.web.run", "--config", str(config), "--source", source["name"],
         "--out", str(out), "--state-dir", str(tmp_path / "state")],
        capture_output=True, text=True, cwd=ROOT, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    mentions = [Mention.model_validate_json(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return json.loads(proc.stdout.strip().splitlines()[-1]), mentions, proc.stderr


@pytest.fixture(scope="module")
def forum(site: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Mention], str]:
    source = {
        "name": "unseen-forum",
        "kind": "forum",
        "url": f"{site}/forum/index.html",
        "selectors": SELECTORS,
    }
    return crawl(tmp_path_factory.mktemp("forum"), source)


def test_undated_posts_are_kept_with_the_crawl_time_and_flagged(
    forum: tuple[dict[str, Any], list[Mention], str],
) -> None:
    stats, mentions, _ = forum
    undated = {m.author: m for m in mentions if "undated" in m.url}
    assert set(undated) == {"ann", "ben"}
    assert all(m.raw["published_missing"] for m in undated.values())
    assert stats["warnings"]["published_missing"] == 2 and stats["warnings"]["unparseable_date"] == 1
    assert any("undated.html" in url for url in stats["warning_urls"]["unparseable_date"])
    assert "unparseable_date" not in stats["error_reasons"]


def test_a_page_with_a_lying_charset_is_decoded_with_the_detected_one(
    forum: tuple[dict[str, Any], list[Mention], str],
) -> None:
    stats, mentions, _ = forum
    (latin,) = [m for m in mentions if m.author == "dee"]
    assert latin.text == LATIN1_TEXT and "\ufffd" not in latin.text
    assert latin.raw["charset_declared"] == "utf-8" and latin.raw["charset"] != "utf-8"
    assert sum(stats["charset"].values()) == 1 and next(iter(stats["charset"])).startswith("utf-8->")
    assert any("latin1.html" in url for url in stats["warning_urls"]["charset_fixed"])


def test_endless_pagination_repeating_the_same_replies_stops_at_the_first_repeat(
    forum: tuple[dict[str, Any], list[Mention], str],
) -> None:
    stats, mentions, _ = forum
    endless = [m for m in mentions if "endless" in m.url]
    assert len(endless) == 1  # page 1's post; page 2 repeats it and ends the thread
    assert stats["error_reasons"]["pagination_loop"] == 1
    assert stats["error_urls"]["pagination_loop"][0].endswith("/t/endless.html?page=2")
    assert stats["pages"] <= 8  # index, robots, 2 endless pages, 2 redirects, undated, latin1


def test_a_redirect_loop_ends_with_a_logged_reason(forum: tuple[dict[str, Any], list[Mention], str]) -> None:
    stats, _, log = forum
    assert stats["error_reasons"]["redirect_loop"] == 1
    assert any("redirect-" in url for url in stats["error_urls"]["redirect_loop"])
    assert "redirect loop" in log


def test_undated_article_is_kept_and_htmldate_reads_a_metadata_date(site: str, tmp_path: Path) -> None:
    source = {"name": "unseen-news", "kind": "news", "url": f"{site}/news/index.html",
              "selectors": {"article_link": "a.teaser-link"}}  # fmt: skip
    stats, mentions, _ = crawl(tmp_path, source)
    by_path = {m.url.rsplit("/", 1)[-1]: m for m in mentions}
    assert by_path["undated.html"].raw["published_missing"] is True
    assert by_path["dated-meta.html"].published.date().isoformat() == "2026-03-04"
    assert "published_missing" not in by_path["dated-meta.html"].raw
    assert stats["empty_reason"] is None


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/empty/feed.xml", "empty_body"), ("/empty/listing.html", "no_article_link_selector")],
)
def test_a_source_that_yields_nothing_says_why(site: str, tmp_path: Path, path: str, reason: str) -> None:
    source = {"name": "unseen-empty", "kind": "news", "url": f"{site}{path}"}
    stats, mentions, _ = crawl(tmp_path, source)
    assert mentions == [] and stats["pages"] >= 1
    assert stats["empty_reason"] and reason in stats["empty_reason"], stats
    assert any(path in url for urls in stats["error_urls"].values() for url in urls)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("投訴：電熱水壺在使用十分鐘後熔化了，客服沒有回覆。" * 4, "big5"), (LATIN1_TEXT, "latin-1")],
)
def test_detect_charset_reads_pages_mislabelled_as_utf8(text: str, encoding: str) -> None:
    from crawlers.web.middlewares import detect_charset

    body = f"<html><body><p>{text}</p></body></html>".encode(encoding)
    found = detect_charset(body, "utf-8")
    assert found is not None and body.decode(found[0]) == body.decode(encoding)
