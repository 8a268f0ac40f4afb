"""Who may use the web UI, and protection of every request.

- Bind check: loopback by default; any other address needs a token (`check_bind`).
- Tokens: `GROUNDSWELL_WEB_TOKEN` is one secret (the user is then called "token") or named
  secrets `alice=s3cret,bob=hunter2` so that ticket history names the person.
- A browser logs in once with the form (the user goes into the signed session cookie of
  Starlette's SessionMiddleware, itsdangerous underneath); scripts send `Authorization: Bearer`.
- CSRF: every state-changing request carries the session's `csrf_token` (form field or
  `X-CSRF-Token` header), checked server-side; bearer-authenticated requests are exempt because
  a browser never attaches that header by itself.
- Headers: a strict Content-Security-Policy (no inline or remote script), no framing, no sniffing,
  no referrer (links to original posts do not leak the analyst's URLs).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets

from fastapi import HTTPException, Request

LOCAL_USER = "local"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# briefs are produced by Groundswell itself and may carry their own <style>; still no script
BRIEF_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class WebSecurityError(ValueError):
    """The web UI was asked to start in an unsafe way; the message says how to fix it."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to expose the UI beyond this machine without authentication."""
    if not is_loopback(host) and not token:
        raise WebSecurityError(
            f"refusing to serve on {host!r} without authentication: anyone who can reach it could read "
            "the mentions and change tickets. Set a token with --token or GROUNDSWELL_WEB_TOKEN "
            "(e.g. 'alice=<secret>,bob=<secret>'), or bind to 127.0.0.1"
        )


def parse_tokens(token: str | None) -> dict[str, str]:
    """The token setting -> {secret: user name}."""
    if token is None or not token.strip():
        return {}
    out: dict[str, str] = {}
    for part in token.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, secret = part.partition("=")
        if not sep:
            name, secret = "token", part
        name, secret = name.strip(), secret.strip()
        if len(secret) < 8:
            raise WebSecurityError(
                f"web token for user '{name}' is too short ({len(secret)} characters); use at least 8"
            )
        if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise WebSecurityError(
                f"web token user name {name!r} may only use letters, digits, '-', '_' and '.'"
            )
        out[secret] = name
    return out


def match_token(tokens: dict[str, str], presented: str) -> str | None:
    """The user whose secret equals `presented` (constant-time comparisons), else None."""
    found = None
    for secret, name in tokens.items():
        if hmac.compare_digest(secret.encode(), presented.encode()):
            found = name
    return found


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def csrf_guard(request: Request) -> None:
    """App-wide dependency: every unsafe request must carry the session's CSRF token."""
    if request.method not in UNSAFE_METHODS or getattr(request.state, "via_bearer", False):
        return
    expected = request.session.get("csrf")
    presented = request.headers.get("x-csrf-token")
    if presented is None:
        form = await request.form()
        value = form.get("csrf_token")
        presented = value if isinstance(value, str) else None
    if not expected or not presented or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise HTTPException(
            status_code=403, detail="CSRF check failed: reload the page and submit the form again"
        )
