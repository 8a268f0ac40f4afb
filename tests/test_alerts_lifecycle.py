"""The ticket state machine: every legal and illegal transition, assignment, history, escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts import (
    IllegalTransition,
    TicketNotFound,
    allowed_actions,
    assign,
    dismissal_feedback,
    escalate_overdue,
    list_tickets,
    load_ticket,
    process_events,
    transition,
)
from alerts.lifecycle import STATES, TRANSITIONS, save_ticket
from groundswell.records import Ticket, TicketState
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import T0, http_receiver, make_config, make_event, make_mention

NOW = T0 + timedelta(days=4)


def _ticket(state: TicketState = "open", severity: str = "medium", due_hours: float = 72) -> Ticket:
    return Ticket(
        id="t1",
        type="product",
        subject="acme-kettle",
        title="Acme kettle: defect signal",
        severity=severity,  # type: ignore[arg-type]
        team="product-safety",
        state=state,
        created=NOW,
        updated=NOW,
        due=NOW + timedelta(hours=due_hours),
    )


@pytest.fixture
def store() -> SqliteStore:
    return SqliteStore(":memory:")


LEGAL = [(state, action) for action, t in TRANSITIONS.items() for state in t.sources]
ILLEGAL = [(state, action) for action, t in TRANSITIONS.items() for state in STATES if state not in t.sources]


@pytest.mark.parametrize(("state", "action"), LEGAL)
def test_transition_legal_moves_state_and_appends_history(
    store: SqliteStore, state: TicketState, action: str
) -> None:
    save_ticket(store, _ticket(state))
    later = NOW + timedelta(hours=1)
    ticket = transition(store, "t1", action, who="ana", note="checked the threads", now=later)
    assert ticket.state == TRANSITIONS[action].target
    entry = ticket.history[-1]
    assert (entry.who, entry.action, entry.from_state, entry.to_state, entry.at) == (
        "ana",
        action,
        state,
        TRANSITIONS[action].target,
        later,
    )
    assert load_ticket(store, "t1") == ticket  # stored


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_transition_illegal_raises_naming_state_action_and_allowed(
    store: SqliteStore, state: TicketState, action: str
) -> None:
    save_ticket(store, _ticket(state))
    with pytest.raises(IllegalTransition) as err:
        transition(store, "t1", action, who="ana", note="reason")
    message = str(err.value)
    assert action in message and f"'{state}'" in message
    for allowed in allowed_actions(state):
        assert allowed in message
    assert load_ticket(store, "t1").history == []  # nothing written


def test_transition_full_path_open_to_resolved(store: SqliteStore) -> None:
    save_ticket(store, _ticket("open"))
    for action in ("acknowledge", "start", "resolve"):
        transition(store, "t1", action, who="ana", now=NOW)
    ticket = load_ticket(store, "t1")
    assert ticket.state == "resolved"
    assert [h.action for h in ticket.history] == ["acknowledge", "start", "resolve"]


def test_transition_unknown_action_lists_actions(store: SqliteStore) -> None:
    save_ticket(store, _ticket("open"))
    with pytest.raises(IllegalTransition, match=r"unknown action 'close'.*acknowledge"):
        transition(store, "t1", "close", who="ana")


def test_transition_unknown_ticket_raises_not_found(store: SqliteStore) -> None:
    with pytest.raises(TicketNotFound, match="no ticket with id 'nope'"):
        transition(store, "nope", "acknowledge", who="ana")


@pytest.mark.parametrize("reason", ["", "   "])
def test_transition_dismiss_requires_reason(store: SqliteStore, reason: str) -> None:
    save_ticket(store, _ticket("open"))
    with pytest.raises(ValueError, match="needs a reason"):
        transition(store, "t1", "dismiss", who="ana", note=reason)
    assert load_ticket(store, "t1").state == "open"


def test_transition_dismiss_reason_kept_for_tuning_and_cleared_on_reopen(store: SqliteStore) -> None:
    save_ticket(store, _ticket("acknowledged"))
    ticket = transition(store, "t1", "dismiss", who="ana", note="one angry reseller, not a trend", now=NOW)
    assert ticket.dismiss_reason == "one angry reseller, not a trend"
    feedback = dismissal_feedback(store)
    assert [(f["ticket_id"], f["reason"]) for f in feedback] == [("t1", "one angry reseller, not a trend")]
    config = make_config()
    later = NOW + timedelta(days=2)
    reopened = transition(store, "t1", "reopen", who="bo", now=later, config=config)
    assert reopened.state == "open" and reopened.dismiss_reason is None
    assert reopened.due == later + timedelta(hours=config.alerts.sla_hours["medium"])
    assert dismissal_feedback(store)[0]["reason"] == "one angry reseller, not a trend"  # history keeps it


def test_transition_with_assignee_assigns_in_the_same_step(store: SqliteStore) -> None:
    save_ticket(store, _ticket("open"))
    ticket = transition(store, "t1", "start", who="ana", assignee="bo", now=NOW)
    assert (ticket.state, ticket.assignee) == ("in_progress", "bo")
    assert [h.action for h in ticket.history] == ["start", "assign"]


def test_transition_assign_action_delegates_to_assign(store: SqliteStore) -> None:
    save_ticket(store, _ticket("acknowledged"))
    assert transition(store, "t1", "assign", who="ana", assignee="bo", now=NOW).assignee == "bo"
    with pytest.raises(ValueError, match="needs a person's name"):
        transition(store, "t1", "assign", who="ana")


def test_assign_records_previous_assignee(store: SqliteStore) -> None:
    save_ticket(store, _ticket("open"))
    assign(store, "t1", "bo", who="ana", now=NOW)
    ticket = assign(store, "t1", "cy", who="ana", now=NOW)
    assert ticket.assignee == "cy" and ticket.state == "open"
    assert ticket.history[-1].note == "assigned to cy (was bo)"


@pytest.mark.parametrize("state", ["resolved", "dismissed"])
def test_assign_closed_ticket_is_illegal(store: SqliteStore, state: TicketState) -> None:
    save_ticket(store, _ticket(state))
    with pytest.raises(IllegalTransition, match=rf"cannot assign ticket t1: it is '{state}'.*reopen"):
        assign(store, "t1", "bo", who="ana")


def test_list_tickets_filters_and_orders_by_severity(store: SqliteStore) -> None:
    for i, (sev, state, team) in enumerate(
        [
            ("low", "open", "product-safety"),
            ("critical", "open", "product-safety"),
            ("high", "resolved", "communications"),
        ]
    ):
        t = _ticket(state, sev).model_copy(update={"id": f"t{i}", "team": team})  # type: ignore[arg-type]
        save_ticket(store, t)
    assert [t.id for t in list_tickets(store)] == ["t1", "t2", "t0"]
    assert [t.id for t in list_tickets(store, state="open")] == ["t1", "t0"]
    assert [t.id for t in list_tickets(store, team="communications")] == ["t2"]
    assert [t.id for t in list_tickets(store, severity="low")] == ["t0"]


def test_escalate_overdue_raises_severity_once_per_lapse_and_notifies(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as hook:
        monkeypatch.setenv("GS_TEST_HOOK", hook.url)
        config = make_config({"product-safety": [{"kind": "webhook", "url_env": "GS_TEST_HOOK"}]})
        save_ticket(store, _ticket("acknowledged", "medium", due_hours=-1))  # overdue by an hour
        save_ticket(store, _ticket("resolved", "medium", due_hours=-1).model_copy(update={"id": "t-closed"}))
        save_ticket(store, _ticket("open", "low", due_hours=100).model_copy(update={"id": "t-not-due"}))

        escalated = escalate_overdue(config, store, NOW)
        assert [t.id for t in escalated] == ["t1"]
        ticket = load_ticket(store, "t1")
        assert (ticket.severity, ticket.escalated, ticket.state) == ("high", True, "acknowledged")
        assert ticket.due == NOW + timedelta(hours=config.alerts.sla_hours["high"])
        assert ticket.history[-1].action == "escalate" and "medium -> high" in ticket.history[-1].note
        assert [r.json()["event"] for r in hook.delivered] == ["ticket.escalated"]

        assert escalate_overdue(config, store, NOW) == []  # same lapse: nothing more
        assert len(hook.requests) == 1
        # still untouched one SLA period later: escalates again, to critical
        again = escalate_overdue(config, store, NOW + timedelta(hours=25))
        assert [t.severity for t in again] == ["critical"]
        assert len(hook.delivered) == 2


def test_escalate_overdue_reaches_tickets_opened_by_the_pipeline(store: SqliteStore) -> None:
    config = make_config()
    mentions = [make_mention(i, hazards=("defect",)) for i in range(6)]
    store.upsert_mentions(mentions)
    process_events(config, store, [make_event("acme-kettle", mentions=mentions)], now=NOW)
    (ticket,) = list_tickets(store)
    assert escalate_overdue(config, store, ticket.due - timedelta(minutes=1)) == []
    (escalated,) = escalate_overdue(config, store, ticket.due + timedelta(minutes=1))
    assert escalated.id == ticket.id and escalated.escalated
