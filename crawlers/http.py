"""HTTP for the feed and API clients: retries, rate limits, size caps, credentials that never leak.

`ApiHttp.get` is the only way the clients talk to the network:

- 429 is retried after `Retry-After` (seconds or an HTTP date) or, when absent, after the reset time of
  the `x-ratelimit-reset` / `x-rate-limit-reset` headers (Reddit: seconds; X: epoch; Mastodon: ISO).
  A wait longer than `max_wait` seconds is not slept: the request fails with a `FetchError` that says so.
- 5xx answers, timeouts and connection errors are retried with exponential backoff (`max_retries`;
  the retry loop is tenacity's, one attempt is `ApiHttp._attempt`).
- Other 4xx answers fail at once with the status and the reason the body gives.
- Redirects are followed only within the same host; a redirect to another domain is an error.
  Credentials (the `Secret` headers) follow a redirect only to the same origin (scheme, host and
  port): to another port or scheme of the same host the request goes on without them.
- Bodies larger than `max_bytes` are cut off and reported, never held in memory whole.

Credentials come from the environment variables named in `source.credentials_env` (or, when the code
runs inside Airflow and the variable is unset, from the Airflow connection of that name, lower-cased:
its password, else its login). They travel only in request headers (never in URLs) and are wrapped in
`Secret`, whose repr/str is masked, so neither our logs nor httpx's request log can show them.
"""

from __future__ import annotations

import email.utils
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Self
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from groundswell.config import Config, SourceConfig

logger = logging.getLogger(__name__)

__all__ = ["ApiHttp", "CredentialError", "FetchError", "Response", "Secret", "load_credentials", "redact_url"]

_SECRET_PARAMS = frozenset(
    {"key", "api_key", "apikey", "access_token", "token", "client_secret", "password", "sig"}
)
_RETRY_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 524})


class FetchError(RuntimeError):
    """A request failed for good (after retries where retrying made sense)."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        self.url = redact_url(url)
        self.status = status
        self.reason = reason
        where = f"HTTP {status}" if status is not None else "request failed"
        super().__init__(f"{where} for {self.url}: {reason}")


class CredentialError(RuntimeError):
    """A credential the source needs is not available."""


class _Retryable(Exception):
    """One attempt failed in a way another attempt may fix (timeout, connection error, 429, 5xx)."""

    def __init__(
        self,
        reason: str,
        *,
        wait: float,
        status: int | None = None,
        rate_limited: bool = False,
        give_up_reason: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason  # for the retry's log line
        self.wait = wait  # seconds to wait before the next attempt
        self.status = status
        self.rate_limited = rate_limited
        self.give_up_reason = reason if give_up_reason is None else give_up_reason

    def give_up(self, url: str, attempts: int) -> FetchError:
        """The error once no attempt is left."""
        if self.rate_limited:
            return FetchError(url, f"rate limited; still 429 after {attempts} attempts", self.status)
        return FetchError(url, f"{self.give_up_reason} (gave up after {attempts} attempts)", self.status)


def _failure(state: RetryCallState) -> _Retryable:
    """The failure of the attempt tenacity is about to retry (it retries only `_Retryable`)."""
    failed = state.outcome.exception() if state.outcome is not None else None
    if not isinstance(failed, _Retryable):
        raise TypeError(f"expected a failed attempt with a _Retryable error, got {failed!r}")
    return failed


@dataclass
class _Request:
    """One GET across its attempts: where redirects have led it, and the headers it still sends."""

    url: str
    headers: dict[str, str | Secret]  # as given, credentials wrapped
    plain_headers: dict[str, str]  # as sent
    redirects: int = 0


class Secret:
    """A credential value: usable via `reveal()`, masked everywhere else (repr, str, f-strings, logs)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def redact_url(url: str) -> str:
    """The URL with values of secret-looking query parameters (key, access_token, ...) masked."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, "***" if k.lower() in _SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe="*"), parts.fragment))


def _airflow_secret(env_name: str) -> str | None:
    """The credential from the Airflow connection `env_name.lower()`, when running inside Airflow."""
    if "airflow" not in sys.modules:  # only inside an Airflow worker; importing Airflow elsewhere is slow
        return None
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(env_name.lower())
    except Exception as exc:  # any lookup failure means "not configured there either"
        logger.debug("no Airflow connection %s (%s)", env_name.lower(), type(exc).__name__)
        return None
    return conn.password or conn.login or None


def load_credentials(source: SourceConfig, *, required: tuple[str, ...] = ()) -> dict[str, Secret]:
    """Read the source's credentials from the environment (or Airflow); raise if a required one is missing."""
    found: dict[str, Secret] = {}
    for name, env_name in source.credentials_env.items():
        value = os.environ.get(env_name) or _airflow_secret(env_name)
        if value:
            found[name] = Secret(value)
    missing = [n for n in required if n not in found]
    if missing:
        declared = {n: source.credentials_env.get(n) for n in missing}
        raise CredentialError(
            f"source '{source.name}' ({source.kind}) needs credential(s) {', '.join(missing)}: "
            + "; ".join(
                f"{n}: set the environment variable {env}"
                if env
                else f"{n}: declare credentials_env.{n}: <ENV_VAR>"
                for n, env in declared.items()
            )
        )
    return found


