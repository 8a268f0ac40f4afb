"""The ticket lifecycle: an explicit state machine, assignment, escalation of overdue tickets.

    open --acknowledge--> acknowledged --start--> in_progress --resolve--> resolved
      |                        |                      |
      +------------------------+--dismiss (reason)----+--> dismissed
    resolved / dismissed --reopen--> open   (by a person, or by the pipeline when the shift returns)

`start` is also allowed straight from `open`, `resolve` from `acknowledged`. Assignment does not
change the state and is allowed while a ticket is active. Every change appends a `HistoryEntry`
(who, what, when); history is never rewritten. Dismissal reasons are kept (on the ticket and in
its history) and `dismissal_feedback(store)` hands them to the detector's tuning.

History actions: `open`, `evidence`, `severity`, `reopen` (by the pipeline, who="groundswell"),
`acknowledge`, `start`, `resolve`, `dismiss`, `reopen`, `assign` (by people), `escalate`
(by `escalate_overdue`). Every change is a compare-and-set on the stored ticket's version
(`Store.put_ticket_if`): when another writer (the pipeline's act step, a person in the web UI or the
CLI) changed the ticket in between, the change is re-applied to the fresh ticket, so no history
entry is lost; an action that is no longer allowed then fails with `IllegalTransition`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from groundswell.config import Config
from groundswell.records import SEVERITY_ORDER, HistoryEntry, Severity, Ticket, TicketState
from groundswell.store import Store
from groundswell.store.base import DocVersion

logger = logging.getLogger(__name__)

STATES: tuple[TicketState, ...] = ("open", "acknowledged", "in_progress", "resolved", "dismissed")
ACTIVE_STATES: tuple[TicketState, ...] = ("open", "acknowledged", "in_progress")
CLOSED_STATES: tuple[TicketState, ...] = ("resolved", "dismissed")
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[TicketState, ...]
    target: TicketState


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("acknowledge", ("open",), "acknowledged"),
        Transition("start", ("open", "acknowledged"), "in_progress"),
        Transition("resolve", ("acknowledged", "in_progress"), "resolved"),
        Transition("dismiss", ACTIVE_STATES, "dismissed"),
        Transition("reopen", CLOSED_STATES, "open"),
    )
}
ASSIGNABLE_STATES: tuple[TicketState, ...] = ACTIVE_STATES
SYSTEM_USER = "groundswell"


class TicketNotFound(LookupError):
    """No ticket has this id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "ticket not found"


class IllegalTransition(ValueError):
    """The action is not allowed in the ticket's current state; the message lists what is."""


class TicketConflict(ValueError):
    """The ticket kept changing under this update (compare-and-set failed every attempt)."""


CAS_ATTEMPTS = 5


def allowed_actions(state: TicketState) -> list[str]:
    actions = [a for a, t in TRANSITIONS.items() if state in t.sources]
    if state in ASSIGNABLE_STATES:
        actions.append("assign")
    return actions


# ---- persistence -------------------------------------------------------------------------------------
def load_ticket(store: Store, ticket_id: str) -> Ticket:
    ticket = store.get_ticket(ticket_id)
    if ticket is None:
        raise TicketNotFound(f"no ticket with id '{ticket_id}' (list them with `groundswell tickets list`)")
    return ticket


def save_ticket(store: Store, ticket: Ticket) -> None:
    """Write a ticket unconditionally (a new ticket, fixtures); changes go through `update_ticket`."""
    store.put_ticket(ticket)


def load_ticket_versioned(store: Store, ticket_id: str) -> tuple[Ticket, DocVersion]:
    found = store.get_ticket_versioned(ticket_id)
    if found is None:
        raise TicketNotFound(f"no ticket with id '{ticket_id}' (list them with `groundswell tickets list`)")
    return found


def save_ticket_if(store: Store, ticket: Ticket, version: DocVersion | None) -> bool:
    """Compare-and-set: store `ticket` only if the stored one is still at `version` (None: not stored yet)."""
    return store.put_ticket_if(ticket, version)


def update_ticket(store: Store, ticket_id: str, change: Callable[[Ticket], Ticket]) -> Ticket:
    """Load, apply `change`, compare-and-set; on a concurrent change re-apply it to the fresh ticket."""
    for _ in range(CAS_ATTEMPTS):
        ticket, version = load_ticket_versioned(store, ticket_id)
        new = change(ticket)
        if save_ticket_if(store, new, version):
            return new
        logger.info("ticket %s changed while it was being updated; applying the change again", ticket_id)
    raise TicketConflict(
        f"ticket {ticket_id} kept changing while it was being updated ({CAS_ATTEMPTS} attempts); try again"
    )


