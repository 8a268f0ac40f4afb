"""The Scrapy web spiders, run for real through `python -m crawlers.web.run` against sites on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from groundswell.app.demo import append_forum_reply, build_market, demo_config, serve_market
from groundswell.app.demo.config import FORUM_SELECTORS
from groundswell.mention import Mention

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CP1252_TEXT = "Caf\u00e9 cr\u00e8me \u2013 na\u00efve"


def crawl(
    config: Path, source: str, out: Path, state: Path
) -> tuple[dict[str, Any], list[Mention], subprocess.CompletedProcess[str]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawlers.web.run",
            "--config",
            str(config),
            "--source",
            source,
            "--out",
            str(out),
            "--state-dir",
            str(state),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout  # exactly one line on stdout: the stats
    mentions = [Mention.model_validate_json(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return json.loads(lines[0]), mentions, proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("demo")
    truth = build_market(root / "web", seed=11, end=date(2026, 3, 1), weeks=2)
    with serve_market(root / "web") as base:
        config = root / "groundswell.yaml"
        config.write_text(yaml.safe_dump(demo_config(base, root / "data")), encoding="utf-8")
        yield {"root": root, "truth": truth, "config": config, "base": base}


def test_forum_spider_collects_every_post_without_quotes_and_obeys_robots(
    demo: dict[str, Any], tmp_path: Path
) -> None:
    stats, mentions, _ = crawl(demo["config"], "demo-forum", tmp_path / "forum.jsonl", tmp_path / "state")
    forum = json.loads((demo["root"] / "web" / "_data" / "forum.json").read_text())
    posts = {p["id"]: p for t in forum["threads"] for p in t["posts"]}
    assert stats["items"] == len(mentions) == len(posts) == demo["truth"].items["forum"]
    assert stats["errors"] == 0 and stats["skipped"].get("robots_txt", 0) >= 1
    assert not any("STAFF ONLY" in m.text or "/admin/" in m.url for m in mentions)
    quoted = [m for m in mentions if posts[m.external_id]["quote"]]
    assert quoted
    for m in quoted:
        assert posts[m.external_id]["quote"]["text"] not in m.text
        assert m.text == posts[m.external_id]["text"]
        assert m.raw["quoted"] and m.parent_id is not None
    by_id = {m.external_id: m for m in mentions}
    for post_id, post in posts.items():
        assert by_id[post_id].author == post["author"] and by_id[post_id].author_reach == post["reach"]
        assert by_id[post_id].published == datetime.fromisoformat(
            post["published"].replace("Z", "+00:00")
        ).replace(second=0)
    assert len({m.id for m in mentions}) == len(mentions)
    assert all(m.thread_id and m.thread_id.endswith(".html") for m in mentions)


def test_forum_spider_rerun_picks_up_only_new_replies(demo: dict[str, Any], tmp_path: Path) -> None:
    crawl(demo["config"], "demo-forum", tmp_path / "first.jsonl", tmp_path / "state")
    stats, mentions, _ = crawl(demo["config"], "demo-forum", tmp_path / "same.jsonl", tmp_path / "state")
    assert stats["items"] == 0 and mentions == [] and stats["unchanged"] > 0
    thread = json.loads((demo["root"] / "web" / "_data" / "forum.json").read_text())["threads"][2]
    post_id = append_forum_reply(
        demo["root"] / "web",
        thread["id"],
        author="latecomer",
        text="Mine does that too.",
        published=datetime(2026, 3, 1, 22, 0, tzinfo=UTC),
    )
    stats, mentions, _ = crawl(demo["config"], "demo-forum", tmp_path / "new.jsonl", tmp_path / "state")
    assert [(m.external_id, m.author, m.text) for m in mentions] == [
        (post_id, "latecomer", "Mine does that too.")
    ]
    assert stats["pages"] < 20


def test_review_spider_reads_rating_product_and_reviewer(demo: dict[str, Any], tmp_path: Path) -> None:
    stats, mentions, _ = crawl(demo["config"], "demo-reviews", tmp_path / "reviews.jsonl", tmp_path / "state")
    assert stats["items"] == len(mentions) == demo["truth"].items["review"] and stats["errors"] == 0
    assert all(m.rating in (1.0, 2.0, 3.0, 4.0, 5.0) for m in mentions)
    assert all(m.author and m.title and m.raw["product"] for m in mentions)
    assert {m.source_kind.value for m in mentions} == {"review"}
    rerun, again, _ = crawl(demo["config"], "demo-reviews", tmp_path / "again.jsonl", tmp_path / "state")
    assert again == [] and rerun["unchanged"] > 0


def test_article_spider_extracts_main_text_without_boilerplate(demo: dict[str, Any], tmp_path: Path) -> None:
    stats, mentions, _ = crawl(demo["config"], "demo-news", tmp_path / "news.jsonl", tmp_path / "state")
    assert stats["items"] == len(mentions) == demo["truth"].items["news"] and stats["errors"] == 0
    for m in mentions:
        assert m.title and m.author and len(m.text) > 100
        for boilerplate in ("We use cookies", "newsletter", "All times UTC", "Log in to comment"):
            assert boilerplate not in m.text
        assert m.canonical_url.startswith(demo["base"]) and m.published.tzinfo is not None


def test_sitemap_spider_follows_configured_sections(demo: dict[str, Any], tmp_path: Path) -> None:
    stats, mentions, _ = crawl(demo["config"], "demo-sitemap", tmp_path / "sitemap.jsonl", tmp_path / "state")
    truth = demo["truth"]
    assert stats["items"] == truth.items["news"] + truth.items["blog"]
    assert {m.url.split("/")[3] for m in mentions} == {"news", "blog"}


# ---- hostile pages ----------------------------------------------------------------------------------
def _post(pid: str, text: str, quote: str = "") -> str:
    q = f"<blockquote>{quote}</blockquote>" if quote else ""
    return (
        f'<article class="post" data-post-id="{pid}"><div class="post-meta"><span class="author">u{pid}</span>'
        f'<span class="post-date">Mar 3, 2026 14:05</span></div><div class="post-body">{q}<p>{text}</p></div></article>'
    )


def _thread_row(href: str) -> str:
    return f'<li class="thread"><a class="thread-title" href="{href}">t</a> <span class="reply-count">1 replies</span></li>'


class HostileHandler(BaseHTTPRequestHandler):
    """A small forum full of trouble: errors, a foreign redirect, loops, a giant and a garbage page."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (
            BrokenPipeError,
            ConnectionResetError,
        ):  # the crawler hangs up on the giant page, as it should
            pass

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        port = self.server.server_address[1]
        rows = [
            "/t/good.html",
            "/t/broken.html",
            "/t/garbage.html",
            "/t/error500.html",
            "/t/away.html",
            "/t/loop.html?page=1",
            "/t/huge.html",
            "/secret/thread.html",
            "/t/slow.html",
            "/t/cp1252.html",
        ]
        pager = '<nav class="pager"><a rel="next" href="/forum/page-2.html">next</a></nav>'
        if path == "/robots.txt":
            return self.reply(200, b"User-agent: *\nDisallow: /secret/\n", "text/plain")
        if path in (
            "/forum/index.html",
            "/forum/page-2.html",
        ):  # page 2 lists the same threads and links back: a loop
            back = (
                pager
                if path == "/forum/index.html"
                else '<nav class="pager"><a rel="next" href="/forum/page-3.html">next</a></nav>'
            )
            html = (
                "<html><body><ul class='threads'>"
                + "".join(_thread_row(r) for r in rows)
                + f"</ul>{back}</body></html>"
            )
            return self.reply(200, html.encode())
        if path == "/forum/page-3.html":
            return self.reply(
                200,
                b"<html><body><ul class='threads'>"
                + _thread_row("/t/good.html").encode()
                + b"</ul></body></html>",
            )
        if path == "/t/good.html":
            body = _post("g1", "The kettle is fine.") + _post(
                "g2", "Agreed, mine too.", quote="u1 wrote: The kettle is fine."
            )
            return self.reply(200, f"<html><body>{body}</body></html>".encode())
        if path == "/t/broken.html":  # unclosed tags, stray bytes, no </html>: lxml recovers the post
            return self.reply(
                200,
                b"<html><body><div><article class='post' data-post-id='b1'><div class='post-meta'><span class='author'>ub1<span class='post-date'>Mar 4, 2026 10:00</span></div><div class='post-body'><p>Broken page but real text \xff\xfe<b>bold<i>italic",
            )
        if path == "/t/garbage.html":
            return self.reply(200, bytes(range(256)) * 40)
        if path == "/t/error500.html":
            return self.reply(500, b"<h1>Internal Server Error</h1>")
        if path == "/t/away.html":  # a redirect to another host
            return self.reply(302, b"", headers={"Location": f"http://localhost:{port}/t/good.html"})
        if path == "/t/loop.html":  # every page links to a "next" page showing the same posts
            n = int(query.split("=")[1]) if "=" in query else 1
            html = f'<html><body>{_post("l1", "Loop post.")}<nav class="pager"><a rel="next" href="/t/loop.html?page={n + 1}">next</a></nav></body></html>'
            return self.reply(200, html.encode())
        if path == "/t/huge.html":  # 11 MB: over DOWNLOAD_MAXSIZE
            return self.reply(
                200, b"<html><body>" + b"<p>" + b"x" * (11 * 1024 * 1024) + b"</p></body></html>"
            )
        if path == "/t/cp1252.html":  # no charset in the header, only in a meta tag
            post = _post("c1", CP1252_TEXT)
            page = f'<html><head><meta charset="windows-1252"></head><body>{post}</body></html>'
            return self.reply(200, page.encode("cp1252"), "text/html")
        if path == "/t/slow.html":  # answers after the crawler's download timeout
            time.sleep(2.5)
            return self.reply(200, f"<html><body>{_post('z1', 'Too late.')}</body></html>".encode())
        if path == "/secret/thread.html":
            return self.reply(200, f"<html><body>{_post('s1', 'SECRET')}</body></html>".encode())
        return self.reply(404, b"not found")


