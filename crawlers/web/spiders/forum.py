"""The `forum` spider: paginated thread lists, threads with paginated replies, quoted text removed.

Selectors (source.selectors): `thread` (a row of the thread list), `thread_link` (the link inside it),
`list_next` (next page of the list), `post` (one post on a thread page), `post_body`, `post_author`,
`post_date`; optional: `thread_replies` (reply count shown in the list: known threads whose count did
not change are not fetched again), `thread_title`, `post_id` (e.g. `article.post::attr(data-post-id)`),
`post_author_reach`, `post_quote` (quoted text inside a body, removed from the text), `page_next`.

Incremental: for each known thread the state keeps the reply count, the last page reached and the
ids of the posts already collected; a thread with more replies is re-entered at its last known page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from crawlers.clean import clean_text
from crawlers.web.spiders.base import GroundswellSpider
from groundswell.mention import Mention, canonical_url


class ForumSpider(GroundswellSpider):
    name = "forum"
    required_selectors = ("thread", "thread_link", "post", "post_body", "post_author", "post_date")

    async def start(self) -> Any:
        yield self.request(self.source.url, self.parse_list)

    def parse_list(self, response: Response) -> Iterator[Any]:
        if not self.html_ok(response):
            return
        rows = response.css(self.sel("thread"))
        new_links = 0
        for row in rows:
            href = self.link(row, "thread_link")
            if not href:
                continue
            thread_url = canonical_url(response.urljoin(href))
            if thread_url in self.seen_this_run:
                continue
            self.seen_this_run.add(thread_url)
            new_links += 1
            replies_text = self.first_text(row, "thread_replies")
            replies = self.number(replies_text) if replies_text else None
            known = self.state.threads.get(thread_url)
            if known and replies is not None and known.get("replies") == replies and known.get("complete"):
                self.count("threads_unchanged")
                continue
            start = known.get("last_page", thread_url) if known else thread_url
            meta = {
                "thread_url": thread_url,
                "replies": replies,
                "seen": set(known.get("seen", [])) if known else set(),
            }
            yield self.request(start, self.parse_thread, meta=meta, priority=1)
        if rows and not new_links:
            self.error(response.url, "pagination_loop", "no thread on this list page is new in this run")
            return
        if not rows:
            self.skipped(response.url, "no_threads_on_list_page")
            self.empty(response.url, "no_threads_on_list_page: the thread selector matched nothing")
        next_href = self.link(response, "list_next")
        if next_href:
            yield self.request(response.urljoin(next_href), self.parse_list)

    def parse_thread(self, response: Response) -> Iterator[Any]:
        if not self.html_ok(response):
            return
        thread_url: str = response.meta["thread_url"]
        seen: set[str] = response.meta["seen"]
        page_url = canonical_url(response.url)
        if self.state.unchanged(page_url, response.body) and seen:
            # a known thread page with the same content as last time (lists without reply counts land here)
            self.count("pages_unchanged")
            next_href = self.link(response, "page_next")
            if next_href:  # an earlier run may have stopped before the pages after this one
                meta = {"thread_url": thread_url, "replies": response.meta.get("replies"), "seen": seen}
                yield self.request(response.urljoin(next_href), self.parse_thread, meta=meta, priority=1)
            else:
                self.state.threads.setdefault(thread_url, {}).update(
                    replies=response.meta.get("replies"), complete=True
                )
            return
        title = self.first_text(response, "thread_title")
        posts = response.css(self.sel("post"))
        if not posts:
            self.error(
                response.url,
                "no_posts",
                "the post selector matched nothing (layout change or malformed page?)",
            )
            self.empty(response.url, "no_posts: the post selector matched nothing")
            return
        if self.page_repeats(thread_url, (p.get() for p in posts)):
            # endless pagination serving the same replies under new URLs: stop at the first repeat
            self.error(response.url, "pagination_loop", "this thread page repeats an earlier page's posts")
            self.state.threads.setdefault(thread_url, {}).update(
                replies=response.meta.get("replies"), complete=True
            )
            return
        new = 0
        first_key = self.state.threads.get(thread_url, {}).get("first_post")
        for index, post in enumerate(posts):
            post_id = self.first_text(post, "post_id") or f"{page_url}#{index}"
            if post_id in seen:
                continue
            seen.add(post_id)
            new += 1
            if first_key is None:
                first_key = post_id
            mention = self.build(
                response, post, post_id=post_id, title=title, thread_url=thread_url, first_post=first_key
            )
            if mention is not None:
                yield from self.emit(mention)
        record = self.state.threads.setdefault(thread_url, {})
        record.update(first_post=first_key, last_page=response.url, seen=sorted(seen), complete=False)
        next_href = self.link(response, "page_next")
        if next_href and new == 0:
            self.error(
                response.url, "pagination_loop", "a thread page with no new post links to another page"
            )
            next_href = None
        if next_href:
            meta = {"thread_url": thread_url, "replies": response.meta.get("replies"), "seen": seen}
            yield self.request(response.urljoin(next_href), self.parse_thread, meta=meta, priority=1)
        else:
            record.update(replies=response.meta.get("replies"), complete=True)

    def build(
        self, response: Response, post: Any, *, post_id: str, title: str, thread_url: str, first_post: str
    ) -> Mention | None:
        date_text = self.first_text(post, "post_date")
        where = post_id if post_id.startswith("http") else f"{response.url}#post-{post_id}"
        published, published_missing = self.published(where, date_text)
        bodies = post.css(self.sel("post_body"))
        if not bodies:
            self.error(response.url, "no_post_body", post_id)
            return None
        body = bodies[0]
        quoted: list[str] = []
        quote_query = self.selectors.get("post_quote")
        if quote_query:
            for quote in body.css(quote_query):
                quoted.append(clean_text(quote.get()))
                quote.drop()
        text = clean_text(body.get())
        author = self.first_text(post, "post_author")
        reach = self.number(self.first_text(post, "post_author_reach"))
        anchor = (
            f"{canonical_url(response.url)}#post-{post_id}" if not post_id.startswith("http") else post_id
        )
        is_first = post_id == first_post
        return Mention(
            source=self.source.name,
            source_kind=self.mention_kind,
            url=f"{response.url.split('#')[0]}#post-{post_id}",
            canonical_url=anchor,
            external_id=post_id,
            author=author,
            author_reach=reach,
            published=published,
            title=title if is_first else "",
            text=text,
            thread_id=thread_url,
            parent_id=None if is_first else first_post,
            raw={
                "thread_title": title,
                "quoted": quoted,
                "page": response.url,
                "post_id": post_id,
                **({"published_missing": True} if published_missing else {}),
                **self.charset_raw(response),
            },
        )
