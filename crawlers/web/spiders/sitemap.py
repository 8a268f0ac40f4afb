"""The `sitemap` spider: pages listed in a sitemap (or sitemap index, or robots.txt `Sitemap:` lines).

`source.params.follow`: URL path prefixes to follow (default: everything on the site). Followed pages
are extracted as articles (trafilatura main text), like the `article` spider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawlers.web.spiders.article import ArticleSpider


class SitemapSpider(ArticleSpider):
    name = "sitemap"

    async def start(self) -> Any:
        yield self.request(self.source.url, self.parse_sitemap)

    def follow(self, url: str) -> bool:
        prefixes = self.source.params.get("follow") or ["/"]
        path = urlsplit(url).path
        return any(path.startswith(str(p)) for p in prefixes)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.text, base_url=response.url):
                yield self.request(url, self.parse_sitemap)
            return
        body = self.sitemap_body(response)
        if body is None:
            self.error(response.url, "bad_sitemap", "not a sitemap (XML or gzipped XML expected)")
            return
        try:
            sitemap = Sitemap(body)
        except Exception as err:  # lxml raises several types on hostile XML
            self.error(response.url, "bad_sitemap", str(err))
            return
        for entry in sitemap:
            loc = entry.get("loc", "").strip()
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                yield self.request(loc, self.parse_sitemap)
            elif self.follow(loc) and loc not in self.seen_this_run:
                self.seen_this_run.add(loc)
                yield self.request(loc, self.parse_article)
            else:
                self.count("sitemap_not_followed")

    def sitemap_body(self, response: Response) -> bytes | None:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                return gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            except (OSError, ValueError) as err:
                self.error(response.url, "bad_sitemap", f"gzip: {err}")
                return None
        head = body[:1000].lstrip().lower()
        if head.startswith(b"<?xml") or b"<urlset" in head or b"<sitemapindex" in head:
            return body
        return None
