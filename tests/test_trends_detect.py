"""The store-backed `trends.detect` on an in-memory SQLite store filled with synthetic enriched mentions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundswell.config import Config, parse_config
from groundswell.mention import Mention, TargetSentiment
from groundswell.records import TrendEvent
from groundswell.store.sqlite import SqliteStore
from trends.detect import detect

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 60
SHIFT_DAY = 45
BURST_DAY = 50

_BENIGN = ["love the new colours", "works fine for me", "arrived on time", "good value overall", "nice design"]
_COMPLAINTS = ["battery overheating after charging", "the battery got hot and swelled", "overheating battery again"]


def _mention(i: int, day: int, hour: int, entity: str, author: str, negative: bool, text: str) -> Mention:
    sentiment, score = ("negative", -0.8) if negative else ("positive", 0.6)
    return Mention(
        source="demo-forum" if i % 2 else "demo-reviews",
        source_kind="forum" if i % 2 else "review",
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


def _mentions() -> list[Mention]:
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
                out.append(_mention(i, day, int(rng.integers(24)), "globex", "angry_bot", True, "globex is a scam avoid"))
                i += 1
    return out


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(
        {
            "brands": [{"id": "acme", "name": "Acme", "products": [{"id": "acme-phone", "name": "Acme Phone"}]}],
            "competitors": [{"id": "globex", "name": "Globex"}],
        }
    )


@pytest.fixture()
def store() -> SqliteStore:
    s = SqliteStore(":memory:")
    s.upsert_mentions(_mentions())
    return s


NOW = DAY0 + timedelta(days=DAYS, hours=6)


def test_detect_finds_negative_shift_with_evidence(config: Config, store: SqliteStore) -> None:
    summary = detect(config, store, now=NOW)
    shifts = [e for e in summary.events if e.kind == "shift" and e.key == "acme-phone" and e.metric == "negative_share"]
    assert len(shifts) == 1
    shift = shifts[0]
    assert shift.direction == "up" and abs((shift.start - (DAY0 + timedelta(days=SHIFT_DAY))).days) <= 2
    assert shift.authors >= config.trends.min_authors and shift.sources == 2
    assert {"battery", "overheating"} & set(shift.drivers)
    assert shift.mention_ids and len(shift.mention_ids) <= 10
    assert shift.level > shift.baseline + 0.2 and shift.confidence > 0.9
    assert shift.series and shift.series[-1].t == DAY0 + timedelta(days=DAYS - 1)
    assert summary.series_tested >= 4


def test_detect_single_account_burst_is_not_a_shift(config: Config, store: SqliteStore) -> None:
    events = detect(config, store, now=NOW).events
    globex = [e for e in events if e.key == "globex"]
    assert not [e for e in globex if e.kind == "shift"]
    burst = [e for e in globex if e.kind == "blip" and e.start == DAY0 + timedelta(days=BURST_DAY)]
    assert burst and burst[0].top_authors[0] == "angry_bot"


def test_detect_rerun_is_idempotent(config: Config, store: SqliteStore) -> None:
    first = detect(config, store, now=NOW)
    docs_first = store.query_docs("trends", limit=10_000)
    second = detect(config, store, now=NOW)
    docs_second = store.query_docs("trends", limit=10_000)
    assert sorted(e.id for e in first.events) == sorted(e.id for e in second.events)
    assert len(docs_first) == len(docs_second) == len(first.events)
    assert all(d["id"] == TrendEvent.model_validate(d).id for d in docs_second)


def test_detect_ongoing_shift_keeps_its_id_as_data_arrives(config: Config, store: SqliteStore) -> None:
    early = detect(config, store, now=DAY0 + timedelta(days=SHIFT_DAY + 9))
    late = detect(config, store, now=NOW)
    ids_early = {e.id for e in early.events if e.kind == "shift" and e.key == "acme-phone"}
    ids_late = {e.id for e in late.events if e.kind == "shift" and e.key == "acme-phone"}
    assert ids_early and ids_early <= ids_late
    stored = store.query_docs("trends", where={"key": "acme-phone", "kind": "shift", "metric": "negative_share"})
    assert len(stored) == 1


def test_detect_backfill_is_deterministic(config: Config) -> None:
    runs = []
    for _ in range(2):
        s = SqliteStore(":memory:")
        s.upsert_mentions(_mentions())
        summary = detect(config, s, start=DAY0, end=DAY0 + timedelta(days=DAYS))
        runs.append(sorted((e.id, e.kind, e.reason, e.confidence) for e in summary.events))
        assert s.get_state("trends")["last_mode"] == "backfill"
    assert runs[0] == runs[1] and runs[0]


def test_detect_empty_store_tests_nothing(config: Config) -> None:
    summary = detect(config, SqliteStore(":memory:"), now=NOW)
    assert summary.series_tested == 0 and summary.events == []


def test_detect_rejects_inverted_window(config: Config, store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="must be before"):
        detect(config, store, start=NOW, end=DAY0)
