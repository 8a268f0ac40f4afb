"""Issue 15, item 1: the brief shows a developing signal as developing (watched, not confirmed),
never among the blips it filtered out; a source-health event is not a blip either."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from brief.data import collect_brief_data
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import make_event, make_mention
from tests.kit.sample import synthetic_config

WEEK = date(2026, 11, 16)
START = datetime(2026, 11, 18, tzinfo=UTC)


def test_brief_lists_developing_signals_apart_from_blips() -> None:
    store = SqliteStore(":memory:")
    mentions = [make_mention(i) for i in range(3)]
    for i, m in enumerate(mentions):
        m.published = START + timedelta(hours=i)
    store.upsert_mentions(mentions)
    developing = make_event("acme-kettle", kind="developing", start=START, baseline=4.0, level=9.0)
    developing = developing.model_copy(update={"reason": "developing", "team": "product-safety"})
    blip = make_event("acme-kettle", kind="blip", metric="negative_share", start=START)
    health = make_event("demo-forum", kind="health", group_by="source", start=START)
    health = health.model_copy(update={"reason": "failing", "team": "operations"})
    for event in (developing, blip, health):
        store.put_doc("trends", event.id, event.model_dump(mode="json"))
    config = synthetic_config(Path(tempfile.mkdtemp()))
    data = collect_brief_data(config, store, WEEK, now=START + timedelta(days=6))
    assert [r.event.id for r in data.developing] == [developing.id]
    assert "developing, not confirmed yet, watched by product-safety" in data.developing[0].summary
    assert [r.event.id for r in data.blips] == [blip.id]
    assert data.shifts == []
