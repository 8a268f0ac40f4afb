"""X (Twitter) API v2 recent search, paged with `meta.next_token`, resumed with `since_id`.

`source.url` is the API base (`https://api.twitter.com/2`). `source.params`: `query` (search syntax),
`max_results` (10..100), `endpoint` ("recent" default, "all" for full-archive). Required credential
`bearer_token`. Authors' usernames and follower counts come from `includes.users`
(`expansions=author_id`). Partial `errors` in a 200 answer are counted as warnings.

Cursor state: `since_id`, the newest tweet id of the last complete run (`meta.newest_id` of its first
page); sent as `since_id` so a run only returns newer tweets. When a tweet lacks `created_at`, its time
is read from the id (a snowflake: milliseconds since 2010-11-04 in the top bits).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from crawlers.clean import clean_text
from crawlers.dates import parse_datetime
from crawlers.feeds.base import Budget, ClientRun, FeedClient, Page, as_int, raw_subset
from crawlers.http import Secret
from groundswell.mention import Mention, SourceKind

logger = logging.getLogger(__name__)

_TWITTER_EPOCH_MS = 1288834974657
_TWEET_FIELDS = (
    "created_at,lang,public_metrics,conversation_id,in_reply_to_user_id,referenced_tweets,author_id,entities"
)


def snowflake_time(tweet_id: str | int) -> datetime:
    """The creation time encoded in a tweet id."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + _TWITTER_EPOCH_MS) / 1000, tz=UTC)


class XClient(FeedClient):
    kind = "x"
    required_credentials = ("bearer_token",)

    def _collect(self, run: ClientRun, budget: Budget) -> None:
        query = str(self.param("query", "")).strip()
        if not query:
            run.error(self.source.url, "params.query is empty; X search needs a query")
            return
        endpoint = str(self.param("endpoint", "recent"))
        if endpoint not in ("recent", "all"):
            run.error(self.source.url, f"params.endpoint '{endpoint}' is not one of recent, all")
            return
        params: dict[str, Any] = {
            "query": query,
            "max_results": max(10, min(int(self.param("max_results", 100)), 100)),
            "tweet.fields": _TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": "username,name,public_metrics",
        }
        since_id = str(run.state.get("since_id") or "")
        if since_id:
            params["since_id"] = since_id
        headers: dict[str, str | Secret] = {
            "Authorization": Secret(f"Bearer {self.credentials['bearer_token'].reveal()}")
        }
        url = f"{self.base_url}/tweets/search/{endpoint}"
        newest = since_id

        def fetch(token: str | None) -> Page:
            nonlocal newest
            body = self.get_json(
                run, url, params=params | ({"next_token": token} if token else {}), headers=headers
            )
            if not isinstance(body, dict):
                run.error(url, f"not a search response: {str(body)[:100]!r}")
                return Page(url, stop="error")
            for err in body.get("errors") or []:
                run.warnings += 1
                logger.warning(
                    "source %s: partial error from %s: %s",
                    self.source.name,
                    url,
                    str(err.get("detail") or err)[:200],
                )
            users = {u.get("id"): u for u in (body.get("includes") or {}).get("users") or []}
            for tweet in body.get("data") or []:
                mention = self.build(
                    run, url, lambda: self._mention(tweet, users.get(tweet.get("author_id"), {}))
                )
                if mention is not None:
                    run.mentions.append(mention)
            meta = body.get("meta") or {}
            if meta.get("newest_id") and (not newest or int(meta["newest_id"]) > int(newest)):
                newest = str(meta["newest_id"])
            return Page(url, next=meta.get("next_token"))

        self.page_through(
            run, budget, fetch, loop_error=lambda _: "pagination loop: next_token repeated in this run"
        )
        if newest and (run.stopped == "end" or (run.stopped.startswith("budget") and not since_id)):
            run.state["since_id"] = newest

    def _mention(self, tweet: dict[str, Any], user: dict[str, Any]) -> Mention:
        tweet_id = str(tweet["id"])
        username = str(user.get("username") or "")
        referenced = {r.get("type"): str(r.get("id")) for r in tweet.get("referenced_tweets") or []}
        published = (
            parse_datetime(tweet["created_at"]) if tweet.get("created_at") else snowflake_time(tweet_id)
        )
        metrics = tweet.get("public_metrics") or {}
        raw = raw_subset(tweet, ("source", "possibly_sensitive", "reply_settings", "edit_history_tweet_ids"))
        if referenced:
            raw["referenced"] = referenced
        hashtags = [h.get("tag") for h in (tweet.get("entities") or {}).get("hashtags") or [] if h.get("tag")]
        if hashtags:
            raw["hashtags"] = hashtags[:20]
        lang = tweet.get("lang")
        return Mention(
            source=self.source.name,
            source_kind=SourceKind.x,
            url=f"https://x.com/{username or 'i'}/status/{tweet_id}",
            external_id=tweet_id,
            author=username or str(tweet.get("author_id") or ""),
            author_reach=as_int((user.get("public_metrics") or {}).get("followers_count")),
            published=published,
            language=None if lang in (None, "und", "zxx", "qme", "qht") else lang,
            text=clean_text(str(tweet.get("text") or "")),
            thread_id=str(tweet["conversation_id"]) if tweet.get("conversation_id") else None,
            parent_id=referenced.get("replied_to"),
            likes=as_int(metrics.get("like_count")),
            shares=as_int(metrics.get("retweet_count")) + as_int(metrics.get("quote_count")),
            replies=as_int(metrics.get("reply_count")),
            raw=raw,
        )
