"""Issue 17, exactly once under concurrency: one writer per store, an outbox that claims each
notification before sending, webhooks slower than the timeout, compare-and-set tickets.

The receivers are real HTTP servers on 127.0.0.1; two "runs" are two store instances on the same
SQLite file (separate connections, separate lock handles), as two processes would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts import Notifier, process_events
from alerts.lifecycle import list_tickets, load_ticket, transition, update_ticket
from groundswell.config import Config
from groundswell.records import Ticket
from groundswell.store.base import Store, StoreLocked
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import T0, http_receiver, make_config, make_event, make_mention

NOW = T0 + timedelta(days=30)


def _config() -> Config:
    return make_config(
        {"product-safety": [{"kind": "webhook", "url_env": "GS_HOOK_URL", "min_severity": "low"}]}
    )


def _shift(store: Store):  # type: ignore[no-untyped-def]
    mentions = [
        make_mention(i, text="the kettle caught fire", hazards=("fire_burn",), severity=2) for i in range(5)
    ]
    store.upsert_mentions(mentions)
    return make_event(
        "acme-kettle", metric="safety_count", baseline=2, level=3, mentions=mentions, hazards={"fire_burn": 5}
    )


def _notifier(config: Config, timeout_s: float = 5.0, max_attempts: int = 3) -> Notifier:
    return Notifier(
        smtp=config.alerts.smtp,
        max_attempts=max_attempts,
        backoff_s=0.01,
        timeout_s=timeout_s,
        sleep=lambda s: None,
    )


# ---- 5a. two runs at the same time -----------------------------------------------------------------
def test_two_overlapping_runs_send_each_notification_once(tmp_path: Path, monkeypatch) -> None:
    """Two `groundswell run` at once (cron overlap): the second waits for the writer lock, finds the
    notification sent, and sends nothing; the ledger says one send, one attempt."""
    path = tmp_path / "gs.sqlite"
    config = _config()
    with http_receiver(delay_s=0.5) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        first, second = SqliteStore(path), SqliteStore(path)
        event = _shift(first)
        barrier = threading.Barrier(2)
        results: list[Any] = []

        def run(store: SqliteStore) -> None:
            barrier.wait()
            with store.writer_lock("groundswell run", wait_s=30):
                results.append(process_events(config, store, [event], now=NOW, notifier=_notifier(config)))

        threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(hook.keys) == 1
        (record,) = first.query_docs("notifications")
        assert (record["status"], record["attempts"]) == ("sent", 1)
        assert sorted(r.notified for r in results) == [0, 1]


def test_outbox_claim_stops_a_second_sender_without_the_lock(tmp_path: Path, monkeypatch) -> None:
    """Even two deliverers that skip the lock (an operator's script, a bug) never both send: each
    record is claimed with a compare-and-set before it is sent."""
    path = tmp_path / "gs.sqlite"
    config = _config()
    with http_receiver(delay_s=0.5) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        first, second = SqliteStore(path), SqliteStore(path)
        process_events(config, first, [_shift(first)], now=NOW, notifier=_notifier(config), deliver=False)
        barrier = threading.Barrier(2)
        reports: list[Any] = []

        def deliver(store: SqliteStore) -> None:
            barrier.wait()
            reports.append(_notifier(config).deliver_pending(store, now=NOW))

        threads = [threading.Thread(target=deliver, args=(s,)) for s in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(hook.keys) == 1
        assert sum(r.sent for r in reports) == 1
        (record,) = first.query_docs("notifications")
        assert (record["status"], record["attempts"]) == ("sent", 1)


def test_second_run_exits_with_a_clear_message_when_it_may_not_wait(tmp_path: Path) -> None:
    path = tmp_path / "gs.sqlite"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from groundswell.store.sqlite import SqliteStore
                store = SqliteStore({str(path)!r})
                with store.writer_lock("groundswell run (cron)"):
                    print("locked", flush=True)
                    time.sleep(3)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        store = SqliteStore(path)
        with pytest.raises(StoreLocked) as err, store.writer_lock("groundswell run", wait_s=0):
            pass
        message = str(err.value)
        assert "groundswell run (cron)" in message and f"pid {holder.pid}" in message
        with store.writer_lock("groundswell run", wait_s=30):  # waits for the holder, then runs
            waited = time.monotonic() - locked_at
        assert 2.5 < waited < 15
    finally:
        holder.wait(20)


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "piped"])
def test_cli_run_takes_the_writer_lock_with_or_without_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    import io

    import typer
    from rich.console import Console

    import groundswell.app.cli as cli
    import groundswell.app.pipeline as pipeline

    monkeypatch.delenv("GROUNDSWELL_LOCK_WAIT_S", raising=False)
    ran: list[bool] = []
    monkeypatch.setattr(pipeline, "run_pipeline", lambda *args, **kwargs: ran.append(True))
    monkeypatch.setattr(
        cli, "console", Console(file=io.StringIO(), force_terminal=terminal, no_color=True, width=400)
    )
    holder, second = SqliteStore(tmp_path / "gs.sqlite"), SqliteStore(tmp_path / "gs.sqlite")
    with holder.writer_lock("groundswell run (cron)"):
        with pytest.raises(typer.Exit) as exited:
            cli._run_with_progress(make_config({}), second)
    assert exited.value.exit_code == 3 and ran == []
    assert "groundswell run (cron)" in cli.console.file.getvalue()  # type: ignore[attr-defined]
    cli._run_with_progress(make_config({}), second)  # released: the run goes ahead
    assert ran == [True]


def test_writer_lock_is_reentrant_within_one_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "gs.sqlite")
    with store.writer_lock("run"), store.writer_lock("task inside the run", wait_s=0):
        pass
    other = SqliteStore(tmp_path / "gs.sqlite")
    with other.writer_lock("next run", wait_s=0):  # released
        pass


# ---- 5b. a webhook slower than the timeout -----------------------------------------------------------
def test_default_webhook_timeout_outlasts_a_http_receiver() -> None:
    notifier = Notifier.from_settings(_config())
    assert notifier.timeout_s >= 30  # a receiver taking 10-20 s is answered, not resent
    assert notifier.claim_s > notifier.max_attempts * notifier.timeout_s


def test_timed_out_send_is_retried_with_the_same_key_and_counted_once(monkeypatch) -> None:
    store = SqliteStore(":memory:")
    config = _config()
    with http_receiver(delay_s=1.5, slow_first=1) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        summary = process_events(
            config, store, [_shift(store)], now=NOW, notifier=_notifier(config, timeout_s=0.5)
        )
        assert summary.notified == 1
        assert len(hook.keys) == 2 and hook.keys[0] == hook.keys[1]  # the receiver can drop the repeat
        (record,) = store.query_docs("notifications")
        assert (record["status"], record["attempts"]) == ("sent", 2)
        assert record["id"] == hook.keys[0]
        # the next run sends nothing again
        assert _notifier(config, timeout_s=0.5).deliver_pending(store, now=NOW).sent == 0
        assert len(hook.keys) == 2


def test_slow_receiver_within_the_timeout_gets_one_request(monkeypatch) -> None:
    store = SqliteStore(":memory:")
    config = _config()
    with http_receiver(delay_s=1.0) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        process_events(config, store, [_shift(store)], now=NOW, notifier=_notifier(config, timeout_s=3.0))
        process_events(config, store, [_shift(store)], now=NOW, notifier=_notifier(config, timeout_s=3.0))
        assert len(hook.keys) == 1
        (record,) = store.query_docs("notifications")
        assert (record["status"], record["attempts"]) == ("sent", 1)


def test_a_live_claim_is_not_sent_by_another_run(monkeypatch) -> None:
    store = SqliteStore(":memory:")
    config = _config()
    with http_receiver(delay_s=0) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        process_events(config, store, [_shift(store)], now=NOW, notifier=_notifier(config), deliver=False)
        (record,) = store.query_docs("notifications")
        claimed = _notifier(config)._claim(store, record["id"])
        assert claimed is not None and claimed[0]["status"] == "sending"
        report = _notifier(config).deliver_pending(store, now=NOW)
        assert (report.sent, report.claimed_elsewhere, len(hook.keys)) == (0, 1, 0)


# ---- 5c. tickets are compare-and-set ---------------------------------------------------------------
def _open_ticket(store: Store, config: Config) -> Ticket:
    process_events(config, store, [_shift(store)], now=NOW, notifier=_notifier(config), deliver=False)
    (ticket,) = list_tickets(store)
    return ticket


def test_concurrent_ticket_change_is_reapplied_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "gs.sqlite"
    config = _config()
    web, cli = SqliteStore(path), SqliteStore(path)
    ticket = _open_ticket(web, config)
    raced = []

    def assign_while_someone_acknowledges(current: Ticket) -> Ticket:
        if not raced:  # between this read and the write, another person acknowledges in the CLI
            raced.append(transition(cli, ticket.id, "acknowledge", who="bob", now=NOW))
        new = current.model_copy(deep=True)
        new.assignee = "alice"
        return new

    update_ticket(web, ticket.id, assign_while_someone_acknowledges)
    stored = load_ticket(web, ticket.id)
    assert stored.state == "acknowledged" and stored.assignee == "alice"
    assert [h.action for h in stored.history] == ["open", "acknowledge"]


def test_pipeline_update_does_not_overwrite_a_person_s_change(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "gs.sqlite"
    config = _config()
    pipeline, person = SqliteStore(path), SqliteStore(path)
    ticket = _open_ticket(pipeline, config)
    more = [
        make_mention(100 + i, text="smoke from the kettle base", hazards=("fire_burn",), severity=3)
        for i in range(4)
    ]
    pipeline.upsert_mentions(more)
    event = make_event(
        "acme-kettle", metric="safety_count", baseline=2, level=6, mentions=more, hazards={"fire_burn": 4}
    )
    real = SqliteStore.get_doc_versioned
    done: list[bool] = []

    def get_doc_versioned(self: SqliteStore, collection: str, doc_id: str):  # type: ignore[no-untyped-def]
        found = real(self, collection, doc_id)
        if self is pipeline and collection == "tickets" and not done:
            done.append(True)  # a person acknowledges right after the run read the ticket
            transition(person, ticket.id, "acknowledge", who="bob", now=NOW)
        return found

    monkeypatch.setattr(SqliteStore, "get_doc_versioned", get_doc_versioned)
    process_events(
        config, pipeline, [event], now=NOW + timedelta(hours=1), notifier=_notifier(config), deliver=False
    )
    stored = load_ticket(pipeline, ticket.id)
    actions = [h.action for h in stored.history]
    assert "acknowledge" in actions and "evidence" in actions, actions
    assert stored.state == "acknowledged"
    assert set(m.id for m in more) <= set(stored.evidence.mention_ids)


def test_put_doc_if_compares_versions() -> None:
    store = SqliteStore(":memory:")
    assert store.put_doc_if("state", "k", {"v": 1}, None)
    assert not store.put_doc_if("state", "k", {"v": 2}, None)  # exists already
    _, version = store.get_doc_versioned("state", "k")  # type: ignore[misc]
    assert store.put_doc_if("state", "k", {"v": 2}, version)
    assert not store.put_doc_if("state", "k", {"v": 3}, version)  # stale
    store.put_doc("state", "k", {"v": 4})  # a plain write moves the version on too
    assert not store.put_doc_if("state", "k", {"v": 5}, version)
    assert store.get_doc("state", "k") == {"v": 4}


def test_old_store_file_gains_document_versions(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    SqliteStore(path).close()
    db = sqlite3.connect(path)  # as written by a release before the version column
    db.executescript(
        "ALTER TABLE docs RENAME TO docs_new; CREATE TABLE docs (collection TEXT NOT NULL, id TEXT NOT NULL, "
        "doc TEXT NOT NULL, PRIMARY KEY (collection, id)); DROP TABLE docs_new; "
        "INSERT INTO docs VALUES ('state', 'k', '{\"v\": 1}');"
    )
    db.close()
    store = SqliteStore(path)
    doc, version = store.get_doc_versioned("state", "k")  # type: ignore[misc]
    assert doc == {"v": 1} and store.put_doc_if("state", "k", {"v": 2}, version)


# ---- Elasticsearch: the same guarantees ------------------------------------------------------------
@pytest.mark.es
def test_elasticsearch_lease_and_compare_and_set(es_client, tmp_path: Path) -> None:
    from index_mappings.store import LOCK_DOC, ElasticsearchStore

    def store() -> ElasticsearchStore:
        return ElasticsearchStore(
            es_client, index_prefix="gs-test", dead_letter_path=tmp_path / "dl.ndjson", retry_base=0.01
        )

    a, b = store(), store()
    assert a.put_doc_if("state", "k", {"v": 1}, None) and not b.put_doc_if("state", "k", {"v": 9}, None)
    _, version = a.get_doc_versioned("state", "k")  # type: ignore[misc]
    assert b.put_doc_if("state", "k", {"v": 2}, version)
    assert not a.put_doc_if("state", "k", {"v": 3}, version)
    with a.writer_lock("groundswell run"):
        with pytest.raises(StoreLocked, match="groundswell run"):
            with b.writer_lock("airflow task act", wait_s=0.3):
                pass
    with b.writer_lock("airflow task act", wait_s=0):  # released
        pass
    # a crashed holder's lease lapses
    a.put_doc(
        "state",
        LOCK_DOC,
        {"key": LOCK_DOC, "value": {"what": "crashed run", "expires": "2000-01-01T00:00:00+00:00"}},
    )
    with b.writer_lock("next run", wait_s=0):
        pass
    assert a.get_doc("state", LOCK_DOC) is None