def test_forum_spider_counts_hostile_pages_and_keeps_going(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        config = {
            "data_dir": str(tmp_path / "data"),
            "sources": [
                {
                    "name": "hostile",
                    "kind": "forum",
                    "url": f"{base}/forum/index.html",
                    "selectors": FORUM_SELECTORS,
                    "params": {"download_timeout": 1},
                }
            ],
        }
        path = tmp_path / "hostile.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        stats, mentions, proc = crawl(path, "hostile", tmp_path / "out.jsonl", tmp_path / "state")
    finally:
        server.shutdown()
        server.server_close()
    texts = {m.external_id: m.text for m in mentions}
    assert texts["g1"] == "The kettle is fine." and texts["g2"] == "Agreed, mine too."
    assert "Broken page but real text" in texts["b1"]
    assert texts["c1"] == CP1252_TEXT  # decoded by the page's declared encoding
    assert texts["l1"] == "Loop post." and "s1" not in texts and "z1" not in texts
    reasons = stats["error_reasons"]
    for reason in ("http_500", "offsite_redirect", "pagination_loop", "too_large", "no_posts", "timeout"):
        assert reasons.get(reason, 0) >= 1, (reason, stats, proc.stderr[-2000:])
    assert stats["errors"] == sum(reasons.values())
    assert stats["skipped"]["robots_txt"] == 1
    assert "error500.html" in proc.stderr and "huge.html" in proc.stderr  # logged with the URL


def test_runner_rejects_invalid_configuration(demo: dict[str, Any], tmp_path: Path) -> None:
    def run(config: Path, source: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "crawlers.web.run",
                "-c",
                str(config),
                "-s",
                source,
                "-o",
                str(tmp_path / "o.jsonl"),
                "--state-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )

    unknown = run(demo["config"], "no-such-source")
    assert (
        unknown.returncode == 2
        and "unknown source 'no-such-source'" in unknown.stderr
        and unknown.stdout == ""
    )
    not_web = run(demo["config"], "demo-reddit")
    assert not_web.returncode == 2 and "not crawled by a web spider" in not_web.stderr
    raw = yaml.safe_load(demo["config"].read_text())
    raw["sources"][0]["selectors"] = {"thread": "li"}
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(raw), encoding="utf-8")
    missing = run(broken, "demo-forum")
    assert (
        missing.returncode == 2 and "selectors is missing" in missing.stderr and "post_body" in missing.stderr
    )


def test_runner_counts_an_unreachable_site_and_exits_zero(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "data_dir": str(tmp_path / "data"),
        "sources": [
            {
                "name": "gone",
                "kind": "news",
                "url": f"http://127.0.0.1:{port}/news/index.html",
                "params": {"download_timeout": 2},
            }
        ],
    }
    path = tmp_path / "gone.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    stats, mentions, proc = crawl(path, "gone", tmp_path / "out.jsonl", tmp_path / "state")
    assert mentions == [] and stats["items"] == 0
    assert stats["error_reasons"].get("connection_refused", 0) >= 1, stats
    assert f"127.0.0.1:{port}/news/index.html" in proc.stderr


def test_forum_spider_resumes_after_a_budget_stop(demo: dict[str, Any], tmp_path: Path) -> None:
    raw = yaml.safe_load(demo["config"].read_text(encoding="utf-8"))
    raw["sources"][0]["budget"] = {"max_pages": 25, "max_seconds": 600}
    small = tmp_path / "small.yaml"
    small.write_text(yaml.safe_dump(raw), encoding="utf-8")
    stats, first, _ = crawl(small, "demo-forum", tmp_path / "first.jsonl", tmp_path / "state")
    assert stats["finish_reason"] == "closespider_pagecount" and 0 < len(first) < demo["truth"].items["forum"]
    collected = {m.external_id for m in first}
    for run in range(2):  # the full budget finishes the job; a further run finds nothing new
        stats, more, _ = crawl(
            demo["config"], "demo-forum", tmp_path / f"more{run}.jsonl", tmp_path / "state"
        )
        ids = [m.external_id for m in more]
        assert len(ids) == len(set(ids))
        collected |= set(ids)
        assert stats["finish_reason"] == "finished"
    forum = json.loads((demo["root"] / "web" / "_data" / "forum.json").read_text())
    assert collected == {p["id"] for t in forum["threads"] for p in t["posts"]}
    assert not ids  # the last run had nothing left to collect
