"""The brief asks the store through the `Store` interface only, so both backends give the same brief."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from brief.build import build_brief
from brief.data import collect_brief_data
from tests.kit.sample import make_market, synthetic_config

pytestmark = [pytest.mark.es, pytest.mark.slow]  # starts osmem-server: a few seconds

WEEK = date(2026, 11, 16)
NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)


def test_brief_numbers_agree_on_sqlite_and_elasticsearch(both_stores, tmp_path: Path) -> None:
    sqlite, es = both_stores
    for store in (sqlite, es):
        make_market(store, week_start=WEEK, seed=11, per_week=60, weeks=2)
    config = synthetic_config(tmp_path)
    a = collect_brief_data(config, sqlite, WEEK, now=NOW)
    b = collect_brief_data(config, es, WEEK, now=NOW)
    assert a.mentions == b.mentions > 0
    assert a.prev_mentions == b.prev_mentions
    assert [(r.entity_id, r.count, r.prev_count) for r in a.share_of_voice] == [
        (r.entity_id, r.count, r.prev_count) for r in b.share_of_voice
    ]
    for sa, sb in zip(a.sentiment, b.sentiment, strict=True):
        assert [(p.week, p.count) for p in sa.points] == [(p.week, p.count) for p in sb.points]
        assert [p.mean for p in sa.points] == pytest.approx([p.mean for p in sb.points], abs=1e-6)
    assert [(t.label, t.count, t.prev_count) for t in a.topics] == [
        (t.label, t.count, t.prev_count) for t in b.topics
    ]
    assert [(r.area, r.count, r.prev_count) for r in a.scorecard] == [
        (r.area, r.count, r.prev_count) for r in b.scorecard
    ]
    assert [(r.entity_id, r.total, r.hazards) for r in a.safety] == [
        (r.entity_id, r.total, r.hazards) for r in b.safety
    ]
    assert a.cloud_counts == b.cloud_counts
    assert [r.event.id for r in a.shifts] == [r.event.id for r in b.shifts]
    assert {r.event.id for r in a.blips} == {r.event.id for r in b.blips}
    assert a.tickets and b.tickets
    assert [r.ticket.id for r in a.tickets.overdue] == [r.ticket.id for r in b.tickets.overdue]
    assert [(ld.author, ld.count) for ld in a.leaders] == [(ld.author, ld.count) for ld in b.leaders]

    result = build_brief(config, es, week_start=WEEK, out_dir=tmp_path / "es", pdf=False, now=NOW)
    assert result.mentions == a.mentions
    assert es.get_doc("briefs", WEEK.isoformat()) is not None
