"""The `article` spider: news and blog articles, main text by trafilatura, found from a listing or a feed.

The source URL is a listing page (links picked with the `article_link` selector, next pages with
`list_next`) or an RSS/Atom feed (its item links are followed). Each article page becomes one mention:
main text extracted by trafilatura (navigation, footers and comments dropped), title, author and date
from the page's metadata (`article:published_time`, `<time datetime>`, JSON-LD via trafilatura).
Unchanged pages (same content as last run) are not re-parsed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response, TextResponse
from scrapy.selector import Selector

from crawlers.web.spiders.base import GroundswellSpider
from groundswell.mention import Mention, canonical_url


class ArticleSpider(GroundswellSpider):
    name = "article"
    required_selectors = ()

    async def start(self) -> Any:
        yield self.request(self.source.url, self.parse_listing)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.error(response.url, "not_text")
            return
        if not response.body.strip():
            self.error(response.url, "empty_body", f"HTTP {response.status} with a 0-byte body")
            self.empty(
                response.url, f"empty_body: HTTP {response.status} with a {len(response.body)}-byte body"
            )
            return
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        head = response.text[:500].lstrip()
        if "xml" in content_type or head.startswith("<?xml") or "<rss" in head or "<feed" in head:
            links = self.feed_links(response)
        else:
            query = self.selectors.get("article_link")
            if not query:
                self.error(
                    response.url, "no_article_link_selector", "set selectors.article_link for listing pages"
                )
                self.empty(
                    response.url, "no_article_link_selector: an HTML listing needs selectors.article_link"
                )
                return
            links = [a.attrib.get("href", "") for a in response.css(query)]
        new = 0
        for href in links:
            if not href:
                continue
            url = response.urljoin(href)
            key = canonical_url(url)
            if key in self.seen_this_run:
                continue
            self.seen_this_run.add(key)
            new += 1
            yield self.request(url, self.parse_article)
        if links and not new:
            self.error(response.url, "pagination_loop", "no article on this listing page is new in this run")
            return
        next_href = self.link(response, "list_next") if self.selectors.get("list_next") else None
        if next_href:
            yield self.request(response.urljoin(next_href), self.parse_listing)

    def feed_links(self, response: TextResponse) -> list[str]:
        try:
            sel = Selector(text=response.text, type="xml")
        except ValueError as err:
            self.error(response.url, "bad_feed", str(err))
            self.empty(response.url, f"bad_feed: {err}")
            return []
        sel.remove_namespaces()
        links = sel.xpath("//item/link/text()").getall()
        links += sel.xpath("//entry/link[not(@rel) or @rel='alternate']/@href").getall()
        if not links:
            self.error(response.url, "bad_feed", "no item or entry links")
            self.empty(response.url, f"bad_feed: no item or entry links in {len(response.body)} bytes")
        return [link.strip() for link in links]

    def parse_article(self, response: Response) -> Iterator[Any]:
        if not self.html_ok(response):
            return
        if self.state.unchanged(canonical_url(response.url), response.body):
            self.count("pages_unchanged")
            return
        mention = self.build(response)
        if mention is None:
            self.state.forget_page(canonical_url(response.url))
            return
        yield from self.emit(mention)

    def build(self, response: Response) -> Mention | None:
        import trafilatura

        assert isinstance(response, TextResponse)
        extracted = trafilatura.bare_extraction(
            response.text,
            url=response.url,
            with_metadata=True,
            include_comments=False,
            favor_precision=True,
            as_dict=True,
        )
        document: dict[str, Any] = extracted if isinstance(extracted, dict) else {}
        text = str(document.get("text") or "")
        if not text.strip():
            self.error(response.url, "no_main_text", "trafilatura found no article text")
            self.empty(response.url, "no_main_text: trafilatura found no article text")
            return None
        date_text = (
            response.css('meta[property="article:published_time"]::attr(content)').get()
            or response.css("time::attr(datetime)").get()
            or document.get("date")
            or ""
        )
        published, published_missing = self.published(response.url, date_text, html=response.text)
        title = str(document.get("title") or response.css("title::text").get() or "")
        title = title.strip()
        if title and text.startswith(title):  # trafilatura keeps the headline as the first line
            text = text[len(title) :].lstrip()
        author = str(response.css('meta[name="author"]::attr(content)').get() or document.get("author") or "")
        canonical = response.css('link[rel="canonical"]::attr(href)').get()
        return Mention(
            source=self.source.name,
            source_kind=self.mention_kind,
            url=response.url,
            canonical_url=canonical_url(response.urljoin(canonical)) if canonical else "",
            author=author.strip(),
            published=published,
            title=title,
            text=text.strip(),
            raw={
                "sitename": document.get("sitename") or "",
                "description": document.get("description") or "",
                **({"published_missing": True} if published_missing else {}),
                **self.charset_raw(response),
            },
        )
