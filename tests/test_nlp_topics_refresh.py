"""Maintenance refresh of the topic model: pooled outliers become topics, stored labels follow."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from groundswell.config import parse_config
from groundswell.mention import Mention
from groundswell.store.sqlite import SqliteStore
from nlp.topics import TopicModel, refresh_topics


def _mention(i: int, text: str) -> Mention:
    return Mention(
        source="forum",
        source_kind="forum",
        url=f"http://forum.test/p/{i}",
        author=f"a{i}",
        published=datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=i),
        text=text,
        enriched=True,
    )


def test_refresh_topics_forms_topics_from_the_pool_and_updates_stored_mentions(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    direction = rng.normal(size=16)
    # min_topic_size larger than one batch: the first mentions wait in the pool
    model = TopicModel(min_topic_size=4)
    texts = [
        "battery charger overheating again",
        "charger battery gets hot",
        "battery charger melted",
        "hot charger battery smell",
    ]
    mentions = [_mention(i, t) for i, t in enumerate(texts)]
    vectors = np.stack([direction + 0.01 * rng.normal(size=16) for _ in texts])
    model.update([m.id for m in mentions[:3]], vectors[:3], texts[:3])
    assert not model.topics and len(model.pool) == 3
    model.pool.append((mentions[3].id, vectors[3], ["battery", "charger", "hot"]))  # arrived through the pool
    state = tmp_path / "topics.json"
    state.write_text(json.dumps(model.to_state()), encoding="utf-8")
    store = SqliteStore(":memory:")
    store.upsert_mentions(mentions)

    result = refresh_topics(parse_config({}), store, state_path=state)

    assert result["topics"] == 1 and result["reassigned"] == 4 and result["relabelled"] == 4
    stored = store.get_mentions([m.id for m in mentions])
    assert {m.topic_id for m in stored} == {0}
    assert all("battery" in (m.topic_label or "") or "charger" in (m.topic_label or "") for m in stored)
    again = refresh_topics(parse_config({}), store, state_path=state)
    assert again["relabelled"] == 0 and again["reassigned"] == 0
