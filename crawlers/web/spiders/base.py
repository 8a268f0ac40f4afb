"""What every Groundswell spider shares: its source, crawl state, error accounting and Mention building."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawlers.clean import clean_text
from crawlers.dates import parse_datetime
from crawlers.web.middlewares import OffsiteRedirectError, RedirectLoopError
from crawlers.web.state import CrawlState
from groundswell.config import ConfigError, SourceConfig
from groundswell.mention import Mention, SourceKind

logger = logging.getLogger(__name__)

_MENTION_KIND = {
    "forum": SourceKind.forum,
    "review": SourceKind.review,
    "news": SourceKind.news,
    "blog": SourceKind.blog,
    "sitemap": SourceKind.news,
}


MAX_URLS_PER_REASON = 20  # URLs listed per reason in the crawl stats (the log has them all)


def page_date(html: str, url: str = "") -> datetime | None:
    """The publication date htmldate finds in a page's markup (metadata, time elements, URL), or None."""
    import htmldate

    try:
        found = htmldate.find_date(
            html, url=url or None, original_date=True, extensive_search=False, outputformat="%Y-%m-%d"
        )
    except Exception as exc:  # htmldate parses arbitrary markup; a failure means "no date"
        logger.debug("htmldate failed on %s: %s", url, exc)
        return None
    if not found:
        return None
    try:
        return parse_datetime(found)
    except ValueError:
        return None


class SelectorError(ConfigError):
    """A source lacks the CSS selectors its spider needs."""


