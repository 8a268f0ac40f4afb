"""Reddit listings: posts (`new`, `hot`, `top`, `search`) or comments of a subreddit, paged with `after`.

`source.url` is the API base (`https://oauth.reddit.com` with a token, `https://www.reddit.com` without,
which needs the `.json` suffix that is then added). `source.params`: `subreddit` (default "all"),
`listing` ("new" default, "comments", "hot", "top", "search"), `query` (for search), `limit` (<= 100);
or `user` (a user's overview, newest first unless `sort` says otherwise).
Optional credential `token` (OAuth bearer token, `credentials_env: {token: REDDIT_TOKEN}`).

Cursor state: `newest_created` / `newest_name` of the newest item seen. For time-ordered listings
(new, comments, search sorted by new) paging stops at the first item at or before that mark, so a
run only fetches what appeared since the last one; a repeated `after` cursor ends the run as a loop.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from crawlers.clean import clean_text
from crawlers.feeds.base import Budget, ClientRun, FeedClient, Page, as_int, raw_subset
from crawlers.http import Secret
from groundswell.mention import Mention, SourceKind

logger = logging.getLogger(__name__)

_LISTINGS = ("new", "comments", "hot", "top", "rising", "search")
_RAW_KEYS = (
    "subreddit",
    "link_flair_text",
    "domain",
    "over_18",
    "upvote_ratio",
    "num_crossposts",
    "gilded",
    "edited",
    "link_title",
    "link_url",
)


class RedditClient(FeedClient):
    kind = "reddit"

    def _collect(self, run: ClientRun, budget: Budget) -> None:
        listing = str(self.param("listing", "new"))
        if listing not in _LISTINGS:
            run.error(self.source.url, f"params.listing '{listing}' is not one of {', '.join(_LISTINGS)}")
            return
        subreddit = str(self.param("subreddit", "all")).removeprefix("r/")
        path = f"/r/{subreddit}/{listing}"
        extra: dict[str, Any] = {}
        if self.param("user"):
            path = f"/user/{str(self.param('user')).removeprefix('u/')}"
            extra["sort"] = str(self.param("sort", "new"))
            listing = "new" if extra["sort"] == "new" else "top"
        if "oauth.reddit.com" not in (urlsplit(self.base_url).hostname or ""):
            path += ".json"
        params: dict[str, Any] = {"limit": min(int(self.param("limit", 100)), 100), "raw_json": 1} | extra
        ordered_by_time = listing in ("new", "comments")
        if listing == "search":
            params.update(
                q=str(self.param("query", "")), sort="new", restrict_sr=1 if subreddit != "all" else 0
            )
            ordered_by_time = True
        headers: dict[str, str | Secret] = {}
        if "token" in self.credentials:
            headers["Authorization"] = Secret(f"bearer {self.credentials['token'].reveal()}")
        mark = float(run.state.get("newest_created", 0.0))
        newest = (mark, str(run.state.get("newest_name", "")))
        url = self.base_url + path

        def fetch(after: str | None) -> Page:
            nonlocal newest
            page_params = dict(params) | ({"after": after} if after else {})
            body = self.get_json(run, url, params=page_params, headers=headers)
            if (
                not isinstance(body, dict)
                or body.get("kind") != "Listing"
                or not isinstance(body.get("data"), dict)
            ):
                run.error(url, f"not a Reddit Listing: {str(body)[:100]!r}")
                return Page(url, stop="error")
            for child in body["data"].get("children") or []:
                data = child.get("data") or {}
                if child.get("kind") not in ("t1", "t3"):
                    continue
                created = float(data.get("created_utc") or 0.0)
                if ordered_by_time and mark and created <= mark:
                    return Page(url, stop="known")
                mention = self.build(run, url, lambda: self._mention(child["kind"], data))
                if mention is not None:
                    run.mentions.append(mention)
                newest = max(newest, (created, str(data.get("name", ""))))
            return Page(url, next=body["data"].get("after"))

        self.page_through(
            run,
            budget,
            fetch,
            loop_error=lambda after: (
                f"pagination loop: cursor after={after} was already followed in this run"
            ),
        )
        if run.stopped in ("end", "known") or (run.stopped.startswith("budget") and not mark):
            run.state["newest_created"], run.state["newest_name"] = newest

    def _mention(self, kind: str, data: dict[str, Any]) -> Mention:
        subreddit = str(data.get("subreddit") or "")
        permalink = str(data.get("permalink") or "")
        if kind == "t3":
            text = clean_text(str(data.get("selftext") or ""))
            title = clean_text(str(data.get("title") or ""))
            thread_id: str | None = str(data.get("name") or f"t3_{data.get('id')}")
            parent_id = None
            if not permalink:
                permalink = f"/r/{subreddit}/comments/{data.get('id')}/"
            replies = as_int(data.get("num_comments"))
        else:
            text = clean_text(str(data.get("body") or ""))
            title = clean_text(str(data.get("link_title") or ""))
            thread_id = str(data.get("link_id") or "") or None
            parent_id = str(data.get("parent_id") or "") or None
            if not permalink and thread_id:
                permalink = f"/r/{subreddit}/comments/{thread_id.removeprefix('t3_')}/_/{data.get('id')}/"
            replies = 0
        url = permalink if permalink.startswith("http") else f"https://www.reddit.com{permalink}"
        author = str(data.get("author") or "")
        return Mention(
            source=self.source.name,
            source_kind=SourceKind.reddit,
            url=url,
            external_id=str(data.get("name") or f"{kind}_{data.get('id')}"),
            author="" if author == "[deleted]" else author,
            author_reach=0,  # listings carry no karma; fetching /user/<name>/about per author costs a request each
            published=datetime.fromtimestamp(float(data.get("created_utc") or 0.0), tz=UTC),
            title=title,
            text=text or title,
            thread_id=thread_id,
            parent_id=parent_id,
            likes=as_int(data.get("score")),
            replies=replies,
            raw=raw_subset(data, _RAW_KEYS)
            | ({"link": data["url"]} if kind == "t3" and data.get("url") else {}),
        )