def list_tickets(
    store: Store,
    *,
    state: str | None = None,
    team: str | None = None,
    ticket_type: str | None = None,
    severity: str | None = None,
    overdue_at: datetime | None = None,
    limit: int = 100_000,
) -> list[Ticket]:
    """Tickets matching every given filter, most severe first, then oldest due first.

    `overdue_at`: only active tickets whose due time is before this instant.
    """
    where: dict[str, Any] = {}
    for name, value in (("state", state), ("team", team), ("type", ticket_type), ("severity", severity)):
        if value is not None:
            where[name] = value
    tickets = store.tickets(where=where or None, limit=limit)
    if overdue_at is not None:
        tickets = [t for t in tickets if is_overdue(t, overdue_at)]
    return sorted(tickets, key=lambda t: (-SEVERITY_ORDER[t.severity], t.due, t.id))


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    return ticket.state in ACTIVE_STATES and ticket.due < now


def due_time(config: Config, severity: Severity, start: datetime) -> datetime:
    try:
        hours = config.alerts.sla_hours[severity]
    except KeyError:
        raise KeyError(
            f"alerts.sla_hours has no entry for severity '{severity}'; configured: {dict(config.alerts.sla_hours)}"
        ) from None
    return start + timedelta(hours=hours)


# ---- the state machine --------------------------------------------------------------------------------
def apply_transition(
    ticket: Ticket,
    action: str,
    *,
    who: str,
    now: datetime,
    note: str = "",
    config: Config | None = None,
) -> Ticket:
    """Apply an action to a ticket in memory (no store access) and return the changed copy."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise IllegalTransition(
            f"unknown action '{action}'; allowed actions: {', '.join([*TRANSITIONS, 'assign'])}"
        )
    if ticket.state not in transition.sources:
        allowed = allowed_actions(ticket.state)
        raise IllegalTransition(
            f"cannot {action} ticket {ticket.id}: it is '{ticket.state}'; "
            f"allowed actions in state '{ticket.state}': {', '.join(allowed) or 'none'}"
        )
    if action == "dismiss" and not note.strip():
        raise ValueError(
            f"dismissing ticket {ticket.id} needs a reason (it feeds the detector's tuning); got an empty one"
        )
    new = ticket.model_copy(deep=True)
    new.state = transition.target
    new.updated = now
    if action == "dismiss":
        new.dismiss_reason = note.strip()
    if action == "reopen":
        new.dismiss_reason = None
        new.escalated = False
        if config is not None:
            new.due = due_time(config, new.severity, now)
    new.history.append(
        HistoryEntry(
            at=now, who=who, action=action, from_state=ticket.state, to_state=new.state, note=note.strip()
        )
    )
    return new


def transition(
    store: Store,
    ticket_id: str,
    action: str,
    *,
    who: str,
    note: str = "",
    assignee: str | None = None,
    now: datetime | None = None,
    config: Config | None = None,
) -> Ticket:
    """Load a ticket, apply `action` (acknowledge, start, resolve, dismiss, reopen), store it.

    `note` is the dismissal reason for "dismiss" (mandatory). `assignee` also assigns the ticket
    in the same step (e.g. `start` with an owner); action "assign" only assigns (see `assign`).
    `config` (optional) resets the due time from the SLA on reopen. Raises `TicketNotFound`,
    `IllegalTransition`, or `ValueError` for a missing dismissal reason or assignee.
    """
    now = now or datetime.now(UTC)
    if action == "assign":
        return assign(store, ticket_id, assignee or "", who=who, note=note, now=now)

    def change(current: Ticket) -> Ticket:
        ticket = apply_transition(current, action, who=who, now=now, note=note, config=config)
        if assignee is not None and assignee != ticket.assignee:
            ticket = _assigned(ticket, assignee, who=who, now=now, note="")
        return ticket

    ticket = update_ticket(store, ticket_id, change)
    logger.info("ticket %s: %s by %s -> %s", ticket_id, action, who, ticket.state)
    return ticket


def assign(
    store: Store, ticket_id: str, assignee: str, *, who: str, note: str = "", now: datetime | None = None
) -> Ticket:
    """Set the ticket's assignee (state unchanged). Allowed while the ticket is active."""
    now = now or datetime.now(UTC)

    def change(ticket: Ticket) -> Ticket:
        if ticket.state not in ASSIGNABLE_STATES:
            raise IllegalTransition(
                f"cannot assign ticket {ticket.id}: it is '{ticket.state}'; "
                f"allowed actions in state '{ticket.state}': {', '.join(allowed_actions(ticket.state))}"
            )
        if not assignee.strip():
            raise ValueError(f"assigning ticket {ticket.id} needs a person's name; got an empty one")
        return _assigned(ticket, assignee.strip(), who=who, now=now, note=note)

    ticket = update_ticket(store, ticket_id, change)
    logger.info("ticket %s: assigned to %s by %s", ticket_id, ticket.assignee, who)
    return ticket


