"""The store's typed record accessors (tickets, trend events, saved searches) on both backends:
they round-trip the `groundswell.records` models, keep the tickets' compare-and-set, and report or
skip a stored document that is not a valid record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from groundswell.records import Evidence, HistoryEntry, SavedQuery, Ticket
from groundswell.store.base import Store, StoreError, collection_of
from tests.kit.alerts import make_event

T0 = datetime(2024, 3, 4, tzinfo=UTC)


def _ticket(ticket_id: str = "t1", *, state: str = "open", severity: str = "medium") -> Ticket:
    return Ticket(
        id=ticket_id,
        type="product",
        subject="acme",
        title=f"ticket {ticket_id}",
        severity=severity,  # type: ignore[arg-type]
        team="product-quality",
        state=state,  # type: ignore[arg-type]
        created=T0,
        updated=T0,
        due=T0 + timedelta(days=1),
        history=[HistoryEntry(at=T0, who="groundswell", action="open", to_state="open")],
    )


def test_store_tickets_round_trip_and_filter(store: Store) -> None:
    assert store.get_ticket("t1") is None
    store.put_ticket(_ticket("t1"))
    store.put_ticket(_ticket("t2", state="resolved", severity="high"))
    assert store.get_ticket("t1") == _ticket("t1")
    assert [t.id for t in store.tickets(where={"state": "resolved"})] == ["t2"]
    assert sorted(t.id for t in store.tickets()) == ["t1", "t2"]


def test_store_put_ticket_if_writes_only_at_the_version_read(store: Store) -> None:
    assert store.put_ticket_if(_ticket("t1"), None)  # create-only
    assert not store.put_ticket_if(_ticket("t1", severity="high"), None)  # it exists now
    found = store.get_ticket_versioned("t1")
    assert found is not None
    ticket, version = found
    changed = ticket.model_copy(update={"severity": "critical"})
    assert store.put_ticket_if(changed, version)
    assert not store.put_ticket_if(ticket.model_copy(update={"severity": "low"}), version)  # stale
    assert store.get_ticket("t1") == changed
    assert store.get_ticket_versioned("missing") is None


def test_store_trend_events_round_trip_filter_and_order(store: Store) -> None:
    older = make_event("acme", start=T0)
    newer = make_event("acme", start=T0 + timedelta(days=7), kind="blip")
    other = make_event("globex", start=T0 + timedelta(days=1))
    for event in (older, newer, other):
        store.put_trend_event(event)
    assert store.get_trend_event(newer.id) == newer
    assert store.get_trend_event("missing") is None
    listed = store.trend_events(where={"key": "acme"}, order_by="start", descending=True)
    assert [e.id for e in listed] == [newer.id, older.id]
    assert [e.id for e in store.trend_events(where={"kind": "blip"})] == [newer.id]


def test_store_saved_queries_by_name_and_delete(store: Store) -> None:
    for name in ("zeta", "alpha"):
        store.put_saved_query(
            SavedQuery(
                id=SavedQuery.make_id(name), name=name, q="overheating", form={"lang": "en"}, created=T0
            )
        )
    assert [q.name for q in store.saved_queries()] == ["alpha", "zeta"]
    store.delete_saved_query(SavedQuery.make_id("zeta"))
    assert [q.name for q in store.saved_queries()] == ["alpha"]


def test_store_invalid_record_raises_or_is_handed_to_on_invalid(store: Store) -> None:
    good = make_event("acme")
    store.put_trend_event(good)
    store.put_doc("trends", "broken", {"id": "broken", "kind": "shift"})  # most fields missing
    with pytest.raises(ValidationError):
        store.get_trend_event("broken")
    with pytest.raises(ValidationError):
        store.trend_events()
    skipped: list[dict[str, Any]] = []
    assert store.trend_events(on_invalid=lambda doc, err: skipped.append(doc)) == [good]
    assert [d["id"] for d in skipped] == ["broken"]


def test_store_record_without_a_collection_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="no collection holds Evidence records; typed records: Ticket"):
        store.put_record(Evidence())
    assert collection_of(Ticket) == "tickets"


def test_ticket_log_change_keeps_the_state_in_the_entry() -> None:
    ticket = _ticket(state="in_progress")
    ticket.log_change("assign", who="ann", at=T0, note="assigned to bob")
    entry = ticket.history[-1]
    assert (entry.action, entry.who, entry.from_state, entry.to_state, entry.note) == (
        "assign",
        "ann",
        "in_progress",
        "in_progress",
        "assigned to bob",
    )
