"""End to end: the README's main job on the demo market, then a re-run that must change nothing.

`groundswell demo` builds the seeded market, serves it on loopback, crawls it for real, enriches,
indexes, detects, tickets and reports. The planted product-safety problem must become a product
ticket; the planted one-off rant and bot burst must not open tickets. Running the pipeline again
over the same web must not add a mention, an event or a ticket.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundswell.app.cli import app
from groundswell.app.demo import serve_market
from groundswell.app.demo.truth import MarketTruth
from groundswell.app.pipeline import run_pipeline
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
    assert sorted((out / "briefs").glob("brief-*.pdf"))
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


def test_rerun_over_the_same_web_changes_nothing(demo_run: dict[str, Any]) -> None:
    out: Path = demo_run["out"]
    cfg = load_config(out / "groundswell.yaml")
    with open_store(cfg) as store:
        before = (
            store.count(),
            sorted(d["id"] for d in store.query_docs("trends", limit=100_000)),
            sorted((t["id"], t["state"], len(t["history"])) for t in store.query_docs("tickets")),
        )
        now = datetime.combine(END + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        with serve_market(out / "web", port=demo_run["port"]):
            summary = run_pipeline(cfg, store, now=now)
        after = (
            store.count(),
            sorted(d["id"] for d in store.query_docs("trends", limit=100_000)),
            sorted((t["id"], t["state"], len(t["history"])) for t in store.query_docs("tickets")),
        )
    assert summary.tickets.opened == 0
    assert after == before


def test_a_run_a_week_later_with_every_source_failing_is_an_outage_not_a_collapse(
    demo_run: dict[str, Any],
) -> None:
    """The demo web is gone a week later: every source fails. That is an outage, not a collapse:
    no shift, one source-health event per source, no ticket touched, no brief, a non-zero exit."""
    out: Path = demo_run["out"]
    cfg_path = out / "groundswell.yaml"
    cfg = load_config(cfg_path)

    def snapshot() -> tuple[Any, ...]:
        with open_store(cfg) as store:
            return (
                sorted(d["id"] for d in store.query_docs("trends", where={"kind": "shift"}, limit=100_000)),
                sorted(
                    (t["id"], t["state"], t["severity"], t.get("escalated"), len(t["history"]))
                    for t in store.query_docs("tickets")
                ),
            )

    shifts_before, tickets_before = snapshot()
    briefs_before = sorted(p.name for p in (out / "briefs").iterdir())
    now = datetime.combine(END + timedelta(days=8), datetime.min.time(), tzinfo=UTC)
    result = CliRunner().invoke(app, ["run", "-c", str(cfg_path), "--now", now.isoformat()])
    assert result.exit_code != 0, result.output
    assert "every source failed" in result.output
    shifts_after, tickets_after = snapshot()
    assert shifts_after == shifts_before  # zero new shifts: no "volume 17.8 -> 0 (-100%)"
    assert tickets_after == tickets_before  # nothing escalated or updated on an outage
    assert sorted(p.name for p in (out / "briefs").iterdir()) == briefs_before
    with open_store(cfg) as store:
        health = store.query_docs("trends", where={"kind": "health"}, limit=1000)
    enabled = sorted(s.name for s in cfg.sources if s.enabled)
    assert sorted(d["key"] for d in health) == enabled
    assert {d["reason"] for d in health} == {"failing"}
    assert {d["team"] for d in health} == {cfg.trends.health_team}
