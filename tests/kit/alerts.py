"""Local receivers for testing notifications without a network: an HTTP webhook receiver and an
SMTP server (aiosmtpd), both on 127.0.0.1 with a free port. Used by `tests/test_alerts_*.py` and
usable by end-to-end tests; nothing here is imported by the pipeline.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from groundswell.config import Config, parse_config
from groundswell.mention import Mention, SourceKind
from groundswell.records import SeriesValue, TrendEvent


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Records every POST. `fail_first` requests get `fail_status`, the rest 200; the answer comes
    after `delay_s` (only for the first `slow_first` requests when set), as from a slow receiver."""

    fail_first: int = 0
    fail_status: int = 500
    delay_s: float = 0.0
    slow_first: int | None = None
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    @property
    def delivered(self) -> list[Received]:
        """Requests that were answered with success."""
        return [r for r in self.requests if r.status < 300]

    @property
    def keys(self) -> list[str]:
        """The Idempotency-Key of every request received, in order ("" where there was none)."""
        return [
            next((v for k, v in r.headers.items() if k.lower() == "idempotency-key"), "")
            for r in self.requests
        ]


@contextmanager
def http_receiver(
    *,
    fail_first: int = 0,
    fail_status: int = 500,
    delay_s: float = 0.0,
    slow_first: int | None = None,
    path: str = "/hook",
) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(
        fail_first=fail_first, fail_status=fail_status, delay_s=delay_s, slow_first=slow_first
    )
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                n = len(receiver.requests)
                status = receiver.fail_status if n < receiver.fail_first else 200
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body, status))
            if receiver.slow_first is None or n < receiver.slow_first:
                time.sleep(receiver.delay_s)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"error")
            except OSError:  # the client gave up waiting
                pass

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class SmtpReceiver:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_receiver(*, login: tuple[str, str] | None = None) -> Iterator[SmtpReceiver]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts.

    With `login=(user, password)` it requires authentication (over plain TCP: test only)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    receiver = SmtpReceiver(host="127.0.0.1", port=free_port())

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and login is not None
            and (data.login.decode(), data.password.decode()) == login
        )
        return AuthResult(success=ok, handled=False)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            receiver.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            receiver.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            return "250 Message accepted for delivery"

    controller = Controller(
        Handler(),
        hostname=receiver.host,
        port=receiver.port,
        authenticator=authenticator if login is not None else None,
        auth_required=login is not None,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()


# ---- hand-built configuration, mentions and trend events -------------------------------------------
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def make_config(
    channels: dict[str, list[dict[str, Any]]] | None = None, smtp: dict[str, Any] | None = None
) -> Config:
    """A small market: our brand Acme with a kettle, competitor Zephyr with an air fryer, one
    watched opinion leader, and the three default teams with the given channels per team id."""
    channels = channels or {}
    teams = [
        {"id": team, "name": team.replace("-", " ").title(), "channels": channels.get(team, [])}
        for team in ("product-safety", "competitive-intelligence", "communications")
    ]
    return parse_config(
        {
            "brands": [
                {
                    "id": "acme",
                    "name": "Acme",
                    "products": [{"id": "acme-kettle", "name": "Acme SteamPro kettle"}],
                }
            ],
            "competitors": [
                {
                    "id": "zephyr",
                    "name": "Zephyr",
                    "products": [{"id": "zephyr-airchef", "name": "Zephyr AirChef"}],
                }
            ],
            "opinion_leaders": [{"id": "dana-reyes", "name": "Dana Reyes", "handles": ["danareyes"]}],
            "teams": teams,
            "alerts": {"smtp": smtp or {}},
        }
    )


def make_mention(
    n: int,
    *,
    entity: str = "acme-kettle",
    text: str = "The kettle stopped working after a week.",
    author: str | None = None,
    sentiment: str = "negative",
    hazards: tuple[str, ...] = (),
    severity: int = 0,
    reach: int = 0,
    thread: str | None = None,
) -> Mention:
    return Mention(
        source="demo-forum",
        source_kind=SourceKind.forum,
        url=f"https://forum.example/t/{entity}/{n}",
        author=author or f"user{n}",
        author_reach=reach,
        published=T0 + timedelta(hours=n),
        text=text,
        thread_id=thread,
        enriched=True,
        entities=[entity],
        sentiment=sentiment,
        safety_hazards=list(hazards),
        safety_severity=severity,
    )


def make_event(
    key: str,
    *,
    metric: str = "volume",
    direction: str = "up",
    group_by: str = "entity",
    kind: str = "shift",
    start: datetime = T0,
    baseline: float = 4.0,
    level: float = 6.0,
    authors: int = 6,
    mentions: list[Mention] | tuple[Mention, ...] = (),
    hazards: dict[str, int] | None = None,
    drivers: tuple[str, ...] = (),
) -> TrendEvent:
    return TrendEvent(
        id=TrendEvent.make_id(group_by, key, metric, direction, start),
        kind=kind,  # type: ignore[arg-type]
        reason="level" if kind == "shift" else "reverted",
        group_by=group_by,  # type: ignore[arg-type]
        key=key,
        metric=metric,  # type: ignore[arg-type]
        direction=direction,  # type: ignore[arg-type]
        start=start,
        end=start + timedelta(days=3),
        detected_at=start + timedelta(days=3),
        baseline=baseline,
        level=level,
        change=level - baseline,
        confidence=0.99,
        authors=authors,
        sources=1,
        top_authors=[m.author for m in mentions][:5],
        source_names=["demo-forum"],
        drivers=list(drivers),
        safety_hazards=hazards or {},
        mention_ids=[m.id for m in mentions],
        series=[SeriesValue(t=start + timedelta(days=d), value=level, count=int(level)) for d in range(3)],
    )
