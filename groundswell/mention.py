"""The `Mention`: one thing someone said, where and when, plus what the NLP stage found in it.

A mention is born in `crawlers/` (collect), enriched in `nlp/` (understand), written through a
`groundswell.store.Store` (index), judged by `trends/` (detect) and acted on by `alerts/` (act).

Its id is stable: the same item crawled twice gets the same id, so every write is an upsert and
re-runs never duplicate. The id is derived from the source and the item's own identity (an API id
where the source has one, otherwise the canonical URL).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

SENTIMENTS = ("negative", "neutral", "positive")
EMOTIONS = ("anger", "joy", "optimism", "sadness")
VOC_KINDS = ("compliment", "complaint", "idea", "question", "other")
BUSINESS_AREAS = (
    "product",
    "customer_service",
    "shopping_experience",
    "delivery",
    "pricing",
    "marketing",
    "branding_pr",
)
SAFETY_HAZARDS = ("injury", "fire_burn", "choking", "defect", "illness", "recall")

# Query parameters that only track where a click came from; they never change the content.
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|igshid|spm)$", re.I)


class SourceKind(StrEnum):
    forum = "forum"
    review = "review"
    news = "news"
    blog = "blog"
    feed = "feed"
    reddit = "reddit"
    mastodon = "mastodon"
    hackernews = "hackernews"
    youtube = "youtube"
    x = "x"


def canonical_url(url: str) -> str:
    """Normalise a URL so that copies of one page compare equal.

    Lower-cases scheme and host, drops the fragment, default ports, tracking parameters and a
    trailing slash, and sorts the remaining query parameters.
    """
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower()
    if parts.port and not (
        (scheme == "http" and parts.port == 80) or (scheme == "https" and parts.port == 443)
    ):
        host = f"{host}:{parts.port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAMS.match(k)
    )
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def mention_id(source: str, key: str) -> str:
    """Stable id of an item: the source name plus the item's own identity (API id or canonical URL)."""
    digest = hashlib.sha1(f"{source}\x1f{key}".encode()).hexdigest()
    return digest[:20]


class TargetSentiment(BaseModel):
    """Sentiment towards one configured entity named in the mention (aspect/target level)."""

    model_config = ConfigDict(extra="forbid")

    entity: str
    label: str
    score: float = Field(description="positive probability minus negative probability, in [-1, 1]")


class Mention(BaseModel):
    """One collected item, with the NLP stage's findings once enriched."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    # --- identity and provenance (set by the collector) ---
    id: str = ""
    source: str = Field(description="configured source name, e.g. 'demo-forum'")
    source_kind: SourceKind
    url: str
    canonical_url: str = ""
    external_id: str | None = Field(default=None, description="the source's own id (API id), when it has one")
    author: str = ""
    author_reach: int = Field(
        default=0, ge=0, description="followers / subscribers / karma as the source reports it"
    )
    published: datetime
    collected: datetime = Field(default_factory=lambda: datetime.now(UTC))
    language: str | None = None
    title: str = ""
    text: str
    thread_id: str | None = None
    parent_id: str | None = None
    rating: float | None = Field(
        default=None, description="review rating on a 0..5 scale, when the source has one"
    )
    likes: int = Field(default=0, ge=0)
    shares: int = Field(default=0, ge=0)
    replies: int = Field(default=0, ge=0)
    duplicate_count: int = Field(
        default=1, ge=1, description="how many near-identical copies were collapsed into this one"
    )
    raw: dict[str, Any] = Field(default_factory=dict, description="source metadata kept as collected")

    # --- enrichment (set by nlp/) ---
    enriched: bool = False
    flags: list[str] = Field(default_factory=list, description="why a mention could not be fully enriched")
    entities: list[str] = Field(
        default_factory=list, description="ids of configured entities this mention is about"
    )
    sentiment: str | None = None
    sentiment_score: float | None = None
    sentiment_probs: dict[str, float] = Field(default_factory=dict)
    target_sentiments: list[TargetSentiment] = Field(default_factory=list)
    emotion: str | None = None
    emotion_probs: dict[str, float] = Field(default_factory=dict)
    topic_id: int | None = None
    topic_label: str | None = None
    voc_kind: str | None = None
    business_area: str | None = None
    safety_hazards: list[str] = Field(default_factory=list)
    safety_severity: int = Field(default=0, ge=0, le=3, description="0 none, 1 low, 2 medium, 3 high")
    models: dict[str, str] = Field(
        default_factory=dict, description="component -> model name@version that produced it"
    )

    @field_validator("published", "collected")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def model_post_init(self, __context: Any) -> None:
        if not self.canonical_url:
            self.canonical_url = canonical_url(self.url)
        if not self.id:
            self.id = mention_id(self.source, self.external_id or self.canonical_url)

    @property
    def is_negative(self) -> bool:
        return self.sentiment == "negative"
