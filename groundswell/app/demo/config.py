"""The Groundswell configuration for the demo market: its cast, teams and sources at a base URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groundswell.app.demo.catalog import BRANDS, LEADERS, MASTODON_TAG, SUBREDDIT

FORUM_SELECTORS = {
    "thread": "ul.threads li.thread",
    "thread_link": "a.thread-title",
    "thread_replies": ".reply-count",
    "list_next": "nav.pager a[rel=next]",
    "thread_title": "h1.thread-title",
    "post": "article.post",
    "post_id": "article.post::attr(data-post-id)",
    "post_author": ".post-meta .author",
    "post_author_reach": ".post-meta .author-followers",
    "post_date": ".post-meta .post-date",
    "post_body": ".post-body",
    "post_quote": "blockquote",
    "page_next": "nav.pager a[rel=next]",
}

REVIEW_SELECTORS = {
    "product_link": "ul.products a.product-link",
    "product_name": "h1.product-name",
    "review": "div.review",
    "review_id": "div.review::attr(data-review-id)",
    "review_rating": ".review-rating::attr(data-rating)",
    "review_title": ".review-title",
    "reviewer": ".reviewer",
    "review_date": ".review-date",
    "review_body": ".review-text",
    "page_next": "nav.pager a[rel=next]",
}

ARTICLE_SELECTORS = {
    "article_link": "a.teaser-link",
    "list_next": "nav.pager a[rel=next]",
}


def demo_config(base_url: str, data_dir: Path) -> dict[str, Any]:
    """The configuration (a dict that `groundswell.config.parse_config` accepts) for a demo market at `base_url`."""
    base = base_url.rstrip("/")
    budget = {"max_pages": 3000, "max_seconds": 600}

    def brand(b: Any) -> dict[str, Any]:
        return {
            "id": b.id,
            "name": b.name,
            "aliases": list(b.aliases),
            "handles": list(b.handles),
            "products": [{"id": p.id, "name": p.name, "aliases": list(p.aliases)} for p in b.products],
        }

    return {
        "name": "groundswell-demo",
        "data_dir": str(data_dir),
        "user_agent": "GroundswellBot/0.1 (+https://github.com/groundswell; demo)",
        "sources": [
            {
                "name": "demo-forum",
                "kind": "forum",
                "url": f"{base}/forum/index.html",
                "budget": budget,
                "selectors": FORUM_SELECTORS,
            },
            {
                "name": "demo-reviews",
                "kind": "review",
                "url": f"{base}/reviews/index.html",
                "budget": budget,
                "selectors": REVIEW_SELECTORS,
            },
            {
                "name": "demo-news",
                "kind": "news",
                "url": f"{base}/news/index.html",
                "budget": budget,
                "selectors": ARTICLE_SELECTORS,
            },
            {"name": "demo-blog", "kind": "rss", "url": f"{base}/blog/atom.xml", "budget": budget},
            {
                "name": "demo-reddit",
                "kind": "reddit",
                "url": base,
                "budget": budget,
                "params": {"subreddit": SUBREDDIT, "limit": 100},
            },
            {
                "name": "demo-mastodon",
                "kind": "mastodon",
                "url": base,
                "budget": budget,
                "params": {"tag": MASTODON_TAG, "limit": 40},
            },
            {
                # the sitemap reaches the same pages as the forum, review and news sources; enable it
                # instead of them for sites without listing pages
                "name": "demo-sitemap",
                "kind": "sitemap",
                "url": f"{base}/sitemap.xml",
                "enabled": False,
                "budget": budget,
                "params": {"follow": ["/news/", "/blog/"]},
            },
        ],
        "brands": [brand(b) for b in BRANDS if b.ours],
        "competitors": [brand(b) for b in BRANDS if not b.ours],
        "opinion_leaders": [
            {
                "id": leader.id,
                "name": leader.name,
                "handles": [leader.handle, f"@{leader.handle}", *leader.handles],
            }
            for leader in LEADERS
        ],
        "teams": [
            {
                "id": "product-safety",
                "name": "Product safety",
                "members": ["safety-lead@acme.example"],
                "channels": [
                    {"kind": "email", "to": ["product-safety@acme.example"], "min_severity": "medium"}
                ],
            },
            {
                "id": "competitive-intelligence",
                "name": "Competitive intelligence",
                "members": ["ci-analyst@acme.example"],
                "channels": [{"kind": "email", "to": ["ci@acme.example"], "min_severity": "low"}],
            },
            {
                "id": "communications",
                "name": "Communications",
                "members": ["press@acme.example"],
                "channels": [{"kind": "email", "to": ["comms@acme.example"], "min_severity": "low"}],
            },
        ],
        "alerts": {
            "routing": {
                "product": "product-safety",
                "competitor": "competitive-intelligence",
                "opinion_leader": "communications",
            }
        },
    }
