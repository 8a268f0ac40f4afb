"""Downloader middlewares of the Groundswell web crawler."""

from __future__ import annotations

import logging
from typing import Self
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

logger = logging.getLogger(__name__)


class OffsiteRedirectError(IgnoreRequest):
    """A page redirected to a host outside the source's allowed domains."""


class OffsiteRedirectMiddleware:
    """Refuse redirects that leave the source's domains, before Scrapy's RedirectMiddleware follows them.

    Scrapy drops such redirects silently at scheduling time; raising here instead sends the failure
    to the request's errback, so the spider logs the URL and counts it in the crawl stats.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        header = response.headers.get(b"Location")
        if response.status not in (301, 302, 303, 307, 308) or not header:
            return response
        location = urljoin(request.url, header.decode("latin-1"))
        host = urlsplit(location).hostname or ""
        allowed = list(getattr(self.crawler.spider, "allowed_domains", None) or [])
        if not allowed or any(host == d or host.endswith(f".{d}") for d in allowed):
            return response
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("groundswell/offsite_redirects")
        raise OffsiteRedirectError(
            f"offsite redirect from {request.url} to {location} (allowed: {', '.join(allowed)})"
        )
