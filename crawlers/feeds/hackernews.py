"""Hacker News through the official Firebase API (`/v0/<list>.json`, `/v0/item/<id>.json`).

`source.url` is the API base (`https://hacker-news.firebaseio.com`). `source.params`: `list`
("newstories" default, "topstories", "beststories", "askstories", "showstories", "jobstories"),
or `items` (explicit item ids); `comments` (false default): also walk each story's `kids`, depth first,
within the item budget; `keywords`: keep only items whose title or text names one of them.

Cursor state: `max_id`, the highest item id collected; ids at or below it are not fetched again
(HN ids grow with time). Deleted and dead items are skipped. Each item costs one request, so
`budget.max_pages` bounds a run.

Keyword tracking uses Algolia's HN Search instead: `source.url` `https://hn.algolia.com`, `params.query`
(and optional `tags`, default "(story,comment)"). `/api/v1/search_by_date` is paged with `page` up to
`nbPages`; the cursor `newest_created` (epoch seconds of the newest hit) becomes
`numericFilters=created_at_i>...` on the next run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from crawlers.clean import clean_text
from crawlers.dates import parse_datetime
from crawlers.feeds.base import Budget, ClientRun, FeedClient, as_int, raw_subset
from crawlers.http import FetchError
from groundswell.mention import Mention, SourceKind

logger = logging.getLogger(__name__)

_LISTS = ("newstories", "topstories", "beststories", "askstories", "showstories", "jobstories")


class HackerNewsClient(FeedClient):
    kind = "hackernews"

    def _collect(self, run: ClientRun, budget: Budget) -> None:
        if self.param("query"):
            self._collect_search(run, budget)
            return
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
                run.error(
                    f"{self.base_url}/v0/{name}.json",
                    f"expected a JSON array of ids, got {str(listing)[:80]!r}",
                )
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
                thread_id = (
                    thread if thread is not None else (None if item.get("type") == "comment" else item_id)
                )
                mention = self.build(run, f"item {item_id}", lambda: self._mention(item, thread_id))
                if (
                    mention is not None
                    and mention.text
                    and (
                        not keywords or any(k in f"{mention.title} {mention.text}".lower() for k in keywords)
                    )
                ):
                    run.mentions.append(mention)
                if walk_comments:
                    stack.extend((int(kid), root) for kid in reversed(item.get("kids") or []))
            if run.stopped:
                break
        if complete:
            run.stopped = run.stopped or "end"
            run.state["max_id"] = newest

    def _collect_search(self, run: ClientRun, budget: Budget) -> None:
        mark = int(run.state.get("newest_created", 0) or 0)
        newest = mark
        url = f"{self.base_url}/api/v1/search_by_date"
        params: dict[str, Any] = {
            "query": str(self.param("query")),
            "tags": str(self.param("tags", "(story,comment)")),
            "hitsPerPage": 100,
        }
        if mark:
            params["numericFilters"] = f"created_at_i>{mark}"
        page = 0
        while True:
            stop = budget.exhausted(run)
            if stop:
                run.stopped = stop
                break
            body = self.get_json(run, url, params=params | {"page": page})
            if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
                run.error(url, f"not an HN Search response: {str(body)[:100]!r}")
                run.stopped = "error"
                return
            for hit in body["hits"]:
                mention = self.build(run, url, lambda: self._hit_mention(hit))
                if mention is not None and mention.text:
                    run.mentions.append(mention)
                newest = max(newest, int(hit.get("created_at_i") or 0))
            page += 1
            if page >= int(body.get("nbPages") or 0) or not body["hits"]:
                run.stopped = "end"
                break
        if run.stopped == "end" or (run.stopped.startswith("budget") and not mark):
            run.state["newest_created"] = newest

    def _hit_mention(self, hit: dict[str, Any]) -> Mention:
        item_id = str(hit["objectID"])
        tags = hit.get("_tags") or []
        is_comment = "comment" in tags or bool(hit.get("comment_text"))
        title = clean_text(str(hit.get("title") or hit.get("story_title") or ""))
        text = clean_text(str(hit.get("comment_text") or hit.get("story_text") or ""))
        published = (
            datetime.fromtimestamp(int(hit["created_at_i"]), tz=UTC)
            if hit.get("created_at_i")
            else parse_datetime(str(hit.get("created_at")))
        )
        raw = raw_subset(hit, ("url", "story_url", "num_comments"))
        return Mention(
            source=self.source.name,
            source_kind=SourceKind.hackernews,
            url=f"https://news.ycombinator.com/item?id={item_id}",
            external_id=item_id,
            author=str(hit.get("author") or ""),
            published=published,
            title=title,
            text=text or title,
            thread_id=str(hit.get("story_id") or item_id) if is_comment else item_id,
            parent_id=str(hit["parent_id"]) if hit.get("parent_id") else None,
            likes=as_int(hit.get("points")),
            replies=as_int(hit.get("num_comments")),
            raw=raw,
        )

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
