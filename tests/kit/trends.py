"""Synthetic enriched mentions with one planted shift and one single-account burst, for tests and demos.

`planted_mentions()` gives 60 days of two entities (`acme-phone`, `globex`), about 14 mentions a
day each from thousands of distinct authors: from day 45 the negative share of `acme-phone`
jumps from 12% to 55% with battery-overheating complaints (a shift); on day 50 one account
(`angry_bot`) posts 80 times about `globex` (a blip).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from groundswell.mention import Mention, SourceKind, TargetSentiment

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 60
SHIFT_DAY = 45
BURST_DAY = 50

_BENIGN = [
    "love the new colours",
    "works fine for me",
    "arrived on time",
    "good value overall",
    "nice design",
]
_COMPLAINTS = [
    "battery overheating after charging",
    "the battery got hot and swelled",
    "overheating battery again",
]


def _mention(i: int, day: int, hour: int, entity: str, author: str, negative: bool, text: str) -> Mention:
    sentiment, score = ("negative", -0.8) if negative else ("positive", 0.6)
    return Mention(
        source="demo-forum" if i % 2 else "demo-reviews",
        source_kind=SourceKind.forum if i % 2 else SourceKind.review,
        url=f"https://demo.example/{entity}/{i}",
        author=author,
        published=DAY0 + timedelta(days=day, hours=hour),
        text=f"{entity} {text}",
        enriched=True,
        entities=[entity],
        sentiment=sentiment,
        sentiment_score=score,
        target_sentiments=[TargetSentiment(entity=entity, label=sentiment, score=score)],
        voc_kind="complaint" if negative else "compliment",
    )


def planted_mentions() -> list[Mention]:
    rng = np.random.default_rng(42)
    out: list[Mention] = []
    i = 0
    for day in range(DAYS):
        for entity in ("acme-phone", "globex"):
            n = int(rng.poisson(14))
            p_neg = 0.55 if entity == "acme-phone" and day >= SHIFT_DAY else 0.12
            for _ in range(n):
                negative = bool(rng.random() < p_neg)
                pool = _COMPLAINTS if negative and entity == "acme-phone" and day >= SHIFT_DAY else _BENIGN
                text = pool[int(rng.integers(len(pool)))]
                author = f"user{int(rng.integers(5000))}"
                out.append(_mention(i, day, int(rng.integers(24)), entity, author, negative, text))
                i += 1
        if day == BURST_DAY:  # one account floods globex for a day
            for _ in range(80):
                out.append(
                    _mention(
                        i, day, int(rng.integers(24)), "globex", "angry_bot", True, "globex is a scam avoid"
                    )
                )
                i += 1
    return out
