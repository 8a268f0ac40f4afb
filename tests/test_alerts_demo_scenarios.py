"""The demo market's planted scenarios, as the detector reports them, become exactly the tickets the
truth expects: one product ticket (SteamPro safety), one competitor ticket (AirChef X launch), one
opinion-leader ticket (Dana Reyes on the CleanBot subscription); the rant and the bot burst none.

The events are hand-built the way `trends.detect` reports a scenario: the product's own series, its
brand's series and a source series can all shift for one story, and each story must keep one ticket.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alerts import Notifier, list_tickets, process_events
from groundswell.app.demo.config import demo_config
from groundswell.config import parse_config
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import T0, make_event, make_mention

NOW = T0 + timedelta(days=10)


def test_demo_scenarios_open_one_ticket_each(tmp_path: Path) -> None:
    config = parse_config(demo_config("http://127.0.0.1:9", tmp_path), base_dir=tmp_path)
    store = SqliteStore(":memory:")
    burns = [
        make_mention(
            i,
            entity="acme-steampro",
            text="My SteamPro overheated and burned my hand",
            hazards=("fire_burn", "injury"),
            severity=3,
        )
        for i in range(12)
    ]
    for m in burns[:4]:
        m.entities.append("acme")
    launch = [
        make_mention(
            100 + i, entity="zephyr-airchef-x", text="The new AirChef X is out", sentiment="positive"
        )
        for i in range(12)
    ]
    for m in launch[:3]:
        m.entities.append("zephyr")
    root = make_mention(
        200, entity="acme-cleanbot", author="danareyes", reach=184_000, text="CleanBot now paywalls mapping"
    )
    echoes = [
        make_mention(201 + i, entity="acme-cleanbot", text="Dana Reyes is right about the CleanBot paywall")
        for i in range(10)
    ]
    for m in echoes:
        m.entities.append("dana-reyes")
    rant = [
        make_mention(300 + i, entity="acme-breezefan", author="furious_fred", text="WORST FAN EVER")
        for i in range(9)
    ]
    store.upsert_mentions([*burns, *launch, root, *echoes, *rant])

    events = [
        # steampro-safety: product series, brand series, a source series
        make_event(
            "acme-steampro",
            metric="safety_count",
            baseline=0.2,
            level=4,
            mentions=burns,
            hazards={"fire_burn": 12, "injury": 5},
        ),
        make_event("acme-steampro", metric="negative_share", baseline=0.15, level=0.6, mentions=burns),
        make_event(
            "acme", metric="safety_count", baseline=0.3, level=4, mentions=burns, hazards={"fire_burn": 12}
        ),
        make_event(
            "demo-forum", group_by="source", metric="negative_share", baseline=0.2, level=0.4, mentions=burns
        ),
        # airchef-x-launch: product and brand volume
        make_event(
            "zephyr-airchef-x",
            metric="volume",
            baseline=0.5,
            level=9,
            mentions=launch,
            drivers=("airchef", "new", "steam"),
        ),
        make_event("zephyr", metric="volume", baseline=6, level=14, mentions=launch),
        # leader-cleanbot-subscription: the leader's entity series and the product's opinion shift
        make_event("dana-reyes", metric="volume", baseline=0.2, level=6, mentions=[root, *echoes]),
        make_event(
            "acme-cleanbot", metric="negative_share", baseline=0.2, level=0.7, mentions=[root, *echoes]
        ),
        # breezefan-rant and robovac-bot-burst: the detector calls them blips
        make_event("acme-breezefan", metric="negative_share", kind="blip", mentions=rant),
        make_event("novaline-robovac", metric="volume", kind="blip"),
    ]
    notifier = Notifier(smtp=config.alerts.smtp, max_attempts=1, backoff_s=0)
    summary = process_events(config, store, events, now=NOW, notifier=notifier)
    assert (summary.opened, summary.skipped) == (3, 2)
    tickets = {(t.type, t.subject): t for t in list_tickets(store)}
    assert set(tickets) == {
        ("product", "acme-steampro"),
        ("competitor", "zephyr-airchef-x"),
        ("opinion_leader", "dana-reyes"),
    }
    safety = tickets[("product", "acme-steampro")]
    assert (safety.severity, safety.team, len(safety.evidence.trend_ids)) == ("critical", "product-safety", 4)
    assert tickets[("competitor", "zephyr-airchef-x")].team == "competitive-intelligence"
    assert "launch" in tickets[("competitor", "zephyr-airchef-x")].title
    leader = tickets[("opinion_leader", "dana-reyes")]
    assert (leader.team, leader.severity, len(leader.evidence.trend_ids)) == ("communications", "high", 2)
    assert "danareyes" in leader.evidence.authors
    # the demo config's email channels point at an SMTP server that is not running: recorded, not raised
    ledger = store.query_docs("notifications")
    assert len(ledger) == 3 and summary.notify_failed == 1  # the others wait: the server already failed
    assert sorted(r["status"] for r in ledger) == ["failed", "pending", "pending"]
