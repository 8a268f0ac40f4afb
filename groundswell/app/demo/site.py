"""Render a generated market as a static web: forum, review site, news and blog with feeds, sitemap,
robots.txt, and the JSON bodies behind the Reddit- and Mastodon-shaped APIs.

Links inside HTML are root-relative. Documents that need absolute URLs (feeds, sitemap, robots.txt,
API bodies) carry the placeholder origin `ORIGIN`, which `groundswell.app.demo.server` replaces with the
address it serves from, so one generated site can be served on any port.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

from groundswell.app.demo.catalog import LEADERS, MASTODON_TAG, PRODUCTS, SUBREDDIT
from groundswell.app.demo.generate import Market, Post

ORIGIN = "https://market.demo.invalid"
FORUM_THREADS_PER_PAGE = 20
FORUM_POSTS_PER_PAGE = 10
REVIEWS_PER_PAGE = 10
NEWS_PER_PAGE = 20


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _forum_date(dt: datetime) -> str:  # "Mar 3, 2026 14:05"
    return f"{dt:%b} {dt.day}, {dt:%Y %H:%M}"


def _review_date(dt: datetime) -> str:  # "3 March 2026, 14:05"
    return f"{dt.day} {dt:%B %Y, %H:%M}"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _page(title: str, body: str, *, site: str, nav: str = "", head: str = "") -> str:
    """A full HTML page with the boilerplate that real sites wrap around their content."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} | {escape(site)}</title>{head}"
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n<body>\n'
        f'<header class="site-header"><a class="logo" href="/">{escape(site)}</a>'
        '<nav class="main-nav"><a href="/forum/index.html">Forum</a> <a href="/reviews/index.html">Reviews</a> '
        '<a href="/news/index.html">News</a> <a href="/blog/index.html">Blog</a> '
        f'<a href="/private/index.html">Staff area</a>{nav}</nav></header>\n'
        '<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>\n'
        f"<main>\n{body}\n</main>\n"
        '<aside class="sidebar"><h4>Trending</h4><ul><li><a href="/news/index.html">Latest appliance news</a></li>'
        '<li><a href="/reviews/index.html">Top rated kettles</a></li></ul></aside>\n'
        f'<footer class="site-footer">&copy; 2026 {escape(site)} &middot; <a href="/about.html">About</a> &middot; '
        '<a href="/privacy.html">Privacy</a> &middot; All times UTC</footer>\n</body></html>\n'
    )


def _pager(current: int, total: int, href: Any) -> str:
    parts = ['<nav class="pager">']
    if current > 1:
        parts.append(f'<a rel="prev" class="prev" href="{href(current - 1)}">&laquo; Previous</a>')
    parts.append(f'<span class="page-info">Page {current} of {total}</span>')
    if current < total:
        parts.append(f'<a rel="next" class="next" href="{href(current + 1)}">Next &raquo;</a>')
    parts.append("</nav>")
    return " ".join(parts)


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())


# ---- forum ----------------------------------------------------------------------------------------
def forum_model(market: Market) -> dict[str, Any]:
    """The forum as plain data (threads and posts), kept in `_data/forum.json` so tests can add replies."""
    threads: dict[str, list[Post]] = {}
    for post in market.posts:
        if post.channel == "forum" and post.thread:
            threads.setdefault(post.thread, []).append(post)
    out = []
    for key, posts in threads.items():
        posts.sort(key=lambda p: (p.published, p.uid))
        rendered = []
        for p in posts:
            quote = None
            if p.quote and p.reply_to is not None and p.reply_to.published < p.published:
                first = re.split(r"(?<=[.!?])\s", p.reply_to.text, maxsplit=1)[0]
                quote = {"author": p.reply_to.author, "text": first}
            rendered.append(
                {
                    "id": p.uid,
                    "author": p.author,
                    "reach": p.reach,
                    "published": _iso(p.published),
                    "text": p.text,
                    "quote": quote,
                }
            )
        out.append({"id": key, "title": market.thread_titles[key], "posts": rendered})
    out.sort(key=lambda t: str(t["id"]))
    return {"threads": out}


