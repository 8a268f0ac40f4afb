"""Synthetic, enriched markets for tests, benchmarks and trying the tools out.

Each generator takes a `seed`, returns the truth with the data, and writes only through the `Store`
interface, so any backend can be filled; the trend events and tickets are the ones the detector and
the alerts stage would have written (`write_records`).

The weekly market (the brief's tests and benchmark): `make_market(store, week_start=..., seed=...)`
fills the store with `weeks` weeks of mentions ending with the week starting `week_start` (a Monday)
for two brands and two competitors (`synthetic_config`), with varied voice-of-the-customer kinds,
business areas, sentiment and safety signals, a topic that emerges in the last week, one real shift
and two blips, tickets (opened, resolved, overdue, and two opened after the week) and author scores.
With `hostile=True` it also plants markup and script in posts, authors, titles, topic labels, URLs,
ticket titles and trend drivers, for the escaping test. The truth is a `MarketTruth`.

The web sample (the web UI's tests, its benchmark and trying it out): `sample_config()` declares one
brand (with a product), two competitors, three sources and the three routing teams.
`synthetic_mentions(n, seed=...)` returns enriched mentions over `days` days, with forum threads and,
in the last `shift_days`, a planted rise of negative "overheating" complaints about the brand's
kettle (the truth is returned alongside: `SampleTruth`). `sample_records(...)` builds the
`TrendEvent`s (that shift, plus a blip) and `Ticket`s for it; `load_sample(store)` writes it all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from groundswell.config import Config, parse_config
from groundswell.mention import BUSINESS_AREAS, Mention, SourceKind, TargetSentiment
from groundswell.records import Evidence, HistoryEntry, SeriesValue, Ticket, TrendEvent, stable_id
from groundswell.store.base import Store

SOURCES = (("demo-forum", "forum"), ("demo-reviews", "review"), ("demo-news", "news"))
_MODEL = "synthetic@1"  # what the mentions say enriched them


def write_records(store: Store, events: list[TrendEvent], tickets: list[Ticket]) -> None:
    """Store trend events and tickets as the detector and the alerts stage store them."""
    for e in events:
        store.put_trend_event(e)
    for t in tickets:
        store.put_ticket(t)


def _per_entity(entities: list[str], label: str, score: float) -> list[TargetSentiment]:
    """Synthetic mentions feel the same about every entity they name."""
    return [TargetSentiment(entity=e, label=label, score=round(score, 3)) for e in entities]


# ---- the weekly market (the brief) -------------------------------------------------------------
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
            source, source_kind = rng.choice(SOURCES)
            author = rng.choice(authors)
            published = first + timedelta(days=7 * w, seconds=rng.randrange(7 * 86400))
            entities = [ent] if ent == owner else [ent, owner] if rng.random() < 0.5 else [ent]
            m = Mention(
                source=source,
                source_kind=SourceKind(source_kind),
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
                target_sentiments=_per_entity(entities, label, score),
                topic_id=topic,
                topic_label=_TOPICS[topic],
                voc_kind=kind,
                business_area=area,
                safety_hazards=hazards,
                safety_severity=(2 if "fire_burn" in hazards or "injury" in hazards else 1) if hazards else 0,
                models={"sentiment": _MODEL},
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
    shift, *blips = _market_events(week_start_dt, kettle_ids, rival_ids, hostile)
    tickets = _market_tickets(week_start_dt, shift.id, kettle_ids, hostile)
    write_records(store, [shift, *blips], list(tickets.values()))
    truth.shift_id = shift.id
    truth.blip_ids = [b.id for b in blips]
    truth.ticket_ids = {role: t.id for role, t in tickets.items()}
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


def _market_events(week: datetime, ids: list[str], blip_ids: list[str], hostile: bool) -> list[TrendEvent]:
    """The week's kettle safety shift, then two blips."""
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
    return [shift, *blips]


def _market_tickets(week: datetime, shift_id: str, ids: list[str], hostile: bool) -> dict[str, Ticket]:
    """The tickets by their role in the brief: opened, resolved and overdue this week, two opened after it."""
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
        evidence=Evidence(trend_ids=[shift_id], mention_ids=ids),
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
        evidence=Evidence(trend_ids=[shift_id], mention_ids=ids[:2]),
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
    return {"opened": opened, "resolved": resolved, "overdue": overdue, "opened_after": after, "later": later}


# ---- the web sample ----------------------------------------------------------------------------
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
        target_sentiments=_per_entity(entities, sentiment, score),
        emotion={"negative": "anger", "neutral": "optimism", "positive": "joy"}[sentiment],
        topic_id=i % 5,
        topic_label=("kettle heat", "delivery delays", "pricing", "support", "design")[i % 5],
        voc_kind=_KIND[sentiment],
        business_area=rng.choice(_AREAS),
        models={"sentiment": _MODEL},
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
    write_records(store, events, tickets)
    return mentions, truth, events, tickets
