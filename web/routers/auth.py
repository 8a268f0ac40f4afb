"""Login with a token (form), logout; failed logins are throttled per client address."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from web.deps import PagesDep, ThrottleDep, TokensDep
from web.render import client_address, safe_next, too_many
from web.security import LOCAL_USER, match_token

logger = logging.getLogger(__name__)

router = APIRouter(tags=["auth"])


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, pages: PagesDep, tokens: TokensDep, next: str = "/search") -> Response:
    if not tokens:
        return RedirectResponse("/search", status_code=303)
    return pages.render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    pages: PagesDep,
    tokens: TokensDep,
    throttle: ThrottleDep,
    token: str = Form(""),
    next: str = Form("/search"),
) -> Response:
    client = client_address(request)
    wait = throttle.retry_after(client)
    if wait > 0:
        logger.warning("web login from %s throttled for %.0f s after failed attempts", client, wait)
        return too_many(wait)
    user = match_token(tokens, token.strip()) if tokens else LOCAL_USER
    if user is None:
        throttle.failed(client)
        logger.warning("web login refused from %s", client)
        return pages.render(
            request, "login.html", {"next": safe_next(next), "error": "That token is not valid."}, 401
        )
    throttle.succeeded(client)
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session["user"] = user
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, tokens: TokensDep) -> Response:
    request.session.clear()
    return RedirectResponse("/login" if tokens else "/search", status_code=303)
