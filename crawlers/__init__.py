"""Collect: Scrapy spiders and feed/API clients that turn the web into `Mention`s."""