def render_forum(model: dict[str, Any]) -> dict[str, str]:
    files: dict[str, str] = {}
    threads = model["threads"]
    site = "HomeTalk Forums"
    for thread in threads:
        posts = thread["posts"]
        pages = max(1, -(-len(posts) // FORUM_POSTS_PER_PAGE))
        tid = thread["id"]

        def href(n: int, tid: str = tid) -> str:
            return f"/forum/thread-{tid}.html" if n == 1 else f"/forum/thread-{tid}-p{n}.html"

        for n in range(1, pages + 1):
            chunk = posts[(n - 1) * FORUM_POSTS_PER_PAGE : n * FORUM_POSTS_PER_PAGE]
            items = []
            for i, p in enumerate(chunk):
                published = datetime.fromisoformat(p["published"].replace("Z", "+00:00"))
                quote = ""
                if p["quote"]:
                    quote = (
                        f'<blockquote class="quote"><span class="quote-author">{escape(p["quote"]["author"])} wrote:</span> '
                        f"{escape(p['quote']['text'])}</blockquote>"
                    )
                items.append(
                    f'<article class="post" id="post-{p["id"]}" data-post-id="{p["id"]}">\n'
                    f'<div class="post-meta"><span class="author">{escape(p["author"])}</span> '
                    f'<span class="author-followers">{p["reach"]} followers</span> '
                    f'<span class="post-date">{_forum_date(published)}</span> '
                    f'<a class="permalink" href="{href(n)}#post-{p["id"]}">#{(n - 1) * FORUM_POSTS_PER_PAGE + i + 1}</a></div>\n'
                    f'<div class="post-body">{quote}{_paragraphs(p["text"])}</div>\n'
                    '<div class="post-signature">-- sent from my phone</div>\n</article>'
                )
            body = (
                f'<div class="breadcrumbs"><a href="/forum/index.html">Forum</a> &rsaquo; Appliances</div>\n'
                f'<h1 class="thread-title" data-thread-id="{tid}">{escape(thread["title"])}</h1>\n'
                + "\n".join(items)
                + "\n"
                + _pager(n, pages, href)
            )
            files[href(n).lstrip("/")] = _page(thread["title"], body, site=site)

    def last(t: dict[str, Any]) -> str:
        return t["posts"][-1]["published"]

    ordered = sorted(threads, key=lambda t: (last(t), t["id"]), reverse=True)
    pages = max(1, -(-len(ordered) // FORUM_THREADS_PER_PAGE))

    def list_href(n: int) -> str:
        return "/forum/index.html" if n == 1 else f"/forum/page-{n}.html"

    for n in range(1, pages + 1):
        rows = []
        if n == 1:  # a pinned staff thread that robots.txt forbids: a polite crawler never fetches it
            rows.append(
                '<li class="thread pinned"><a class="thread-title" href="/forum/admin/thread-mod.html">Moderator notes</a> '
                '<span class="reply-count">3 replies</span></li>'
            )
        for t in ordered[(n - 1) * FORUM_THREADS_PER_PAGE : n * FORUM_THREADS_PER_PAGE]:
            lp = datetime.fromisoformat(last(t).replace("Z", "+00:00"))
            rows.append(
                f'<li class="thread" data-thread-id="{t["id"]}"><a class="thread-title" href="/forum/thread-{t["id"]}.html">'
                f'{escape(t["title"])}</a> <span class="starter">by {escape(t["posts"][0]["author"])}</span> '
                f'<span class="reply-count">{len(t["posts"]) - 1} replies</span> '
                f'<span class="last-post">Last post: {_forum_date(lp)}</span></li>'
            )
        body = (
            '<h1>Appliances forum</h1>\n<ul class="threads">\n'
            + "\n".join(rows)
            + "\n</ul>\n"
            + _pager(n, pages, list_href)
        )
        files[list_href(n).lstrip("/")] = _page("Appliances forum", body, site=site)
    files["forum/admin/thread-mod.html"] = _page(
        "Moderator notes",
        '<h1 class="thread-title">Moderator notes</h1><article class="post" id="post-mod1"><div class="post-meta">'
        '<span class="author">moderator</span> <span class="post-date">Jan 1, 2026 09:00</span></div>'
        '<div class="post-body"><p>STAFF ONLY: ban list and spam filters. Crawlers must not read this.</p></div></article>',
        site=site,
    )
    return files


def append_forum_reply(
    root: Path, thread_id: str, *, author: str, text: str, published: datetime, reach: int = 0
) -> str:
    """Add a reply to a forum thread of an already built site and re-render the forum; returns the post id.

    This is how tests (and curious users) make the site change between two crawls.
    """
    data_path = root / "_data" / "forum.json"
    model = json.loads(data_path.read_text(encoding="utf-8"))
    for thread in model["threads"]:
        if thread["id"] == thread_id:
            break
    else:
        raise KeyError(f"no forum thread '{thread_id}' in {data_path}; threads: {len(model['threads'])}")
    post_id = f"{thread_id}-r{len(thread['posts']) + 1}"
    thread["posts"].append(
        {
            "id": post_id,
            "author": author,
            "reach": reach,
            "published": _iso(published),
            "text": text,
            "quote": None,
        }
    )
    data_path.write_text(json.dumps(model, ensure_ascii=False, indent=1), encoding="utf-8")
    for rel, content in render_forum(model).items():
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
    return post_id


# ---- reviews --------------------------------------------------------------------------------------
def render_reviews(market: Market) -> dict[str, str]:
    files: dict[str, str] = {}
    site = "ApplianceRatings"
    by_product: dict[str, list[Post]] = {pid: [] for pid in PRODUCTS}
    for post in market.posts:
        if post.channel == "review" and post.product:
            by_product[post.product].append(post)
    rows = []
    for pid, reviews in by_product.items():
        reviews.sort(key=lambda p: (p.published, p.uid), reverse=True)
        product = PRODUCTS[pid]
        pages = max(1, -(-len(reviews) // REVIEWS_PER_PAGE))

        def href(n: int, pid: str = pid) -> str:
            return f"/reviews/{pid}.html" if n == 1 else f"/reviews/{pid}-p{n}.html"

        if reviews:
            avg = sum(r.rating or 0 for r in reviews) / len(reviews)
            rows.append(
                f'<li><a class="product-link" href="{href(1)}">{escape(product.name)}</a> '
                f'<span class="avg">{avg:.1f} / 5 from {len(reviews)} reviews</span></li>'
            )
        for n in range(1, pages + 1):
            blocks = []
            for r in reviews[(n - 1) * REVIEWS_PER_PAGE : n * REVIEWS_PER_PAGE]:
                stars = "★" * (r.rating or 0) + "☆" * (5 - (r.rating or 0))
                helpful = (int(r.uid) * 7) % 23
                blocks.append(
                    f'<div class="review" id="review-{r.uid}" data-review-id="{r.uid}">\n'
                    f'<div class="review-rating" data-rating="{r.rating}" title="{r.rating} out of 5">{stars}</div>\n'
                    f'<h3 class="review-title">{escape(r.title)}</h3>\n'
                    f'<div class="review-meta">By <span class="reviewer">{escape(r.author)}</span> on '
                    f'<span class="review-date">{_review_date(r.published)}</span> &middot; Verified purchase</div>\n'
                    f'<div class="review-text">{_paragraphs(r.text)}</div>\n'
                    f'<div class="helpful">{helpful} people found this helpful</div>\n</div>'
                )
            body = (
                f'<h1 class="product-name" data-product-id="{pid}">{escape(product.name)}</h1>\n'
                f'<p class="price">From ${product.price}</p>\n'
                + ("\n".join(blocks) or '<p class="empty">No reviews yet.</p>')
                + "\n"
                + _pager(n, pages, href)
            )
            files[href(n).lstrip("/")] = _page(f"{product.name} reviews", body, site=site)
    files["reviews/index.html"] = _page(
        "Product reviews",
        '<h1>Product reviews</h1>\n<ul class="products">\n' + "\n".join(rows) + "\n</ul>",
        site=site,
    )
    return files


# ---- news and blog --------------------------------------------------------------------------------
def _article_path(post: Post) -> str:
    return f"{post.channel}/{_slug(post.title)}-{post.uid}.html"


def render_articles(market: Market) -> dict[str, str]:
    files: dict[str, str] = {}
    for channel, site in (("news", "Appliance Times"), ("blog", "Kitchen & Home Blog")):
        posts = sorted(
            (p for p in market.posts if p.channel == channel),
            key=lambda p: (p.published, p.uid),
            reverse=True,
        )
        for p in posts:
            shown = (
                f"{p.published:%A}, {p.published.day} {p.published:%B %Y}"
                if channel == "news"
                else f"{p.published:%d.%m.%Y}"
            )
            head = (
                f'<meta property="article:published_time" content="{_iso(p.published)}">'
                f'<meta name="author" content="{escape(p.author)}">'
                f'<link rel="canonical" href="/{_article_path(p)}">'
            )
            body = (
                f'<div class="breadcrumbs"><a href="/{channel}/index.html">{channel.title()}</a></div>\n'
                f'<article class="story">\n<h1 class="headline">{escape(p.title)}</h1>\n'
                f'<p class="byline">By <span class="byline-author">{escape(p.author)}</span> &middot; '
                f'<time datetime="{p.published.isoformat()}">{shown}</time></p>\n'
                + "".join(f"<p>{escape(par)}</p>\n" for par in p.paragraphs)
                + "</article>\n"
                + '<div class="newsletter">'
                + "".join(
                    f"<p>{escape(b)}</p>"
                    for b in (
                        "Sign up for our newsletter to get the best deals every week.",
                        "Share this story.",
                    )
                )
                + '</div>\n<section class="comments"><h3>Comments (0)</h3><p>Log in to comment.</p></section>'
            )
            files[_article_path(p)] = _page(p.title, body, site=site, head=head)
        pages = max(1, -(-len(posts) // NEWS_PER_PAGE))

        def href(n: int, channel: str = channel) -> str:
            return f"/{channel}/index.html" if n == 1 else f"/{channel}/page-{n}.html"

        for n in range(1, pages + 1):
            rows = [
                f'<div class="teaser"><a class="teaser-link" href="/{_article_path(p)}">{escape(p.title)}</a> '
                f'<span class="teaser-date">{p.published:%Y-%m-%d}</span></div>'
                for p in posts[(n - 1) * NEWS_PER_PAGE : n * NEWS_PER_PAGE]
            ]
            body = f"<h1>{escape(site)}</h1>\n" + "\n".join(rows) + "\n" + _pager(n, pages, href)
            files[href(n).lstrip("/")] = _page(site, body, site=site)
        if channel == "news":
            files["news/feed.xml"] = _rss(posts[:40], site)
        else:
            files["blog/atom.xml"] = _atom(posts[:40], site)
    return files


def _rss(posts: list[Post], site: str) -> str:
    items = []
    for p in posts:
        link = f"{ORIGIN}/{_article_path(p)}"
        items.append(
            f'<item><title>{escape(p.title)}</title><link>{link}</link><guid isPermaLink="true">{link}</guid>'
            f"<pubDate>{format_datetime(p.published)}</pubDate><dc:creator>{escape(p.author)}</dc:creator>"
            f"<description>{escape(p.paragraphs[0] if p.paragraphs else p.text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{escape(site)}</title><link>{ORIGIN}/news/index.html</link>"
        f"<description>Home appliance news</description>{''.join(items)}</channel></rss>\n"
    )


def _atom(posts: list[Post], site: str) -> str:
    entries = []
    for p in posts:
        link = f"{ORIGIN}/{_article_path(p)}"
        content = "".join(f"<p>{escape(par)}</p>" for par in p.paragraphs)
        entries.append(
            f'<entry><title>{escape(p.title)}</title><link rel="alternate" href="{link}"/><id>{link}</id>'
            f"<published>{_iso(p.published)}</published><updated>{_iso(p.published)}</updated>"
            f"<author><name>{escape(p.author)}</name></author>"
            f'<content type="html">{escape(content)}</content></entry>'
        )
    updated = _iso(posts[0].published) if posts else "2026-01-01T00:00:00Z"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(site)}</title><id>{ORIGIN}/blog/</id><updated>{updated}</updated>"
        f'<link rel="self" href="{ORIGIN}/blog/atom.xml"/>{"".join(entries)}</feed>\n'
    )


# ---- APIs -------------------------------------------------------------------------------------------
def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def reddit_listing_children(market: Market) -> list[dict[str, Any]]:
    """Every submission of the demo subreddit as Reddit `t3` things, newest first."""
    children = []
    for p in market.posts:
        if p.channel != "reddit":
            continue
        rid = _b36(0x1F00000 + int(p.uid))
        permalink = post_path(p)
        score = (int(p.uid) * 13) % 97
        ts = float(int(p.published.timestamp()))
        html_body = (
            f'<!-- SC_OFF --><div class="md"><p>{escape(p.text, quote=False)}</p>\n</div><!-- SC_ON -->'
        )
        data: dict[str, Any] = {
            "approved_at_utc": None, "subreddit": SUBREDDIT, "selftext": p.text,
            "author_fullname": f"t2_{_b36(int(hashlib.sha1(p.author.encode()).hexdigest()[:10], 16))}",
            "saved": False, "mod_reason_title": None, "gilded": 0, "clicked": False, "title": p.title,
            "link_flair_richtext": [], "subreddit_name_prefixed": f"r/{SUBREDDIT}", "hidden": False, "pwls": 6,
            "link_flair_css_class": None, "downs": 0, "thumbnail_height": None, "top_awarded_type": None,
            "hide_score": False, "name": f"t3_{rid}", "quarantine": False, "link_flair_text_color": "dark",
            "upvote_ratio": round(0.5 + (score % 50) / 100, 2), "author_flair_background_color": None,
            "subreddit_type": "public", "ups": score, "total_awards_received": 0, "media_embed": {},
            "thumbnail_width": None, "author_flair_template_id": None, "is_original_content": False,
            "user_reports": [], "secure_media": None, "is_reddit_media_domain": False, "is_meta": False,
            "category": None, "secure_media_embed": {}, "link_flair_text": None, "can_mod_post": False,
            "score": score, "approved_by": None, "is_created_from_ads_ui": False, "author_premium": False,
            "thumbnail": "self", "edited": False, "author_flair_css_class": None, "author_flair_richtext": [],
            "gildings": {}, "content_categories": None, "is_self": True, "mod_note": None, "created": ts,
            "link_flair_type": "text", "wls": 6, "removed_by_category": None, "banned_by": None,
            "author_flair_type": "text", "domain": f"self.{SUBREDDIT}", "allow_live_comments": False,
            "selftext_html": html_body, "likes": None, "suggested_sort": None, "banned_at_utc": None,
            "view_count": None, "archived": False, "no_follow": score < 2, "is_crosspostable": True,
            "pinned": False, "over_18": False, "all_awardings": [], "awarders": [], "media_only": False,
            "can_gild": False, "spoiler": False, "locked": False, "author_flair_text": None, "treatment_tags": [],
            "visited": False, "removed_by": None, "num_reports": None, "distinguished": None,
            "subreddit_id": "t5_2demo1", "author_is_blocked": False, "mod_reason_by": None, "removal_reason": None,
            "link_flair_background_color": "", "id": rid, "is_robot_indexable": True, "report_reasons": None,
            "author": p.author, "discussion_type": None, "num_comments": (int(p.uid) * 5) % 31,
            "send_replies": True, "contest_mode": False, "mod_reports": [], "author_patreon_flair": False,
            "author_flair_text_color": None, "permalink": permalink, "stickied": False,
            "url": f"{ORIGIN}{permalink}", "subreddit_subscribers": 48213, "created_utc": ts,
            "num_crossposts": 0, "media": None, "is_video": False,
        }  # fmt: skip
        children.append({"kind": "t3", "data": data})
    children.reverse()
    return children


def _mastodon_id(p: Post) -> str:
    return str((int(p.published.timestamp() * 1000) << 16) + int(p.uid) % 65536)


def mastodon_statuses(market: Market) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """All demo statuses (newest first) and the accounts behind them, shaped like the Mastodon API."""
    accounts: dict[str, dict[str, Any]] = {}
    statuses = []
    ids: dict[int, str] = {}
    leader_names = {leader.handle: leader for leader in LEADERS}
    for p in market.posts:
        if p.channel != "mastodon":
            continue
        if p.author not in accounts:
            aid = str(110_000_000_000_000_000 + len(accounts) + 1)
            leader = leader_names.get(p.author)
            accounts[p.author] = {
                "id": aid,
                "username": p.author,
                "acct": p.author,
                "display_name": leader.name if leader else p.author.replace("_", " ").title(),
                "locked": False,
                "bot": p.scenario == "bots",
                "discoverable": True,
                "indexable": True,
                "group": False,
                "created_at": "2024-05-01T00:00:00.000Z",
                "note": f"<p>{escape(leader.topic)}</p>" if leader else "",
                "url": f"{ORIGIN}/@{p.author}",
                "uri": f"{ORIGIN}/users/{p.author}",
                "avatar": f"{ORIGIN}/avatars/original/missing.png",
                "avatar_static": f"{ORIGIN}/avatars/original/missing.png",
                "header": f"{ORIGIN}/headers/original/missing.png",
                "header_static": f"{ORIGIN}/headers/original/missing.png",
                "hide_collections": None,
                "noindex": False,
                "roles": [],
                "followers_count": p.reach,
                "following_count": 100 + p.reach % 400,
                "statuses_count": 0,
                "last_status_at": None,
                "emojis": [],
                "fields": [],
            }
        account = accounts[p.author]
        account["statuses_count"] += 1
        account["last_status_at"] = f"{p.published:%Y-%m-%d}"
        sid = _mastodon_id(p)
        ids[id(p)] = sid
        tags = [MASTODON_TAG]
        if p.product:
            brand_tag = p.product.split("-")[0]
            tags.append(brand_tag)
        tag_html = " ".join(
            f'<a href="{ORIGIN}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
            for t in tags
        )
        reply_to = ids.get(id(p.reply_to)) if p.reply_to is not None else None
        statuses.append(
            {
                "id": sid,
                "created_at": p.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "in_reply_to_id": reply_to,
                "in_reply_to_account_id": accounts[p.reply_to.author]["id"]
                if reply_to and p.reply_to
                else None,
                "sensitive": False,
                "spoiler_text": "",
                "visibility": "public",
                "language": "en",
                "uri": f"{ORIGIN}/users/{p.author}/statuses/{sid}",
                "url": f"{ORIGIN}/@{p.author}/{sid}",
                "replies_count": 41
                if p.author in leader_names and p.scenario == "leader"
                else (int(p.uid) * 3) % 7,
                "reblogs_count": (int(p.uid) * 5) % 11 if p.author not in leader_names else 350,
                "favourites_count": (int(p.uid) * 7) % 19 if p.author not in leader_names else 1200,
                "quotes_count": 0,
                "edited_at": None,
                "favourited": False,
                "reblogged": False,
                "muted": False,
                "bookmarked": False,
                "pinned": False,
                "content": f"<p>{escape(p.text)} {tag_html}</p>",
                "filtered": [],
                "reblog": None,
                "application": {"name": "Web", "website": None},
                "account": account,
                "media_attachments": [],
                "mentions": [],
                "tags": [{"name": t, "url": f"{ORIGIN}/tags/{t}"} for t in tags],
                "emojis": [],
                "quote": None,
                "card": None,
                "poll": None,
            }
        )
    # every status embeds its account as it stands at the end of the market (counts included)
    statuses.reverse()
    return statuses, accounts


# ---- the whole site -----------------------------------------------------------------------------------
def render_site(market: Market) -> dict[str, str]:
    """Every file of the site, path (relative, '/'-separated) -> text."""
    files: dict[str, str] = {}
    forum = forum_model(market)
    files["_data/forum.json"] = json.dumps(forum, ensure_ascii=False, indent=1)
    files.update(render_forum(forum))
    files.update(render_reviews(market))
    files.update(render_articles(market))
    children = reddit_listing_children(market)
    files[f"api/reddit/{SUBREDDIT}/new.json"] = json.dumps(children, ensure_ascii=False)
    statuses, accounts = mastodon_statuses(market)
    files[f"api/mastodon/tag/{MASTODON_TAG}.json"] = json.dumps(statuses, ensure_ascii=False)
    for name, account in accounts.items():
        own = [s for s in statuses if s["account"]["username"] == name]
        files[f"api/mastodon/accounts/{account['id']}.json"] = json.dumps(own, ensure_ascii=False)
        files[f"api/mastodon/lookup/{name}.json"] = json.dumps(account, ensure_ascii=False)
    files["index.html"] = _page(
        "Home",
        '<h1>The demo appliance web</h1><ul><li><a href="/forum/index.html">HomeTalk forum</a></li>'
        '<li><a href="/reviews/index.html">ApplianceRatings reviews</a></li><li><a href="/news/index.html">Appliance Times</a> '
        '(<a href="/news/feed.xml">RSS</a>)</li><li><a href="/blog/index.html">Kitchen &amp; Home Blog</a> '
        '(<a href="/blog/atom.xml">Atom</a>)</li></ul>',
        site="Demo market",
    )
    files["private/index.html"] = _page(
        "Staff",
        '<h1>Staff only</h1><p class="secret">Internal price list. Crawlers must not read this.</p>',
        site="Demo market",
    )
    files["robots.txt"] = (
        "# The demo market welcomes polite crawlers, except in the staff areas.\n"
        "User-agent: *\nDisallow: /private/\nDisallow: /forum/admin/\n\n"
        f"Sitemap: {ORIGIN}/sitemap.xml\n"
    )
    files["sitemap.xml"] = _sitemap(files, market)
    return files


def _sitemap(files: dict[str, str], market: Market) -> str:
    lastmod: dict[str, str] = {}
    for p in market.posts:
        if p.channel in ("news", "blog"):
            lastmod[_article_path(p)] = f"{p.published:%Y-%m-%d}"
    for path in sorted(files):
        if re.match(r"^forum/thread-t\d+\.html$", path) or (
            path.startswith("reviews/") and re.match(r"^reviews/[a-z-]+\.html$", path)
        ):
            lastmod.setdefault(path, f"{market.end:%Y-%m-%d}")
    urls = "".join(
        f"<url><loc>{ORIGIN}/{path}</loc><lastmod>{lastmod[path]}</lastmod></url>" for path in sorted(lastmod)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'


def post_path(post: Post) -> str:
    """The URL path under which an item is published (the `url` a collector records for it), for every
    channel but the forum and reviews (whose items live at page anchors)."""
    if post.channel in ("news", "blog"):
        return "/" + _article_path(post)
    if post.channel == "reddit":
        rid = _b36(0x1F00000 + int(post.uid))
        return f"/r/{SUBREDDIT}/comments/{rid}/{_slug(post.title)[:40]}/"
    if post.channel == "mastodon":
        return f"/@{post.author}/{_mastodon_id(post)}"
    raise ValueError(
        f"post {post.uid} on channel {post.channel!r} has no page of its own; channels with one: news, blog, reddit, mastodon"
    )


__all__ = ["ORIGIN", "append_forum_reply", "post_path", "render_site"]
