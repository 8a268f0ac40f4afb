"""`trends.detect` reads only the store's aggregations, so SQLite and Elasticsearch give the same events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from groundswell.config import parse_config
from groundswell.store.base import Store
from tests.kit.trends import BURST_DAY, DAY0, DAYS, planted_mentions
from trends.detect import detect

pytestmark = [pytest.mark.es, pytest.mark.slow]  # starts osmem-server: a few seconds

NOW = DAY0 + timedelta(days=DAYS, hours=6)


def test_detect_finds_the_same_events_on_sqlite_and_elasticsearch(both_stores: tuple[Store, Store]) -> None:
    config = parse_config(
        {
            "brands": [
                {"id": "acme", "name": "Acme", "products": [{"id": "acme-phone", "name": "Acme Phone"}]}
            ],
            "competitors": [{"id": "globex", "name": "Globex"}],
        }
    )
    mentions = planted_mentions()
    # a copy burst that dedup collapsed: one stored mention standing for 40 near-identical posts
    burst = mentions[-1].model_copy(
        update={"published": DAY0 + timedelta(days=BURST_DAY - 8, hours=13), "duplicate_count": 40}
    )
    runs = []
    for store in both_stores:
        store.upsert_mentions([*mentions[:-1], burst])
        summary = detect(config, store, now=NOW)
        runs.append(summary)
    sqlite, es = runs
    assert sqlite.series_tested == es.series_tested > 0
    rows = [
        sorted((e.id, e.kind, e.reason, e.authors, e.sources, round(e.level, 6)) for e in run.events)
        for run in runs
    ]
    assert rows[0] == rows[1]
    assert [e.confidence for e in sorted(sqlite.events, key=lambda e: e.id)] == pytest.approx(
        [e.confidence for e in sorted(es.events, key=lambda e: e.id)]
    )
    assert {e.kind for e in sqlite.events} == {"shift", "blip"}
    assert [e for e in sqlite.events if e.reason == "bot_burst" and e.metric == "volume"]
