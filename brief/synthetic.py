"""A synthetic market for the brief's tests and benchmark: enriched mentions, trend events, tickets,
author scores, written into any `Store`, with the truth returned alongside.

`make_market(store, week_start=..., seed=...)` fills the store with `weeks` weeks of mentions ending
with the week starting `week_start` (a Monday) for two brands and two competitors, with varied
voice-of-the-customer kinds, business areas, sentiment and safety signals, a topic that emerges in
the last week, one real shift and two blips, three tickets (opened, resolved, overdue) and author
scores. With `hostile=True` it also plants markup and script in posts, authors, titles, topic labels,
URLs, ticket titles and trend drivers, for the escaping test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from groundswell.config import Config, parse_config
from groundswell.mention import BUSINESS_AREAS, Mention, SourceKind, TargetSentiment
from groundswell.records import Evidence, HistoryEntry, SeriesValue, Ticket, TrendEvent
from groundswell.store.base import Store

HOSTILE = (
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    '<b>bold</b><a href="javascript:alert(2)">click</a>',
    '<iframe src="https://evil.example"></iframe>',
)

SYNTHETIC_CONFIG: dict[str, Any] = {
    "name": "Synthetic market",
    "brands": [
        {
            "id": "acme",
            "name": "Acme",
            "products": [
                {"id": "acme-kettle", "name": "Acme Kettle"},
                {"id": "acme-toaster", "name": "Acme Toaster"},
            ],
        },
        {
            "id": "brightco",
            "name": "BrightCo",
            "products": [{"id": "bright-blender", "name": "Bright Blender"}],
        },
    ],
    "competitors": [
        {"id": "rivalco", "name": "RivalCo", "products": [{"id": "rival-kettle", "name": "Rival Kettle"}]},
        {"id": "zenith", "name": "Zenith", "products": [{"id": "zenith-fryer", "name": "Zenith Fryer"}]},
    ],
    "opinion_leaders": [{"id": "kim-reviews", "name": "Kim Reviews", "handles": ["kimreviews"]}],
}

_WORDS = {
    "compliment": [
        "love",
        "great",
        "brilliant",
        "fast",
        "reliable",
        "beautiful",
        "quiet",
        "recommend",
        "perfect",
        "sturdy",
    ],
    "complaint": [
        "broken",
        "refund",
        "late",
        "rude",
        "leaking",
        "overpriced",
        "flimsy",
        "noisy",
        "waiting",
        "cracked",
    ],
    "idea": [
        "wish",
        "suggest",
        "option",
        "bigger",
        "colour",
        "timer",
        "app",
        "feature",
        "smaller",
        "subscription",
    ],
    "question": ["how", "where", "warranty", "manual", "compatible", "setting"],
    "other": ["saw", "store", "advert", "news", "launch", "event"],
}
_AREA_WORDS = {
    "product": ["handle", "lid", "element", "button"],
    "customer_service": ["agent", "support", "helpline", "chat"],
    "shopping_experience": ["checkout", "website", "basket", "shop"],
    "delivery": ["courier", "parcel", "shipping", "driver"],
    "pricing": ["price", "discount", "expensive", "deal"],
    "marketing": ["campaign", "advert", "billboard", "promo"],
    "branding_pr": ["logo", "reputation", "sponsor", "statement"],
}
_TOPICS = {
    1: "kettle lid leaks",
    2: "delivery delays",
    3: "blender noise",
    4: "price cuts",
    5: "fryer recall rumours",
}
_HAZARDS = ("fire_burn", "injury", "defect")


@dataclass
class MarketTruth:
    """What was written, for tests to compare the brief against."""

    week_start: date
    mention_ids: list[str] = field(default_factory=list)
    week_mention_ids: list[str] = field(default_factory=list)
    emerging_topic: str = _TOPICS[5]
    shift_id: str = ""
    blip_ids: list[str] = field(default_factory=list)
    ticket_ids: dict[str, str] = field(default_factory=dict)  # role (opened/resolved/overdue) -> id


def synthetic_config(data_dir: Path, kibana_url: str | None = None, backend: str = "sqlite") -> Config:
    raw = dict(SYNTHETIC_CONFIG)
    raw["data_dir"] = str(data_dir)
    if kibana_url:
        raw["store"] = {"backend": backend, "elasticsearch": {"kibana_url": kibana_url}}
    return parse_config(raw)


def make_market(
    store: Store,
    *,
    week_start: date,
    seed: int = 0,
    per_week: int = 120,
    weeks: int = 3,
    hostile: bool = False,
) -> MarketTruth:
    """Write a synthetic market into `store`; the last week of data is the week starting `week_start`."""
    rng = random.Random(seed)
    truth = MarketTruth(week_start=week_start)
    end = datetime.combine(week_start, time(0), tzinfo=UTC) + timedelta(days=7)
    first = end - timedelta(days=7 * weeks)
    families = {
        "acme": ["acme", "acme-kettle", "acme-toaster"],
        "brightco": ["brightco", "bright-blender"],
        "rivalco": ["rivalco", "rival-kettle"],
        "zenith": ["zenith", "zenith-fryer"],
    }
    authors = [f"user{i:03d}" for i in range(80)] + ["kimreviews", "gadgetguru"]
    sources = [
        ("demo-forum", SourceKind.forum),
        ("demo-reviews", SourceKind.review),
        ("demo-news", SourceKind.news),
    ]
    mentions: list[Mention] = []
    for w in range(weeks):
        last = w == weeks - 1
        # acme grows and turns more negative in the last week (the kettle shift); zenith fades
        weights = {
            "acme": 3 + (2 if last else 0),
            "brightco": 2,
            "rivalco": 3,
            "zenith": 2 - (1 if last else 0),
        }
        n = per_week + (per_week // 3 if last else 0)
        for i in range(n):
            owner = rng.choices(list(weights), weights=list(weights.values()))[0]
            ent = rng.choice(families[owner])
            kettle_trouble = last and ent == "acme-kettle"
            kind = rng.choices(
                ["compliment", "complaint", "idea", "question", "other"],
                weights=[2, 5 if kettle_trouble else 3, 2, 1, 1],
            )[0]
            area = rng.choice(BUSINESS_AREAS)
            if kind == "compliment":
                label, score = "positive", rng.uniform(0.3, 0.95)
            elif kind == "complaint":
                label, score = "negative", -rng.uniform(0.3, 0.95)
            else:
                label, score = rng.choice(
                    [("neutral", rng.uniform(-0.2, 0.2)), ("positive", rng.uniform(0.2, 0.6))]
                )
            hazards: list[str] = []
            if (kettle_trouble and rng.random() < 0.5) or rng.random() < 0.03:
                hazards = rng.sample(_HAZARDS, k=rng.choice([1, 1, 2]))
            topic = 5 if (last and owner == "zenith" and rng.random() < 0.6) else rng.choice([1, 2, 3, 4])
            words = rng.sample(_WORDS[kind], 3) + rng.sample(_AREA_WORDS[area], 2)
            name = ent.replace("-", " ").title()
            text = f"{name}: {' '.join(words)}. " + (
                f"It caused a {hazards[0].replace('_', ' ')}." if hazards else ""
            )
            source, source_kind = rng.choice(sources)
            author = rng.choice(authors)
            published = first + timedelta(days=7 * w, seconds=rng.randrange(7 * 86400))
            entities = [ent] if ent == owner else [ent, owner] if rng.random() < 0.5 else [ent]
            m = Mention(
                source=source,
                source_kind=source_kind,
                url=f"https://{source}.example/t/{w}-{i}",
                author=author,
                author_reach=1000 if author in ("kimreviews", "gadgetguru") else rng.randrange(10, 500),
                published=published,
                language="en",
                title=f"About the {name}",
                text=text,
                enriched=True,
                entities=entities,
                sentiment=label,
                sentiment_score=round(score, 3),
                target_sentiments=[
                    TargetSentiment(entity=e, label=label, score=round(score, 3)) for e in entities
                ],
                topic_id=topic,
                topic_label=_TOPICS[topic],
                voc_kind=kind,
                business_area=area,
                safety_hazards=hazards,
                safety_severity=(2 if "fire_burn" in hazards or "injury" in hazards else 1) if hazards else 0,
                models={"sentiment": "synthetic@1"},
            )
            mentions.append(m)
    if hostile:
        for j, payload in enumerate(HOSTILE):
            mentions.append(
                Mention(
                    source="demo-forum",
                    source_kind=SourceKind.forum,
                    url="javascript:alert(document.cookie)",
                    external_id=f"hostile-{j}",
                    author=payload,
                    author_reach=5000,
                    published=end - timedelta(hours=10 + j),
                    title=payload,
                    text=f"Acme Kettle is on fire {payload} complaint broken refund",
                    enriched=True,
                    entities=["acme", "acme-kettle"],
                    sentiment="negative",
                    sentiment_score=-0.9,
                    topic_id=9,
                    topic_label=payload,
                    voc_kind="complaint",
                    business_area="product",
                    safety_hazards=["fire_burn"],
                    safety_severity=3,
                )
            )
    store.upsert_mentions(mentions)
    truth.mention_ids = [m.id for m in mentions]
    week_start_dt = end - timedelta(days=7)
    truth.week_mention_ids = [m.id for m in mentions if m.published >= week_start_dt]
    kettle_ids = [
        m.id
        for m in mentions
        if m.published >= week_start_dt and "acme-kettle" in m.entities and m.safety_hazards
    ][:8]
    rival_ids = [m.id for m in mentions if m.published >= week_start_dt and "rivalco" in m.entities][:3]
    _write_events(store, truth, week_start_dt, kettle_ids, rival_ids, hostile)
    _write_tickets(store, truth, week_start_dt, kettle_ids, hostile)
    store.put_doc(
        "authors",
        "kimreviews",
        {"id": "kimreviews", "author": "kimreviews", "score": 0.92, "reach": 1000, "watched": True},
    )
    store.put_doc(
        "authors",
        "gadgetguru",
        {"id": "gadgetguru", "author": "gadgetguru", "score": 0.75, "reach": 1000, "watched": False},
    )
    if hostile:
        for j in (1, 3):
            store.put_doc(
                "authors",
                f"hostile-{j}",
                {"id": f"hostile-{j}", "author": HOSTILE[j], "score": 0.99, "reach": 5000, "watched": True},
            )
    return truth


def _write_events(
    store: Store, truth: MarketTruth, week: datetime, ids: list[str], blip_ids: list[str], hostile: bool
) -> None:
    start = week + timedelta(days=1)
    shift = TrendEvent(
        id=TrendEvent.make_id("entity", "acme-kettle", "safety_count", "up", start),
        kind="shift",
        reason="level",
        group_by="entity",
        key="acme-kettle",
        metric="safety_count",
        direction="up",
        start=start,
        end=week + timedelta(days=6),
        detected_at=week + timedelta(days=4),
        baseline=0.3,
        level=4.0,
        change=3.7,
        relative_change=12.3,
        confidence=0.97,
        p_value=0.001,
        periods_confirmed=4,
        authors=14,
        sources=3,
        drivers=["leaking", "fire", "lid", *([HOSTILE[0]] if hostile else [])],
        topics=["kettle lid leaks"],
        safety_hazards={"fire_burn": 5, "injury": 3},
        mention_ids=ids,
        series=[
            SeriesValue(t=week - timedelta(days=13 - d), value=v, count=int(v) + 5)
            for d, v in enumerate([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 4, 5, 3, 4, 5, 4, 6])
        ],
        method="synthetic@1",
    )
    blips = [
        TrendEvent(
            id=TrendEvent.make_id("entity", "rivalco", "volume", "up", week + timedelta(days=2)),
            kind="blip",
            reason="single_author",
            group_by="entity",
            key="rivalco",
            metric="volume",
            direction="up",
            start=week + timedelta(days=2),
            end=week + timedelta(days=2),
            detected_at=week + timedelta(days=3),
            baseline=5,
            level=19,
            change=14,
            confidence=0.4,
            authors=1,
            sources=1,
            mention_ids=blip_ids,
        ),
        TrendEvent(
            id=TrendEvent.make_id("source", "demo-news", "negative_share", "up", week + timedelta(days=5)),
            kind="blip",
            reason="reverted",
            group_by="source",
            key="demo-news",
            metric="negative_share",
            direction="up",
            start=week + timedelta(days=5),
            end=week + timedelta(days=5),
            detected_at=week + timedelta(days=6),
            baseline=0.2,
            level=0.6,
            change=0.4,
            confidence=0.3,
            authors=3,
            sources=1,
        ),
    ]
    store.put_doc("trends", shift.id, shift.model_dump(mode="json"))
    for b in blips:
        store.put_doc("trends", b.id, b.model_dump(mode="json"))
    truth.shift_id = shift.id
    truth.blip_ids = [b.id for b in blips]


def _write_tickets(store: Store, truth: MarketTruth, week: datetime, ids: list[str], hostile: bool) -> None:
    opened = Ticket(
        id="t-kettle",
        type="product",
        subject="acme-kettle",
        title="Acme Kettle: fire/burn reports rising" + (f" {HOSTILE[2]}" if hostile else ""),
        severity="critical",
        team="product-safety",
        state="open",
        created=week + timedelta(days=4),
        updated=week + timedelta(days=4),
        due=week + timedelta(days=4, hours=4),
        evidence=Evidence(trend_ids=[truth.shift_id], mention_ids=ids),
    )
    resolved = Ticket(
        id="t-rival",
        type="competitor",
        subject="rivalco",
        title="RivalCo price cut",
        severity="medium",
        team="competitive-intelligence",
        state="resolved",
        created=week - timedelta(days=5),
        updated=week + timedelta(days=2),
        due=week - timedelta(days=2),
        history=[
            HistoryEntry(
                at=week + timedelta(days=2),
                who="ana",
                action="resolve",
                from_state="in_progress",
                to_state="resolved",
            )
        ],
    )
    overdue = Ticket(
        id="t-kim",
        type="opinion_leader",
        subject="kimreviews",
        title="Kim Reviews video on blender noise",
        severity="high",
        team="communications",
        state="acknowledged",
        created=week - timedelta(days=3),
        updated=week - timedelta(days=2),
        due=week - timedelta(days=2),
    )
    week_end = week + timedelta(days=7)
    after = Ticket(  # opened by the run that closes the week, for one of its shifts
        id="t-toaster",
        type="product",
        subject="acme-toaster",
        title="Acme Toaster: follow-up on the kettle shift",
        severity="high",
        team="product-safety",
        state="open",
        created=week_end + timedelta(hours=1),
        updated=week_end + timedelta(hours=1),
        due=week_end + timedelta(hours=25),
        evidence=Evidence(trend_ids=[truth.shift_id], mention_ids=ids[:2]),
    )
    later = Ticket(  # opened later for something else: not this week's business
        id="t-later",
        type="competitor",
        subject="zenith",
        title="Zenith launch",
        severity="low",
        team="competitive-intelligence",
        state="open",
        created=week_end + timedelta(days=2),
        updated=week_end + timedelta(days=2),
        due=week_end + timedelta(days=9),
    )
    for t in (opened, resolved, overdue, after, later):
        store.put_doc("tickets", t.id, t.model_dump(mode="json"))
    truth.ticket_ids = {
        "opened": opened.id,
        "resolved": resolved.id,
        "overdue": overdue.id,
        "opened_after": after.id,
        "later": later.id,
    }
