"""The ticket flow through the store interface on both backends (embedded SQLite, Elasticsearch via
osmem-server): open, dedup on re-run, exactly-once notification, lifecycle, reopen, escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts import Notifier, escalate_overdue, list_tickets, load_ticket, process_events, transition
from groundswell.store.base import Store
from tests.kit.alerts import T0, http_receiver, make_config, make_event, make_mention

NOW = T0 + timedelta(days=4)


def test_ticket_flow_same_on_every_backend(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with http_receiver(fail_first=1) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = make_config({"product-safety": [{"kind": "webhook", "url_env": "GS_HOOK_URL"}]})
        mentions = [
            make_mention(i, hazards=("fire_burn",), severity=2, thread=f"https://forum.example/th/{i}")
            for i in range(5)
        ]
        store.upsert_mentions(mentions)
        event = make_event(
            "acme-kettle",
            metric="safety_count",
            baseline=2,
            level=3,
            mentions=mentions,
            hazards={"fire_burn": 5},
        )

        def run(now):  # type: ignore[no-untyped-def]
            notifier = Notifier(smtp=config.alerts.smtp, max_attempts=1, backoff_s=0)
            return process_events(config, store, [event], now=now, notifier=notifier)

        first = run(NOW)
        assert (first.opened, first.notified, first.notify_failed) == (1, 0, 1)
        second = run(NOW + timedelta(hours=1))
        assert (second.unchanged, second.notified) == (1, 1)
        assert run(NOW + timedelta(hours=2)).notified == 0
        assert len(hook.delivered) == 1

        (ticket,) = list_tickets(
            store, state="open", team="product-safety", ticket_type="product", severity="high"
        )
        assert ticket.evidence.threads[:2] == ["https://forum.example/th/0", "https://forum.example/th/1"]
        transition(store, ticket.id, "acknowledge", who="ana", now=NOW + timedelta(hours=3))
        assert list_tickets(store, state="open") == []
        transition(store, ticket.id, "resolve", who="ana", now=NOW + timedelta(hours=4))

        back = make_event(
            "acme-kettle",
            metric="safety_count",
            start=T0 + timedelta(days=30),
            baseline=2,
            level=3,
            mentions=mentions,
        )
        assert process_events(config, store, [back], now=NOW + timedelta(days=30)).reopened == 1
        reopened = load_ticket(store, ticket.id)
        assert reopened.state == "open"
        assert [h.action for h in reopened.history] == ["open", "acknowledge", "resolve", "reopen"]
        escalated = escalate_overdue(config, store, reopened.due + timedelta(minutes=1))
        assert [t.severity for t in escalated] == ["critical"]
        assert [r.json()["event"] for r in hook.delivered] == [
            "ticket.opened",
            "ticket.reopened",
            "ticket.escalated",
        ]
