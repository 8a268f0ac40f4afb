"""`FeedClient.page_through`, the cursor-paging loop the X, YouTube, Reddit and Mastodon clients share:
it follows cursors to the end, stops where a page says so, keeps the budget, and ends a pagination loop
as an error."""

from __future__ import annotations

from typing import Any

from crawlers.feeds.base import Budget, ClientRun, FeedClient, Page
from crawlers.http import ApiHttp
from groundswell.config import parse_config


class _Client(FeedClient):
    kind = "rss"

    def _collect(self, run: ClientRun, budget: Budget) -> None:  # not used: the tests call page_through
        raise NotImplementedError


def _page_through(
    pages: dict[str | None, Page], *, max_pages: int = 100
) -> tuple[ClientRun, list[str | None]]:
    source: dict[str, Any] = {
        "name": "s",
        "kind": "rss",
        "url": "http://feed.test/",
        "budget": {"max_pages": max_pages},
    }
    config = parse_config({"sources": [source]})
    client = _Client(source=config.source("s"), http=ApiHttp(user_agent="test"), credentials={})
    run = ClientRun(source="s")
    asked: list[str | None] = []

    def fetch(cursor: str | None) -> Page:
        asked.append(cursor)
        run.pages += 1
        return pages[cursor]

    client.page_through(run, Budget(client.source), fetch, loop_error=lambda c: f"pagination loop at {c}")
    return run, asked


def test_page_through_follows_cursors_to_the_last_page() -> None:
    run, asked = _page_through({None: Page("u0", next="a"), "a": Page("u1", next="b"), "b": Page("u2")})
    assert asked == [None, "a", "b"] and run.stopped == "end" and run.errors == 0


def test_page_through_stops_where_a_page_says_so() -> None:
    run, asked = _page_through({None: Page("u0", next="a"), "a": Page("u1", next="b", stop="known")})
    assert asked == [None, "a"] and run.stopped == "known" and run.errors == 0


def test_page_through_ends_a_pagination_loop_as_an_error() -> None:
    run, asked = _page_through(
        {None: Page("u0", next="a"), "a": Page("u1", next="b"), "b": Page("u2", next="a")}
    )
    assert asked == [None, "a", "b"] and run.stopped == "error"
    assert run.error_reasons == ["u2: pagination loop at a"]


def test_page_through_keeps_the_page_budget() -> None:
    run, asked = _page_through({None: Page("u0", next="a"), "a": Page("u1", next="b")}, max_pages=2)
    assert asked == [None, "a"] and run.stopped == "budget:pages"
