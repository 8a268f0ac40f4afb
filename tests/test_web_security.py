"""Issue 17, web UI: blank tokens, DNS rebinding (Host/Origin), login throttling, bounded and
time-boxed searches that never stall other users, and brief files served from an allow-list."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from groundswell.records import Ticket
from groundswell.store import sqlite as sqlite_backend
from groundswell.store.base import SearchTimeout
from groundswell.store.query import MAX_QUERY_CHARS, QuerySyntaxError
from groundswell.store.sqlite import SqliteStore
from tests.kit.sample import load_sample, sample_config
from web.app import create_app
from web.security import (
    HostGuard,
    LoginThrottle,
    WebSecurityError,
    check_allowed_hosts,
    check_bind,
    parse_tokens,
)
from web.tickets import available_actions

LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def sample() -> Iterator[tuple[SqliteStore, list[Ticket]]]:
    store = SqliteStore(":memory:")
    _, _, _, tickets = load_sample(store, n=300, seed=5)
    yield store, tickets
    store.close()


def _csrf(page: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "page has no CSRF field"
    return match.group(1)


# ---- 1. a blank token never turns authentication off ----------------------------------------------
@pytest.mark.parametrize("token", ["", " ", "   ", ",", " , ,", "\t"])
def test_blank_token_is_an_error_not_no_authentication(token: str) -> None:
    with pytest.raises(WebSecurityError, match="blank"):
        parse_tokens(token)
    with pytest.raises(WebSecurityError):
        check_bind("0.0.0.0", token)
    with pytest.raises(WebSecurityError):
        create_app(sample_config(), SqliteStore(":memory:"), token=token)


def test_serve_refuses_public_bind_with_whitespace_token(tmp_path: Path) -> None:
    import typer

    from web.cli import serve

    app = (
        typer.Typer()
    )  # the command alone: the main app's callback would reconfigure logging for later tests
    app.command("serve")(serve)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(
        app,
        ["serve", "-c", str(tmp_path / "none.yaml"), "--host", "0.0.0.0", "--allowed-host", "gs.example"],
        env={"GROUNDSWELL_WEB_TOKEN": " "},
    )
    assert result.exit_code == 1
    assert "blank" in result.output and "token required" not in result.output


def test_public_bind_needs_allowed_hosts() -> None:
    with pytest.raises(WebSecurityError, match="--allowed-host"):
        check_allowed_hosts("0.0.0.0", [])
    check_allowed_hosts("0.0.0.0", ["gs.example.com"])
    check_allowed_hosts("127.0.0.1", [])


# ---- 2. DNS rebinding: Host and Origin ------------------------------------------------------------
def test_loopback_ui_refuses_a_rebound_host_and_keeps_the_ticket(sample) -> None:
    store, tickets = sample
    ticket = tickets[0]
    before = store.get_doc("tickets", ticket.id)
    attacker = TestClient(create_app(sample_config(), store), base_url="http://attacker.example:8801")
    r = attacker.get("/search")
    assert r.status_code == 421 and "csrf_token" not in r.text
    assert "set-cookie" not in r.headers
    r = attacker.post(f"/tickets/{ticket.id}/actions", data={"action": "acknowledge"})
    assert r.status_code == 421
    assert store.get_doc("tickets", ticket.id) == before


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "127.0.0.2", "LOCALHOST", "localhost."]
)
def test_loopback_names_are_accepted(host: str) -> None:
    assert HostGuard("127.0.0.1").allows_host(host)


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:8801", "127.0.0.1.attacker.example", "0.0.0.0", "", None]
)
def test_other_names_are_refused_on_loopback(host: str | None) -> None:
    assert not HostGuard("127.0.0.1").allows_host(host)


def test_public_bind_accepts_only_configured_hosts() -> None:
    guard = HostGuard("0.0.0.0", ["gs.example.com"])
    assert guard.allows_host("gs.example.com") and guard.allows_host("GS.example.com:443")
    assert not guard.allows_host("attacker.example")
    assert HostGuard("10.0.0.5").allows_host("10.0.0.5:8000")
    assert HostGuard("0.0.0.0", ["*"]).allows_host("anything.example")


def test_cross_origin_post_is_refused(sample) -> None:
    store, tickets = sample
    ticket = tickets[1]
    action = next(a for a in available_actions(ticket.state) if a not in ("assign", "dismiss"))
    client = TestClient(create_app(sample_config(), store), base_url=LOCAL)
    page = client.get(f"/tickets/{ticket.id}").text
    before = store.get_doc("tickets", ticket.id)
    for origin in ("http://attacker.example", "null"):
        r = client.post(
            f"/tickets/{ticket.id}/actions",
            data={"action": action, "csrf_token": _csrf(page)},
            headers={"Origin": origin},
        )
        assert r.status_code == 403, origin
    assert store.get_doc("tickets", ticket.id) == before
    r = client.post(
        f"/tickets/{ticket.id}/actions",
        data={"action": action, "csrf_token": _csrf(page)},
        headers={"Origin": "http://127.0.0.1:8000"},
        follow_redirects=False,
    )
    assert r.status_code == 303


# ---- 7a. failed logins are throttled --------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failed_logins_are_throttled_per_client(sample) -> None:
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=5, window_s=60, clock=clock)
    client = TestClient(
        create_app(sample_config(), sample[0], token="alice=correct-horse", login_throttle=throttle),
        base_url=LOCAL,
    )
    csrf = _csrf(client.get("/login").text)
    codes = [
        client.post("/login", data={"csrf_token": csrf, "token": f"wrong-{i}"}).status_code for i in range(50)
    ]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    r = client.post("/login", data={"csrf_token": csrf, "token": "correct-horse"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0  # even the right token waits
    # bearer guesses count too
    assert client.get("/search", headers={"Authorization": "Bearer correct-horse"}).status_code == 429
    clock.now += 61
    r = client.post("/login", data={"csrf_token": csrf, "token": "correct-horse"}, follow_redirects=False)
    assert r.status_code == 303


def test_bearer_guesses_are_throttled() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=3, window_s=30, clock=clock)
    client = TestClient(
        create_app(sample_config(), SqliteStore(":memory:"), token="s3cret-token", login_throttle=throttle),
        base_url=LOCAL,
    )
    codes = [
        client.get("/search", headers={"Authorization": f"Bearer guess-{i}"}).status_code for i in range(6)
    ]
    assert codes == [401, 401, 401, 429, 429, 429]


# ---- 3. bounded queries with a time budget; one slow query never blocks the others -----------------
@pytest.mark.parametrize(
    ("q", "message"),
    [
        (" ".join(["kettle"] * 2000), "characters long"),
        (" ".join(["kettle"] * 60), "words and phrases"),
        ("(" * 5000, "characters long"),
        (" ".join(["brand:acme"] * 300), "characters long"),  # filters only: the text part is empty
        ("(" * 20 + "kettle" + ")" * 20, "nests parentheses"),
        ('"steam pro overheat', "unbalanced quote"),
        ("(kettle OR lid", "never closed"),
        ("kettle) lid", "no matching"),
    ],
)
def test_hostile_or_malformed_query_gets_a_clear_400_at_once(sample, q: str, message: str) -> None:
    client = TestClient(create_app(sample_config(), sample[0]), base_url=LOCAL)
    t0 = time.perf_counter()
    r = client.get("/search", params={"q": q})
    assert time.perf_counter() - t0 < 5
    assert r.status_code == 400 and message in r.text


def test_store_reports_query_syntax_instead_of_repairing_it() -> None:
    store = SqliteStore(":memory:")
    with pytest.raises(QuerySyntaxError, match=r"unbalanced quote.*character 1"):
        store.search('"steam pro overheat')
    with pytest.raises(QuerySyntaxError, match=f"{MAX_QUERY_CHARS:,}"):
        store.search("a" * (MAX_QUERY_CHARS + 1))
    assert store.search('"steam pro" overheat').total == 0  # balanced: fine


def _slow_fts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A query the bounds accept that FTS5 still finds expensive, standing in for tomorrow's hostile
    query: 'SLOWQUERY' becomes 1,500 AND'ed copies of a common word (the cost grows with the square)."""
    real = sqlite_backend.fts_expression

    def fts_expression(query: str) -> tuple[str, str]:
        if query == "SLOWQUERY":
            return " AND ".join(['"kettle"'] * 1500), ""
        return real(query)

    monkeypatch.setattr(sqlite_backend, "fts_expression", fts_expression)


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path_factory.mktemp("big") / "big.sqlite")
    load_sample(store, n=4000, seed=3)
    yield store
    store.close()


