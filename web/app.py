"""The analyst web UI: search, trends, tickets and briefs over any `Store` backend.

`create_app(config, store, token=...)` assembles a FastAPI application: `app.state` holds the
configuration, the store, the page data (`web.ui.Ui`), the templates (`web.render.Pages`), the tokens
and the login throttle; the routes live in one router per area (`web/routers/`) and take what they
need as dependencies (`web/deps.py`). Server-rendered jinja2 templates, autoescaped; there is no
JavaScript: charts are SVG drawn on the server, actions are plain forms.

Every request passes `guard` (Host/Origin check, login or bearer token, throttling of failed
tokens) and the app-wide CSRF dependency; every response carries the security headers.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from groundswell.config import Config
from groundswell.store.base import Store
from web.render import HERE, Pages, client_address, safe_url, too_many, with_headers
from web.routers import ROUTERS
from web.routers.search import MAX_PAGE, PAGE_SIZE
from web.security import LOCAL_USER, HostGuard, LoginThrottle, bearer, csrf_guard, match_token, parse_tokens
from web.ui import Ui

__all__ = ["MAX_PAGE", "PAGE_SIZE", "PUBLIC_PATHS", "create_app", "safe_url"]

logger = logging.getLogger(__name__)

PUBLIC_PATHS = ("/login", "/healthz", "/static/")


def create_app(
    config: Config,
    store: Store,
    *,
    token: str | None = None,
    secret_key: str | None = None,
    bind_host: str = "127.0.0.1",
    allowed_hosts: tuple[str, ...] = (),
    login_throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The web application over `store`. With `token` set every page needs a login or a bearer token.

    `token`: one secret, or `name=secret` pairs separated by commas (the name is recorded in ticket
    history); a blank setting raises `WebSecurityError`. `secret_key` signs the session cookie; a
    random one is made when not given (sessions then end when the server restarts).
    `bind_host`/`allowed_hosts`: the names the `Host` and `Origin` headers may carry (loopback names
    only by default). `login_throttle` limits failed logins per client address.
    """
    tokens = parse_tokens(token)
    app = FastAPI(
        title=f"Groundswell: {config.name}",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    ui = Ui(config=config, store=store)
    app.state.config = config
    app.state.store = store
    app.state.ui = ui
    app.state.pages = Pages(app_name=config.name, auth=bool(tokens), entity_name=ui.entity_name)
    app.state.tokens = tokens
    app.state.hosts = HostGuard(bind_host, allowed_hosts)
    app.state.throttle = login_throttle or LoginThrottle()

    app.middleware("http")(guard)
    # outermost: the session must be decoded before `guard` reads it
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key or secrets.token_urlsafe(32),
        session_cookie="groundswell_session",
        max_age=12 * 3600,
        same_site="lax",
        https_only=False,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    return app


async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Host/Origin check, then who is asking (session, bearer token, or `local` without tokens);
    anyone else is sent to the login form (GET) or refused (401). Adds the security headers."""
    tokens: dict[str, str] = request.app.state.tokens
    hosts: HostGuard = request.app.state.hosts
    throttle: LoginThrottle = request.app.state.throttle
    request.state.via_bearer = False
    request.state.user = LOCAL_USER if not tokens else None
    path = request.url.path
    if not hosts.allows_host(request.headers.get("host")):
        logger.warning("refused a request for host %r (DNS rebinding?)", request.headers.get("host"))
        return with_headers(
            PlainTextResponse(
                "this server does not answer to that host name (see `groundswell serve --allowed-host`)",
                status_code=421,
            )
        )
    if not hosts.allows_origin(request.headers.get("origin")):
        return with_headers(PlainTextResponse("cross-origin request refused", status_code=403))
    if tokens:
        presented = bearer(request)
        if presented is not None:
            client = client_address(request)
            wait = throttle.retry_after(client)
            if wait > 0:
                return with_headers(too_many(wait))
            user = match_token(tokens, presented)
            if user is None:
                throttle.failed(client)
                return with_headers(
                    PlainTextResponse(
                        "invalid bearer token", status_code=401, headers={"WWW-Authenticate": "Bearer"}
                    )
                )
            request.state.user, request.state.via_bearer = user, True
        else:
            user = request.session.get("user")
            request.state.user = user if user in tokens.values() else None
        if request.state.user is None and not path.startswith(PUBLIC_PATHS):
            if request.method == "GET":
                target = path + (f"?{request.url.query}" if request.url.query else "")
                return with_headers(
                    RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
                )
            return with_headers(PlainTextResponse("authentication required", status_code=401))
    return with_headers(await call_next(request))


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Errors as plain text for static files and scripts (bearer token), as the error page otherwise."""
    if request.url.path.startswith("/static/") or getattr(request.state, "via_bearer", False):
        return with_headers(PlainTextResponse(str(exc.detail), status_code=exc.status_code))
    if "session" not in request.scope:
        return with_headers(PlainTextResponse(str(exc.detail), status_code=exc.status_code))
    pages: Pages = request.app.state.pages
    return with_headers(
        pages.render(
            request, "error.html", {"status": exc.status_code, "message": exc.detail}, exc.status_code
        )
    )
