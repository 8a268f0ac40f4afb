"""Hacker News through the official Firebase API (`/v0/<list>.json`, `/v0/item/<id>.json`).

`source.url` is the API base (`https://hacker-news.firebaseio.com`). `source.params`: `list`
("newstories" default, "topstories", "beststories", "askstories", "showstories", "jobstories"),
or `items` (explicit item ids); `comments` (false default): also walk each story's `kids`, depth first,
within the item budget; `keywords`: keep only items whose title or text names one of them.

Cursor state: `max_id`, the highest item id collected; ids at or below it are not fetched again
(HN ids grow with time). Deleted and dead items are skipped. Each item costs one request, so
`budget.max_pages` bounds a run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from crawlers.clean import clean_text
from crawlers.feeds.base import Budget, ClientRun, FeedClient, as_int, raw_subset
from crawlers.http import FetchError
from groundswell.mention import Mention, SourceKind

logger = logging.getLogger(__name__)

_LISTS = ("newstories", "topstories", "beststories", "askstories", "showstories", "jobstories")


class HackerNewsClient(FeedClient):
    kind = "hackernews"

    def _collect(self, run: ClientRun, budget: Budget) -> None:
        max_id = int(run.state.get("max_id", 0) or 0)
        if self.param("items"):
            ids = [int(i) for i in self.param("items")]
        else:
            name = str(self.param("list", "newstories"))
            if name not in _LISTS:
                run.error(self.source.url, f"params.list '{name}' is not one of {', '.join(_LISTS)}")
                return
            listing = self.get_json(run, f"{self.base_url}/v0/{name}.json")
            if not isinstance(listing, list):
                run.error(f"{self.base_url}/v0/{name}.json", f"expected a JSON array of ids, got {str(listing)[:80]!r}")
                return
            ids = [int(i) for i in listing]
        keywords = [str(k).lower() for k in self.param("keywords", [])]
        walk_comments = bool(self.param("comments", False))
        newest = max_id
        complete = True
        for story_id in ids:
            if story_id <= max_id and not self.param("items"):
                continue
            stack: list[tuple[int, int | None]] = [(story_id, None)]
            while stack:
                stop = budget.exhausted(run)
                if stop:
                    run.stopped = stop
                    complete = False
                    break
                item_id, thread = stack.pop()
                try:
                    item = self.get_json(run, f"{self.base_url}/v0/item/{item_id}.json")
                except FetchError as exc:
                    run.error(exc.url, f"HTTP {exc.status}: {exc.reason}" if exc.status else exc.reason)
                    complete = False
                    continue
                newest = max(newest, item_id)
                if not isinstance(item, dict) or item.get("deleted") or item.get("dead"):
                    continue  # deleted items stay deleted: their ids count as seen
                root = thread if thread is not None else item_id
                thread_id = thread if thread is not None else (None if item.get("type") == "comment" else item_id)
                mention = self.build(run, f"item {item_id}", lambda: self._mention(item, thread_id))  # noqa: B023 - called at once
                if mention is not None and mention.text and (not keywords or any(k in f"{mention.title} {mention.text}".lower() for k in keywords)):
                    run.mentions.append(mention)
                if walk_comments:
                    stack.extend((int(kid), root) for kid in reversed(item.get("kids") or []))
            if run.stopped:
                break
        if complete:
            run.stopped = run.stopped or "end"
            run.state["max_id"] = newest

    def _mention(self, item: dict[str, Any], thread_id: int | None) -> Mention:
        item_id = int(item["id"])
        title = clean_text(str(item.get("title") or ""))
        text = clean_text(str(item.get("text") or ""))
        kind = str(item.get("type") or "story")
        raw = raw_subset(item, ("type", "url", "descendants", "poll", "parts"))
        return Mention(
            source=self.source.name,
            source_kind=SourceKind.hackernews,
            url=f"https://news.ycombinator.com/item?id={item_id}",
            external_id=str(item_id),
            author=str(item.get("by") or ""),
            published=datetime.fromtimestamp(int(item.get("time") or 0), tz=UTC),
            title=title,
            text=text or title,
            thread_id=str(thread_id) if thread_id is not None else None,
            parent_id=str(item["parent"]) if item.get("parent") else None,
            likes=as_int(item.get("score")),
            replies=as_int(item.get("descendants")) if kind != "comment" else len(item.get("kids") or []),
            raw=raw,
        )
