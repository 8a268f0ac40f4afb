"""Act: BPM-style action tickets, their lifecycle, routing and notifications.

- `process_events(config, store, events, now=...) -> TicketSummary`: the pipeline's "act" step
  (`alerts.tickets`), with the rules in `alerts.rules`.
- `transition`, `assign`, `escalate_overdue`, `list_tickets`, `load_ticket`, `dismissal_feedback`:
  the lifecycle (`alerts.lifecycle`), used by `groundswell tickets` (`alerts.cli`).
- `Notifier`: the notification outbox and channels (`alerts.notify`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from groundswell.lazy import lazy_attributes

if TYPE_CHECKING:
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

# imported on first use so that `import alerts.cli` (the command line) stays fast
_LAZY = {
    "Decision": "alerts.rules",
    "DeliveryReport": "alerts.notify",
    "IllegalTransition": "alerts.lifecycle",
    "NotActionable": "alerts.rules",
    "Notifier": "alerts.notify",
    "TRANSITIONS": "alerts.lifecycle",
    "TicketNotFound": "alerts.lifecycle",
    "TicketSummary": "alerts.tickets",
    "allowed_actions": "alerts.lifecycle",
    "assign": "alerts.lifecycle",
    "classify": "alerts.rules",
    "dismissal_feedback": "alerts.lifecycle",
    "escalate_overdue": "alerts.lifecycle",
    "list_tickets": "alerts.lifecycle",
    "load_ticket": "alerts.lifecycle",
    "process_events": "alerts.tickets",
    "transition": "alerts.lifecycle",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
