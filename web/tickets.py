"""The one place the web UI changes a ticket: `apply_action`, a thin adapter over `alerts.lifecycle`.

The ticket state machine, assignment and history belong to `alerts/`; the web UI only names the
action and who takes it (the logged-in user, or "local" on loopback without auth).
"""

from __future__ import annotations

from datetime import datetime

from alerts.lifecycle import IllegalTransition, TicketNotFound, allowed_actions, assign, transition
from alerts.lifecycle import load_ticket as _load_ticket
from groundswell.config import Config
from groundswell.records import Ticket
from groundswell.store.base import Store

ACTIONS = ("acknowledge", "start", "assign", "resolve", "dismiss", "reopen")


class TicketActionError(ValueError):
    """A lifecycle action cannot be applied; the message says why and what is allowed."""


def available_actions(state: str) -> list[str]:
    """The actions offered on a ticket in `state`, in lifecycle order."""
    allowed = set(allowed_actions(state))  # type: ignore[arg-type]
    return [a for a in ACTIONS if a in allowed]


def apply_action(
    store: Store,
    ticket_id: str,
    action: str,
    *,
    who: str,
    note: str = "",
    assignee: str | None = None,
    config: Config | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Apply a lifecycle action to a stored ticket as `who`; returns the updated ticket.

    Raises TicketActionError when the action is unknown, not allowed in the ticket's state, or lacks
    what it needs (a reason to dismiss, an assignee to assign); KeyError for an unknown ticket.
    """
    if action not in ACTIONS:
        raise TicketActionError(f"unknown ticket action '{action}'; allowed: {', '.join(ACTIONS)}")
    note = note.strip()
    try:
        if action == "assign":
            if not assignee or not assignee.strip():
                raise TicketActionError("assigning a ticket needs the name of the person who owns the work")
            return assign(store, ticket_id, assignee.strip(), who=who, note=note, now=now)
        if action == "dismiss" and not note:
            raise TicketActionError("dismissing a ticket needs a reason")
        return transition(store, ticket_id, action, who=who, note=note, now=now, config=config)
    except TicketNotFound as err:
        raise KeyError(str(err)) from err
    except (IllegalTransition, ValueError) as err:
        if isinstance(err, TicketActionError):
            raise
        raise TicketActionError(str(err)) from err


def load_ticket(store: Store, ticket_id: str) -> Ticket:
    """The stored ticket; KeyError when there is none."""
    try:
        return _load_ticket(store, ticket_id)
    except TicketNotFound as err:
        raise KeyError(str(err)) from err
