"""The web UI's routes, one router per area; `web.app.create_app` includes them in this order."""

from __future__ import annotations

from web.routers import auth, briefs, health, search, sources, tickets, trends

ROUTERS = (
    health.router,
    auth.router,
    search.router,
    trends.router,
    tickets.router,
    sources.router,
    briefs.router,
)
