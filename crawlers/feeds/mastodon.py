"""Mastodon statuses: a hashtag, an account or the public timeline, paged by the `Link` header.

`source.url` is the instance (e.g. `https://mastodon.social`). `source.params`: `tag` (hashtag timeline),
or `account_id` (an account's statuses), otherwise the public timeline (`local: true` for local only);
`limit` (<= 40). Optional credential `token` (bearer access token).

Paging follows RFC 8288 `Link: <...max_id=...>; rel="next"` until an empty page, a missing next link,
or a status at or below the saved `since_id` (cursor state: `since_id`, the newest status id seen; it
is also sent as `since_id` on the first request). A next link to another host is refused and counted.
Boosts (reblogs) are collected as the boosted status itself, so copies share one id.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from crawlers.clean import clean_text
from crawlers.dates import parse_datetime
from crawlers.feeds.base import Budget, ClientRun, FeedClient, Page, as_int, raw_subset
from crawlers.http import Secret
from groundswell.mention import Mention, SourceKind

logger = logging.getLogger(__name__)

_RAW_KEYS = ("visibility", "sensitive", "spoiler_text", "uri", "edited_at")


def _next_link(headers: httpx.Headers) -> str | None:
    for value in headers.get_list("link"):
        for part in value.split(","):
            section = part.split(";")
            if len(section) < 2:
                continue
            url = section[0].strip().strip("<>")
            if any(s.strip().replace(" ", "") in ('rel="next"', "rel=next") for s in section[1:]):
                return url
    return None


class MastodonClient(FeedClient):
    kind = "mastodon"

    def _path(self) -> str:
        if self.param("tag"):
            return f"/api/v1/timelines/tag/{str(self.param('tag')).lstrip('#')}"
        if self.param("account_id"):
            return f"/api/v1/accounts/{self.param('account_id')}/statuses"
        return "/api/v1/timelines/public"

    def _collect(self, run: ClientRun, budget: Budget) -> None:
        headers: dict[str, str | Secret] = {}
        if "token" in self.credentials:
            headers["Authorization"] = Secret(f"Bearer {self.credentials['token'].reveal()}")
        since_id = int(run.state.get("since_id", 0) or 0)
        first: dict[str, Any] = {"limit": min(int(self.param("limit", 40)), 40)}
        if self.param("local"):
            first["local"] = "true"
        if since_id:
            first["since_id"] = str(since_id)
        host = urlsplit(self.base_url).netloc
        newest = since_id

        def fetch(next_url: str | None) -> Page:
            nonlocal newest
            # the first page from the path and parameters; the next ones from the Link header
            url, params = (next_url, None) if next_url else (self.base_url + self._path(), first)
            response = self.http.get(url, params=params, headers=headers)
            run.pages += 1
            statuses = response.json()
            if not isinstance(statuses, list):
                run.error(response.url, f"expected a JSON array of statuses, got {str(statuses)[:100]!r}")
                return Page(response.url, stop="error")
            if not statuses:
                return Page(response.url)
            for status in statuses:
                status_id = int(status.get("id", 0))
                if since_id and status_id <= since_id:
                    return Page(response.url, stop="known")
                mention = self.build(run, response.url, lambda: self._mention(status))
                if mention is not None:
                    run.mentions.append(mention)
                newest = max(newest, status_id)
            found = _next_link(response.headers)
            if found and urlsplit(found).netloc != host:
                run.error(response.url, f"Link rel=next points to another host: {found}")
                return Page(response.url, stop="error")
            return Page(response.url, next=found)

        self.page_through(
            run,
            budget,
            fetch,
            loop_error=lambda url: f"pagination loop: {url} was already followed in this run",
        )
        if run.stopped in ("end", "known") or (run.stopped.startswith("budget") and not since_id):
            run.state["since_id"] = str(newest) if newest else run.state.get("since_id", "")

    def _mention(self, status: dict[str, Any]) -> Mention:
        booster = None
        if isinstance(status.get("reblog"), dict):
            booster = (status.get("account") or {}).get("acct")
            status = status["reblog"]
        account = status.get("account") or {}
        text = clean_text(str(status.get("content") or ""))
        spoiler = clean_text(str(status.get("spoiler_text") or ""))
        raw = raw_subset(status, _RAW_KEYS)
        tags = [t.get("name") for t in status.get("tags") or [] if t.get("name")]
        if tags:
            raw["tags"] = tags[:20]
        if booster:
            raw["boosted_by"] = booster
        if isinstance(status.get("card"), dict) and status["card"].get("url"):
            raw["card_url"] = status["card"]["url"]
        return Mention(
            source=self.source.name,
            source_kind=SourceKind.mastodon,
            url=str(status.get("url") or status.get("uri") or f"{self.base_url}/statuses/{status.get('id')}"),
            external_id=str(status.get("id")),
            author=str(account.get("acct") or account.get("username") or ""),
            author_reach=as_int(account.get("followers_count")),
            published=parse_datetime(str(status.get("created_at"))),
            language=status.get("language") or None,
            title=spoiler,
            text=text or spoiler,
            thread_id=None,
            parent_id=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
            likes=as_int(status.get("favourites_count")),
            shares=as_int(status.get("reblogs_count")),
            replies=as_int(status.get("replies_count")),
            raw=raw,
        )
