"""Groundswell spiders: `forum`, `review`, `article` and `sitemap`, each configured by one source."""
