"""The Scrapy project of Groundswell: spiders for forums, review sites, news/blog articles and sitemaps.

Run one source with `python -m crawlers.web.run --config PATH --source NAME --out FILE.jsonl --state-dir DIR`
(Scrapy's reactor starts once per process, so each source runs in its own process).
"""
