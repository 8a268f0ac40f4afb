"""A loopback HTTP server that replays recorded API responses, for client tests and benchmarks.

Routes match on the request path and a subset of query parameters (the most specific route wins);
a route may answer a limited number of `times` (e.g. a 429 first, then the page). Recorded responses
in the `X.json` + `X.meta.json` sidecar format of `../shared/data/real_sources/` are served with their
recorded status and headers; links in the `Link` header that point at the recorded origin are
rewritten to this server, so paging follows them here.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

__all__ = ["RecordedRequest", "ReplayServer"]

_HOP_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})


@dataclass
class _Route:
    path: str
    query: dict[str, str]
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    times: int | None = None


@dataclass
class RecordedRequest:
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


class ReplayServer:
    """`with ReplayServer() as server: server.add(...); client(base_url=server.url)`."""

    def __init__(self) -> None:
        self.routes: list[_Route] = []
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="replay-server",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(
        self,
        path: str,
        *,
        body: bytes | str = b"",
        status: int = 200,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        query: dict[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self.routes.append(_Route(path, dict(query or {}), status, pairs, data, times))

    def add_recorded(self, path: str, body_file: Path, *, query: dict[str, str] | None = None,
                     status: int | None = None, times: int | None = None) -> None:  # fmt: skip
        """Serve a recorded body with the status and headers of its `.meta.json` sidecar (when present)."""
        meta_file = body_file.with_name(body_file.name.rsplit(".", 1)[0] + ".meta.json")
        if body_file.name.endswith(".sse.txt"):
            meta_file = body_file.with_name(body_file.name[: -len(".txt")] + ".meta.json")
        recorded_status = 200
        pairs: list[tuple[str, str]] = []
        if meta_file.is_file():
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            recorded_status = int(meta["response"]["status"])
            origin = urlsplit(meta["request"]["url"])
            origin_prefix = f"{origin.scheme}://{origin.netloc}"
            for name, values in meta["response"]["headers"].items():
                if name.lower() in _HOP_HEADERS:
                    continue
                for value in values:
                    if name.lower() == "link":
                        value = value.replace(origin_prefix, self.url)
                    pairs.append((name, value))
        else:
            pairs.append(("Content-Type", "application/json; charset=utf-8"))
        self.add(
            path,
            body=body_file.read_bytes(),
            status=status or recorded_status,
            headers=pairs,
            query=query,
            times=times,
        )

    # ---- serving -------------------------------------------------------------------------------
    def _match(self, path: str, query: dict[str, str]) -> _Route | None:
        with self._lock:
            candidates = [
                r for r in self.routes
                if r.path == path and all(query.get(k) == v for k, v in r.query.items()) and (r.times is None or r.times > 0)
            ]  # fmt: skip
            if not candidates:
                return None
            # most specific first; among equals, the limited (one-shot) routes first, then the oldest
            route = max(candidates, key=lambda r: (len(r.query), r.times is not None, -self.routes.index(r)))
            if route.times is not None:
                route.times -= 1
            return route

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                server.requests.append(
                    RecordedRequest(parts.path, query, {k.lower(): v for k, v in self.headers.items()})
                )
                route = server._match(parts.path, query)
                if route is None:
                    body = json.dumps({"error": f"no route for {parts.path}"}).encode()
                    self.send_response(404)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(route.status)
                for name, value in route.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, format: str, *args: object) -> None:
                logger.debug("replay: " + format, *args)

        return Handler
