"""How the web UI answers: the jinja2 templates with their filters, the security headers every
response carries, and the small helpers the routers share.

The templates are autoescaped (untrusted post text is always escaped; the only markup inserted
as-is is the store's search highlight, whose contract is `<mark>` tags around HTML-escaped text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates

from groundswell.links import served
from groundswell.records import SavedQuery
from web.security import CSP, SECURITY_HEADERS, csrf_token
from web.tickets import ACTIONS

HERE = Path(__file__).parent


class Pages:
    """Renders a template with what every page shows (user, CSRF token, app name, navigation)."""

    def __init__(self, *, app_name: str, auth: bool, entity_name: Callable[[str], str]) -> None:
        self.app_name = app_name
        self.auth = auth
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters.update(dt=_fmt_dt, day=_fmt_day, safe_url=safe_url, pretty=_pretty, label=_label)
        env.filters["served"] = served  # links to a demo that has ended fall back to the stored copy
        env.globals.update(entity_name=entity_name, ACTIONS=ACTIONS)
        self.templates = Jinja2Templates(env=env)

    def render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        context = {
            "user": getattr(request.state, "user", None),
            "auth": self.auth,
            "csrf_token": csrf_token(request),
            "app_name": self.app_name,
            "nav": name.split(".")[0],
            **context,
        }
        return self.templates.TemplateResponse(request, name, context, status_code=status)


def with_headers(response: Response, csp: str = CSP) -> Response:
    """`response` with the security headers (a brief's files get their own, looser `csp`)."""
    response.headers.setdefault("Content-Security-Policy", csp)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.headers.get("content-type", "").startswith("text/html"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def too_many(wait: float) -> Response:
    seconds = max(1, int(wait + 0.999))
    return PlainTextResponse(
        f"too many failed logins from this address; try again in {seconds} s",
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def safe_next(target: str) -> str:
    """Only same-site paths after login (no open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/search"
    return target


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s), else None (a `javascript:` link from a post never becomes a link)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def saved_query_url(query: SavedQuery) -> str:
    return "/search?" + urlencode({"q": query.q, **query.form})


def _fmt_dt(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            return _fmt_dt(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _fmt_day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d")


def _pretty(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else "—"
    if value is None or value == "":
        return "—"
    return str(value)


_LABEL = re.compile(r"_")


def _label(value: str) -> str:
    return _LABEL.sub(" ", value)
