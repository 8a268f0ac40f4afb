"""Act: BPM-style action tickets, their lifecycle, routing and notifications.

- `process_events(config, store, events, now=...) -> TicketSummary`: the pipeline's "act" step
  (`alerts.tickets`), with the rules in `alerts.rules`.
- `transition`, `assign`, `escalate_overdue`, `list_tickets`, `load_ticket`, `dismissal_feedback`:
  the lifecycle (`alerts.lifecycle`), used by `groundswell tickets` (`alerts.cli`).
- `Notifier`: the notification outbox and channels (`alerts.notify`).
"""

from __future__ import annotations

from alerts.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    TicketNotFound,
    allowed_actions,
    assign,
    dismissal_feedback,
    escalate_overdue,
    list_tickets,
    load_ticket,
    transition,
)
from alerts.notify import DeliveryReport, Notifier
from alerts.rules import Decision, NotActionable, classify
from alerts.tickets import TicketSummary, process_events

__all__ = [
    "TRANSITIONS",
    "Decision",
    "DeliveryReport",
    "IllegalTransition",
    "NotActionable",
    "Notifier",
    "TicketNotFound",
    "TicketSummary",
    "allowed_actions",
    "assign",
    "classify",
    "dismissal_feedback",
    "escalate_overdue",
    "list_tickets",
    "load_ticket",
    "process_events",
    "transition",
]
