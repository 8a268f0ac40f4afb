"""Faults against a local Elasticsearch-compatible server: the server stopping in the middle of bulk
writes, a 429 storm, a mapping conflict, a rollover. Nothing may be lost (dead-letter file), and a
re-run must complete without duplicates."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from groundswell.mention import Mention
from groundswell.store.base import COLLECTIONS, StoreError
from index_mappings.store import ElasticsearchStore
from index_mappings.templates import analysis, install, mentions_mapping
from tests.kit.es import PREFIX, LoopbackProxy, OsmemProcess, ProxyHandler, make_client

pytestmark = pytest.mark.es

T0 = datetime(2024, 6, 3, tzinfo=UTC)


def mentions(n: int, rated_every: int = 0) -> list[Mention]:
    return [
        Mention(
            source="forum",
            source_kind="forum",
            url=f"https://example.org/t/{i}",
            author=f"user{i % 17}",
            published=T0 + timedelta(minutes=i),
            text=f"post number {i} about the kettle",
            rating=4.0 if rated_every and i % rated_every == 0 else None,
        )
        for i in range(n)
    ]


def count(url: str, index: str) -> int:
    req = urllib.request.Request(f"{url}/{index}/_count", method="GET")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return int(json.load(resp)["count"])


@pytest.fixture(name="server")
def server_fixture() -> Iterator[OsmemProcess]:
    server = OsmemProcess().start()
    yield server
    server.stop()


@pytest.mark.slow
def test_bulk_survives_server_stopping_mid_write(
    server: OsmemProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(server.url, request_timeout=5)
    install(client, PREFIX)
    dead_letter = tmp_path / "dead.ndjson"
    store = ElasticsearchStore(
        client,
        index_prefix=PREFIX,
        dead_letter_path=dead_letter,
        chunk_size=100,
        retry_base=0.05,
        max_retries=10,
    )
    docs = mentions(2000)
    results = []
    writer = threading.Thread(target=lambda: results.append(store.upsert_mentions(docs)))
    with caplog.at_level(logging.WARNING, logger="index_mappings.store"):
        writer.start()
        deadline = time.monotonic() + 20
        while count(server.url, f"{PREFIX}-mentions") < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.stop()  # killed while the writer is sending the next bulk requests
        time.sleep(0.3)
        server.start()  # osmem keeps nothing on disk: a fresh server, as after losing the node
        install(make_client(server.url), PREFIX)
        writer.join(60)
    assert not writer.is_alive()
    (result,) = results
    assert (result.written, result.failed) == (2000, 0)
    assert not dead_letter.exists()
    assert any(
        r.getMessage().startswith("bulk write of") and "connection failed" in r.getMessage()
        for r in caplog.records
    )
    # The documents the lost node held are gone; re-running the same write completes without duplicates.
    again = store.upsert_mentions(docs)
    assert (again.written, again.failed) == (2000, 0)
    assert store.count() == 2000
    assert len({m.id for m in store.iter_mentions(batch_size=1000)}) == 2000


class StormProxy(LoopbackProxy):
    """HTTP proxy to the server that answers 429 to the first `storm` bulk requests, then marks every
    second item of the next bulk response as rejected with 429 (after the server stored them)."""

    def __init__(self, upstream: str, storm: int) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.storm = storm
        self.bulk_requests = 0
        proxy = self

        class Handler(ProxyHandler):
            def forward(self) -> None:
                body = self.body()
                is_bulk = "/_bulk" in self.path
                if is_bulk:
                    proxy.bulk_requests += 1
                    if proxy.bulk_requests <= proxy.storm:
                        self.reply(
                            429,
                            json.dumps(
                                {
                                    "error": {
                                        "type": "es_rejected_execution_exception",
                                        "reason": "rejected execution (queue full)",
                                    },
                                    "status": 429,
                                }
                            ).encode(),
                        )
                        return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=10)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                if is_bulk and proxy.bulk_requests == proxy.storm + 1 and response.status == 200:
                    data = json.loads(payload)
                    for item in data["items"][::2]:
                        outcome = item["index"]
                        outcome["status"] = 429
                        outcome["error"] = {
                            "type": "es_rejected_execution_exception",
                            "reason": "rejected execution of item",
                        }
                    data["errors"] = True
                    payload = json.dumps(data).encode()
                self.reply(response.status, payload)
                conn.close()

        super().__init__(Handler)


def test_bulk_retries_a_429_storm_without_losing_or_duplicating(
    es_client: Elasticsearch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = next(iter(es_client.transport.node_pool.all())).base_url
    proxy = StormProxy(upstream, storm=3)
    try:
        dead_letter = tmp_path / "dead.ndjson"
        store = ElasticsearchStore(
            make_client(proxy.url),
            index_prefix=PREFIX,
            dead_letter_path=dead_letter,
            chunk_size=50,
            retry_base=0.01,
        )
        with caplog.at_level(logging.WARNING, logger="index_mappings.store"):
            result = store.upsert_mentions(mentions(120))
    finally:
        proxy.close()
    assert (result.written, result.failed) == (120, 0)
    assert not dead_letter.exists()
    assert proxy.bulk_requests == 3 + 1 + 1 + 2  # storm, partial, the rejected half, the two remaining chunks
    messages = [r.getMessage() for r in caplog.records]
    assert sum("429" in m and "retry" in m for m in messages) == 4
    verify = ElasticsearchStore(es_client, index_prefix=PREFIX)
    assert verify.count() == 120


def test_retries_exhausted_go_to_dead_letter(es_client: Elasticsearch, tmp_path: Path) -> None:
    upstream = next(iter(es_client.transport.node_pool.all())).base_url
    proxy = StormProxy(upstream, storm=1000)
    try:
        dead_letter = tmp_path / "dead.ndjson"
        store = ElasticsearchStore(
            make_client(proxy.url),
            index_prefix=PREFIX,
            dead_letter_path=dead_letter,
            retry_base=0.001,
            max_retries=2,
        )
        result = store.upsert_mentions(mentions(5))
    finally:
        proxy.close()
    assert (result.written, result.failed) == (0, 5)
    records = [json.loads(line) for line in dead_letter.read_text().splitlines()]
    assert len(records) == 5 and all(
        "gave up after 2 retries" in r["reason"] and "429" in r["reason"] for r in records
    )
    store = ElasticsearchStore(es_client, index_prefix=PREFIX, dead_letter_path=dead_letter)
    replayed = store.replay_dead_letter()
    assert (replayed.written, replayed.failed, store.count()) == (5, 0, 5)
    assert not dead_letter.exists()


def test_mapping_conflict_is_dead_lettered_with_reason_and_replayed(
    es_client: Elasticsearch, tmp_path: Path
) -> None:
    alias = f"{PREFIX}-mentions"
    # An index written by an older mapping that lacks `rating`, made the write index behind the alias.
    old_mapping = mentions_mapping()
    del old_mapping["properties"]["rating"]
    es_client.indices.create(index="legacy-mentions", settings={"analysis": analysis()}, mappings=old_mapping)
    es_client.indices.update_aliases(
        actions=[
            {"add": {"index": f"{alias}-000001", "alias": alias, "is_write_index": False}},
            {"add": {"index": "legacy-mentions", "alias": alias, "is_write_index": True}},
        ]
    )
    dead_letter = tmp_path / "dead.ndjson"
    store = ElasticsearchStore(es_client, index_prefix=PREFIX, dead_letter_path=dead_letter, retry_base=0.01)
    docs = mentions(20, rated_every=4)
    result = store.upsert_mentions(docs)
    assert (result.written, result.failed) == (15, 5)
    records = [json.loads(line) for line in dead_letter.read_text().splitlines()]
    assert sorted(r["id"] for r in records) == sorted(m.id for m in docs if m.rating is not None)
    assert all(
        r["status"] == 400 and "strict_dynamic_mapping_exception" in r["reason"] and "rating" in r["reason"]
        for r in records
    )
    assert Mention.model_validate(records[0]["mention"]) in docs  # the whole mention is kept
    # The operator fixes the alias; replaying writes the rest, a re-run changes nothing.
    es_client.indices.update_aliases(
        actions=[
            {"add": {"index": f"{alias}-000001", "alias": alias, "is_write_index": True}},
            {"add": {"index": "legacy-mentions", "alias": alias, "is_write_index": False}},
        ]
    )
    replayed = store.replay_dead_letter()
    assert (replayed.written, replayed.failed) == (5, 0)
    assert not dead_letter.exists()
    assert store.upsert_mentions(docs).failed == 0
    assert store.count() == 20
    assert sorted(m.id for m in store.iter_mentions()) == sorted(m.id for m in docs)


def test_rollover_keeps_updates_in_the_index_that_holds_them(
    es_client: Elasticsearch, tmp_path: Path
) -> None:
    alias = f"{PREFIX}-mentions"
    store = ElasticsearchStore(es_client, index_prefix=PREFIX, dead_letter_path=tmp_path / "dead.ndjson")
    first = mentions(30)
    store.upsert_mentions(first)
    # What a rollover does (osmem has no _rollover): a new write index from the template behind the alias.
    es_client.indices.create(index=f"{alias}-000002")
    es_client.indices.update_aliases(
        actions=[
            {"add": {"index": f"{alias}-000001", "alias": alias, "is_write_index": False}},
            {"add": {"index": f"{alias}-000002", "alias": alias, "is_write_index": True}},
        ]
    )
    changed = [m.model_copy(update={"text": m.text + " updated"}) for m in first]
    new = [
        Mention(
            source="forum", source_kind="forum", url=f"https://example.org/new/{i}", published=T0, text="new"
        )
        for i in range(5)
    ]
    result = store.upsert_mentions(changed + new)
    assert (result.written, result.failed) == (35, 0)
    assert store.count() == 35
    assert count_index(es_client, f"{alias}-000001") == 30
    assert count_index(es_client, f"{alias}-000002") == 5
    assert all(m.text.endswith("updated") for m in store.get_mentions([m.id for m in first]))


def count_index(client: Elasticsearch, index: str) -> int:
    return int(client.count(index=index)["count"])


def test_store_refuses_to_start_without_current_templates(
    osmem_base: object, es_client: Elasticsearch
) -> None:
    clone = osmem_base.clone()  # type: ignore[attr-defined]
    try:
        bare = make_client(clone.url)
        with pytest.raises(
            StoreError, match=r"index template 'gs-test-mentions' is missing.*Run `groundswell es install`"
        ):
            ElasticsearchStore(bare, index_prefix=PREFIX)
    finally:
        clone.close()
    template = es_client.indices.get_index_template(name=f"{PREFIX}-tickets")["index_templates"][0][
        "index_template"
    ]
    es_client.indices.put_index_template(
        name=f"{PREFIX}-tickets",
        index_patterns=template["index_patterns"],
        meta={"groundswell_mapping_version": 0},
        template=template["template"],
    )
    with pytest.raises(
        StoreError, match=r"index template 'gs-test-tickets' has mapping version 0, expected 1"
    ):
        ElasticsearchStore(es_client, index_prefix=PREFIX)
    report = install(es_client, PREFIX)
    assert not report.created and f"{PREFIX}-tickets-000001" in report.upgraded
    ElasticsearchStore(es_client, index_prefix=PREFIX)  # current again


def test_install_without_ilm_warns_and_is_repeatable(
    osmem_base: object, caplog: pytest.LogCaptureFixture
) -> None:
    clone = osmem_base.clone()  # type: ignore[attr-defined]
    try:
        client = make_client(clone.url)
        with caplog.at_level(logging.WARNING, logger="index_mappings.templates"):
            first = install(client, "fresh")
        assert first.ilm is False
        assert any("no _ilm API" in r.getMessage() for r in caplog.records)
        expected = ["mentions", *COLLECTIONS]
        assert sorted(first.created) == sorted(f"fresh-{n}-000001" for n in expected)
        second = install(client, "fresh")
        assert second.created == [] and len(second.upgraded) == len(expected)
        mapping = client.indices.get_mapping(index="fresh-mentions")["fresh-mentions-000001"]["mappings"]
        assert mapping["dynamic"] == "strict" and mapping["_meta"]["groundswell_mapping_version"] == 1
    finally:
        clone.close()


def test_maintain_reports_rollover_and_dead_letters(
    es_client: Elasticsearch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead_letter = tmp_path / "dead.ndjson"
    dead_letter.write_text('{"id": "a"}\n{"id": "b"}\n')
    store = ElasticsearchStore(es_client, index_prefix=PREFIX, dead_letter_path=dead_letter)
    with caplog.at_level(logging.WARNING, logger="index_mappings.store"):
        report = store.maintain()
    # osmem has neither ILM nor _rollover: nothing rolls over, and the log says why
    assert (report["ilm"], report["rolled_over"], report["indices"]) == (
        False,
        False,
        [f"{PREFIX}-mentions-000001"],
    )
    assert report["dead_letters"] == 2
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "neither ILM nor _rollover" in messages and "replay-dead-letter" in messages
