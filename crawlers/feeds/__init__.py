"""Feed and API clients: RSS/Atom, Reddit, Hacker News, Mastodon, YouTube comments and X.

`client_for(config, source)` builds the client for a source of one of the API kinds (`FEED_KINDS`);
each client's `collect(state) -> ClientRun` pages through the source from its saved cursors.
"""

from __future__ import annotations

from crawlers.feeds.base import ClientRun, FeedClient
from crawlers.http import ApiHttp
from groundswell.config import Config, SourceConfig

__all__ = ["FEED_KINDS", "ClientRun", "FeedClient", "client_class", "client_for"]

FEED_KINDS = ("rss", "reddit", "mastodon", "hackernews", "youtube", "x")


def client_class(kind: str) -> type[FeedClient]:
    """The client class for a source kind; raises ValueError for kinds that are not API kinds."""
    from crawlers.feeds.hackernews import HackerNewsClient
    from crawlers.feeds.mastodon import MastodonClient
    from crawlers.feeds.reddit import RedditClient
    from crawlers.feeds.rss import RssClient
    from crawlers.feeds.x import XClient
    from crawlers.feeds.youtube import YouTubeClient

    classes: dict[str, type[FeedClient]] = {
        c.kind: c for c in (RssClient, RedditClient, HackerNewsClient, MastodonClient, YouTubeClient, XClient)
    }
    if kind not in classes:
        raise ValueError(f"no feed/API client for source kind '{kind}'; allowed: {', '.join(FEED_KINDS)}")
    return classes[kind]


def client_for(config: Config, source: SourceConfig, *, http: ApiHttp | None = None) -> FeedClient:
    """Build the client for `source` (raises CredentialError when a required credential is missing)."""
    return client_class(source.kind).from_settings(config, source, http=http)
