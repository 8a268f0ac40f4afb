"""Small pieces of the web spiders that need no crawl: number/rating parsing, crawl state, source checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawlers.web.run import spider_class, summarize
from crawlers.web.spiders.base import GroundswellSpider, SelectorError
from crawlers.web.state import CrawlState
from groundswell.app.demo.config import FORUM_SELECTORS, REVIEW_SELECTORS
from groundswell.config import ConfigError, SourceConfig


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4", 4.0),
        ("4.5", 4.5),
        ("4/5", 4.0),
        ("8 / 10", 4.0),
        ("3 out of 5 stars", 3.0),
        ("★★★★☆", 4.0),
        ("80", 4.0),
        ("", None),
        ("n/a", None),
    ],
)
def test_rating_reads_common_formats(text: str, expected: float | None) -> None:
    assert GroundswellSpider.rating(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2k followers", 1200),
        ("345 replies", 345),
        ("12,345", 12345),
        ("2M", 2_000_000),
        ("", 0),
        ("none", 0),
    ],
)
def test_number_reads_counts_with_suffixes(text: str, expected: int) -> None:
    assert GroundswellSpider.number(text) == expected


def test_crawl_state_round_trips_and_survives_corruption(tmp_path: Path) -> None:
    path = tmp_path / "web-x.json"
    state = CrawlState.load(path)
    assert state.unchanged("http://a/1", b"one") is False
    assert state.unchanged("http://a/1", b"one") is True
    state.threads["http://a/t"] = {"replies": 3, "seen": ["p1"], "complete": True}
    state.save()
    again = CrawlState.load(path)
    assert again.unchanged("http://a/1", b"one") is True and again.unchanged("http://a/1", b"two") is False
    assert again.threads["http://a/t"]["replies"] == 3
    path.write_text("{not json", encoding="utf-8")
    assert CrawlState.load(path).pages == {}
    path.write_text(json.dumps({"version": 99, "pages": {"u": "h"}}), encoding="utf-8")
    assert CrawlState.load(path).pages == {}


def test_spider_class_matches_source_kind_and_checks_selectors() -> None:
    forum = SourceConfig(name="f", kind="forum", url="http://x/", selectors=FORUM_SELECTORS)
    assert spider_class(forum).name == "forum"
    assert (
        spider_class(SourceConfig(name="r", kind="review", url="http://x/", selectors=REVIEW_SELECTORS)).name
        == "review"
    )
    assert spider_class(SourceConfig(name="n", kind="blog", url="http://x/")).name == "article"
    assert spider_class(SourceConfig(name="s", kind="sitemap", url="http://x/sitemap.xml")).name == "sitemap"
    with pytest.raises(SelectorError, match=r"sources\[f\]\.selectors is missing post_body"):
        spider_class(
            SourceConfig(
                name="f",
                kind="forum",
                url="http://x/",
                selectors={k: v for k, v in FORUM_SELECTORS.items() if k != "post_body"},
            )
        )
    with pytest.raises(ConfigError, match="not crawled by a web spider"):
        spider_class(SourceConfig(name="m", kind="mastodon", url="http://x/"))


def test_summarize_reports_errors_and_skips() -> None:
    stats = {
        "groundswell/items": 5,
        "response_received_count": 9,
        "groundswell/error/http_500": 2,
        "groundswell/error/timeout": 1,
        "groundswell/skipped/empty_text": 1,
        "robotstxt/forbidden": 3,
        "groundswell/pages_unchanged": 4,
        "finish_reason": "closespider_pagecount",
    }
    source = SourceConfig(name="f", kind="forum", url="http://x/")
    summary = summarize(source, "forum", stats, 1.23456)
    assert summary == {
        "source": "f", "spider": "forum", "items": 5, "pages": 9, "errors": 3,
        "error_reasons": {"http_500": 2, "timeout": 1}, "skipped": {"empty_text": 1, "robots_txt": 3},
        "unchanged": 4, "seconds": 1.235, "finish_reason": "closespider_pagecount",
        "error_urls": {}, "warnings": {}, "warning_urls": {}, "empty": {}, "charset": {}, "empty_reason": None,
    }  # fmt: skip


def test_summarize_explains_a_crawl_that_read_pages_but_yielded_nothing() -> None:
    stats = {"response_received_count": 3, "groundswell/error/no_posts": 2, "finish_reason": "finished",
             "groundswell/details": {"errors": {"no_posts": ["http://x/t/1"]}, "empty": {"http://x/t/1": "no_posts: ..."}}}  # fmt: skip
    summary = summarize(SourceConfig(name="f", kind="forum", url="http://x/"), "forum", stats, 0.5)
    assert summary["empty_reason"] == "1 page(s) yielded nothing, e.g. http://x/t/1: no_posts: ..."
    assert summary["error_urls"] == {"no_posts": ["http://x/t/1"]}


def test_summarize_says_a_site_answered_only_from_the_stale_cache_failed_not_unchanged() -> None:
    stats = {"response_received_count": 3, "httpcache/errorrecovery": 3, "groundswell/pages_unchanged": 3,
             "finish_reason": "finished"}  # fmt: skip
    summary = summarize(SourceConfig(name="f", kind="forum", url="http://x/"), "forum", stats, 0.5)
    assert summary["empty_reason"] == "every response failed: unreachable_served_from_cache (3)"