@dataclass
class Response:
    """What a client needs from a response; the body is complete (never larger than max_bytes)."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> object:
        import json

        try:
            return json.loads(self.content)
        except ValueError as exc:
            raise FetchError(
                self.url, f"body is not JSON ({exc}); starts with {self.content[:80]!r}", self.status
            ) from exc


def _error_reason(content: bytes) -> str:
    """A short reason from an error body (JSON APIs put it in error/message/reason fields)."""
    import json

    try:
        body = json.loads(content)
    except ValueError:
        from crawlers.clean import clean_text

        text = clean_text(content[:400].decode("utf-8", "replace"))
        return " ".join(text.split())[:200] or "empty body"
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # Google style
            return str(err.get("message") or err.get("status") or err)[:200]
        parts = [
            str(body[k])
            for k in ("message", "error", "error_description", "detail", "title", "reason")
            if body.get(k)
        ]
        if parts:
            return "; ".join(dict.fromkeys(parts))[:200]
        if isinstance(body.get("errors"), list) and body["errors"]:
            return str(body["errors"][0])[:200]
    return str(body)[:200]


def _wait_from_headers(headers: httpx.Headers, now: float, *, reset_headers: bool = True) -> float | None:
    """Seconds to wait according to Retry-After or (for 429) a rate-limit reset header; None when none is given."""
    retry_after = headers.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        if value.replace(".", "", 1).isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            logger.debug("unreadable Retry-After header %r", value)
        else:
            return max(0.0, when.timestamp() - now)
    for name in ("x-ratelimit-reset", "x-rate-limit-reset") if reset_headers else ():
        reset = headers.get(name)
        if not reset:
            continue
        try:
            number = float(reset)
        except ValueError:
            from crawlers.dates import parse_datetime

            try:
                return max(0.0, parse_datetime(reset).timestamp() - now)
            except ValueError:
                continue
        return max(0.0, number - now) if number > 1e9 else number
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what a credential is bound to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


class ApiHttp:
    """A small, polite HTTP client for JSON APIs and feeds (see the module docstring)."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float = 20.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        max_bytes: int = 20 * 1024 * 1024,
        max_redirects: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.waited = 0.0
        self._client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, config: Config) -> Self:
        return cls(user_agent=config.user_agent)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str | Secret] | None = None,
        ok_statuses: frozenset[int] = frozenset({200}),
    ) -> Response:
        """GET with retries; returns a response whose status is in `ok_statuses` or raises FetchError."""
        request = _Request(
            url=str(httpx.URL(url).copy_merge_params(dict(params)) if params else httpx.URL(url)),
            headers=dict(headers or {}),
            plain_headers={k: v.reveal() if isinstance(v, Secret) else v for k, v in (headers or {}).items()},
        )

        def log_retry(state: RetryCallState) -> None:
            failed = _failure(state)
            if failed.rate_limited:
                logger.warning(
                    "rate limited by %s; waiting %.1f s as the server asks",
                    redact_url(request.url),
                    failed.wait,
                )
                return
            logger.warning(
                "retrying %s in %.1f s (attempt %d of %d): %s",
                redact_url(request.url),
                failed.wait,
                state.attempt_number + 1,
                self.max_retries + 1,
                failed.reason,
            )
            self.retries += 1

        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=lambda state: _failure(state).wait,
            retry=retry_if_exception_type(_Retryable),
            before_sleep=log_retry,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(request, ok_statuses, attempt.retry_state.attempt_number - 1)
        except _Retryable as failed:
            raise failed.give_up(request.url, self.max_retries + 1) from failed.__cause__
        raise AssertionError("unreachable: the retry loop returns or raises")

    # ---- internals ---------------------------------------------------------------------------
    def _attempt(self, request: _Request, ok_statuses: frozenset[int], attempt: int) -> Response:
        """One attempt (0-based `attempt`): the response, following same-host redirects (they change
        `request`), or a FetchError (final), or `_Retryable` (timeout, connection error, 429, 5xx)."""
        while True:
            try:
                response = self._fetch(request.url, request.plain_headers)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                raise _Retryable(reason, wait=self.backoff * 2**attempt) from exc
            status = response.status
            if status in ok_statuses:
                return response
            if 300 <= status < 400 and "location" in response.headers:
                target = urljoin(request.url, response.headers["location"])
                if urlsplit(target).hostname != urlsplit(request.url).hostname:
                    raise FetchError(request.url, f"redirect to another domain: {redact_url(target)}", status)
                if _origin(target) != _origin(request.url) and any(
                    isinstance(v, Secret) for v in request.headers.values()
                ):
                    logger.warning(
                        "redirect from %s to another origin %s: credentials are not sent there",
                        redact_url(request.url),
                        redact_url(target),
                    )
                    request.plain_headers = {k: v for k, v in request.headers.items() if isinstance(v, str)}
                request.redirects += 1
                if request.redirects > self.max_redirects:
                    raise FetchError(request.url, f"more than {self.max_redirects} redirects", status)
                request.url = target
                continue
            if status == 429:
                wait = _wait_from_headers(response.headers, time.time())
                if wait is None:
                    wait = self.backoff * 2**attempt
                if wait > self.max_wait:
                    raise FetchError(
                        request.url,
                        f"rate limited; server asks to wait {wait:.0f} s, more than the {self.max_wait:.0f} s allowed",
                        status,
                    )
                raise _Retryable("rate limited", wait=wait, status=status, rate_limited=True)
            if status in _RETRY_STATUSES:
                wait = self.backoff * 2**attempt
                asked = _wait_from_headers(response.headers, time.time(), reset_headers=False)
                if asked is not None:
                    wait = max(wait, min(asked, self.max_wait))
                reason = _error_reason(response.content)
                raise _Retryable(f"HTTP {status}: {reason}", wait=wait, status=status, give_up_reason=reason)
            raise FetchError(request.url, _error_reason(response.content), status)

    def _fetch(self, url: str, headers: Mapping[str, str]) -> Response:
        self.requests += 1
        with self._client.stream("GET", url, headers=headers) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(
                    url,
                    f"body of {int(declared)} bytes exceeds the limit of {self.max_bytes} bytes",
                    response.status_code,
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(
                        url, f"body exceeds the limit of {self.max_bytes} bytes", response.status_code
                    )
                chunks.append(chunk)
        return Response(
            url=url, status=response.status_code, headers=response.headers, content=b"".join(chunks)
        )

    def _sleep(self, seconds: float) -> None:
        self.waited += seconds
        self.sleep(seconds)
