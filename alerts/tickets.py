"""Turn the detector's shifts into tickets: open, append evidence, reopen; then notify.

`process_events(config, store, events)` is what the pipeline's "act" step calls. For every shift:
classify it (`alerts.rules`), fetch its evidence mentions from the store (authors and thread URLs
close the loop with the people who raised it), then

- no ticket with that id yet: open one (state open, due by the SLA of its severity);
- a ticket exists and is active: append the new evidence; raise its severity if the new evidence
  is more severe (never lowered automatically);
- a ticket exists and is resolved or dismissed: a *new* shift (a trend id the ticket has not seen)
  reopens it with a history entry; more evidence for the shift it already had is only appended.

Topic and source series are supporting evidence: their shifts join the ticket of the entity they
are about (see `alerts.rules`) but never open or reopen one on their own; the entity's own series
must shift too. This keeps entity-linking slips and broad topic moves from opening tickets.

A *developing* signal (a change under way, not confirmed) opens no ticket: it sends one watch
message to the team whose ticket it would open once confirmed (`Notifier.enqueue_watch`), and only
when it would open one (the same rules as for a shift; a topic or source series, or a change no
rule acts on, is not watched). The watch is keyed by the event id, which a confirmed shift keeps.

Every change appends a history entry; an event that adds nothing changes nothing, so re-running
with the same events leaves tickets, history and the notification ledger as they are. Pending
notifications are written before their ticket and delivered after all tickets are stored.
Tickets are stored with a compare-and-set on their version: when a person changed a ticket while
the run worked on it, the run's events are applied again to the fresh ticket (nothing is lost).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerts.lifecycle import (
    CAS_ATTEMPTS,
    CLOSED_STATES,
    SYSTEM_USER,
    TicketConflict,
    apply_transition,
    due_time,
    save_ticket_if,
)
from alerts.notify import NOTIFY_ACTIONS, Notifier
from alerts.rules import Decision, NotActionable, classify, describe_change, entity_index, severity_max
from groundswell.config import Config, Entity
from groundswell.mention import Mention
from groundswell.records import SEVERITY_ORDER, Evidence, HistoryEntry, SeriesValue, Ticket, TrendEvent
from groundswell.store import Store
from groundswell.store.base import DocVersion

logger = logging.getLogger(__name__)

_RANK = {"unchanged": 0, "updated": 1, "reopened": 2, "opened": 3}


@dataclass
class TicketSummary:
    """What one `process_events` call did. `tickets`: ids of every ticket the shifts map to."""

    opened: int = 0
    updated: int = 0
    reopened: int = 0
    unchanged: int = 0
    skipped: int = 0  # blips, developing signals, and shifts that are not actionable (see alerts.rules)
    watched: int = 0  # developing signals given to the outbox as a watch (a re-run writes nothing new)
    notified: int = 0  # notifications delivered in this run (including retries of earlier ones)
    notify_failed: int = 0  # deliveries that failed in this run (retried on the next one)
    escalated: int = 0  # overdue tickets escalated after this run (set by groundswell.app.pipeline.act)
    tickets: list[str] = field(default_factory=list)


def process_events(
    config: Config,
    store: Store,
    events: Sequence[TrendEvent],
    *,
    now: datetime | None = None,
    notifier: Notifier | None = None,
    deliver: bool = True,
) -> TicketSummary:
    """Open or update one ticket per ongoing shift, store them, then send the notifications.

    `notifier` defaults to `Notifier.from_settings(config)`; `deliver=False` only fills the outbox
    (a later call, or `Notifier.deliver_pending`, sends it).
    """
    now = now or datetime.now(UTC)
    notifier = notifier or Notifier.from_settings(config)
    summary = TicketSummary()
    outcome: dict[str, str] = {}
    stored: dict[str, Ticket | None] = {}  # as loaded from the store
    versions: dict[str, DocVersion | None] = {}  # their store versions, for the compare-and-set
    working: dict[str, Ticket] = {}  # with this run's changes
    entities = entity_index(config)
    decided: list[tuple[TrendEvent, Evidence, Decision]] = []
    for event in events:
        if event.kind == "developing":
            summary.watched += _watch(config, store, notifier, event, entities, now)
        if event.kind != "shift":
            summary.skipped += 1
            continue
        mentions = store.get_mentions(event.mention_ids)
        try:
            decision = classify(config, event, mentions, entities=entities)
            decided.append((event, evidence_from(event, mentions), decision))
        except NotActionable as why:
            summary.skipped += 1
            logger.info(
                "shift %s (%s %s %s) opens no ticket: %s",
                event.id,
                event.key,
                event.metric,
                event.direction,
                why,
            )
    # the subject's own series first (it names the ticket best: a product's safety_count shift
    # rather than a topic's volume), then other entity/author series, then topic and source
    # series; then by start, so the order of `events` does not matter
    decided.sort(
        key=lambda d: (_rank(d[0], d[2]), _headline(d[0], d[2]), d[0].start, d[0].detected_at, d[0].id)
    )

    def load(ticket_id: str) -> None:
        found = store.get_ticket_versioned(ticket_id)
        stored[ticket_id], versions[ticket_id] = (None, None) if found is None else found

    def apply(event: TrendEvent, evidence: Evidence, decision: Decision) -> None:
        if decision.ticket_id not in stored:
            load(decision.ticket_id)
        current = working.get(decision.ticket_id) or stored[decision.ticket_id]
        supporting = event.group_by in SUPPORTING_GROUPS
        if current is None and supporting:
            summary.skipped += 1
            logger.info(
                "shift %s (%s %s %s %s) supports %s '%s', which has no ticket: a topic or source shift "
                "adds evidence to a ticket but opens none",
                event.id,
                event.group_by,
                event.key,
                event.metric,
                event.direction,
                decision.type,
                decision.subject,
            )
            return
        if current is None:
            ticket, result = _open(config, decision, event, evidence, now), "opened"
        else:
            fresh = stored[decision.ticket_id] is None  # opened earlier in this run
            ticket, result = _apply(
                config, current, decision, event, evidence, now, fresh=fresh, may_reopen=not supporting
            )
        working[ticket.id] = ticket
        outcome[ticket.id] = max(outcome.get(ticket.id, "unchanged"), result, key=_RANK.__getitem__)

    for item in decided:
        apply(*item)
    for ticket_id in list(working):
        for _attempt in range(CAS_ATTEMPTS):
            ticket, old = working[ticket_id], stored[ticket_id]
            if ticket is old:
                break
            # one notification per ticket per run: its first notifiable change (opened, reopened,
            # severity raised); the message shows the ticket as it stands after the whole run
            new_entries = range(0 if old is None else len(old.history), len(ticket.history))
            enqueued: list[str] = []
            for index in new_entries:
                if ticket.history[index].action in NOTIFY_ACTIONS:
                    enqueued = notifier.enqueue(config, store, ticket, index, now=now)  # outbox first ...
                    break
            # ... then the ticket (compare-and-set); delivery only after all are stored
            if save_ticket_if(store, ticket, versions[ticket_id]):
                break
            logger.info("ticket %s changed while this run updated it; applying its events again", ticket_id)
            for record_id in enqueued:
                notifier.withdraw(store, record_id, created=now)
            load(ticket_id)
            del working[ticket_id]
            outcome.pop(ticket_id, None)
            skipped = summary.skipped  # counted on the first pass
            for item in decided:
                if item[2].ticket_id == ticket_id:
                    apply(*item)
            summary.skipped = skipped
            if ticket_id not in working:
                break
        else:
            raise TicketConflict(f"ticket {ticket_id} kept changing while the run updated it; run again")
        if ticket_id not in working or working[ticket_id] is stored[ticket_id]:
            continue
        ticket = working[ticket_id]
        logger.info(
            "ticket %s %s: %s [%s, %s]",
            ticket.id,
            outcome[ticket_id],
            ticket.title,
            ticket.severity,
            ticket.state,
        )
    for result in outcome.values():
        setattr(summary, result, getattr(summary, result) + 1)
    summary.tickets = list(outcome)
    if deliver:
        try:
            report = notifier.deliver_pending(store, now=now)
        except Exception:  # the pipeline goes on; pending records are retried on the next run
            logger.exception("delivering notifications failed; they stay pending for the next run")
        else:
            summary.notified, summary.notify_failed = report.sent, report.failed + report.abandoned
    return summary


SUPPORTING_GROUPS = ("topic", "source")


def _watch(
    config: Config,
    store: Store,
    notifier: Notifier,
    event: TrendEvent,
    entities: dict[str, Entity],
    now: datetime,
) -> int:
    """Enqueue the watch message of a developing signal that would open a ticket once confirmed: 1, else 0."""
    if event.group_by in SUPPORTING_GROUPS:
        return 0
    as_shift = event.model_copy(update={"kind": "shift"})
    try:
        decision = classify(config, as_shift, store.get_mentions(event.mention_ids), entities=entities)
    except NotActionable as why:
        logger.info("developing signal %s is not watched: %s", event.id, why)
        return 0
    # the team whose ticket it would be (the routing decides, as for the shift itself)
    ids = notifier.enqueue_watch(config, store, event.model_copy(update={"team": decision.team}), now=now)
    return 1 if ids else 0


# which metric names a ticket best when several of its subject's series shift at once
HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "product": ("safety_count", "complaint_share", "negative_share", "mean_sentiment", "volume"),
    "competitor": ("volume", "mean_sentiment", "negative_share", "complaint_share", "safety_count"),
    "opinion_leader": ("negative_share", "mean_sentiment", "volume", "complaint_share", "safety_count"),
}


def _headline(event: TrendEvent, decision: Decision) -> int:
    return HEADLINE_METRICS[decision.type].index(event.metric)


def _rank(event: TrendEvent, decision: Decision) -> int:
    if event.group_by in SUPPORTING_GROUPS:
        return 2
    return 0 if event.key == decision.subject else 1


# ---- ticket changes -----------------------------------------------------------------------------------
def _open(config: Config, decision: Decision, event: TrendEvent, evidence: Evidence, now: datetime) -> Ticket:
    return Ticket(
        id=decision.ticket_id,
        type=decision.type,
        subject=decision.subject,
        title=decision.title,
        severity=decision.severity,
        team=decision.team,
        state="open",
        created=now,
        updated=now,
        due=due_time(config, decision.severity, now),
        evidence=evidence,
        history=[
            HistoryEntry(
                at=now,
                who=SYSTEM_USER,
                action="open",
                to_state="open",
                note=f"{decision.signal} shift detected: {describe_change(event)} since {event.start:%Y-%m-%d}, "
                f"{event.authors} authors, {event.sources} sources (trend {event.id})",
            )
        ],
    )


def _apply(
    config: Config,
    old: Ticket,
    decision: Decision,
    event: TrendEvent,
    evidence: Evidence,
    now: datetime,
    *,
    fresh: bool = False,
    may_reopen: bool = True,
) -> tuple[Ticket, str]:
    """Apply one more shift to an existing ticket. `fresh`: the ticket was opened earlier in this
    same run, so the other shifts behind it fold into its opening (no history entry of their own).
    `may_reopen`: a new shift reopens a closed ticket (not for supporting topic/source shifts)."""
    new_trend = event.id not in old.evidence.trend_ids
    merged = merge_evidence(old.evidence, evidence)
    if old.state in CLOSED_STATES and new_trend and may_reopen:
        ticket = apply_transition(
            old,
            "reopen",
            who=SYSTEM_USER,
            now=now,
            note=f"the shift came back: {describe_change(event)} since {event.start:%Y-%m-%d} (trend {event.id})",
        )
        ticket.severity = decision.severity
        ticket.due = due_time(config, decision.severity, now)
        ticket.title = decision.title
        ticket.evidence = merged
        return ticket, "reopened"
    if merged == old.evidence:
        return old, "unchanged"
    ticket = old.model_copy(deep=True)
    ticket.evidence = merged
    ticket.updated = now
    raised = severity_max(old.severity, decision.severity)
    if fresh:
        ticket.severity = raised
        ticket.due = min(old.due, due_time(config, raised, now))
        return ticket, "updated"
    added = len(set(merged.mention_ids) - set(old.evidence.mention_ids))
    authors = len(set(merged.authors) - set(old.evidence.authors))
    what = "new shift" if new_trend else "more evidence for"
    ticket.log_change(
        "evidence",
        who=SYSTEM_USER,
        at=now,
        note=f"{what} trend {event.id} ({event.series_name} {describe_change(event)}): "
        f"+{added} mentions, +{authors} authors",
    )
    if old.state not in CLOSED_STATES and SEVERITY_ORDER[raised] > SEVERITY_ORDER[old.severity]:
        ticket.severity = raised
        ticket.due = min(old.due, due_time(config, raised, now))
        ticket.log_change(
            "severity",
            who=SYSTEM_USER,
            at=now,
            note=f"severity {old.severity} -> {raised} on new evidence (trend {event.id})",
        )
    return ticket, "updated"


# ---- evidence ------------------------------------------------------------------------------------------
def evidence_from(event: TrendEvent, mentions: Sequence[Mention]) -> Evidence:
    """The ticket evidence of one shift; authors and thread URLs come from the stored mentions."""
    return Evidence(
        trend_ids=[event.id],
        mention_ids=list(event.mention_ids),
        authors=_unique([*event.top_authors, *(m.author for m in mentions)]),
        sources=_unique([*event.source_names, *(m.source for m in mentions)]),
        threads=_unique(thread_url(m) for m in mentions),
        drivers=_unique(event.drivers),
        safety_hazards={h: n for h, n in event.safety_hazards.items() if n > 0},
        series=list(event.series),
    )


def thread_url(mention: Mention) -> str:
    """Where to answer: the thread when its id is a URL, else the post itself; "" when neither is
    an http(s) URL (a hostile `javascript:` link never reaches a ticket or a notification)."""
    for candidate in (mention.thread_id or "", mention.url):
        if candidate.startswith(("http://", "https://")):
            return candidate
    return ""


def merge_evidence(old: Evidence, new: Evidence) -> Evidence:
    """Union of both (order kept, old first); hazard counts take the larger.

    The chart (`series`) is the one of the ticket's first trend: only that trend, re-emitted
    with more buckets or revised values, updates it (series of other metrics or series do not
    mix into it). Every rule is idempotent, so merging the same events again changes nothing,
    in any order.
    """
    hazards = dict(old.safety_hazards)
    for h, n in new.safety_hazards.items():
        hazards[h] = max(n, hazards.get(h, 0))
    series: dict[datetime, SeriesValue] = {p.t: p for p in old.series}
    owner = old.trend_ids[0] if old.trend_ids else None
    if new.trend_ids and new.trend_ids[0] == owner:
        series.update({p.t: p for p in new.series})
    return Evidence(
        trend_ids=_unique([*old.trend_ids, *new.trend_ids]),
        mention_ids=_unique([*old.mention_ids, *new.mention_ids]),
        authors=_unique([*old.authors, *new.authors]),
        sources=_unique([*old.sources, *new.sources]),
        threads=_unique([*old.threads, *new.threads]),
        drivers=_unique([*old.drivers, *new.drivers]),
        safety_hazards=hazards,
        series=[series[t] for t in sorted(series)],
    )


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
