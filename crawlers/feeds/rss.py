"""RSS 2.0 / RSS 1.0 / Atom / JSON Feed client (feedparser).

`source.url` is the feed URL; `source.params.urls` may list more feeds for the same source. Each feed
is fetched with a conditional GET (ETag / Last-Modified kept in the cursor state, so an unchanged feed
costs a 304 and nothing else). feedparser detects the encoding from the HTTP Content-Type, the XML
declaration, a BOM and the bytes (KOI8-R, Shift_JIS, UTF-16 ...). A feed that cannot be parsed at all
(bozo with no entries) is logged with its URL and reason and counted as an error; an ill-formed feed
that still yields entries is kept and counted as a warning.

Two repairs happen before feedparser sees the bytes: whitespace before the XML declaration (common in
real feeds, fatal to a strict XML parser) is removed, and when neither HTTP nor the document declares
an encoding and the bytes are not UTF-8, the charset is guessed with charset-normalizer (feedparser
would otherwise fall back to ISO-8859-1 and garble Cyrillic or Japanese text). JSON Feed 1.x
(jsonfeed.org) documents are read directly.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from crawlers.clean import clean_text
from crawlers.dates import parse_datetime
from crawlers.feeds.base import Budget, ClientRun, FeedClient, now_utc
from crawlers.http import FetchError
from groundswell.mention import Mention, SourceKind

logger = logging.getLogger(__name__)

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*encoding=", re.I)


def prepare_feed_bytes(body: bytes, content_type: str) -> tuple[bytes, str]:
    """Remove whitespace before the XML declaration and add a guessed charset where none is declared."""
    if not body.startswith(_BOMS):
        body = body.lstrip(b" \t\r\n")
    if "charset=" in content_type.lower() or body.startswith(_BOMS) or _XML_ENCODING.match(body[:300]):
        return body, content_type
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        import charset_normalizer

        best = charset_normalizer.from_bytes(body).best()
        if best is not None:
            logger.debug("no declared encoding; guessed %s", best.encoding)
            return body, f"{content_type.split(';')[0] or 'application/xml'}; charset={best.encoding}"
    return body, content_type


def _entry_time(entry: Any, feed: Any) -> datetime | None:
    for key in ("published", "updated", "created", "dc_date"):
        # dict.get: FeedParserDict.get maps a missing "updated" to "published" with a DeprecationWarning
        # (an exception where warnings are errors), and would re-read the same unparseable date
        raw = dict.get(entry, key)
        if raw:
            try:
                return parse_datetime(raw)
            except ValueError:
                logger.debug("unparseable %s %r; trying feedparser's own reading", key, raw)
        parsed = dict.get(entry, f"{key}_parsed")
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    for key in ("updated", "published"):
        parsed = feed.get(f"{key}_parsed")
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    return None


def _entry_text(entry: Any) -> str:
    for block in entry.get("content") or []:
        value = block.get("value")
        if value and value.strip():
            return clean_text(value)
    return clean_text(entry.get("summary") or entry.get("description") or "")


class RssClient(FeedClient):
    kind = "rss"

    def _collect(self, run: ClientRun, budget: Budget) -> None:
        urls = [self.source.url, *self.param("urls", [])]
        validators: dict[str, dict[str, str]] = dict(run.state.get("validators", {}))
        for url in urls:
            stop = budget.exhausted(run)
            if stop:
                run.stopped = stop
                break
            try:
                self._collect_feed(run, url, validators)
            except FetchError as exc:
                run.error(exc.url, f"HTTP {exc.status}: {exc.reason}" if exc.status else exc.reason)
        run.state["validators"] = validators

    def _collect_feed(self, run: ClientRun, url: str, validators: dict[str, dict[str, str]]) -> None:
        headers: dict[str, str] = {
            "Accept": "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"
        }
        known = validators.get(url, {})
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("modified"):
            headers["If-Modified-Since"] = known["modified"]
        response = self.http.get(url, headers=headers, ok_statuses=frozenset({200, 304}))
        run.pages += 1
        if response.status == 304:
            logger.info("feed %s not modified since the last run", url)
            return
        if not response.content.strip():
            run.error(url, f"empty body: HTTP {response.status} with {len(response.content)} bytes")
            run.nothing_from(url, f"empty body: HTTP {response.status} with {len(response.content)} bytes")
            return
        content_type = response.headers.get("content-type", "")
        if "json" in content_type.lower() or response.content.lstrip()[:1] == b"{":
            self._collect_json_feed(run, url, response.content)
            return
        body, content_type = prepare_feed_bytes(response.content, content_type or "application/xml")
        headers_for_parser = {"content-type": content_type, "content-location": url}
        if response.headers.get("content-language"):
            headers_for_parser["content-language"] = response.headers["content-language"]
        parsed = feedparser.parse(
            body, response_headers=headers_for_parser, sanitize_html=False, resolve_relative_uris=True
        )
        reason = ""
        if parsed.get("bozo"):
            exc = parsed.get("bozo_exception")
            reason = f"{type(exc).__name__}: {exc}" if exc else "ill-formed feed"
        if not parsed.entries:
            size = f"{len(body)} bytes, read as {parsed.get('encoding') or 'unknown encoding'}"
            if reason:
                run.error(url, f"feed could not be parsed ({reason})")
                run.nothing_from(url, f"feed could not be parsed ({reason}; {size})")
            else:
                run.nothing_from(url, f"no entries in the feed ({size})")
            return
        if reason:
            run.warnings += 1
            logger.warning(
                "feed %s is ill-formed but readable (%s, encoding %s)", url, reason, parsed.get("encoding")
            )
        new_validators = {
            k: v
            for k, v in (
                ("etag", response.headers.get("etag")),
                ("modified", response.headers.get("last-modified")),
            )
            if v
        }
        if new_validators:
            validators[url] = new_validators
        feed = parsed.feed
        language = feed.get("language")
        before, warnings_before = len(run.mentions), run.warnings
        for index, entry in enumerate(parsed.entries):
            if len(run.mentions) >= self.source.budget.max_items:
                run.stopped = "budget:items"
                break
            mention = self.build(run, url, lambda: self._mention(url, feed, entry, index, language))
            if mention is not None:
                run.mentions.append(mention)
        if len(run.mentions) == before and run.stopped != "budget:items":
            run.nothing_from(
                url,
                f"all {len(parsed.entries)} entries skipped ({run.warnings - warnings_before} unreadable, "
                f"the others without title or text; encoding {parsed.get('encoding')})",
            )

    def _collect_json_feed(self, run: ClientRun, url: str, body: bytes) -> None:
        try:
            doc = json.loads(body)
        except ValueError as exc:
            run.error(url, f"feed could not be parsed (JSON Feed expected: {exc})")
            return
        if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
            "https://jsonfeed.org/version/"
        ):
            run.error(
                url, f"feed could not be parsed (JSON without a jsonfeed.org version: {str(doc)[:80]!r})"
            )
            return
        feed_title = clean_text(str(doc.get("title") or ""))
        language = doc.get("language")
        for index, item in enumerate(doc.get("items") or []):
            if not isinstance(item, dict):
                run.warnings += 1
                continue
            if len(run.mentions) >= self.source.budget.max_items:
                run.stopped = "budget:items"
                break
            text = clean_text(
                str(item.get("content_html") or item.get("content_text") or item.get("summary") or "")
            )
            title = clean_text(str(item.get("title") or ""))
            if not text and not title:
                continue
            guid = str(item.get("id") or "")
            link = str(item.get("url") or item.get("external_url") or "")
            if not link.startswith(("http://", "https://")):
                link = guid if guid.startswith(("http://", "https://")) else f"{url}#{guid or index}"
            raw: dict[str, Any] = {"feed_url": url, "feed_title": feed_title}
            published: datetime | None = None
            for key in ("date_published", "date_modified"):
                if item.get(key):
                    try:
                        published = parse_datetime(item[key])
                        break
                    except ValueError:
                        run.warnings += 1
            if published is None:
                published = now_utc()
                raw["published_missing"] = True
            authors = item.get("authors") or (
                [item["author"]] if isinstance(item.get("author"), dict) else []
            )
            author = next((str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")), "")
            if item.get("tags"):
                raw["tags"] = [str(t) for t in item["tags"]][:20]
            run.mentions.append(
                Mention(
                    source=self.source.name,
                    source_kind=SourceKind.feed,
                    url=link,
                    external_id=guid or None,
                    author=author,
                    published=published,
                    language=item.get("language") or language,
                    title=title,
                    text=text or title,
                    raw=raw,
                )
            )

    def _mention(
        self, feed_url: str, feed: Any, entry: Any, index: int, language: str | None
    ) -> Mention | None:
        text = _entry_text(entry)
        title = clean_text(entry.get("title") or "")
        if not text and not title:
            logger.debug("feed %s entry %d has neither title nor text; skipped", feed_url, index)
            return None
        link = entry.get("link") or ""
        guid = entry.get("id") or ""
        if not link.startswith(("http://", "https://")):
            link = guid if guid.startswith(("http://", "https://")) else f"{feed_url}#{guid or index}"
        published = _entry_time(entry, feed)
        raw: dict[str, Any] = {"feed_url": feed_url, "feed_title": clean_text(feed.get("title") or "")}
        if published is None:
            published = now_utc()
            raw["published_missing"] = True
        tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
        if tags:
            raw["tags"] = tags[:20]
        entry_language = None
        for block in entry.get("content") or []:
            entry_language = entry_language or block.get("language")
        return Mention(
            source=self.source.name,
            source_kind=SourceKind.feed,
            url=link,
            external_id=guid or None,
            author=clean_text(entry.get("author") or ""),
            published=published,
            language=(entry_language or language or None),
            title=title,
            text=text or title,
            thread_id=None,
            replies=int(entry.get("slash_comments") or 0)
            if str(entry.get("slash_comments") or "0").isdigit()
            else 0,
            raw=raw,
        )
