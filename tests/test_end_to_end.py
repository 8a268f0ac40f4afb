"""End to end: the README's main job on the demo market, then a re-run that must change nothing.

`groundswell demo` builds the seeded market, serves it on loopback, crawls it for real, enriches,
indexes, detects, tickets and reports. The planted product-safety problem must become a product
ticket; the planted one-off rant and bot burst must not open tickets. Running the pipeline again
over the same web must not add a mention, an event or a ticket.
"""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundswell.cli import app
from groundswell.config import load_config
from groundswell.demo import serve_market
from groundswell.demo.truth import MarketTruth
from groundswell.pipeline import run_pipeline
from groundswell.store import Filters, open_store

pytestmark = pytest.mark.slow

END = date(2026, 11, 22)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("demo")
    port = _free_port()
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--end", END.isoformat(), "--port", str(port)]
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    truth = MarketTruth.model_validate_json((out / "web" / "truth.json").read_text(encoding="utf-8"))
    return {"out": out, "port": port, "output": result.output, "truth": truth}


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
