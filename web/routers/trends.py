"""Trend charts (volume, sentiment, share of voice) with the detected events, and one event."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from web.deps import PagesDep, StoreDep, UiDep

router = APIRouter(tags=["trends"])


@router.get("/trends", response_class=HTMLResponse)
def trends(
    request: Request,
    ui: UiDep,
    pages: PagesDep,
    bucket: Literal["hour", "day", "week"] = "day",
    days: int = 90,
    kind: Literal["all", "shift", "developing", "blip", "health"] = "all",
) -> Response:
    days = min(max(days, 1), 3650)
    return pages.render(
        request,
        "trends.html",
        {**ui.trends(bucket, days, kind), "bucket": bucket, "days": days, "kind": kind},
    )


@router.get("/trends/{event_id}", response_class=HTMLResponse)
def trend(request: Request, event_id: str, store: StoreDep, ui: UiDep, pages: PagesDep) -> Response:
    try:
        event = store.get_trend_event(event_id)
    except ValidationError as err:
        raise HTTPException(
            status_code=500,
            detail=f"trend document '{event_id}' is not a valid TrendEvent: {err.errors()[0]['msg']}",
        ) from err
    if event is None:
        raise HTTPException(status_code=404, detail=f"no trend event with id '{event_id}'")
    return pages.render(request, "trend.html", ui.trend_detail(event))