def test_search_over_its_time_budget_is_stopped(big_store: SqliteStore, monkeypatch) -> None:
    _slow_fts(monkeypatch)
    monkeypatch.setattr(big_store, "search_timeout_s", 0.3)
    t0 = time.perf_counter()
    with pytest.raises(SearchTimeout, match="budget"):
        big_store.search("SLOWQUERY")
    assert time.perf_counter() - t0 < 3
    assert big_store.search("kettle").total > 0  # the connection is usable afterwards
    client = TestClient(create_app(sample_config(), big_store), base_url=LOCAL)
    r = client.get("/search", params={"q": "SLOWQUERY"})
    assert r.status_code == 503 and "budget" in r.text


def test_a_statement_started_after_the_budget_ran_out_is_stopped_too() -> None:
    """Interrupting a connection between two statements does nothing: a search held up past its budget
    before its statement started (a busy machine, a long garbage collection) ran it unbounded."""
    import sqlite3

    db = sqlite3.connect(":memory:", check_same_thread=False)
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) SELECT count(*) FROM c"
    t0 = time.perf_counter()
    with sqlite_backend._Budget(db, 0.05):
        time.sleep(0.3)  # the budget runs out while no statement is running
        with pytest.raises(sqlite3.OperationalError, match="interrupt"):
            db.execute(slow).fetchone()
    assert time.perf_counter() - t0 < 3
    assert db.execute("SELECT 1").fetchone() == (1,)  # nothing interrupts the connection afterwards
    time.sleep(0.2)
    assert db.execute("SELECT count(*) FROM (SELECT 1 UNION ALL SELECT 2)").fetchone() == (2,)


