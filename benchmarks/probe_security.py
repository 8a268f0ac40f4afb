"""The probes of issue 17, one line each: run it on a checkout before and after the fix.

    .venv/bin/python benchmarks/probe_security.py            # about a minute (two slow-webhook probes)
    .venv/bin/python benchmarks/probe_security.py --quick    # without the 12-second webhook probe

Uses only interfaces both versions have (create_app, SqliteStore, Notifier, process_events,
ApiHttp, parse_config), real HTTP receivers on 127.0.0.1 and FastAPI's TestClient.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from fastapi.testclient import TestClient

from alerts import Notifier, process_events
from alerts.lifecycle import load_ticket, transition
from groundswell.config import ConfigError, parse_config
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import T0, make_config, make_event, make_mention
from tests.kit.sample import load_sample, sample_config
from web.app import create_app


def receiver(delay_s: float = 0.0) -> tuple[ThreadingHTTPServer, list[str]]:
    keys: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            keys.append(self.headers.get("Idempotency-Key", ""))
            time.sleep(delay_s)
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["GS_HOOK_URL"] = f"http://127.0.0.1:{server.server_address[1]}/hook"
    return server, keys


def shift(store: SqliteStore):  # type: ignore[no-untyped-def]
    ms = [
        make_mention(i, text="the kettle caught fire", hazards=("fire_burn",), severity=2) for i in range(5)
    ]
    store.upsert_mentions(ms)
    return make_event(
        "acme-kettle", metric="safety_count", baseline=2, level=3, mentions=ms, hazards={"fire_burn": 5}
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    out: list[tuple[str, str]] = []

    def probe(name: str, fn: Any) -> None:
        try:
            result = fn()
        except Exception as err:  # a probe that raises is a result too
            result = f"raised {type(err).__name__}: {str(err)[:90]}"
        out.append((name, str(result)))
        print(f"{name:58} {result}", flush=True)

    tmp = Path(tempfile.mkdtemp())
    store = SqliteStore(tmp / "web.sqlite")
    _, _, _, tickets = load_sample(store, n=4000, seed=3)
    cfg = sample_config()

    def blank_token() -> str:
        from web.security import check_bind

        try:
            check_bind("0.0.0.0", " ")
        except Exception:
            return "refused to start"
        client = TestClient(create_app(cfg, store, token=" "), base_url="http://127.0.0.1")
        return f"starts; GET /search without credentials -> {client.get('/search').status_code}"

    probe("1 token ' ' on 0.0.0.0", blank_token)

    def rebinding() -> str:
        c = TestClient(create_app(cfg, store), base_url="http://attacker.example:8801")
        r = c.get(f"/tickets/{tickets[0].id}")
        return f"GET {r.status_code}, session cookie {'yes' if 'set-cookie' in r.headers else 'no'}"

    probe("2 Host: attacker.example:8801", rebinding)

    local = TestClient(create_app(cfg, store), base_url="http://127.0.0.1")

    def timed_get(q: str) -> str:
        t0 = time.perf_counter()
        r = local.get("/search", params={"q": q})
        return f"{r.status_code} in {time.perf_counter() - t0:.1f} s"

    probe("3 search: 'kettle' x 1000 (7 KB URL), 4k mentions", lambda: timed_get(" ".join(["kettle"] * 1000)))
    probe("3 search: 5,000 '('", lambda: timed_get("(" * 5000))
    probe('3 search: "steam pro overheat (unbalanced quote)', lambda: timed_get('"steam pro overheat'))

    html = tmp / "brief-2026-02-16.html"
    html.write_text("<html><body>brief</body></html>")
    store.put_doc(
        "briefs", "2026-02-16", {"id": "2026-02-16", "week_start": "2026-02-16", "html_path": str(html)}
    )
    raw = TestClient(create_app(cfg, store), base_url="http://127.0.0.1", raise_server_exceptions=False)
    probe(
        "4 GET /briefs/<week>/web.sqlite (store next to brief)",
        lambda: raw.get("/briefs/2026-02-16/web.sqlite").status_code,
    )
    probe("4 GET /briefs/<week>/%00", lambda: raw.get("/briefs/2026-02-16/%00").status_code)

    def two_deliverers() -> str:
        server, keys = receiver(delay_s=0.5)
        config = make_config({"product-safety": [{"kind": "webhook", "url_env": "GS_HOOK_URL"}]})
        path = tmp / "race.sqlite"
        a, b = SqliteStore(path), SqliteStore(path)
        now = T0
        process_events(config, a, [shift(a)], now=now, deliver=False)
        barrier = threading.Barrier(2)

        def go(s: SqliteStore) -> None:
            barrier.wait()
            Notifier.from_settings(config).deliver_pending(s)

        ts = [threading.Thread(target=go, args=(s,)) for s in (a, b)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        server.shutdown()
        (rec,) = a.query_docs("notifications")
        return f"receiver got {len(keys)}; ledger {rec['status']}, attempts {rec['attempts']}"

    probe("5 two runs deliver the outbox at once", two_deliverers)

    if not args.quick:

        def slow_webhook() -> str:
            server, keys = receiver(delay_s=12.0)
            config = make_config({"product-safety": [{"kind": "webhook", "url_env": "GS_HOOK_URL"}]})
            s = SqliteStore(":memory:")
            t0 = time.perf_counter()
            process_events(config, s, [shift(s)], now=T0)
            took = time.perf_counter() - t0
            server.shutdown()
            (rec,) = s.query_docs("notifications")
            return f"receiver got {len(keys)} in {took:.0f} s; ledger {rec['status']}, attempts {rec['attempts']}"

        probe("5 webhook answering after 12 s, one run", slow_webhook)

    def lost_update() -> str:
        config = make_config({"product-safety": [{"kind": "webhook", "url_env": "GS_HOOK_URL"}]})
        path = tmp / "cas.sqlite"
        a, b = SqliteStore(path), SqliteStore(path)
        process_events(config, a, [shift(a)], now=T0, deliver=False)
        ticket_id = a.query_docs("tickets")[0]["id"]
        real = SqliteStore.get_doc
        done: list[bool] = []

        def get_doc(self: SqliteStore, collection: str, doc_id: str) -> Any:
            found = real(self, collection, doc_id)
            if self is a and collection == "tickets" and not done:
                done.append(True)
                transition(b, ticket_id, "acknowledge", who="bob", now=T0)
            return found

        SqliteStore.get_doc = get_doc  # type: ignore[method-assign]
        real_v = getattr(SqliteStore, "get_doc_versioned", None)
        if real_v is not None:

            def get_doc_versioned(self: SqliteStore, collection: str, doc_id: str) -> Any:
                found = real_v(self, collection, doc_id)
                if self is a and collection == "tickets" and not done:
                    done.append(True)
                    transition(b, ticket_id, "acknowledge", who="bob", now=T0)
                return found

            SqliteStore.get_doc_versioned = get_doc_versioned  # type: ignore[method-assign]
        try:
            transition(a, ticket_id, "start", who="alice", now=T0)
        finally:
            SqliteStore.get_doc = real  # type: ignore[method-assign]
            if real_v is not None:
                SqliteStore.get_doc_versioned = real_v  # type: ignore[method-assign]
        return "history " + ", ".join(h.action for h in load_ticket(a, ticket_id).history)

    probe("5 ticket: bob acknowledges while alice starts it", lost_update)

    def redirect_port() -> str:
        from crawlers.http import ApiHttp, Secret

        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.url.port == 9090:
                return httpx.Response(200, json={})
            return httpx.Response(302, headers={"Location": "http://api.example:9090/next"})

        http = ApiHttp(user_agent="probe", transport=httpx.MockTransport(handler), max_retries=0)
        http.get("http://api.example/v1", headers={"Authorization": Secret("Bearer tok-123456")})
        return f"Authorization sent to :9090: {'yes' if 'authorization' in seen[-1].headers else 'no'}"

    probe("6 redirect to another port of the same host", redirect_port)

    def logins() -> str:
        c = TestClient(create_app(cfg, store, token="alice=correct-horse"), base_url="http://127.0.0.1")
        import re

        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
        codes = [
            c.post("/login", data={"csrf_token": csrf, "token": f"bad-{i}"}).status_code for i in range(50)
        ]
        return ", ".join(f"{n}x {code}" for code, n in sorted({k: codes.count(k) for k in codes}.items()))

    probe("7 50 wrong login tokens", logins)

    def bad_urls() -> str:
        verdicts = []
        for url in ("http://[::1/x", "http:// not a url"):
            try:
                parse_config({"sources": [{"name": "s", "kind": "rss", "url": url}]})
                verdicts.append("accepted")
            except ConfigError:
                verdicts.append("rejected")
        return ", ".join(verdicts)

    probe("7 source URLs http://[::1/x, 'http:// not a url'", bad_urls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
