"""End to end, after the demo: running the pipeline again over the same web must not add a mention,
an event or a ticket; a run a week later with the demo web gone is an outage, not a collapse.

Each test runs on its own copy of the shared `groundswell demo` run (`demo_copy` in conftest.py), so
the demo the other end-to-end tests read stays as the demo command left it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundswell.app.cli import app
from groundswell.app.demo import serve_market
from groundswell.app.pipeline import run_pipeline
from groundswell.config import load_config
from groundswell.store import open_store
from tests.conftest import DEMO_END

pytestmark = pytest.mark.slow

END = DEMO_END  # the shared `demo_run` (tests/conftest.py) is the demo market ending that day


def test_rerun_over_the_same_web_changes_nothing(demo_copy: dict[str, Any]) -> None:
    out: Path = demo_copy["out"]
    cfg = load_config(out / "groundswell.yaml")
    with open_store(cfg) as store:
        before = (
            store.count(),
            sorted(d["id"] for d in store.query_docs("trends", limit=100_000)),
            sorted((t["id"], t["state"], len(t["history"])) for t in store.query_docs("tickets")),
        )
        now = datetime.combine(END + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        with serve_market(out / "web", port=demo_copy["port"]):
            summary = run_pipeline(cfg, store, now=now)
        after = (
            store.count(),
            sorted(d["id"] for d in store.query_docs("trends", limit=100_000)),
            sorted((t["id"], t["state"], len(t["history"])) for t in store.query_docs("tickets")),
        )
    assert summary.tickets.opened == 0
    assert after == before


def test_a_run_a_week_later_with_every_source_failing_is_an_outage_not_a_collapse(
    demo_copy: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo web is gone a week later: every source fails. That is an outage, not a collapse:
    no shift, one source-health event per source, no ticket touched, no brief, a non-zero exit."""
    from crawlers.http import ApiHttp

    # The feed clients still retry every refused connection, without sleeping out the backoff (1+2+4 s
    # per feed source; the backoff itself is tested in tests/test_feeds_http.py).
    waits: list[float] = []
    monkeypatch.setattr(
        ApiHttp,
        "from_settings",
        classmethod(lambda cls, config: cls(user_agent=config.user_agent, sleep=waits.append)),
    )
    out: Path = demo_copy["out"]
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
    assert waits, "the feed clients retried before giving up"
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
