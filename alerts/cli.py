"""`groundswell tickets ...`: Triage action tickets: list, show, acknowledge, assign, resolve, dismiss.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from groundswell.cliutils import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    fail,
    open_config_and_store,
    usage_error,
)
from groundswell.config import SEVERITIES, TICKET_TYPES, Config
from groundswell.records import Ticket
from groundswell.store import Store, StoreError

app = typer.Typer(
    help="Triage action tickets: list, show, acknowledge, assign, resolve, dismiss.", no_args_is_help=True
)
console = Console()

IdArgument = Annotated[str, typer.Argument(help="ticket id (see `groundswell tickets list`)")]


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


WhoOption = Annotated[
    str | None,
    typer.Option("--who", help="who makes the change (recorded in the history); default: your OS user"),
]
NoteOption = Annotated[str, typer.Option("--note", "-n", help="a note for the history")]


@contextmanager
def _opened(config_path: Path) -> Iterator[tuple[Config, Store]]:
    """`open_config_and_store`, where a refused ticket change or an unknown ticket is its message, exit 1."""
    from alerts.lifecycle import IllegalTransition, TicketNotFound

    with open_config_and_store(config_path) as (config, store):
        try:
            yield config, store
        except (TicketNotFound, IllegalTransition, ValueError, KeyError, StoreError) as err:
            raise fail(str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)) from None


@app.command("list")
def list_(
    config: ConfigOption = DEFAULT_CONFIG,
    state: Annotated[
        str | None, typer.Option(help="open, acknowledged, in_progress, resolved, dismissed")
    ] = None,
    team: Annotated[str | None, typer.Option(help="owner team id")] = None,
    type_: Annotated[str | None, typer.Option("--type", help=f"one of {', '.join(TICKET_TYPES)}")] = None,
    severity: Annotated[str | None, typer.Option(help=f"one of {', '.join(SEVERITIES)}")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="only active tickets past their due time")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List tickets, most severe first (a table in a terminal, one ticket per line when piped)."""
    from alerts.lifecycle import STATES, is_overdue, list_tickets
    from groundswell.listing import Column, print_listing, store_clock

    for name, value, allowed in (
        ("state", state, STATES),
        ("type", type_, TICKET_TYPES),
        ("severity", severity, SEVERITIES),
    ):
        if value is not None and value not in allowed:
            raise usage_error(f"--{name} '{value}' is not allowed; allowed: {', '.join(allowed)}")
    with _opened(config) as (_, store):
        now, clock_note = store_clock(store)  # the demo's tickets are judged on the demo's clock
        tickets = list_tickets(
            store,
            state=state,
            team=team,
            ticket_type=type_,
            severity=severity,
            overdue_at=now if overdue else None,
        )

    def due(t: Ticket) -> str:
        return t.due.strftime("%Y-%m-%d %H:%M") + (" overdue" if is_overdue(t, now) else "")

    columns: list[Column[Ticket]] = [
        Column("id", lambda t: t.id),
        Column("severity", lambda t: t.severity + ("!" if t.escalated else "")),
        Column("state", lambda t: t.state),
        Column("due", due, style=lambda t: "red" if is_overdue(t, now) else None, drop_order=2),
        Column("team", lambda t: t.team, drop_order=4),
        Column("assignee", lambda t: t.assignee or "-", drop_order=5),
        Column("type", lambda t: t.type, drop_order=3),
        Column("title", lambda t: t.title, free_text=True, drop_order=1),
    ]
    print_listing(
        tickets,
        columns,
        title=f"{len(tickets)} ticket(s)" + (" (! escalated)" if any(t.escalated for t in tickets) else ""),
        as_json=as_json,
        to_json=lambda t: {**t.model_dump(mode="json"), "overdue": is_overdue(t, now)},
        console=console,
        empty="no tickets match",
        note=clock_note,
    )


