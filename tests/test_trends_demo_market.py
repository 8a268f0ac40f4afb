"""The demo market's planted scenarios, as the detector classifies them.

The posts come straight from the demo generator (no crawl), enriched by a deliberately crude
stand-in for the NLP stage (VADER sentiment, the review rating where there is one, entities from
the post's product, its brand and the opinion leaders named), so that this test judges the
detector alone. The full pipeline is checked end to end by the lead's demo run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from groundswell.app.demo.catalog import BRAND_OF, LEADERS
from groundswell.app.demo.config import demo_config
from groundswell.app.demo.generate import Post, generate_market
from groundswell.config import parse_config
from groundswell.mention import Mention, SourceKind, TargetSentiment
from groundswell.records import TrendEvent
from groundswell.store.sqlite import SqliteStore
from trends.detect import detect

END = date(2026, 3, 29)
WEEKS = 9


def _mention(post: Post, vader: SentimentIntensityAnalyzer) -> Mention:
    score = vader.polarity_scores(f"{post.title} {post.text}")["compound"]
    if post.rating is not None:
        score = (post.rating - 3) / 2
    label = "negative" if score <= -0.05 else "positive" if score >= 0.05 else "neutral"
    entities: list[str] = []
    if post.product:
        entities += [post.product, BRAND_OF[post.product].id]
    for leader in LEADERS:
        if post.author == leader.handle or any(name in post.text for name in (leader.name, *leader.handles)):
            entities.append(leader.id)
    safety = post.scenario == "safety"
    return Mention(
        source=f"demo-{post.channel}",
        source_kind=SourceKind(post.channel if post.channel != "review" else "review"),
        url=f"https://demo.test/{post.channel}/{post.uid}",
        author=post.author,
        published=post.published,
        title=post.title,
        text=post.text or " ".join(post.paragraphs),
        enriched=True,
        entities=entities,
        sentiment=label,
        sentiment_score=score,
        target_sentiments=[TargetSentiment(entity=e, label=label, score=score) for e in entities],
        voc_kind="complaint" if label == "negative" else "compliment" if label == "positive" else "other",
        safety_hazards=["fire_burn", "injury"] if safety else [],
        safety_severity=2 if safety else 0,
    )


def test_demo_market_scenarios_are_classified(tmp_path: Path) -> None:
    market = generate_market(7, END - timedelta(days=WEEKS * 7 - 1), WEEKS * 7)
    config = parse_config(demo_config("http://127.0.0.1:9", tmp_path), base_dir=tmp_path)
    vader = SentimentIntensityAnalyzer()
    store = SqliteStore(":memory:")
    store.upsert_mentions(_mention(p, vader) for p in market.posts)
    summary = detect(config, store, now=datetime.combine(END + timedelta(days=1), time(6), tzinfo=UTC))
    events: list[TrendEvent] = summary.events
    by_name = {s.name: s for s in market.scenarios}

    def shifts(entity: str, metric: str | None = None) -> list[TrendEvent]:
        return [
            e
            for e in events
            if e.kind == "shift" and e.key == entity and (metric is None or e.metric == metric)
        ]

    safety = by_name["steampro-safety"]
    found = [
        e
        for e in shifts(safety.entity)
        if e.direction == "up" and e.metric in ("safety_count", "negative_share", "complaint_share")
    ]
    assert found, "the SteamPro safety story is a shift"
    assert any(e.authors >= config.trends.min_authors and e.mention_ids for e in found)

    launch = by_name["airchef-x-launch"]
    assert [e for e in shifts(launch.entity, "volume") if e.direction == "up"], (
        "the AirChef X launch is a volume shift"
    )

    def blips(entity: str, metric: str) -> list[TrendEvent]:
        return [e for e in events if e.kind == "blip" and e.key == entity and e.metric == metric]

    rant = by_name["breezefan-rant"]
    assert not shifts(rant.entity), "one angry owner's evening is not a shift"
    # with this crude sentiment the rant is 9 of 11 negatives against a 20% share: too weak to
    # be recorded as a blip at q 0.05 over ~3000 bucket tests (the full demo's NLP records it,
    # tests/test_end_to_end.py); whatever is recorded about it must be one author's
    assert all(e.reason == "single_author" for e in blips(rant.entity, rant.metric))

    bots = by_name["robovac-bot-burst"]
    assert not shifts(bots.entity, "volume"), "a bot burst is not a shift"
    burst = blips(bots.entity, "volume")
    assert len(burst) == 1 and burst[0].reason in ("bot_burst", "single_author")
    assert burst[0].start.date() == bots.start.date()

    weekly = by_name["weekend-rhythm"]
    assert not shifts(weekly.entity, "volume"), "the weekend rhythm is not a shift"
