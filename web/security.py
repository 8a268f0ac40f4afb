"""Who may use the web UI, and protection of every request.

- Bind check: loopback by default; any other address needs a usable token (`check_bind`). A token
  setting that is set but blank (`' '`, `','`) is an error, never "no authentication".
- Host and Origin: every request's `Host` (and `Origin`, when the browser sends one) must name an
  allowed host (`HostGuard`): on loopback only loopback names (`localhost`, `127.0.0.1`, `[::1]`), so a
  DNS-rebinding page (`Host: attacker.example`) gets 421; on another bind, the bind address and the
  hosts given with `--allowed-host`.
- Failed logins (form or bearer) are throttled per client address (`LoginThrottle`): after
  `max_failures` within `window_s` the client gets 429 with `Retry-After` until the window passes.
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
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

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
    # same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on the UI's own form
    # posts, which the Origin check must refuse; other sites still get no referrer
    "Referrer-Policy": "same-origin",
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
    """Refuse to expose the UI beyond this machine without a usable token.

    The token is parsed the way the app parses it, so a blank or malformed setting is an error
    here rather than "no authentication" later.
    """
    if not is_loopback(host) and not parse_tokens(token):
        raise WebSecurityError(
            f"refusing to serve on {host!r} without authentication: anyone who can reach it could read "
            "the mentions and change tickets. Set a token with --token or GROUNDSWELL_WEB_TOKEN "
            "(e.g. 'alice=<secret>,bob=<secret>'), or bind to 127.0.0.1"
        )


def parse_tokens(token: str | None) -> dict[str, str]:
    """The token setting -> {secret: user name}; {} only when no token is set at all (None).

    A setting that is present but holds no secret (empty, whitespace, only commas) is an error:
    treating it as "no token" would silently turn authentication off.
    """
    if token is None:
        return {}
    if not token.replace(",", "").strip():
        raise WebSecurityError(
            f"the web token is set but blank ({token!r}); give a secret of at least 8 characters "
            "(or 'alice=<secret>,bob=<secret>'), or unset GROUNDSWELL_WEB_TOKEN / --token"
        )
    out: dict[str, str] = {}
    for part in token.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, secret = part.partition("=")
        if not sep:
            name, secret = "token", part
        name, secret = name.strip(), secret.strip()
        if not name:
            raise WebSecurityError("a web token entry has an empty user name before '='")
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


# ---- Host / Origin ---------------------------------------------------------------------------------
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::", "")


def _host_only(value: str) -> str:
    """'Example.COM:8000' -> 'example.com'; '[::1]:8000' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


class HostGuard:
    """Which `Host` / `Origin` names this server answers to (DNS-rebinding and cross-site protection)."""

    def __init__(self, bind_host: str = "127.0.0.1", allowed: Iterable[str] = ()) -> None:
        extra = [a.strip() for a in allowed if a.strip()]
        self.any_host = "*" in extra
        self.names = {*LOOPBACK_NAMES}
        if not is_loopback(bind_host) and bind_host not in WILDCARD_BINDS:
            self.names.add(_host_only(bind_host))
        self.names.update(_host_only(a) for a in extra if a != "*")

    def allows_host(self, host_header: str | None) -> bool:
        if self.any_host:
            return True
        if not host_header:
            return False
        name = _host_only(host_header)
        return name in self.names or (name.startswith("127.") and is_loopback(name))

    def allows_origin(self, origin: str | None) -> bool:
        """No Origin header (same-origin GET, scripts) is fine; `null` or a foreign origin is not."""
        if origin is None:
            return True
        scheme, sep, rest = origin.strip().partition("://")
        if not sep or scheme.lower() not in ("http", "https"):
            return False
        return self.allows_host(rest.split("/", 1)[0])


def check_allowed_hosts(bind_host: str, allowed: Iterable[str]) -> None:
    """A wildcard bind must say which names it answers to (or `*` to accept any, behind a proxy)."""
    if bind_host in WILDCARD_BINDS and not [a for a in allowed if a.strip()]:
        raise WebSecurityError(
            f"binding to {bind_host!r} answers on every address, so name the host(s) browsers use with "
            "--allowed-host (e.g. --allowed-host groundswell.example.com), or --allowed-host '*' when a "
            "reverse proxy checks the Host header; without it a DNS-rebinding page could drive the UI"
        )


# ---- failed-login throttling -------------------------------------------------------------------------
class LoginThrottle:
    """At most `max_failures` failed logins per client address within `window_s` seconds."""

    def __init__(
        self, max_failures: int = 5, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before its next attempt (0 when it may try now)."""
        now = self.clock()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.max_failures:
                return 0.0
            return max(0.0, self.window_s - (now - times[0]))

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # bound the memory an address-spraying client can use
                for key in [k for k, v in self._failures.items() if not v][:5_000]:
                    del self._failures[key]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


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
