"""End to end: the README's main job on the demo market.

`groundswell demo` builds the seeded market, serves it on loopback, crawls it for real, enriches,
indexes, detects, tickets and reports. The planted product-safety problem must become a product
ticket; the planted one-off rant and bot burst must not open tickets. The runs that follow the demo
(the same web again, every source failing a week later) are in `tests/test_end_to_end_reruns.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from groundswell.app.demo.truth import MarketTruth
from groundswell.config import load_config
from groundswell.store import Filters, open_store
from tests.conftest import DEMO_END

pytestmark = pytest.mark.slow

END = DEMO_END  # the shared `demo_run` (tests/conftest.py) is the demo market ending that day


def _scenario(truth: MarketTruth, name: str) -> Any:
    (sc,) = [s for s in truth.scenarios if s.name == name]
    return sc


def test_demo_writes_store_brief_and_summary(demo_run: dict[str, Any]) -> None:
    out: Path = demo_run["out"]
    cfg = load_config(out / "groundswell.yaml")
    with open_store(cfg) as store:
        total = store.count()
        assert total >= 0.8 * demo_run["truth"].total_items
        assert store.count(Filters(enriched=False)) == 0
    briefs = sorted((out / "briefs").glob("brief-*.html"))
    assert briefs and briefs[-1].stat().st_size > 10_000
    assert not sorted((out / "briefs").glob("brief-*.pdf")), "demo_run passes --no-pdf"
    assert "planted scenarios" in demo_run["output"]


def test_demo_safety_problem_becomes_a_product_ticket(demo_run: dict[str, Any]) -> None:
    cfg = load_config(demo_run["out"] / "groundswell.yaml")
    safety = _scenario(demo_run["truth"], "steampro-safety")
    with open_store(cfg) as store:
        tickets = store.query_docs("tickets", where={"subject": safety.entity})
    assert [t["type"] for t in tickets] == ["product"]
    ticket = tickets[0]
    assert ticket["team"] == cfg.alerts.routing["product"]
    assert ticket["severity"] in ("high", "critical")
    assert len(ticket["evidence"]["authors"]) >= cfg.trends.min_authors
    assert ticket["evidence"]["threads"], "a ticket lists the threads behind it for outreach"


def test_demo_opinion_leader_shift_becomes_her_ticket(demo_run: dict[str, Any]) -> None:
    cfg = load_config(demo_run["out"] / "groundswell.yaml")
    leader = _scenario(demo_run["truth"], "leader-cleanbot-subscription")
    with open_store(cfg) as store:
        shifts = store.query_docs("trends", where={"key": leader.entity, "kind": "shift"})
        tickets = store.query_docs("tickets", where={"subject": leader.entity})
    assert [(e["metric"], e["direction"]) for e in shifts] == [("volume", "up")]
    assert abs(datetime.fromisoformat(shifts[0]["start"]) - leader.start) <= timedelta(days=2)
    assert [t["type"] for t in tickets] == ["opinion_leader"]
    assert tickets[0]["team"] == cfg.alerts.routing["opinion_leader"]


def test_demo_rant_and_bot_burst_are_recorded_as_blips(demo_run: dict[str, Any]) -> None:
    cfg = load_config(demo_run["out"] / "groundswell.yaml")
    with open_store(cfg) as store:
        for name, reasons in (("breezefan-rant", {"single_author"}), ("robovac-bot-burst", {"bot_burst"})):
            sc = _scenario(demo_run["truth"], name)
            events = store.query_docs("trends", where={"key": sc.entity, "metric": sc.metric})
            assert [e["kind"] for e in events] == ["blip"], name
            assert events[0]["reason"] in reasons, name
            assert datetime.fromisoformat(events[0]["start"]).date() == sc.start.date(), name


def test_demo_rant_and_bot_burst_open_no_ticket(demo_run: dict[str, Any]) -> None:
    cfg = load_config(demo_run["out"] / "groundswell.yaml")
    truth = demo_run["truth"]
    with open_store(cfg) as store:
        tickets = store.query_docs("tickets")
        for name in ("breezefan-rant", "robovac-bot-burst"):
            sc = _scenario(truth, name)
            assert not [t for t in tickets if t["subject"] == sc.entity], f"{name} must not open a ticket"
            for author in sc.authors:
                assert not [t for t in tickets if t["subject"] == author], f"{name}: no ticket about {author}"
