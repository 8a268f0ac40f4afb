"""Serve a built demo market over HTTP on loopback, with the Reddit- and Mastodon-shaped JSON APIs.

The site is static files; the API routes page through pre-rendered JSON lists the way the real APIs
do: Reddit `Listing`s with `after`/`before` cursors and `limit`, Mastodon timelines with
`max_id`/`since_id`/`min_id`/`limit` and an RFC 8288 `Link` header. Text bodies have the placeholder
origin replaced by the address actually served, and every response carries an ETag and
Last-Modified so HTTP caches can revalidate.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from groundswell.app.demo.site import ORIGIN

logger = logging.getLogger(__name__)

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def _content_type(path: Path) -> str:
    if path.name == "feed.xml" or path.name.endswith(".rss"):
        return "application/rss+xml; charset=utf-8"
    if path.name == "atom.xml":
        return "application/atom+xml; charset=utf-8"
    if path.suffix == ".xml":
        return "application/xml; charset=utf-8"
    return _TYPES.get(path.suffix) or (mimetypes.guess_type(path.name)[0] or "application/octet-stream")


def _int_param(query: dict[str, list[str]], name: str, default: int, maximum: int) -> int:
    try:
        return max(1, min(maximum, int(query.get(name, [str(default)])[0])))
    except ValueError:
        return default


def _legacy_escaped(child: dict[str, Any]) -> dict[str, Any]:
    data = dict(child["data"])
    for key in ("title", "selftext", "selftext_html"):
        if isinstance(data.get(key), str):
            data[key] = data[key].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {"kind": child["kind"], "data": data}


class MarketHandler(SimpleHTTPRequestHandler):
    """Static files plus the API routes; quiet (request lines go to the debug log)."""

    server_version = "DemoMarket/1.0"
    root: Path  # set on the subclass built by serve_market

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("demo market: " + format, *args)

    # ---- routing -------------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _base(self) -> str:
        host = self.headers.get("Host")
        if not host:
            address: Any = self.server.server_address
            host = f"{address[0]}:{address[1]}"
        return f"http://{host}"

    def _serve(self, *, head: bool) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path
        segments = [s for s in path.split("/") if s]
        try:
            if len(segments) == 3 and segments[0] == "r" and segments[2] == "new.json":
                return self._reddit(segments[1], query, head=head)
            if segments[:3] == ["api", "v1", "timelines"] and len(segments) == 5 and segments[3] == "tag":
                return self._mastodon(
                    self.root / "api" / "mastodon" / "tag" / f"{segments[4]}.json", path, query, head=head
                )
            if segments[:3] == ["api", "v1", "accounts"] and len(segments) == 4 and segments[3] == "lookup":
                acct = query.get("acct", [""])[0].lstrip("@").split("@")[0]
                return self._file(
                    self.root / "api" / "mastodon" / "lookup" / f"{acct}.json", head=head, error_json=True
                )
            if segments[:3] == ["api", "v1", "accounts"] and len(segments) == 5 and segments[4] == "statuses":
                return self._mastodon(
                    self.root / "api" / "mastodon" / "accounts" / f"{segments[3]}.json",
                    path,
                    query,
                    head=head,
                )
        except (ValueError, KeyError) as err:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": str(err)}, head=head)
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root.resolve()):
            return self._json(HTTPStatus.NOT_FOUND, {"error": "Record not found"}, head=head)
        if target.is_dir():
            target = target / "index.html"
        return self._file(target, head=head)

    # ---- responses -------------------------------------------------------------------------------
    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        head: bool,
        extra: dict[str, str] | None = None,
        mtime: float | None = None,
    ) -> None:
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        if status == 200:
            if self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
            elif (
                mtime is not None
                and self.headers.get("If-Modified-Since")
                and "If-None-Match" not in self.headers
            ):
                try:
                    if int(mtime) <= parsedate_to_datetime(self.headers["If-Modified-Since"]).timestamp():
                        status, body = 304, b""
                except (TypeError, ValueError):
                    pass
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", "no-cache")
        if mtime is not None:
            self.send_header("Last-Modified", formatdate(mtime, usegmt=True))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, *, head: bool, extra: dict[str, str] | None = None) -> None:
        body = (
            json.dumps(payload, ensure_ascii=False)
            .encode("utf-8")
            .replace(ORIGIN.encode(), self._base().encode())
        )
        self._send(status, body, "application/json; charset=utf-8", head=head, extra=extra)

    def _file(self, target: Path, *, head: bool, error_json: bool = False) -> None:
        if not target.is_file():
            if error_json:
                return self._json(HTTPStatus.NOT_FOUND, {"error": "Record not found"}, head=head)
            body = b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>"
            return self._send(404, body, "text/html; charset=utf-8", head=head)
        content_type = _content_type(target)
        body = target.read_bytes()
        if not content_type.startswith(("image/", "application/octet-stream")):
            body = body.replace(ORIGIN.encode(), self._base().encode())
        self._send(200, body, content_type, head=head, mtime=target.stat().st_mtime)

    def _load(self, source: Path) -> list[dict[str, Any]]:
        if not source.is_file():
            raise KeyError(f"unknown listing {source.stem!r}")
        return json.loads(source.read_text(encoding="utf-8"))

    def _reddit(self, subreddit: str, query: dict[str, list[str]], *, head: bool) -> None:
        source = self.root / "api" / "reddit" / subreddit / "new.json"
        if not source.is_file():
            return self._json(HTTPStatus.NOT_FOUND, {"message": "Not Found", "error": 404}, head=head)
        children = self._load(source)
        limit = _int_param(query, "limit", 25, 100)
        names = [c["data"]["name"] for c in children]
        after, before = query.get("after", [None])[0], query.get("before", [None])[0]
        if after:
            if after not in names:
                page: list[dict[str, Any]] = []
                start = len(children)
            else:
                start = names.index(after) + 1
                page = children[start : start + limit]
        elif before:
            end = names.index(before) if before in names else 0
            start = max(0, end - limit)
            page = children[start:end]
        else:
            start = 0
            page = children[:limit]
        if query.get("raw_json", ["0"])[0] != "1":  # legacy escaping, as reddit does without raw_json=1
            page = [_legacy_escaped(child) for child in page]
        more = start + len(page) < len(children)
        listing = {
            "kind": "Listing",
            "data": {
                "after": page[-1]["data"]["name"] if page and more else None,
                "dist": len(page),
                "modhash": "",
                "geo_filter": "",
                "children": page,
                "before": page[0]["data"]["name"] if page and start > 0 else None,
            },
        }
        remaining = 99
        self._json(
            HTTPStatus.OK,
            listing,
            head=head,
            extra={
                "x-ratelimit-remaining": f"{remaining}.0",
                "x-ratelimit-used": "1",
                "x-ratelimit-reset": "600",
            },
        )

    def _mastodon(self, source: Path, path: str, query: dict[str, list[str]], *, head: bool) -> None:
        if not source.is_file():
            return self._json(HTTPStatus.NOT_FOUND, {"error": "Record not found"}, head=head)
        statuses = self._load(source)  # newest first
        limit = _int_param(query, "limit", 20, 40)

        def key(value: str) -> int:
            return int(value)

        max_id = query.get("max_id", [None])[0]
        since_id = query.get("since_id", [None])[0]
        min_id = query.get("min_id", [None])[0]
        selected = statuses
        if max_id:
            selected = [s for s in selected if key(s["id"]) < key(max_id)]
        if since_id:
            selected = [s for s in selected if key(s["id"]) > key(since_id)]
        if min_id:  # the oldest `limit` statuses newer than min_id, still returned newest first
            selected = [s for s in selected if key(s["id"]) > key(min_id)][-limit:]
        page = selected[:limit]
        extra = {"x-ratelimit-limit": "300", "x-ratelimit-remaining": "299"}
        if page:
            base = f"{self._base()}{quote(path)}"
            extra["Link"] = (
                f'<{base}?limit={limit}&max_id={page[-1]["id"]}>; rel="next", '
                f'<{base}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"'
            )
        self._json(HTTPStatus.OK, page, head=head, extra=extra)


@contextmanager
def serve_market(root: Path, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the site under `root` from a background thread; yields the base URL (`http://127.0.0.1:PORT`)."""
    root = Path(root).resolve()
    if not (root / "index.html").is_file():
        raise FileNotFoundError(
            f"{root} holds no demo market (no index.html); build one with build_market() first"
        )
    handler = type("BoundMarketHandler", (MarketHandler,), {"root": root})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="demo-market", daemon=True)
    thread.start()
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    base_url = f"http://{bound_host}:{bound_port}"
    logger.info("demo market %s served at %s", root, base_url)
    try:
        yield base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
