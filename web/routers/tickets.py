"""The ticket board (by state, filtered by team and type), one ticket, and its lifecycle actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from groundswell.listing import store_clock
from groundswell.records import SEVERITY_ORDER, Ticket
from web.deps import ConfigDep, PagesDep, StoreDep, UiDep, UserDep
from web.tickets import TicketActionError, apply_action

TICKET_STATES = ("open", "acknowledged", "in_progress", "resolved", "dismissed")

router = APIRouter(tags=["tickets"])


@router.get("/tickets", response_class=HTMLResponse)
def tickets(
    request: Request, config: ConfigDep, ui: UiDep, pages: PagesDep, team: str = "", type: str = ""
) -> Response:
    where: dict[str, Any] = {}
    if team:
        where["team"] = team
    if type:
        where["type"] = type
    loaded = ui.load_tickets(where)
    columns = {s: sorted((t for t in loaded if t.state == s), key=_ticket_order) for s in TICKET_STATES}
    every = loaded if not where else ui.load_tickets({})
    teams = sorted({*(t.id for t in config.teams), *(t.team for t in every)})
    by_team = {name: dict.fromkeys(TICKET_STATES, 0) for name in teams}
    for t in every:
        by_team[t.team][t.state] += 1
    return pages.render(
        request,
        "tickets.html",
        {
            "columns": columns,
            "teams": teams,
            "by_team": by_team,
            "states": TICKET_STATES,
            "team": team,
            "type": type,
            "now": store_clock(ui.store)[0],  # the demo's tickets are judged on the demo's clock
            "total": len(loaded),
        },
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket(request: Request, ticket_id: str, ui: UiDep, pages: PagesDep) -> Response:
    return pages.render(request, "ticket.html", ui.ticket_detail(ticket_id, error=None))


@router.post("/tickets/{ticket_id}/actions")
def ticket_action(
    request: Request,
    ticket_id: str,
    config: ConfigDep,
    store: StoreDep,
    ui: UiDep,
    pages: PagesDep,
    user: UserDep,
    action: str = Form(...),
    note: str = Form(""),
    assignee: str = Form(""),
) -> Response:
    try:
        apply_action(
            store,
            ticket_id,
            action,
            who=user,
            note=note,
            assignee=assignee or None,
            config=config,
        )
    except KeyError as err:
        raise HTTPException(status_code=404, detail=str(err).strip("'\"")) from err
    except TicketActionError as err:
        return pages.render(request, "ticket.html", ui.ticket_detail(ticket_id, error=str(err)), 409)
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)


def _ticket_order(t: Ticket) -> tuple[int, datetime]:
    return (-SEVERITY_ORDER.get(t.severity, 0), t.due)
