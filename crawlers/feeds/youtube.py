"""YouTube comments via the Data API v3 `commentThreads.list`, paged with `nextPageToken`.

`source.url` is the API base (`https://www.googleapis.com/youtube/v3`). `source.params`: `video_id`,
or `channel_id` (all threads related to the channel); optional `search_terms`. Required credential
`api_key` (sent in the `X-Goog-Api-Key` header, never in the URL). Each thread yields its top-level
comment and the replies the API includes (`part=snippet,replies`), with parent and thread ids.

Threads are requested newest first (`order=time`); cursor state `newest_published` (ISO time of the
newest top-level comment seen) ends paging at the first older-or-equal thread on the next run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from crawlers.clean import clean_text
from crawlers.dates import parse_datetime
from crawlers.feeds.base import Budget, ClientRun, FeedClient, Page, as_int
from crawlers.http import Secret
from groundswell.mention import Mention, SourceKind

logger = logging.getLogger(__name__)


class YouTubeClient(FeedClient):
    kind = "youtube"
    required_credentials = ("api_key",)

    def _collect(self, run: ClientRun, budget: Budget) -> None:
        params: dict[str, Any] = {
            "part": "snippet,replies",
            "maxResults": 100,
            "order": "time",
            "textFormat": "html",
        }
        if self.param("video_id"):
            params["videoId"] = str(self.param("video_id"))
        elif self.param("channel_id"):
            params["allThreadsRelatedToChannelId"] = str(self.param("channel_id"))
        else:
            run.error(self.source.url, "params needs video_id or channel_id")
            return
        if self.param("search_terms"):
            params["searchTerms"] = str(self.param("search_terms"))
        headers: dict[str, str | Secret] = {"X-Goog-Api-Key": self.credentials["api_key"]}
        mark = parse_datetime(run.state["newest_published"]) if run.state.get("newest_published") else None
        newest: datetime | None = mark
        url = f"{self.base_url}/commentThreads"

        def fetch(token: str | None) -> Page:
            nonlocal newest
            body = self.get_json(
                run, url, params=params | ({"pageToken": token} if token else {}), headers=headers
            )
            if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
                run.error(url, f"not a commentThreadListResponse: {str(body)[:100]!r}")
                return Page(url, stop="error")
            for thread in body.get("items", []):
                top = (thread.get("snippet") or {}).get("topLevelComment") or {}
                replies = as_int((thread.get("snippet") or {}).get("totalReplyCount"))
                top_mention = self.build(
                    run,
                    url,
                    lambda: self._mention(
                        top, thread_id=str(thread.get("id")), parent_id=None, replies=replies
                    ),
                )
                if top_mention is None:
                    continue
                if mark and top_mention.published <= mark:
                    return Page(url, stop="known")
                run.mentions.append(top_mention)
                newest = max(newest, top_mention.published) if newest else top_mention.published
                for reply in (thread.get("replies") or {}).get("comments") or []:
                    reply_mention = self.build(
                        run,
                        url,
                        lambda: self._mention(
                            reply,
                            thread_id=str(thread.get("id")),
                            parent_id=top_mention.external_id,
                            replies=0,
                        ),
                    )
                    if reply_mention is not None:
                        run.mentions.append(reply_mention)
            return Page(url, next=body.get("nextPageToken"))

        self.page_through(
            run, budget, fetch, loop_error=lambda _: "pagination loop: nextPageToken repeated in this run"
        )
        if newest and (run.stopped in ("end", "known") or (run.stopped.startswith("budget") and not mark)):
            run.state["newest_published"] = newest.isoformat()

    def _mention(
        self, comment: dict[str, Any], *, thread_id: str, parent_id: str | None, replies: int
    ) -> Mention:
        snippet = comment.get("snippet") or {}
        video_id = snippet.get("videoId") or self.param("video_id") or ""
        comment_id = str(comment.get("id"))
        text = clean_text(str(snippet.get("textDisplay") or snippet.get("textOriginal") or ""))
        raw: dict[str, Any] = {"video_id": video_id}
        if snippet.get("authorChannelUrl"):
            raw["author_channel_url"] = snippet["authorChannelUrl"]
        if snippet.get("updatedAt") and snippet.get("updatedAt") != snippet.get("publishedAt"):
            raw["updated_at"] = snippet["updatedAt"]
        return Mention(
            source=self.source.name,
            source_kind=SourceKind.youtube,
            url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}",
            external_id=comment_id,
            author=str(snippet.get("authorDisplayName") or ""),
            published=parse_datetime(str(snippet.get("publishedAt"))),
            text=text,
            thread_id=thread_id,
            parent_id=parent_id,
            likes=as_int(snippet.get("likeCount")),
            replies=replies,
            raw=raw,
        )