def test_one_slow_search_does_not_block_the_others(big_store: SqliteStore, monkeypatch) -> None:
    _slow_fts(monkeypatch)
    # the slow query runs out its budget before the test ends (thread.join): 5 s is just over the
    # 0.3 s head start plus the 4 s the three ordinary searches may take, so it is still running then
    monkeypatch.setattr(big_store, "search_timeout_s", 5.0)
    started, finished = threading.Event(), threading.Event()

    def hostile() -> None:
        started.set()
        try:
            big_store.search("SLOWQUERY")
        except SearchTimeout:
            pass
        finally:
            finished.set()

    thread = threading.Thread(target=hostile, daemon=True)
    thread.start()
    started.wait()
    time.sleep(0.3)  # the slow query is running
    client = TestClient(create_app(sample_config(), big_store), base_url=LOCAL)
    t0 = time.perf_counter()
    for q in ("kettle", "lid", '"handle got too hot"'):
        assert client.get("/search", params={"q": q}).status_code == 200
    elapsed = time.perf_counter() - t0
    still_running = not finished.is_set()
    thread.join(20)
    assert still_running, "the slow query finished too soon to show anything; make it slower"
    assert elapsed < 4, f"three ordinary searches took {elapsed:.1f} s behind the slow one"


# ---- 4. brief files come from an allow-list ------------------------------------------------------
@pytest.fixture
def brief_in_data_folder(tmp_path: Path) -> tuple[TestClient, Path]:
    """A brief written into the data folder, next to the store, the configuration and the logs."""
    data = tmp_path / "data"
    data.mkdir()
    store = SqliteStore(data / "groundswell.sqlite")
    (data / "groundswell.yaml").write_text("name: secret-config\n")
    (data / "groundswell.log").write_text("token=hunter2\n")
    (data / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\nchart")
    (data / "other.png").write_bytes(b"\x89PNG\r\n\x1a\nother")
    html = data / "brief-2026-02-16.html"
    html.write_text('<html><body><img src="chart.png"><img src="data:image/png;base64,AAAA"></body></html>')
    pdf = data / "brief-2026-02-16.pdf"
    pdf.write_bytes(b"%PDF-1.7 brief")
    store.put_doc(
        "briefs",
        "2026-02-16",
        {"id": "2026-02-16", "week_start": "2026-02-16", "html_path": str(html), "pdf_path": str(pdf)},
    )
    return TestClient(create_app(sample_config(), store), base_url=LOCAL, raise_server_exceptions=False), data


@pytest.mark.parametrize(
    "name",
    [
        "groundswell.sqlite",
        "groundswell.sqlite-wal",
        "groundswell.yaml",
        "groundswell.log",
        "other.png",
        "%00",
        "chart.png%00.html",
        "..%2fgroundswell.sqlite",
        "%2e%2e/%2e%2e/etc/passwd",
        ".%2Fchart.png%2F..",
        "a" * 300,
        "%C0%AE%C0%AE/x.png",
    ],
)
def test_brief_route_serves_nothing_but_the_brief(brief_in_data_folder, name: str) -> None:
    client, _ = brief_in_data_folder
    r = client.get(f"/briefs/2026-02-16/{name}")
    assert r.status_code == 404, (name, r.status_code)
    assert "Traceback" not in r.text and "hunter2" not in r.text and "SQLite format" not in r.text


def test_brief_html_pdf_and_linked_chart_are_served(brief_in_data_folder) -> None:
    client, _ = brief_in_data_folder
    assert client.get("/briefs/2026-02-16/").status_code == 200
    assert client.get("/briefs/2026-02-16/pdf").content.startswith(b"%PDF")
    r = client.get("/briefs/2026-02-16/chart.png")
    assert r.status_code == 200 and r.content.endswith(b"chart")
    assert client.get("/briefs/%00/").status_code == 404


def test_elasticsearch_search_carries_the_budget_and_reports_a_timeout() -> None:
    from unittest.mock import MagicMock

    from index_mappings.store import ElasticsearchStore

    client = MagicMock()
    es = client.options.return_value
    es.options.return_value = es
    es.search.return_value = {"timed_out": True, "hits": {"total": {"value": 0}, "hits": []}}
    store = ElasticsearchStore(client, check_mapping=False)
    store.search_timeout_s = 2.5
    with pytest.raises(SearchTimeout, match="budget"):
        store.search("kettle")
    assert es.search.call_args.kwargs["timeout"] == "2500ms"
    es.options.assert_called_with(request_timeout=7.5)
