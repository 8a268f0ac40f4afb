"""Where spider output goes: one `Mention` JSON per line, plus the error accounting of a crawl."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO, Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from groundswell.mention import Mention

logger = logging.getLogger(__name__)


class JsonlMentionPipeline:
    """Append each `Mention` the spider yields (as `{"mention": Mention}`) to `MENTIONS_OUT`, flushed per item."""

    def __init__(self, path: Path, crawler: Crawler) -> None:
        self.path = path
        self.crawler = crawler
        self.handle: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        out = crawler.settings.get("MENTIONS_OUT")
        if not out:
            raise NotConfigured("MENTIONS_OUT (the .jsonl file for collected mentions) is not set")
        return cls(Path(out), crawler)

    def open_spider(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = self.path.open("w", encoding="utf-8")

    def close_spider(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def process_item(self, item: Any) -> Any:
        mention = item.get("mention") if isinstance(item, dict) else None
        if not isinstance(mention, Mention):
            raise TypeError(
                f"spider yielded {type(item).__name__} {item!r:.100}; expected {{'mention': Mention}}"
            )
        assert self.handle is not None
        self.handle.write(mention.model_dump_json() + "\n")
        self.handle.flush()
        self.crawler.stats.inc_value("groundswell/items")
        return item


class CrawlErrors:
    """Counts callback exceptions (`spider_error`) as crawl errors with the URL in the log."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_error, signal=signals.spider_error)
        return ext

    def spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        reason = f"parse_error:{type(failure.value).__name__}"
        logger.error("could not parse %s: %s", getattr(response, "url", "?"), failure.value)
        self.crawler.stats.inc_value("groundswell/errors")
        self.crawler.stats.inc_value(f"groundswell/error/{reason}")
