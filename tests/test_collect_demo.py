"""collect_all over the whole demo market on loopback: every source kind for real, then an incremental re-run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crawlers.collect import WEB_KINDS, collect_all
from groundswell.app.demo import build_market, demo_config, serve_market
from groundswell.config import parse_config
from groundswell.store.sqlite import SqliteStore


@pytest.mark.slow
def test_collect_all_crawls_the_demo_market_and_reruns_incrementally(tmp_path: Path) -> None:
    build_market(tmp_path / "site", end=date(2026, 11, 20), weeks=1)
    with serve_market(tmp_path / "site") as base:
        config = parse_config(demo_config(base, tmp_path / "data"))
        store = SqliteStore(":memory:")
        first = collect_all(config, store)
        stored = store.count()
        # the spiders' own incremental re-runs are tested in test_spiders_*; here the in-process clients
        feeds = [s.name for s in config.sources if s.enabled and s.kind not in WEB_KINDS]
        second = collect_all(config, store, sources=feeds)
    enabled = {s.name for s in config.sources if s.enabled}
    assert {s.source for s in first} == enabled
    for s in first:
        assert s.errors == 0, (s.source, s.error_reasons)
        assert s.items > 0 and s.pages > 0, s.source
        assert s.new + s.duplicates <= s.items
    assert stored == sum(s.new for s in first)
    assert all(m.published.tzinfo is not None for m in store.iter_mentions())
    assert len(second) >= 3
    for s in second:
        assert s.errors == 0 and s.new == 0, (s.source, s.new, s.error_reasons)
    assert store.count() == stored
