"""Run one web source with its Scrapy spider and write its mentions as JSON lines.

    python -m crawlers.web.run --config PATH --source NAME --out FILE.jsonl --state-dir DIR

Prints ONE line to stdout when done: a JSON object with the crawl stats
`{"source", "spider", "items", "pages", "errors", "error_reasons", "error_urls", "warnings",
"warning_urls", "skipped", "empty", "empty_reason", "charset", "unchanged", "seconds", "finish_reason"}`:
`error_urls`/`warning_urls` list up to 20 URLs per reason, `empty` maps a URL whose non-empty response
yielded nothing to why, `empty_reason` says why the whole crawl yielded no item (None when it did),
`charset` counts the pages whose declared charset was replaced ("utf-8->cp1252": n).
Scrapy's log goes to stderr. Exit code 0 whatever the pages did (bad pages are logged and counted);
2 when the configuration or the arguments are invalid.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from groundswell import exitcodes
from groundswell.config import Config, ConfigError, SourceConfig, load_config

logger = logging.getLogger(__name__)

SPIDER_FOR_KIND = {
    "forum": "forum",
    "review": "review",
    "news": "article",
    "blog": "article",
    "sitemap": "sitemap",
}


def spider_class(source: SourceConfig) -> type[Any]:
    from crawlers.web.spiders.article import ArticleSpider
    from crawlers.web.spiders.forum import ForumSpider
    from crawlers.web.spiders.review import ReviewSpider
    from crawlers.web.spiders.sitemap import SitemapSpider

    classes = {
        "forum": ForumSpider,
        "review": ReviewSpider,
        "article": ArticleSpider,
        "sitemap": SitemapSpider,
    }
    try:
        name = SPIDER_FOR_KIND[source.kind]
    except KeyError:
        raise ConfigError(
            f"sources[{source.name}].kind '{source.kind}' is not crawled by a web spider; web kinds: {', '.join(SPIDER_FOR_KIND)}"
        ) from None
    cls = classes[name]
    cls.check_source(source)
    return cls


def crawl_settings(config: Config, source: SourceConfig, *, out: Path, log_level: str) -> Any:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawlers.web.settings", priority="project")
    overrides = {
        "USER_AGENT": config.user_agent,
        "HTTPCACHE_DIR": str(config.path("cache/http").resolve()),
        "CLOSESPIDER_PAGECOUNT": source.budget.max_pages,
        "CLOSESPIDER_TIMEOUT": source.budget.max_seconds,
        "CLOSESPIDER_ITEMCOUNT": source.budget.max_items,
        "MENTIONS_OUT": str(out),
        "LOG_LEVEL": log_level,
    }
    if "download_timeout" in source.params:  # slow sites; also lets tests provoke timeouts quickly
        try:
            overrides["DOWNLOAD_TIMEOUT"] = float(source.params["download_timeout"])
        except (TypeError, ValueError):
            raise ConfigError(
                f"sources[{source.name}].params.download_timeout: {source.params['download_timeout']!r} is not a number of seconds"
            ) from None
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    return settings


def summarize(source: SourceConfig, spider: str, stats: dict[str, Any], seconds: float) -> dict[str, Any]:
    reasons = {
        k.removeprefix("groundswell/error/"): v
        for k, v in stats.items()
        if k.startswith("groundswell/error/")
    }
    recovered = int(stats.get("httpcache/errorrecovery", 0) or 0)
    if recovered:
        # the site did not answer and Scrapy's HTTP cache served its stale copies instead: the
        # source is down, not "unchanged" (an outage must not read as a quiet, covered period)
        reasons["unreachable_served_from_cache"] = reasons.get("unreachable_served_from_cache", 0) + recovered
    skipped = {
        k.removeprefix("groundswell/skipped/"): v
        for k, v in stats.items()
        if k.startswith("groundswell/skipped/")
    }
    for key, value in stats.items():  # what Scrapy dropped before a callback could see it
        if key == "dupefilter/filtered":
            skipped["duplicate_request"] = value
        elif key == "robotstxt/forbidden":
            skipped["robots_txt"] = value
    warnings = {
        k.removeprefix("groundswell/warning/"): v
        for k, v in stats.items()
        if k.startswith("groundswell/warning/")
    }
    charset = {
        k.removeprefix("groundswell/charset/"): v
        for k, v in stats.items()
        if k.startswith("groundswell/charset/")
    }
    details = stats.get("groundswell/details") or {}
    summary = {
        "source": source.name,
        "spider": spider,
        "items": int(stats.get("groundswell/items", 0)),
        "pages": int(stats.get("response_received_count", 0)),
        "errors": int(sum(reasons.values())),
        "error_reasons": dict(sorted(reasons.items())),
        "error_urls": details.get("errors", {}),
        "warnings": dict(sorted(warnings.items())),
        "warning_urls": details.get("warnings", {}),
        "skipped": dict(sorted(skipped.items())),
        "empty": details.get("empty", {}),
        "charset": charset,
        "unchanged": int(stats.get("groundswell/pages_unchanged", 0))
        + int(stats.get("groundswell/threads_unchanged", 0)),
        "seconds": round(seconds, 3),
        "finish_reason": stats.get("finish_reason", "unknown"),
    }
    summary["empty_reason"] = empty_reason(summary)
    return summary


def empty_reason(summary: dict[str, Any]) -> str | None:
    """Why a crawl that got responses yielded no item (None when it yielded items or got no response)."""
    if summary["items"] or not summary["pages"]:
        return None
    if summary["empty"]:
        first = next(iter(summary["empty"].items()))
        return f"{len(summary['empty'])} page(s) yielded nothing, e.g. {first[0]}: {first[1]}"
    listed = ", ".join(f"{k} ({v})" for k, v in summary["error_reasons"].items())
    if summary["errors"] and summary["errors"] >= summary["pages"]:
        return f"every response failed: {listed}"  # e.g. a site down, answered from the stale cache
    if summary["unchanged"]:
        errors = f" ({listed})" if listed else ""
        return (
            f"nothing new: {summary['unchanged']} page(s) or thread(s) unchanged since the last run{errors}"
        )
    if summary["error_reasons"]:
        return f"errors: {listed}"
    skipped = {k: v for k, v in summary["skipped"].items() if v}
    if skipped:
        return "every page was skipped: " + ", ".join(f"{k} ({v})" for k, v in skipped.items())
    return f"{summary['pages']} response(s) but no item matched (finish reason {summary['finish_reason']})"


def run(
    config_path: Path, source_name: str, out: Path, state_dir: Path, *, log_level: str = "INFO"
) -> dict[str, Any]:
    """Crawl one source in this process (the Twisted reactor can start only once per process)."""
    from scrapy.crawler import CrawlerProcess

    from crawlers.web.state import CrawlState

    config = load_config(config_path)
    try:
        source = config.source(source_name)
    except KeyError as err:
        raise ConfigError(str(err.args[0])) from None
    cls = spider_class(source)
    if not source.enabled:
        logger.info(
            "source %s is disabled in the configuration; crawling it because it was named explicitly",
            source.name,
        )
    state = CrawlState.load(state_dir / f"web-{source.name}.json")
    settings = crawl_settings(config, source, out=out, log_level=log_level)
    started = time.monotonic()
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler(cls)
    process.crawl(crawler, source=source, state=state)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return summarize(source, cls.name, stats, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawlers.web.run", description="Crawl one configured web source."
    )
    parser.add_argument("--config", "-c", type=Path, required=True, help="Groundswell YAML configuration")
    parser.add_argument(
        "--source", "-s", required=True, help="name of a forum/review/news/blog/sitemap source"
    )
    parser.add_argument("--out", "-o", type=Path, required=True, help="JSON-lines file for the mentions")
    parser.add_argument(
        "--state-dir", type=Path, required=True, help="folder for the crawl state between runs"
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    try:
        summary = run(args.config, args.source, args.out, args.state_dir, log_level=args.log_level)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return exitcodes.CONFIG_ERROR
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
