"""Source health: the collection ledger and the detector's health events per configured source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from web.deps import ConfigDep, PagesDep, StoreDep

router = APIRouter(tags=["sources"])


@router.get("/sources", response_class=HTMLResponse)
def sources_health(
    request: Request, config: ConfigDep, store: StoreDep, pages: PagesDep, days: int = 30
) -> Response:
    from groundswell.health import source_health

    days = min(max(days, 1), 3650)
    now = datetime.now(UTC)
    kinds = {s.name: s.kind for s in config.sources}
    rows = source_health(store, [s.name for s in config.sources if s.enabled], since=now - timedelta(days=days), now=now, kinds=kinds)  # fmt: skip
    return pages.render(request, "sources.html", {"rows": rows, "days": days, "now": now})