@app.command()
def show(ticket_id: IdArgument, config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Show one ticket with its evidence (authors, threads to answer) and history."""
    from alerts.lifecycle import allowed_actions, load_ticket

    with _opened(config) as (_, store):
        ticket = load_ticket(store, ticket_id)
    _print_ticket(ticket, allowed_actions(ticket.state))


def _print_ticket(t: Ticket, actions: list[str]) -> None:
    e = t.evidence
    console.print(f"[bold]{escape(t.title)}[/bold]")
    rows = [
        ("id", t.id),
        ("type", t.type),
        ("subject", t.subject),
        ("severity", t.severity + (" (escalated)" if t.escalated else "")),
        ("state", t.state),
        ("team", t.team),
        ("assignee", t.assignee or "-"),
        ("created", t.created.isoformat()),
        ("due", t.due.isoformat()),
        ("next actions", ", ".join(actions) or "-"),
    ]
    if t.dismiss_reason:
        rows.append(("dismissed because", t.dismiss_reason))
    for name, value in rows:
        console.print(f"  {name:<18} {escape(value)}")
    console.print("[bold]evidence[/bold]")
    console.print(f"  trends             {escape(', '.join(e.trend_ids))}")
    console.print(f"  mentions           {len(e.mention_ids)}")
    console.print(f"  sources            {escape(', '.join(e.sources) or '-')}")
    console.print(f"  drivers            {escape(', '.join(e.drivers) or '-')}")
    if e.safety_hazards:
        console.print(
            f"  safety hazards     {escape(', '.join(f'{h} ({n})' for h, n in sorted(e.safety_hazards.items())))}"
        )
    console.print(f"  authors ({len(e.authors)})        {escape(', '.join(e.authors) or '-')}")
    console.print(f"  threads ({len(e.threads)}):")
    for url in e.threads:
        console.print(f"    {escape(url)}", soft_wrap=True)
    console.print("[bold]history[/bold]")
    for h in t.history:
        states = (
            f"{h.from_state or '-'} -> {h.to_state}" if h.from_state != h.to_state else (h.to_state or "")
        )
        console.print(
            f"  {h.at:%Y-%m-%d %H:%M} {escape(h.who):<12} {h.action:<11} {states:<28} {escape(h.note)}"
        )


def _transition(ticket_id: str, action: str, config: Path, who: str | None, note: str = "") -> None:
    from alerts.lifecycle import transition

    with _opened(config) as (cfg, store):
        ticket = transition(store, ticket_id, action, who=who or _default_user(), note=note, config=cfg)
    console.print(f"ticket {ticket.id} is now [bold]{ticket.state}[/bold]")


@app.command()
def ack(
    ticket_id: IdArgument,
    config: ConfigOption = DEFAULT_CONFIG,
    who: WhoOption = None,
    note: NoteOption = "",
) -> None:
    """Acknowledge an open ticket."""
    _transition(ticket_id, "acknowledge", config, who, note)


@app.command()
def start(
    ticket_id: IdArgument,
    config: ConfigOption = DEFAULT_CONFIG,
    who: WhoOption = None,
    note: NoteOption = "",
) -> None:
    """Start work on a ticket (in progress)."""
    _transition(ticket_id, "start", config, who, note)


@app.command()
def resolve(
    ticket_id: IdArgument,
    config: ConfigOption = DEFAULT_CONFIG,
    who: WhoOption = None,
    note: NoteOption = "",
) -> None:
    """Resolve a ticket (acknowledged or in progress)."""
    _transition(ticket_id, "resolve", config, who, note)


@app.command()
def dismiss(
    ticket_id: IdArgument,
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="why this is not real work (feeds the detector's tuning)")
    ],
    config: ConfigOption = DEFAULT_CONFIG,
    who: WhoOption = None,
) -> None:
    """Dismiss a ticket, with a mandatory reason."""
    _transition(ticket_id, "dismiss", config, who, reason)


@app.command()
def reopen(
    ticket_id: IdArgument,
    config: ConfigOption = DEFAULT_CONFIG,
    who: WhoOption = None,
    note: NoteOption = "",
) -> None:
    """Reopen a resolved or dismissed ticket."""
    _transition(ticket_id, "reopen", config, who, note)


@app.command("assign")
def assign_(
    ticket_id: IdArgument,
    to: Annotated[str, typer.Option("--to", help="the person who owns the work")],
    config: ConfigOption = DEFAULT_CONFIG,
    who: WhoOption = None,
    note: NoteOption = "",
) -> None:
    """Assign a ticket to a person."""
    from alerts.lifecycle import assign

    with _opened(config) as (_, store):
        ticket = assign(store, ticket_id, to, who=who or _default_user(), note=note)
    console.print(f"ticket {ticket.id} is assigned to [bold]{escape(ticket.assignee or '')}[/bold]")


@app.command()
def escalate(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Escalate every overdue ticket (raise severity, notify the team)."""
    from alerts.lifecycle import escalate_overdue

    with _opened(config) as (cfg, store):
        from groundswell.listing import store_clock

        tickets = escalate_overdue(cfg, store, store_clock(store)[0])  # the demo's clock in the demo
    if not tickets:
        console.print("no overdue tickets")
    for t in tickets:
        console.print(f"escalated {t.id} to [bold]{t.severity}[/bold]: {escape(t.title)}")


@app.command()
def notify(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Send pending or failed notifications now (the pipeline also does this on every run)."""
    from alerts.notify import Notifier

    with _opened(config) as (cfg, store):
        report = Notifier.from_settings(cfg).deliver_pending(store, now=datetime.now(UTC))
    console.print(
        f"{report.sent} sent, {report.failed} failed (retried on the next run), {report.abandoned} abandoned, "
        f"{report.waiting} waiting"
    )
