"""The web UI without a browser: query parsing, pages, escaping, auth, CSRF, tickets, briefs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from groundswell.mention import Mention
from groundswell.records import Ticket
from groundswell.store.sqlite import SqliteStore
from tests.kit.sample import load_sample, sample_config
from web.app import create_app
from web.query import QueryError, parse_query
from web.security import WebSecurityError, check_bind, parse_tokens

PLANTED = Mention(
    source="demo-forum",
    source_kind="forum",
    url="javascript:alert(document.cookie)",
    author="<b>mallory</b>",
    published=datetime(2026, 2, 20, 12, tzinfo=UTC),
    title="<img src=x onerror=alert(1)> zanzibar",
    text='zanzibar kettle <script>window.pwned = 1; document.title = "pwned"</script> "quoted" & more',
    language="en",
    entities=["acme"],
    sentiment="negative",
    sentiment_score=-0.8,
    enriched=True,
)


@pytest.fixture(scope="module")
def sample() -> Iterator[tuple[SqliteStore, object, list, list, list]]:
    store = SqliteStore(":memory:")
    mentions, truth, events, tickets = load_sample(store, n=600, seed=11)
    store.upsert_mentions([PLANTED])
    yield store, truth, mentions, events, tickets
    store.close()


@pytest.fixture
def client(sample) -> TestClient:
    store = sample[0]
    return TestClient(create_app(sample_config(), store), base_url="http://127.0.0.1")


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "page has no CSRF field"
    return match.group(1)


def _total(page: str) -> int:
    match = re.search(r'<strong id="total">([\d,]+)</strong>', page)
    assert match, "page shows no result count"
    return int(match.group(1).replace(",", ""))


def _fresh_ticket(store: SqliteStore, ticket: Ticket, suffix: str) -> Ticket:
    copy = ticket.model_copy(update={"id": f"{ticket.id}-{suffix}", "state": "open"})
    store.put_doc("tickets", copy.id, copy.model_dump(mode="json"))
    return copy


# ---- query parsing ---------------------------------------------------------------------------------
def test_parse_query_splits_field_filters_from_text() -> None:
    parsed = parse_query(
        'brand:acme sentiment:negative "battery fire" OR smoke -refund source:demo-forum after:2026-01-01 before:2026-02-01',
        sample_config(),
    )
    assert parsed.text == '"battery fire" OR smoke -refund'
    f = parsed.filters
    assert f.entities == ("acme", "acme-kettle")  # a brand brings its products
    assert f.sentiments == ("negative",)
    assert f.sources == ("demo-forum",)
    assert f.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert f.end == datetime(2026, 2, 1, tzinfo=UTC)


def test_parse_query_repeated_field_means_any_and_names_map_to_ids() -> None:
    parsed = parse_query(
        "kind:complaint kind:idea entity:Globex area:customer-service lang:EN", sample_config()
    )
    assert parsed.filters.voc_kinds == ("complaint", "idea")
    assert parsed.filters.entities == ("globex",)
    assert parsed.filters.business_areas == ("customer_service",)
    assert parsed.filters.languages == ("en",)
    assert parsed.text == ""


def test_parse_query_keeps_urls_and_unknown_prefixes_as_text() -> None:
    parsed = parse_query("see https://example.com/a meeting at 10:30 foo:bar", sample_config())
    assert parsed.text == "see https://example.com/a meeting at 10:30 foo:bar"
    assert parsed.filters == type(parsed.filters)()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sentiment:awful", "allowed values are negative, neutral, positive"),
        ("kind:rant", "allowed values are compliment"),
        ("after:yesterday", "YYYY-MM-DD"),
        ("-brand:acme", "not supported"),
        ("topic:kettles", "topic is its number"),
    ],
)
def test_parse_query_rejects_invalid_values_with_what_is_allowed(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(query, sample_config())


def test_parse_query_form_controls_add_filters() -> None:
    parsed = parse_query(
        "kettle", sample_config(), form={"sentiment": "positive", "after": "2026-02-01", "brand": ""}
    )
    assert parsed.text == "kettle"
    assert parsed.filters.sentiments == ("positive",)
    assert parsed.filters.start == datetime(2026, 2, 1, tzinfo=UTC)
    assert parsed.filters.entities == ()


# ---- search ----------------------------------------------------------------------------------------
def test_search_counts_match_store_and_filters_restrict(client: TestClient, sample) -> None:
    store, truth = sample[0], sample[1]
    page = client.get("/search", params={"q": "overheating"})
    assert page.status_code == 200
    assert _total(page.text) == len(truth.shift_mention_ids)  # only the planted complaints say it
    assert "<mark>overheating</mark>" in page.text
    # the planted complaints are all on demo-reviews: a forum filter (typed or chosen) leaves none
    assert _total(client.get("/search", params={"q": "overheating source:demo-forum"}).text) == 0
    assert _total(client.get("/search", params={"q": "overheating", "source": "demo-forum"}).text) == 0
    negatives = client.get("/search", params={"q": "sentiment:negative brand:globex"})
    expected = store.count(parse_query("sentiment:negative brand:globex", sample_config()).filters)
    assert expected > 0 and _total(negatives.text) == expected


def test_search_paginates_without_repeating_hits(client: TestClient) -> None:
    first = client.get("/search", params={"q": "kettle", "sort": "newest"}).text
    second = client.get("/search", params={"q": "kettle", "sort": "newest", "page": 2}).text
    ids = lambda html: re.findall(r'<h3><a href="/mentions/([0-9a-f]+)"', html)  # noqa: E731
    assert len(ids(first)) == 20 and len(ids(second)) == 20
    assert not set(ids(first)) & set(ids(second))
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_search_invalid_filter_is_a_400_with_the_reason(client: TestClient) -> None:
    page = client.get("/search", params={"q": "sentiment:awful"})
    assert page.status_code == 400
    assert "allowed values are negative, neutral, positive" in page.text


def test_pages_escape_planted_markup(client: TestClient) -> None:
    for url in (
        "/search?q=zanzibar",
        f"/mentions/{PLANTED.id}",
        "/search?q=author%3A%22%3Cb%3Emallory%3C%2Fb%3E%22",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "<script>window.pwned" not in page.text
        assert "<img src=x" not in page.text
        assert "<b>mallory</b>" not in page.text
        assert "&lt;script&gt;window.pwned" in page.text or "&lt;img src=x" in page.text
    mention_page = client.get(f"/mentions/{PLANTED.id}").text
    assert 'href="javascript:' not in mention_page  # a non-http URL is shown, never linked


def test_every_page_sends_a_strict_content_security_policy(client: TestClient, sample) -> None:
    events, tickets = sample[3], sample[4]
    for url in (
        "/search",
        "/trends",
        f"/trends/{events[0].id}",
        "/tickets",
        f"/tickets/{tickets[0].id}",
        "/briefs",
        "/nope",
    ):
        response = client.get(url)
        csp = response.headers["content-security-policy"]
        assert (
            "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        ), url
        assert response.headers["x-frame-options"] == "DENY"
        assert "<script" not in response.text  # no inline script anywhere, so the CSP costs nothing


def test_mention_page_shows_fields_original_link_and_thread(client: TestClient, sample) -> None:
    mentions = sample[2]
    m = next(x for x in mentions if x.thread_id and x.published.day > 3)
    same_thread = {x.id for x in mentions if x.thread_id == m.thread_id and x.id != m.id}
    page = client.get(f"/mentions/{m.id}").text
    # the sample's URLs point at 127.0.0.1:80, where nothing is served: the stored copy says so
    # (tests/test_links.py checks the original link, and its rel, when the source is served)
    assert f'href="{m.url}"' not in page and "is no longer served" in page
    shown = set(
        re.findall(r'<section class="card">\s*<h2>Thread.*?</section>', page, re.S)[0].split(
            'href="/mentions/'
        )[1:]
    )
    assert {s.split('"')[0] for s in shown} == same_thread
    assert "sentiment score" in page and "target sentiments" in page
    assert client.get("/mentions/0000").status_code == 404


def test_saved_query_round_trip(client: TestClient) -> None:
    page = client.get("/search").text
    saved = client.post(
        "/queries",
        data={
            "csrf_token": _csrf(page),
            "name": "Kettle <fires>",
            "q": "overheating",
            "sentiment": "negative",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/search?q=overheating&sentiment=negative"
    listing = client.get("/search").text
    assert "Kettle &lt;fires&gt;" in listing
    query_id = re.search(r'action="/queries/([0-9a-f]+)/delete"', listing).group(1)
    client.post(f"/queries/{query_id}/delete", data={"csrf_token": _csrf(listing)})
    assert "Kettle &lt;fires&gt;" not in client.get("/search").text


# ---- trends ----------------------------------------------------------------------------------------
def test_trends_page_marks_shift_and_blip_on_the_volume_chart(client: TestClient, sample) -> None:
    shift, blip = sample[3]
    page = client.get("/trends", params={"days": 90}).text
    chart = re.search(r'<figure class="chart" id="volume-chart">.*?</figure>', page, re.S).group(0)
    assert f'href="/trends/{shift.id}" class="marker marker-shift"' in chart
    assert f'href="/trends/{blip.id}" class="marker marker-blip"' in chart
    assert chart.count("<polyline") == 3  # the brand and its two competitors
    assert 'id="sov-chart"' in page and "Acme" in page
    only_shifts = client.get("/trends", params={"kind": "shift"}).text
    assert blip.id not in only_shifts and shift.id in only_shifts


def test_trends_page_lists_developing_signals_and_source_health_by_kind(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    _, _, events, _ = load_sample(store, n=300, seed=11)
    shift = events[0]
    developing = shift.model_copy(update={"id": "dev-1", "kind": "developing", "reason": "level"})
    health = shift.model_copy(
        update={
            "id": "health-1",
            "kind": "health",
            "reason": "failing",
            "group_by": "source",
            "key": "demo-forum",
        }
    )
    for event in (developing, health):
        store.put_doc("trends", event.id, event.model_dump(mode="json"))
    client = TestClient(create_app(sample_config(), store), base_url="http://127.0.0.1")
    for kind, shown, hidden in (("developing", "dev-1", "health-1"), ("health", "health-1", "dev-1")):
        page = client.get("/trends", params={"kind": kind, "days": 90}).text
        assert f'/trends/{shown}" class="chip kind-{kind}"' in page and hidden not in page
        assert shift.id not in page
    assert client.get("/trends", params={"kind": "nonsense"}).status_code == 422


def test_trend_page_shows_evidence(client: TestClient, sample) -> None:
    shift = sample[3][0]
    page = client.get(f"/trends/{shift.id}").text
    for driver in shift.drivers:
        assert f">{driver}</a>" in page
    assert len(re.findall(r'<article class="mention">', page)) == len(shift.mention_ids)
    for author in shift.top_authors:
        assert author in page
    assert sample[4][0].title in page  # the ticket opened for it
    assert client.get("/trends/unknown").status_code == 404


# ---- tickets and CSRF --------------------------------------------------------------------------------
def test_ticket_action_without_or_with_wrong_csrf_is_rejected(client: TestClient, sample) -> None:
    store, ticket = sample[0], _fresh_ticket(sample[0], sample[4][0], "csrf")
    client.get("/tickets")  # a session exists, so there is a token to get wrong
    assert client.post(f"/tickets/{ticket.id}/actions", data={"action": "acknowledge"}).status_code == 403
    bad = client.post(f"/tickets/{ticket.id}/actions", data={"action": "acknowledge", "csrf_token": "forged"})
    assert bad.status_code == 403
    assert store.get_doc("tickets", ticket.id)["state"] == "open"


def test_ticket_lifecycle_records_who(client: TestClient, sample) -> None:
    store, ticket = sample[0], _fresh_ticket(sample[0], sample[4][0], "life")
    token = _csrf(client.get(f"/tickets/{ticket.id}").text)
    for action, extra in (
        ("acknowledge", {}),
        ("assign", {"assignee": "dana"}),
        ("resolve", {"note": "recall issued"}),
    ):
        r = client.post(
            f"/tickets/{ticket.id}/actions",
            data={"csrf_token": token, "action": action, **extra},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    stored = Ticket.model_validate(store.get_doc("tickets", ticket.id))
    assert stored.state == "resolved" and stored.assignee == "dana"
    assert [(h.action, h.who) for h in stored.history[-3:]] == [
        ("acknowledge", "local"),
        ("assign", "local"),
        ("resolve", "local"),
    ]
    page = client.get(f"/tickets/{ticket.id}").text
    assert "recall issued" in page and ">Reopen</button>" in page and ">Acknowledge</button>" not in page


def test_ticket_dismiss_needs_a_reason_and_illegal_actions_are_409(client: TestClient, sample) -> None:
    store, ticket = sample[0], _fresh_ticket(sample[0], sample[4][0], "dismiss")
    token = _csrf(client.get(f"/tickets/{ticket.id}").text)
    r = client.post(
        f"/tickets/{ticket.id}/actions", data={"csrf_token": token, "action": "dismiss", "note": "  "}
    )
    assert r.status_code == 409 and "needs a reason" in r.text
    r = client.post(f"/tickets/{ticket.id}/actions", data={"csrf_token": token, "action": "reopen"})
    assert r.status_code == 409 and "cannot reopen" in r.text
    assert store.get_doc("tickets", ticket.id)["state"] == "open"
    r = client.post("/tickets/nope/actions", data={"csrf_token": token, "action": "acknowledge"})
    assert r.status_code == 404


def test_tickets_board_groups_by_state_and_filters_by_team(client: TestClient, sample) -> None:
    product, competitor = sample[4]
    board = client.get("/tickets").text
    open_col = re.search(r'id="col-open">.*?</section>', board, re.S).group(0)
    ack_col = re.search(r'id="col-acknowledged">.*?</section>', board, re.S).group(0)
    assert product.title in open_col and competitor.title in ack_col
    filtered = client.get("/tickets", params={"team": "competitive-intelligence"}).text
    assert competitor.title in filtered and product.title not in filtered
    # the team x state table counts exactly the cards on the unfiltered board
    table = re.search(r'<table class="by-team" id="by-team">.*?</table>', board, re.S).group(0)
    counts = [int(n) for n in re.findall(r'<td class="(?:zero)?">(\d+)</td>', table)]
    assert sum(counts) == board.count("data-ticket=") >= 2
    ci_row = re.search(r"competitive-intelligence</a></td>(.*?)</tr>", table, re.S).group(1)
    assert [int(n) for n in re.findall(r">(\d+)<", ci_row)] == [0, 1, 0, 0, 0]


# ---- auth --------------------------------------------------------------------------------------------
def test_token_protects_every_page_and_names_the_user(sample) -> None:
    store = sample[0]
    ticket = _fresh_ticket(store, sample[4][0], "auth")
    client = TestClient(
        create_app(sample_config(), store, token="alice=correct-horse,bob=battery-staple"),
        base_url="http://127.0.0.1",
    )
    r = client.get("/search?q=kettle", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fsearch%3Fq%3Dkettle")
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/search", headers={"Authorization": "Bearer nope-nope"}).status_code == 401
    assert client.get("/search", headers={"Authorization": "Bearer battery-staple"}).status_code == 200
    # scripts with a bearer token need no CSRF token (browsers never attach that header by themselves)
    r = client.post(
        f"/tickets/{ticket.id}/actions",
        data={"action": "acknowledge"},
        headers={"Authorization": "Bearer battery-staple"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    login = client.get("/login").text
    assert client.post("/login", data={"csrf_token": _csrf(login), "token": "wrong-token"}).status_code == 401
    assert (
        client.post("/login", data={"token": "correct-horse"}).status_code == 403
    )  # login form has CSRF too
    r = client.post(
        "/login",
        data={"csrf_token": _csrf(login), "token": "correct-horse", "next": "//evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/search"
    page = client.get(f"/tickets/{ticket.id}").text
    assert "alice" in page
    client.post(f"/tickets/{ticket.id}/actions", data={"action": "start", "csrf_token": _csrf(page)})
    history = Ticket.model_validate(store.get_doc("tickets", ticket.id)).history
    assert [(h.action, h.who) for h in history[-2:]] == [("acknowledge", "bob"), ("start", "alice")]
    client.post("/logout", data={"csrf_token": _csrf(page)})
    assert client.get("/tickets", follow_redirects=False).status_code == 303


def test_check_bind_refuses_public_address_without_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("localhost", None)
    check_bind("0.0.0.0", "alice=long-enough")
    with pytest.raises(
        WebSecurityError, match=re.escape("refusing to serve on '0.0.0.0' without authentication")
    ):
        check_bind("0.0.0.0", None)
    with pytest.raises(WebSecurityError, match="too short"):
        parse_tokens("bob=short")
    assert parse_tokens("just-one-secret") == {"just-one-secret": "token"}


def test_serve_command_refuses_public_bind_without_token(tmp_path: Path) -> None:
    import typer

    from web.cli import serve

    config = tmp_path / "groundswell.yaml"
    config.write_text(yaml.safe_dump({"name": "t", "data_dir": str(tmp_path)}))
    cli = typer.Typer()
    cli.command()(serve)
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--host", "0.0.0.0"], env={"GROUNDSWELL_WEB_TOKEN": ""}
    )
    assert result.exit_code == 1
    assert "refusing to serve on '0.0.0.0' without authentication" in result.output


# ---- briefs ------------------------------------------------------------------------------------------
def test_briefs_are_listed_and_served_without_path_traversal(
    client: TestClient, sample, tmp_path: Path
) -> None:
    store = sample[0]
    folder = tmp_path / "2026-W08"
    folder.mkdir()
    (folder / "brief.html").write_text('<html><body><h1>Week 8</h1><img src="sov.png"></body></html>')
    (folder / "sov.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "brief.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (tmp_path / "secret.txt").write_text("not for you")
    store.put_doc(
        "briefs",
        "2026-02-16",
        {
            "week_start": "2026-02-16",
            "html_path": str(folder / "brief.html"),
            "pdf_path": str(folder / "brief.pdf"),
        },
    )
    store.put_doc(
        "briefs", "2026-02-09", {"week_start": "2026-02-09", "html_path": str(folder / "missing.html")}
    )
    listing = client.get("/briefs").text
    assert listing.index("2026-02-16") < listing.index("2026-02-09")  # latest first
    html = client.get("/briefs/2026-02-16/")
    assert html.status_code == 200 and "Week 8" in html.text
    assert "script-src" not in html.headers["content-security-policy"]  # default-src 'none': no script at all
    assert client.get("/briefs/2026-02-16/sov.png").status_code == 200
    assert client.get("/briefs/2026-02-16/pdf").content.startswith(b"%PDF")
    assert client.get("/briefs/2026-02-16/../secret.txt").status_code == 404
    assert client.get("/briefs/2026-02-16/%2e%2e/secret.txt").status_code == 404
    # an encoded slash reaches the handler as a path: it must not climb out of the brief's folder
    escaped = client.get("/briefs/2026-02-16/x%2F..%2F..%2Fsecret.txt")
    assert escaped.status_code == 404 and "not for you" not in escaped.text
    assert client.get("/briefs/2026-02-09/").status_code == 404
    for key in ("2026-02-16", "2026-02-09"):
        store.delete_doc("briefs", key)
