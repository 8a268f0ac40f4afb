"""Synthetic, enriched sample data for the web UI's tests, its benchmark and trying it out.

`sample_config()` declares one brand (with a product), two competitors, three sources and the
three routing teams. `synthetic_mentions(n, seed=...)` returns enriched mentions over `days`
days, with forum threads and, in the last `shift_days`, a planted rise of negative "overheating"
complaints about the brand's kettle (the truth is returned alongside: `SampleTruth`).
`sample_records(...)` builds the `TrendEvent`s (that shift, plus a blip) and `Ticket`s that the
detector and the alerts stage would have written for it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from groundswell.config import Config, parse_config
from groundswell.mention import Mention, SourceKind, TargetSentiment
from groundswell.records import Evidence, HistoryEntry, SeriesValue, Ticket, TrendEvent, stable_id
from groundswell.store.base import Store

SOURCES = (("demo-forum", "forum"), ("demo-reviews", "review"), ("demo-news", "news"))
BRANDS = ("acme", "globex", "initech")
_PRODUCTS = {"acme": "acme-kettle", "globex": "globex-toaster", "initech": "initech-blender"}
_PHRASES = {
    "negative": (
        "stopped working after a week",
        "support never answered my emails",
        "the delivery came two weeks late",
        "way too expensive for what it is",
        "the lid cracked on day one",
    ),
    "neutral": (
        "does anyone know if the new model is out",
        "saw the announcement at the trade fair",
        "comparing prices before I buy",
        "the store had it on the shelf today",
    ),
    "positive": (
        "works great and looks lovely",
        "customer service sorted it out in minutes",
        "fast delivery and neat packaging",
        "best purchase this year, really happy",
        "the new colours are gorgeous",
    ),
}
_KIND = {"negative": "complaint", "neutral": "question", "positive": "compliment"}
_AREAS = ("product", "customer_service", "delivery", "pricing", "product", "marketing")


@dataclass
class SampleTruth:
    shift_entity: str
    shift_start: datetime
    shift_mention_ids: list[str] = field(default_factory=list)
    thread_ids: list[str] = field(default_factory=list)


def sample_config() -> Config:
    return parse_config(
        {
            "name": "demo-market",
            "sources": [{"name": n, "kind": k, "url": f"http://127.0.0.1/{n}"} for n, k in SOURCES],
            "brands": [
                {
                    "id": "acme",
                    "name": "Acme",
                    "aliases": ["ACME"],
                    "products": [{"id": "acme-kettle", "name": "Acme Kettle"}],
                }
            ],
            "competitors": [
                {
                    "id": "globex",
                    "name": "Globex",
                    "products": [{"id": "globex-toaster", "name": "Globex Toaster"}],
                },
                {
                    "id": "initech",
                    "name": "Initech",
                    "products": [{"id": "initech-blender", "name": "Initech Blender"}],
                },
            ],
            "teams": [
                {"id": "product-safety", "name": "Product safety", "members": ["dana", "eli"]},
                {"id": "competitive-intelligence", "name": "Competitive intelligence", "members": ["finn"]},
                {"id": "communications", "name": "Communications", "members": ["gia"]},
            ],
        }
    )


def synthetic_mentions(
    n: int, *, seed: int = 7, end: datetime | None = None, days: int = 60, shift_days: int = 10
) -> tuple[list[Mention], SampleTruth]:
    """`n` enriched mentions (plus the planted shift's extra complaints) and the truth about them."""
    rng = random.Random(seed)
    end = (end or datetime(2026, 3, 1, tzinfo=UTC)).astimezone(UTC)
    start = end - timedelta(days=days)
    shift_start = (end - timedelta(days=shift_days)).replace(hour=0, minute=0, second=0, microsecond=0)
    truth = SampleTruth(shift_entity="acme", shift_start=shift_start)
    authors = [f"user{i:04d}" for i in range(max(50, n // 8))]
    out: list[Mention] = []
    for i in range(n):
        brand = rng.choices(BRANDS, weights=(5, 3, 2))[0]
        sentiment = rng.choices(("negative", "neutral", "positive"), weights=(3, 3, 4))[0]
        source, kind = SOURCES[i % len(SOURCES)]
        published = start + timedelta(seconds=rng.uniform(0, days * 86400))
        out.append(_mention(rng, i, brand, sentiment, source, kind, published, rng.choice(authors), truth))
    # the planted shift: many distinct authors complaining about the kettle overheating
    extra = max(30, n // 20)
    for j in range(extra):
        published = shift_start + timedelta(seconds=rng.uniform(0, shift_days * 86400 - 1))
        m = _mention(
            rng, n + j, "acme", "negative", "demo-reviews", "review", published, f"shifter{j:04d}", truth
        )
        m.text = f"My Acme Kettle is overheating and the handle got too hot to touch ({j}). {m.text}"
        m.safety_hazards, m.safety_severity, m.business_area = ["fire_burn"], 2, "product"
        truth.shift_mention_ids.append(m.id)
        out.append(m)
    out.sort(key=lambda m: m.published)
    return out, truth


def _mention(
    rng: random.Random,
    i: int,
    brand: str,
    sentiment: str,
    source: str,
    kind: str,
    published: datetime,
    author: str,
    truth: SampleTruth,
) -> Mention:
    product = _PRODUCTS[brand] if rng.random() < 0.4 else None
    name = brand.capitalize() + (" " + product.split("-")[1] if product else "")
    phrase = rng.choice(_PHRASES[sentiment])
    score = {"negative": -1, "neutral": 0, "positive": 1}[sentiment] * rng.uniform(0.4, 0.95)
    thread_id = None
    if kind == "forum":
        thread_id = f"thread-{i // 15:05d}"
        if thread_id not in truth.thread_ids:
            truth.thread_ids.append(thread_id)
    entities = [brand, *([product] if product else [])]
    return Mention(
        source=source,
        source_kind=SourceKind(kind),
        url=f"http://127.0.0.1/{source}/post/{i}",
        author=author,
        author_reach=rng.randint(0, 5000),
        published=published,
        collected=published + timedelta(hours=1),
        language="en",
        title=f"{name}: {phrase}" if kind != "forum" or i % 15 == 0 else "",
        text=f"I have the {name} and honestly it {phrase}. Post number {i} about {brand}.",
        thread_id=thread_id,
        enriched=True,
        entities=entities,
        sentiment=sentiment,
        sentiment_score=round(score, 3),
        sentiment_probs={"negative": 0.1, "neutral": 0.1, "positive": 0.8}
        if sentiment == "positive"
        else (
            {"negative": 0.8, "neutral": 0.1, "positive": 0.1}
            if sentiment == "negative"
            else {"negative": 0.2, "neutral": 0.6, "positive": 0.2}
        ),
        target_sentiments=[
            TargetSentiment(entity=e, label=sentiment, score=round(score, 3)) for e in entities
        ],
        emotion={"negative": "anger", "neutral": "optimism", "positive": "joy"}[sentiment],
        topic_id=i % 5,
        topic_label=("kettle heat", "delivery delays", "pricing", "support", "design")[i % 5],
        voc_kind=_KIND[sentiment],
        business_area=rng.choice(_AREAS),
        models={"sentiment": "synthetic@1"},
    )


def sample_records(
    mentions: list[Mention], truth: SampleTruth, *, now: datetime | None = None
) -> tuple[list[TrendEvent], list[Ticket]]:
    """The trend events and tickets the pipeline would have written for the sample mentions."""
    now = (now or max(m.published for m in mentions) + timedelta(hours=1)).astimezone(UTC)
    by_day: dict[datetime, int] = {}
    for m in mentions:
        if "acme" in m.entities and m.sentiment == "negative":
            day = m.published.replace(hour=0, minute=0, second=0, microsecond=0)
            by_day[day] = by_day.get(day, 0) + 1
    days = sorted(by_day)[-30:]
    series = [SeriesValue(t=d, value=by_day[d], count=by_day[d]) for d in days]
    shifted = [m for m in mentions if m.id in set(truth.shift_mention_ids)]
    baseline = sum(by_day[d] for d in days if d < truth.shift_start) / max(
        1, sum(1 for d in days if d < truth.shift_start)
    )
    level = sum(by_day[d] for d in days if d >= truth.shift_start) / max(
        1, sum(1 for d in days if d >= truth.shift_start)
    )
    shift = TrendEvent(
        id=TrendEvent.make_id("entity", "acme", "volume", "up", truth.shift_start),
        kind="shift",
        reason="level",
        group_by="entity",
        key="acme",
        metric="volume",
        direction="up",
        start=truth.shift_start,
        end=max(m.published for m in shifted),
        detected_at=now,
        baseline=round(baseline, 2),
        level=round(level, 2),
        change=round(level - baseline, 2),
        relative_change=round((level - baseline) / baseline, 3) if baseline else None,
        confidence=0.97,
        p_value=0.0004,
        periods_confirmed=5,
        authors=len({m.author for m in shifted}),
        sources=len({m.source for m in shifted}),
        top_authors=sorted({m.author for m in shifted})[:5],
        source_names=sorted({m.source for m in shifted}),
        drivers=["overheating", "handle", "hot"],
        topics=["kettle heat"],
        safety_hazards={"fire_burn": len(shifted)},
        mention_ids=[m.id for m in shifted[:10]],
        series=series,
        method="sample@1",
    )
    blip_start = truth.shift_start - timedelta(days=20)
    blip = TrendEvent(
        id=TrendEvent.make_id("entity", "globex", "volume", "up", blip_start),
        kind="blip",
        reason="single_author",
        group_by="entity",
        key="globex",
        metric="volume",
        direction="up",
        start=blip_start,
        end=blip_start + timedelta(days=1),
        detected_at=now,
        baseline=20.0,
        level=31.0,
        change=11.0,
        relative_change=0.55,
        confidence=0.4,
        authors=1,
        sources=1,
        top_authors=["user0001"],
        source_names=["demo-forum"],
        drivers=["giveaway"],
        method="sample@1",
    )
    created = shift.detected_at
    product_ticket = Ticket(
        id=stable_id("ticket", "product", "acme-kettle"),
        type="product",
        subject="acme-kettle",
        title="Acme Kettle: rising overheating complaints (fire/burn)",
        severity="high",
        team="product-safety",
        created=created,
        updated=created,
        due=created + timedelta(hours=24),
        evidence=Evidence(
            trend_ids=[shift.id],
            mention_ids=shift.mention_ids,
            authors=shift.top_authors,
            sources=shift.source_names,
            threads=[m.url for m in shifted[:3]],
            drivers=shift.drivers,
            safety_hazards=shift.safety_hazards,
            series=series,
        ),
        history=[
            HistoryEntry(
                at=created,
                who="groundswell",
                action="open",
                to_state="open",
                note="opened by the trend detector",
            )
        ],
    )
    competitor_ticket = Ticket(
        id=stable_id("ticket", "competitor", "globex"),
        type="competitor",
        subject="globex",
        title="Globex: price cut announced",
        severity="medium",
        team="competitive-intelligence",
        created=created - timedelta(days=3),
        updated=created - timedelta(days=2),
        due=created + timedelta(days=1),
        state="acknowledged",
        history=[
            HistoryEntry(at=created - timedelta(days=3), who="groundswell", action="open", to_state="open"),
            HistoryEntry(
                at=created - timedelta(days=2),
                who="finn",
                action="acknowledge",
                from_state="open",
                to_state="acknowledged",
            ),
        ],
    )
    return [shift, blip], [product_ticket, competitor_ticket]


def load_sample(
    store: Store, *, n: int = 600, seed: int = 7, batch: int = 5000
) -> tuple[list[Mention], SampleTruth, list[TrendEvent], list[Ticket]]:
    """Fill `store` with `synthetic_mentions(n)` and their trend events and tickets."""
    mentions, truth = synthetic_mentions(n, seed=seed)
    for i in range(0, len(mentions), batch):
        store.upsert_mentions(mentions[i : i + batch])
    events, tickets = sample_records(mentions, truth)
    for e in events:
        store.put_doc("trends", e.id, e.model_dump(mode="json"))
    for t in tickets:
        store.put_doc("tickets", t.id, t.model_dump(mode="json"))
    return mentions, truth, events, tickets
