"""The web UI on both store backends (embedded SQLite and Elasticsearch via osmem-server).

The UI only talks to the `Store` interface; these tests load the same sample into each backend and
check that every page renders and shows the same facts.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from groundswell.records import Ticket
from groundswell.store.base import Store
from tests.kit.sample import load_sample, sample_config
from web.app import create_app


def _total(page: str) -> int:
    return int(re.search(r'<strong id="total">([\d,]+)</strong>', page).group(1).replace(",", ""))


def test_web_pages_render_the_same_facts_on_each_backend(store: Store) -> None:
    mentions, truth, events, tickets = load_sample(store, n=300, seed=3)
    client = TestClient(create_app(sample_config(), store), base_url="http://127.0.0.1")

    assert _total(client.get("/search", params={"q": "overheating"}).text) == len(truth.shift_mention_ids)
    negative_acme = sum(1 for m in mentions if "acme" in m.entities and m.sentiment == "negative")
    assert _total(client.get("/search", params={"q": "entity:acme sentiment:negative"}).text) == negative_acme

    trends = client.get("/trends").text
    assert f'href="/trends/{events[0].id}" class="marker marker-shift"' in trends
    evidence = client.get(f"/trends/{events[0].id}").text
    assert evidence.count('<article class="mention">') == len(events[0].mention_ids)

    m = next(x for x in mentions if x.thread_id)
    thread = {x.id for x in mentions if x.thread_id == m.thread_id and x.id != m.id}
    page = client.get(f"/mentions/{m.id}").text
    shown = set(
        re.findall(r'href="/mentions/([0-9a-f]+)"', page.split("<h2>Thread")[1].split("<h2>All fields")[0])
    )
    assert shown == thread

    ticket = tickets[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/tickets/{ticket.id}").text).group(1)
    r = client.post(
        f"/tickets/{ticket.id}/actions",
        data={"csrf_token": token, "action": "acknowledge"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    stored = Ticket.model_validate(store.get_doc("tickets", ticket.id))
    assert stored.state == "acknowledged" and stored.history[-1].who == "local"
    board = client.get("/tickets").text
    assert ticket.title in re.search(r'id="col-acknowledged">.*?</section>', board, re.S).group(0)