class GroundswellSpider(scrapy.Spider):
    """Base of the Groundswell spiders: built from one configured source and its crawl state."""

    required_selectors: ClassVar[tuple[str, ...]] = ()
    source: SourceConfig
    state: CrawlState

    def __init__(self, *, source: SourceConfig, state: CrawlState, name: str | None = None) -> None:
        super().__init__(name=name)
        self.source = source
        self.state = state
        self.selectors = source.selectors
        host = urlsplit(source.url).hostname or ""
        self.allowed_domains = [host]
        self.mention_kind = _MENTION_KIND[source.kind]
        self.seen_this_run: set[str] = set()
        self._page_digests: dict[str, set[str]] = {}
        # per-URL detail for the crawl stats: error reason -> URLs, URL -> why it yielded nothing,
        # URL -> the charset used where the declared one did not decode
        self.details: dict[str, dict[str, Any]] = {"errors": {}, "warnings": {}, "empty": {}, "charset": {}}

    @classmethod
    def check_source(cls, source: SourceConfig) -> None:
        missing = [key for key in cls.required_selectors if not source.selectors.get(key)]
        if missing:
            raise SelectorError(
                f"sources[{source.name}].selectors is missing {', '.join(missing)}; the {cls.name} spider needs "
                f"{', '.join(cls.required_selectors)}"
            )

    @classmethod
    def from_crawler(cls, crawler: Crawler, *, source: SourceConfig, state: CrawlState) -> Self:
        spider = cls(source=source, state=state)
        spider._set_crawler(crawler)
        crawler.signals.connect(spider.save_state, signal=scrapy.signals.spider_closed)
        return spider

    def save_state(self) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.set_value("groundswell/details", self.details)
        self.state.save()
        logger.info("crawl state of %s saved to %s", self.source.name, self.state.path)

    # ---- accounting -------------------------------------------------------------------------------
    def count(self, name: str, n: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"groundswell/{name}", n)

    def _note(self, section: str, reason: str, url: str) -> None:
        urls = self.details[section].setdefault(reason, [])
        if len(urls) < MAX_URLS_PER_REASON and url not in urls:
            urls.append(url)

    def error(self, url: str, reason: str, detail: str = "") -> None:
        logger.warning("%s: %s failed: %s %s", self.source.name, url, reason, detail)
        self.count("errors")
        self.count(f"error/{reason}")
        self._note("errors", reason, url)

    def warn(self, url: str, reason: str, detail: str = "") -> None:
        """Something was repaired or assumed (no date, a wrong charset): the item is kept, the URL noted."""
        logger.info("%s: %s: %s %s", self.source.name, url, reason, detail)
        self.count(f"warning/{reason}")
        self._note("warnings", reason, url)

    def empty(self, url: str, reason: str) -> None:
        """A non-empty response that yielded nothing, and why."""
        if len(self.details["empty"]) < MAX_URLS_PER_REASON * 10:
            self.details["empty"].setdefault(url, reason)

    def page_repeats(self, scope: str, parts: Iterable[str]) -> bool:
        """True when a page of `scope` (a thread, a listing) repeats the content of an earlier page of it."""
        digest = hashlib.sha1("\x00".join(parts).encode("utf-8", "replace")).hexdigest()
        seen = self._page_digests.setdefault(scope, set())
        if digest in seen:
            return True
        seen.add(digest)
        return False

    def skipped(self, url: str, reason: str) -> None:
        logger.info("%s: %s skipped: %s", self.source.name, url, reason)
        self.count(f"skipped/{reason}")

    def on_error(self, failure: Failure) -> None:
        """Errback of every request: log the URL and the reason, count it, never raise."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError):
            response = failure.value.response
            return self.error(response.url, f"http_{response.status}")
        if failure.check(OffsiteRedirectError):
            return self.error(request.url, "offsite_redirect", str(failure.value))
        if failure.check(RedirectLoopError):
            return self.error(request.url, "redirect_loop", str(failure.value))
        if failure.check(IgnoreRequest):
            message = str(failure.value)
            if "robots.txt" in message:
                return self.skipped(request.url, "robots_txt")
            if "offsite" in message.lower() or "Filtered offsite" in message:
                return self.error(request.url, "offsite_redirect", message)
            if "max redirections" in message.lower():
                return self.error(request.url, "redirect_loop", message)
            return self.error(request.url, "ignored", message)
        message = str(failure.value)
        if failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
            return self.error(request.url, "timeout", message)
        if failure.check(DNSLookupError, CannotResolveHostError):
            return self.error(request.url, "dns", message)
        if failure.check(ConnectionRefusedError, DownloadConnectionRefusedError):
            return self.error(request.url, "connection_refused", message)
        if "max size" in message or "maxsize" in message:
            return self.error(request.url, "too_large", message)
        if failure.check(ResponseDataLossError):
            return self.error(request.url, "data_loss", message)
        return self.error(request.url, f"download:{type(failure.value).__name__}", message)

    def request(
        self, url: str, callback: Any, *, meta: dict[str, Any] | None = None, priority: int = 0
    ) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=self.on_error, meta=meta or {}, priority=priority
        )

    def charset_raw(self, response: Response) -> dict[str, Any]:
        """`{"charset": ..., "charset_declared": ...}` when the charset middleware replaced the declared one."""
        fixed = response.meta.get("charset_fixed")
        return {"charset": fixed["used"], "charset_declared": fixed["declared"]} if fixed else {}

    def html_ok(self, response: Response) -> bool:
        """Only text responses are parsed; anything else (images, binaries) is counted."""
        if not isinstance(response, TextResponse):
            content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            self.error(response.url, "not_html", content_type)
            return False
        return True

    # ---- extraction helpers --------------------------------------------------------------------------
    def sel(self, key: str) -> str:
        return self.selectors[key]

    def first_text(self, node: Any, key: str) -> str:
        """Text of the first element the selector `key` matches under `node` ("" if the key is unset or nothing matches)."""
        query = self.selectors.get(key)
        if not query:
            return ""
        if "::" in query:
            return (node.css(query).get() or "").strip()
        found = node.css(query)
        if not found:
            return ""
        return clean_text(found[0].get())

    def link(self, node: Any, key: str) -> str | None:
        query = self.selectors.get(key)
        if not query:
            return None
        found = node.css(query)
        if not found:
            return None
        href = found[0].attrib.get("href") if "::" not in query else found[0].get()
        return href or None

    @staticmethod
    def number(text: str) -> int:
        """'1.2k followers' -> 1200, '345 replies' -> 345, '' -> 0."""
        m = re.search(r"(\d[\d,]*(?:\.\d+)?)\s*([kKmM])?", text or "")
        if not m:
            return 0
        value = float(m.group(1).replace(",", ""))
        scale = {"k": 1_000, "m": 1_000_000}.get((m.group(2) or "").lower(), 1)
        return int(value * scale)

    @staticmethod
    def rating(text: str) -> float | None:
        """'4', '4.5', '4/5', '4 out of 5', '★★★★☆' -> a 0..5 rating; None when the text holds none."""
        text = (text or "").strip()
        if not text:
            return None
        stars = text.count("★")
        if stars:
            return float(stars)
        m = re.search(r"(\d+(?:\.\d+)?)\s*(?:/|out of)\s*(\d+)", text)
        if m:
            return round(5 * float(m.group(1)) / float(m.group(2)), 2)
        m = re.search(r"\d+(?:\.\d+)?", text)
        if m:
            value = float(m.group(0))
            return value if value <= 5 else round(value / 20, 2)  # 0..100 scores
        return None

    def published(self, url: str, text: str, *, html: str | None = None) -> tuple[datetime, bool]:
        """(publication time, missing): the date in `text`, else one htmldate finds in `html`, else now.

        An item without a readable date is kept with the crawl time and `raw["published_missing"]`
        (as the feed clients do), and counted as a warning with its URL, not dropped.
        """
        if text and text.strip():
            try:
                return parse_datetime(text), False
            except ValueError as err:
                self.warn(url, "unparseable_date", str(err))
        if html:
            found = page_date(html, url)
            if found is not None:
                self.count("dates_from_htmldate")
                return found, False
        self.warn(url, "published_missing")
        return datetime.now(UTC).replace(microsecond=0), True

    def emit(self, mention: Mention) -> Iterator[dict[str, Mention]]:
        if mention.id in self.seen_this_run:
            self.count("duplicate_in_run")
            return
        self.seen_this_run.add(mention.id)
        if not mention.text.strip():
            self.skipped(mention.url, "empty_text")
            return
        yield {"mention": mention}
