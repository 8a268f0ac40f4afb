"""Downloader middlewares of the Groundswell web crawler."""

from __future__ import annotations

import logging
from typing import Self
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

logger = logging.getLogger(__name__)


class OffsiteRedirectError(IgnoreRequest):
    """A page redirected to a host outside the source's allowed domains."""


class RedirectLoopError(IgnoreRequest):
    """A redirect chain came back to a URL it had already visited."""


class OffsiteRedirectMiddleware:
    """Refuse redirects that leave the source's domains or loop, before Scrapy's RedirectMiddleware follows them.

    Scrapy drops such redirects silently at scheduling time (offsite, or the dupefilter for a URL the
    chain already requested); raising here instead sends the failure to the request's errback, so the
    spider logs the URL and the reason (`offsite_redirect`, `redirect_loop`) in the crawl stats.
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
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if location.split("#")[0] in {u.split("#")[0] for u in chain}:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("groundswell/redirect_loops")
            raise RedirectLoopError(f"redirect loop: {' -> '.join([*chain, location])}")
        host = urlsplit(location).hostname or ""
        allowed = list(getattr(self.crawler.spider, "allowed_domains", None) or [])
        if not allowed or any(host == d or host.endswith(f".{d}") for d in allowed):
            return response
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("groundswell/offsite_redirects")
        raise OffsiteRedirectError(
            f"offsite redirect from {request.url} to {location} (allowed: {', '.join(allowed)})"
        )


WESTERN_CHAOS_MARGIN = 10.0  # percent of chaos within which windows-1252 is preferred to another guess


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def detect_charset(body: bytes, declared: str) -> tuple[str, str] | None:
    """(encoding, how it was found) for a body that `declared` does not decode cleanly; None when none does.

    Tried in order: a byte-order mark, the charset the document itself declares (`<meta charset>`,
    the XML declaration), then charset-normalizer's guess from the bytes (windows-1252 preferred
    among the guesses about as clean as the best one).
    """
    from w3lib.encoding import html_body_declared_encoding, read_bom, resolve_encoding

    bom, _ = read_bom(body)
    if bom:
        return bom, "bom"
    meta = html_body_declared_encoding(body[:4096])
    if meta and resolve_encoding(meta) != resolve_encoding(declared) and _decodes(body, meta):
        return resolve_encoding(meta) or meta, "meta"
    import charset_normalizer

    matches = [m for m in charset_normalizer.from_bytes(body[: 256 * 1024]) if _decodes(body, m.encoding)]
    if not matches:
        return None
    # On short Western pages charset-normalizer cannot tell the Latin code pages apart (é reads the same
    # in most of them, è does not). Among the guesses about as clean as the best one, windows-1252 (the
    # web's default legacy charset, WHATWG) wins; a CJK page decoded as windows-1252 is far less clean.
    floor = min(m.percent_chaos for m in matches) + WESTERN_CHAOS_MARGIN
    for m in matches:
        if m.percent_chaos <= floor and "cp1252" in m.could_be_from_charset:
            return "cp1252", "charset-normalizer"
    return matches[0].encoding, "charset-normalizer"


class CharsetMiddleware:
    """Re-decode text responses whose declared charset does not decode them cleanly.

    A page sent as ISO-8859-1 with a header claiming UTF-8 would otherwise read "R\ufffdclamation".
    When the body is not valid in the declared encoding, the encoding is detected (`detect_charset`)
    and the response is re-read with it; `response.meta["charset_fixed"]` records the declared and
    the used charset (spiders copy it into `Mention.raw`), the crawl stats count it per pair.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse) or not response.body:
            return response
        declared = response.encoding
        if _decodes(response.body, declared):
            return response
        found = detect_charset(response.body, declared)
        if found is None:
            logger.warning("%s: not valid %s and no other charset decodes it", response.url, declared)
            return response
        used, how = found
        logger.info("%s: declared %s does not decode; using %s (%s)", response.url, declared, used, how)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"groundswell/charset/{declared}->{used}")
        request.meta["charset_fixed"] = {"declared": declared, "used": used, "how": how}
        spider = getattr(self.crawler, "spider", None)
        if spider is not None and hasattr(spider, "warn"):
            spider.warn(response.url, "charset_fixed", f"declared {declared}, used {used} ({how})")
        return response.replace(encoding=used)