def _assigned(ticket: Ticket, assignee: str, *, who: str, now: datetime, note: str) -> Ticket:
    new = ticket.model_copy(deep=True)
    previous = new.assignee
    new.assignee = assignee
    new.updated = now
    text = f"assigned to {assignee}" + (f" (was {previous})" if previous else "")
    new.log_change("assign", who=who, at=now, note=f"{text}: {note}" if note else text)
    return new


def escalate_overdue(
    config: Config, store: Store, now: datetime | None = None, *, deliver: bool = True
) -> list[Ticket]:
    """Escalate every active ticket past its due time, then notify its team.

    Escalation raises the severity one level (up to critical), sets `escalated`, appends a history
    entry and gives the ticket a new due time from the SLA of its new severity, so a ticket that
    stays overdue escalates again one SLA period later, never twice for the same lapse.
    Notifications go through the outbox (`alerts.notify`), exactly once per escalation.
    """
    from alerts.notify import Notifier

    now = now or datetime.now(UTC)
    notifier = Notifier.from_settings(config)
    escalated: list[Ticket] = []
    for listed in list_tickets(store, overdue_at=now):
        new = _escalate_one(config, store, notifier, listed.id, now)
        if new is not None:
            escalated.append(new)
    if deliver and escalated:
        notifier.deliver_pending(store, now=now)
    return escalated


def _escalate_one(
    config: Config, store: Store, notifier: Any, ticket_id: str, now: datetime
) -> Ticket | None:
    """Escalate one ticket if it is (still) overdue; compare-and-set, re-checked on a concurrent change."""
    for _ in range(CAS_ATTEMPTS):
        ticket, version = load_ticket_versioned(store, ticket_id)
        if not is_overdue(ticket, now):
            return None  # acknowledged, resolved or escalated by someone else meanwhile
        new = ticket.model_copy(deep=True)
        new.severity = SEVERITIES[min(SEVERITY_ORDER[ticket.severity] + 1, len(SEVERITIES) - 1)]
        new.escalated = True
        new.updated = now
        new.due = due_time(config, new.severity, now)
        late = now - ticket.due
        new.log_change(
            "escalate",
            who=SYSTEM_USER,
            at=now,
            note=f"overdue by {_hours(late)} (due {ticket.due.isoformat()}); severity {ticket.severity} -> {new.severity}",
        )
        ids = notifier.enqueue(config, store, new, len(new.history) - 1, now=now)
        if not save_ticket_if(store, new, version):
            for record_id in ids:  # the fresh ticket gets its own records on the next attempt
                notifier.withdraw(store, record_id, created=now)
            continue
        logger.warning(
            "ticket %s escalated: overdue by %s, severity now %s", new.id, _hours(late), new.severity
        )
        return new
    raise TicketConflict(f"ticket {ticket_id} kept changing while it was being escalated; try again")


def dismissal_feedback(store: Store) -> list[dict[str, Any]]:
    """Every dismissal with its reason and the trend events behind it, for tuning the detector."""
    out: list[dict[str, Any]] = []
    for ticket in list_tickets(store):
        for entry in ticket.history:
            if entry.action == "dismiss":
                out.append(
                    {
                        "ticket_id": ticket.id,
                        "type": ticket.type,
                        "subject": ticket.subject,
                        "reason": entry.note,
                        "at": entry.at.isoformat(),
                        "who": entry.who,
                        "trend_ids": list(ticket.evidence.trend_ids),
                    }
                )
    return out


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"
