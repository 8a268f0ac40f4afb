"""Scrapy settings of the Groundswell web crawler (`SCRAPY_SETTINGS_MODULE=crawlers.web.settings`).

Politeness and robustness are on by default: robots.txt obeyed, AutoThrottle, retries, an HTTP cache
that revalidates (RFC 2616 policy: ETag / Last-Modified), a maximum page size, no off-domain
redirects. `crawlers.web.run` adds what depends on the source: user agent, budget, cache folder.
"""

from __future__ import annotations

BOT_NAME = "groundswell"
SPIDER_MODULES = ["crawlers.web.spiders"]
NEWSPIDER_MODULE = "crawlers.web.spiders"

ROBOTSTXT_OBEY = True
USER_AGENT = "GroundswellBot/0.1 (+https://github.com/groundswell)"

CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.05
AUTOTHROTTLE_MAX_DELAY = 10.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0

RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 20

DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # a 50 MB page is dropped (and logged), not parsed
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_STORAGE = "scrapy.extensions.httpcache.FilesystemCacheStorage"
HTTPCACHE_IGNORE_HTTP_CODES = [301, 302, 303, 307, 308, 404, 408, 429, 500, 502, 503, 504]
HTTPCACHE_DIR = "httpcache"  # replaced by an absolute path under the data dir by crawlers.web.run

REDIRECT_ENABLED = True
# sees responses before RedirectMiddleware (600): redirects off the source's domains are refused and counted
# CharsetMiddleware (560) re-decodes pages whose declared charset does not decode them; it runs after
# HttpCompressionMiddleware (590) has unpacked the body
DOWNLOADER_MIDDLEWARES = {
    "crawlers.web.middlewares.OffsiteRedirectMiddleware": 650,
    "crawlers.web.middlewares.CharsetMiddleware": 560,
}
REDIRECT_MAX_TIMES = 5
DEPTH_LIMIT = 50  # a last line of defence against endless pagination

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

ITEM_PIPELINES = {"crawlers.web.pipelines.JsonlMentionPipeline": 300}
EXTENSIONS = {"crawlers.web.pipelines.CrawlErrors": 10}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
