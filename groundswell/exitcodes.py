"""Exit codes of the whole `groundswell` command line, and the one-line answer to an unreachable server.

| code | meaning | what to do |
|---|---|---|
| 0 | done | |
| 1 | the command ran and failed, or found problems (`es check` found missing templates, a quality gate is below its floor, a ticket transition was refused, a run whose every source failed) | read the messages |
| 2 | the command could not start: a usage error (unknown option or value), a configuration error (file missing or invalid), or a server it needs is unreachable (Elasticsearch, Kibana); nothing was changed | fix what the one-line message names, run again |
| 3 | partial failure: part of the work failed, the rest is done (dead-letter records that failed again, Kibana objects that did not import) | fix the cause, run again (it is idempotent) |

Usage errors are 2 because click reports them so (a value a command checks itself, such as
`tickets list --state closed`, is one too); configuration and connection errors share it as
"nothing was done, fix the named input". `groundswell run` and the demo also stop with 3 when another
run holds the store's writer lock (try again later). The README has this table.

Connection failures are recognised on the exception chain (elasticsearch's ConnectionError and
ConnectionTimeout, httpx's transport errors, refused/unresolvable sockets) and on the Elasticsearch
store's "... failed after N retries: connection failed: ..." StoreError, which carries no cause.
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.error
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import typer

from groundswell.store.base import StoreError

if TYPE_CHECKING:
    from groundswell.config import Config

logger = logging.getLogger(__name__)

OK = 0
FAILED = 1
CANNOT_START = 2  # usage or configuration error, or a server unreachable
PARTIAL = 3

USAGE_ERROR = CANNOT_START  # an unknown option, or an option value that is not allowed
CONFIG_ERROR = CANNOT_START
UNREACHABLE = CANNOT_START
LOCKED = PARTIAL  # another run holds the store's writer lock: nothing was done, try again later

# exception class names of the client libraries, matched by name so that this module imports none of them
_CONNECTION_TYPES = {
    "elastic_transport.ConnectionError",
    "elastic_transport.ConnectionTimeout",
    "elastic_transport.TlsError",
    "httpx.ConnectError",
    "httpx.ConnectTimeout",
    "httpx.ReadTimeout",
    "httpx.NetworkError",
    "httpx.TimeoutException",
    "httpx.ReadError",
    "httpx.RemoteProtocolError",
}
_STORE_CONNECTION_WORDING = "connection failed"


class ServerUnreachable(StoreError):
    """A server could not be reached; the message names it, its URL and what to check."""

    def __init__(self, server: str, url: str, reason: str, check: str) -> None:
        self.server, self.url, self.reason, self.check = server, url, reason, check
        super().__init__(f"cannot reach {server} at {url} ({reason}); {check}")


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _qualified(cls: type) -> set[str]:
    return {f"{c.__module__.split('.')[0]}.{c.__name__}" for c in cls.__mro__}


def connection_failure(err: BaseException) -> str | None:
    """A short reason when `err` (or what caused it) is a failure to reach a server; None otherwise."""
    for e in _chain(err):
        if isinstance(e, ServerUnreachable):
            return e.reason
        if _qualified(type(e)) & _CONNECTION_TYPES:
            return short_reason(e)
        if isinstance(e, ConnectionRefusedError | socket.gaierror | TimeoutError):
            return short_reason(e)
        if isinstance(e, urllib.error.URLError) and isinstance(e.reason, OSError):
            return short_reason(e.reason)
        if isinstance(e, StoreError) and _STORE_CONNECTION_WORDING in str(e):
            return str(e).split(_STORE_CONNECTION_WORDING, 1)[1].strip(": .").lower() or "connection failed"
    return None


def short_reason(err: BaseException) -> str:
    """The gist of a connection error: "connection refused", "timed out", ... else its first line."""
    text = f"{err} {err!r}"
    for known in (
        "Connection refused",
        "Name or service not known",
        "Temporary failure in name resolution",
        "timed out",
        "No route to host",
        "Network is unreachable",
        "certificate verify failed",
    ):
        if known.lower() in text.lower():
            return known.lower()
    return (str(err).strip() or type(err).__name__).splitlines()[0][:160]


def elasticsearch_hosts(config: Config) -> Sequence[str]:
    return list(config.store.elasticsearch.hosts or [])


def unreachable_line(
    err: BaseException, config: Config | None = None, *, config_path: str = ""
) -> str | None:
    """The one line a command prints when `err` is a connection failure (None when it is not).

    Names the server, its URL (from the error, else from the configuration) and what to check.
    """
    reason = connection_failure(err)
    if reason is None:
        return None
    for e in _chain(err):
        if isinstance(e, ServerUnreachable):
            return f"error: {e}"
    where = f" in {config_path}" if config_path else ""
    hosts = ", ".join(elasticsearch_hosts(config)) if config is not None else ""
    return (
        f"error: cannot reach Elasticsearch at {hosts or 'the configured hosts'} ({reason}); check that it "
        f"is running and reachable from here, and store.elasticsearch.hosts{where}"
    )


def exit_for(err: BaseException, *, config_path: str | os.PathLike[str] | None = None) -> typer.Exit:
    """Print the one-line answer to `err` on stderr and return the typer.Exit to raise.

    2 for a server that cannot be reached (naming its URL and what to check) or a configuration
    error; 1 for any other failure.
    """
    from groundswell.config import ConfigError, load_config

    config = None
    reason = connection_failure(err)
    if reason is not None and config_path is not None:
        try:
            config = load_config(config_path)
        except ConfigError:
            config = None
    line = unreachable_line(err, config, config_path=str(config_path or ""))
    if line is not None:
        code = UNREACHABLE
    else:
        line = f"error: {err}"
        code = CONFIG_ERROR if isinstance(err, ConfigError) else FAILED
    typer.echo(line, err=True)
    return typer.Exit(code)
