"""Notifications: real local SMTP and HTTP receivers, retries, exactly-once, crash recovery,
escaping of hostile post text, secrets kept out of logs, tickets and the ledger."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from alerts import Notifier, list_tickets, process_events
from alerts.notify import escape_slack, render_slack, render_teams, teams_payload
from groundswell.config import Config
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import (
    T0,
    free_port,
    http_receiver,
    make_config,
    make_event,
    make_mention,
    smtp_receiver,
)

NOW = T0 + timedelta(days=4)
HOSTILE = "<script>alert('x')</script> <!channel> see <http://evil.example|this> & more"


class Crash(BaseException):
    """Stands for the process dying (kill -9, power loss): nothing catches it."""


@pytest.fixture
def store() -> SqliteStore:
    return SqliteStore(":memory:")


@pytest.fixture
def sleeps() -> list[float]:
    return []


def _notifier(config: Config, sleeps: list[float], max_attempts: int = 3) -> Notifier:
    return Notifier(
        smtp=config.alerts.smtp, max_attempts=max_attempts, backoff_s=0.01, timeout_s=30, sleep=sleeps.append
    )


def _fire_shift(store: SqliteStore, text: str = HOSTILE, n: int = 5):  # type: ignore[no-untyped-def]
    mentions = [make_mention(i, text=text, hazards=("fire_burn",), severity=2) for i in range(n)]
    mentions[1].url = "javascript:alert(1)"  # a hostile link must never become an href
    store.upsert_mentions(mentions)
    return make_event(
        "acme-kettle", metric="safety_count", baseline=2, level=3, mentions=mentions, hazards={"fire_burn": n}
    )


def _webhook_config(kind: str, env: str = "GS_HOOK_URL", min_severity: str = "low") -> Config:
    return make_config({"product-safety": [{"kind": kind, "url_env": env, "min_severity": min_severity}]})


def test_notify_email_through_real_smtp_server_escapes_post_text(
    store: SqliteStore, sleeps: list[float]
) -> None:
    with smtp_receiver() as smtp:
        config = make_config(
            {"product-safety": [{"kind": "email", "to": ["safety@acme.example", "qa@acme.example"]}]},
            smtp={"host": smtp.host, "port": smtp.port, "sender": "gs@acme.example"},
        )
        summary = process_events(
            config, store, [_fire_shift(store)], now=NOW, notifier=_notifier(config, sleeps)
        )
        assert (summary.notified, summary.notify_failed) == (1, 0)
        (message,) = smtp.messages
        assert smtp.envelopes == [("gs@acme.example", ["safety@acme.example", "qa@acme.example"])]
        assert message["Subject"].startswith("[Groundswell][HIGH] opened: Acme SteamPro kettle")
        html = (
            next(p for p in message.walk() if p.get_content_type() == "text/html")
            .get_payload(decode=True)
            .decode()
        )
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
        assert 'href="https://forum.example/t/acme-kettle/0"' in html  # threads to answer
        assert "javascript:" not in html
        assert all(u.startswith("https://") for u in list_tickets(store)[0].evidence.threads)
        text = (
            next(p for p in message.walk() if p.get_content_type() == "text/plain")
            .get_payload(decode=True)
            .decode()
        )
        assert "user0" in text and list_tickets(store)[0].id in text


def test_notify_slack_payload_neutralises_mentions_and_links(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("slack")
        process_events(config, store, [_fire_shift(store)], now=NOW, notifier=_notifier(config, sleeps))
        (request,) = hook.delivered
        body = request.body.decode()
        assert "<!channel>" not in body and "<script>" not in body and "<http://evil" not in body
        payload = request.json()
        quotes = [b["elements"][0]["text"] for b in payload["blocks"] if b["type"] == "context"]
        assert len(quotes) == 3
        assert "&lt;!channel&gt;" in quotes[0] and "&lt;http://evil.example|this&gt; &amp; more" in quotes[0]
        assert "<https://forum.example/t/acme-kettle/0|demo-forum>" in quotes[0]  # our own link stays a link


def test_escape_slack_only_touches_control_characters() -> None:
    assert escape_slack("a & b <!here> c > d *bold*") == "a &amp; b &lt;!here&gt; c &gt; d *bold*"


def test_notify_teams_message_card(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("teams")
        process_events(config, store, [_fire_shift(store)], now=NOW, notifier=_notifier(config, sleeps))
        card = hook.delivered[0].json()
        assert card["@type"] == "MessageCard" and card["themeColor"] == "EF6C00"
        assert "<script>" not in hook.delivered[0].body.decode()
        assert {"name": "Team", "value": "product-safety"} in card["sections"][0]["facts"]
        assert card["potentialAction"][0]["targets"][0]["uri"] == "https://forum.example/t/acme-kettle/0"


def test_render_formats_escape_untrusted_text(store: SqliteStore) -> None:
    config = make_config({"product-safety": [{"kind": "slack", "url_env": "X"}]})
    process_events(config, store, [_fire_shift(store)], now=NOW, deliver=False)
    (record,) = store.query_docs("notifications")
    message = Notifier.from_settings(config)._message(store, record)
    assert message is not None
    workflow = teams_payload(
        "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual", message
    )
    connector = teams_payload("https://acme.webhook.office.com/webhookb2/abc", message)
    assert workflow["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert connector == render_teams(message)
    for payload in (render_slack(message), render_teams(message), workflow):
        text = json.dumps(payload)
        assert "<script>" not in text and "<!channel>" not in text and "javascript:" not in text


def test_notify_generic_webhook_carries_ticket_and_idempotency_key(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("webhook")
        process_events(config, store, [_fire_shift(store)], now=NOW, notifier=_notifier(config, sleeps))
        (request,) = hook.delivered
        (record,) = store.query_docs("notifications")
        payload = request.json()
        assert request.headers["Idempotency-Key"] == record["id"] == payload["idempotency_key"]
        assert payload["event"] == "ticket.opened"
        assert payload["ticket"]["id"] == list_tickets(store)[0].id
        assert payload["ticket"]["evidence"]["authors"][:2] == ["user0", "user1"]
        assert payload["quotes"][0]["text"] == HOSTILE  # JSON is its own escaping; the consumer renders it
        assert (record["status"], record["attempts"]) == ("sent", 1)


def test_notify_retries_with_backoff_within_a_run(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver(fail_first=2) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("webhook")
        summary = process_events(
            config, store, [_fire_shift(store)], now=NOW, notifier=_notifier(config, sleeps)
        )
        assert summary.notified == 1 and len(hook.requests) == 3 and len(hook.delivered) == 1
        assert sleeps == [0.01, 0.02]  # exponential backoff
        assert store.query_docs("notifications")[0]["attempts"] == 3


def test_notify_failing_receiver_then_recovery_delivers_exactly_once(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver(fail_first=1000) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("slack")
        event = _fire_shift(store)
        first = process_events(
            config, store, [event], now=NOW, notifier=_notifier(config, sleeps, max_attempts=2)
        )
        assert (first.opened, first.notified, first.notify_failed) == (1, 0, 1)  # the pipeline went on
        (record,) = store.query_docs("notifications")
        assert (record["status"], record["attempts"]) == ("failed", 2)
        assert "HTTP 500" in record["last_error"] and "$GS_HOOK_URL" in record["last_error"]
        assert hook.delivered == []

        hook.fail_first = 0  # the receiver recovers
        second = process_events(
            config, store, [event], now=NOW + timedelta(hours=1), notifier=_notifier(config, sleeps)
        )
        assert (second.unchanged, second.notified, second.notify_failed) == (1, 1, 0)
        third = process_events(
            config, store, [event], now=NOW + timedelta(hours=2), notifier=_notifier(config, sleeps)
        )
        assert third.notified == 0
        assert len(hook.delivered) == 1 and len(hook.requests) == 3
        assert store.query_docs("notifications")[0]["status"] == "sent"


def test_notify_gives_up_after_bounded_attempts(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver(fail_first=1000) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("webhook")
        process_events(config, store, [_fire_shift(store)], now=NOW, deliver=False)
        notifier = Notifier(
            smtp=config.alerts.smtp, max_attempts=2, give_up_after=4, backoff_s=0, sleep=sleeps.append
        )
        reports = [notifier.deliver_pending(store, now=NOW) for _ in range(3)]
        assert [(r.failed, r.abandoned) for r in reports] == [(1, 0), (0, 1), (0, 0)]
        assert len(hook.requests) == 4
        assert store.query_docs("notifications")[0]["status"] == "abandoned"


def test_notify_failed_target_is_not_retried_for_every_record_in_a_run(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver(fail_first=1000) as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("webhook")
        events = [_fire_shift(store), make_event("acme", metric="negative_share", baseline=0.1, level=0.3)]
        summary = process_events(
            config, store, events, now=NOW, notifier=_notifier(config, sleeps, max_attempts=2)
        )
        assert (summary.opened, summary.notify_failed) == (2, 1)
        assert len(hook.requests) == 2  # one record's attempts; the other waits for the next run
        assert sorted(r["status"] for r in store.query_docs("notifications")) == ["failed", "pending"]
        hook.fail_first = 0
        assert (
            process_events(config, store, events, now=NOW, notifier=_notifier(config, sleeps)).notified == 2
        )


def test_notify_crash_before_sending_recovers_with_one_delivery(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("webhook")
        event = _fire_shift(store)

        def crash(self: Notifier, store: SqliteStore, *, now: object = None) -> None:
            raise Crash("killed after the ledger and the ticket were stored, before sending")

        with monkeypatch.context() as patch:
            patch.setattr(Notifier, "deliver_pending", crash)
            with pytest.raises(Crash):
                process_events(config, store, [event], now=NOW, notifier=_notifier(config, sleeps))
        assert [r["status"] for r in store.query_docs("notifications")] == ["pending"]
        assert hook.requests == []

        rerun = process_events(
            config, store, [event], now=NOW + timedelta(minutes=5), notifier=_notifier(config, sleeps)
        )
        assert (rerun.opened, rerun.unchanged, rerun.notified) == (0, 1, 1)
        process_events(
            config, store, [event], now=NOW + timedelta(minutes=10), notifier=_notifier(config, sleeps)
        )
        assert len(hook.requests) == 1


def test_notify_crash_after_ledger_before_ticket_is_not_lost(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("webhook")
        event = _fire_shift(store)
        real_put = SqliteStore.put_doc_if

        def put_doc_if(self: SqliteStore, collection: str, doc_id: str, doc: dict, version) -> bool:  # type: ignore[no-untyped-def,type-arg]
            if collection == "tickets":
                raise Crash("killed between the outbox write and the ticket write")
            return real_put(self, collection, doc_id, doc, version)

        with monkeypatch.context() as patch:
            patch.setattr(SqliteStore, "put_doc_if", put_doc_if)
            with pytest.raises(Crash):
                process_events(config, store, [event], now=NOW, notifier=_notifier(config, sleeps))
        assert list_tickets(store) == [] and len(store.query_docs("notifications")) == 1
        # an unrelated delivery run must not send a notification about a ticket that is not stored
        assert _notifier(config, sleeps).deliver_pending(store, now=NOW).waiting == 1
        rerun = process_events(config, store, [event], now=NOW, notifier=_notifier(config, sleeps))
        assert (rerun.opened, rerun.notified) == (1, 1)
        assert len(store.query_docs("notifications")) == 1 and len(hook.requests) == 1


def test_notify_crash_between_send_and_mark_resends_with_same_idempotency_key(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented duplicate window: receivers dedupe on the Idempotency-Key header."""
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("webhook")
        event = _fire_shift(store)
        real_put = SqliteStore.put_doc_if

        def put_doc_if(self: SqliteStore, collection: str, doc_id: str, doc: dict, version) -> bool:  # type: ignore[no-untyped-def,type-arg]
            if collection == "notifications" and doc.get("status") == "sent":
                raise Crash("killed after sending, before marking sent")
            return real_put(self, collection, doc_id, doc, version)

        crashing = _notifier(config, sleeps)
        crashing.claim_s = 0.0  # its claim lapses at once (normally after every attempt's timeout)
        with monkeypatch.context() as patch:
            patch.setattr(SqliteStore, "put_doc_if", put_doc_if)
            with pytest.raises(Crash):
                process_events(config, store, [event], now=NOW, notifier=crashing)
        assert store.query_docs("notifications")[0]["status"] == "sending"
        process_events(config, store, [event], now=NOW, notifier=_notifier(config, sleeps))
        keys = [r.headers["Idempotency-Key"] for r in hook.requests]
        assert len(keys) == 2 and keys[0] == keys[1]


def test_notify_once_per_ticket_per_run(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config("webhook")
        mild = make_event("acme-kettle", metric="negative_share", baseline=0.1, level=0.2)
        fire = _fire_shift(store)  # same ticket, raises its severity within the same run
        process_events(config, store, [mild, fire], now=NOW, notifier=_notifier(config, sleeps))
        (ticket,) = list_tickets(store)
        assert [h.action for h in ticket.history] == ["open"]  # both shifts fold into the opening
        (request,) = hook.delivered
        assert request.json()["event"] == "ticket.opened" and request.json()["ticket"]["severity"] == "high"
        # a severity raise in a later run is its own event
        worse = make_event(
            "acme-kettle",
            metric="safety_count",
            baseline=1,
            level=9,
            authors=40,
            mentions=[],
            hazards={"fire_burn": 30},
        )
        process_events(
            config, store, [worse], now=NOW + timedelta(hours=1), notifier=_notifier(config, sleeps)
        )
        assert [r.json()["event"] for r in hook.delivered] == ["ticket.opened", "ticket.severity_raised"]


def test_notify_min_severity_filters_channels(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = make_config(
            {
                "product-safety": [
                    {"kind": "webhook", "url_env": "GS_HOOK_URL", "min_severity": "critical"},
                    {"kind": "slack", "url_env": "GS_HOOK_URL", "min_severity": "medium"},
                ]
            }
        )
        summary = process_events(
            config, store, [_fire_shift(store)], now=NOW, notifier=_notifier(config, sleeps)
        )  # high
        assert summary.notified == 1
        assert [r["channel"]["kind"] for r in store.query_docs("notifications")] == ["slack"]
        assert "blocks" in hook.delivered[0].json()


def test_notify_unreachable_or_unconfigured_channel_never_crashes(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GS_DEAD_HOOK", f"http://127.0.0.1:{free_port()}/hook")
    monkeypatch.delenv("GS_MISSING_HOOK", raising=False)
    config = make_config(
        {
            "product-safety": [
                {"kind": "webhook", "url_env": "GS_DEAD_HOOK"},
                {"kind": "slack", "url_env": "GS_MISSING_HOOK"},
                {"kind": "email", "to": ["x@acme.example"]},
            ]
        },
        smtp={"host": "127.0.0.1", "port": free_port()},
    )
    summary = process_events(
        config, store, [_fire_shift(store)], now=NOW, notifier=_notifier(config, sleeps, max_attempts=1)
    )
    assert (summary.opened, summary.notified, summary.notify_failed) == (1, 0, 3)
    errors = {r["channel"]["kind"]: r["last_error"] for r in store.query_docs("notifications")}
    assert "ConnectError" in errors["webhook"]
    assert "GS_MISSING_HOOK is not set" in errors["slack"]
    assert "SMTP delivery via 127.0.0.1" in errors["email"]


# aiosmtpd warns that AUTH without TLS is unsafe; this server only listens on loopback in the test
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_notify_secrets_stay_out_of_logs_tickets_and_ledger(
    store: SqliteStore, sleeps: list[float], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token, password = "T0KEN-9f8e7d6c5b4a", "pa55-w0rd-sekret"
    caplog.set_level(logging.DEBUG)
    # importing Airflow (an earlier test in this process) sets the httpx logger to WARNING; this test
    # needs httpx's request lines in the log to check they are redacted
    caplog.set_level(logging.DEBUG, logger="httpx")
    with (
        http_receiver(fail_first=1, path=f"/services/{token}") as hook,
        smtp_receiver(login=("gs-bot", password)) as smtp,
    ):
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        monkeypatch.setenv("GS_SMTP_USER", "gs-bot")
        monkeypatch.setenv("GS_SMTP_PASSWORD", password)
        config = make_config(
            {
                "product-safety": [
                    {"kind": "slack", "url_env": "GS_HOOK_URL"},
                    {"kind": "email", "to": ["s@acme.example"]},
                ]
            },
            smtp={
                "host": smtp.host,
                "port": smtp.port,
                "username_env": "GS_SMTP_USER",
                "password_env": "GS_SMTP_PASSWORD",
            },
        )
        event = _fire_shift(store)
        first = process_events(
            config, store, [event], now=NOW, notifier=_notifier(config, sleeps, max_attempts=1)
        )
        assert (first.notified, first.notify_failed) == (
            1,
            1,
        )  # email sent (authenticated); Slack failed once
        second = process_events(
            config, store, [event], now=NOW, notifier=_notifier(config, sleeps, max_attempts=1)
        )
        assert second.notified == 1 and len(smtp.messages) == 1 and len(hook.delivered) == 1
    everything = (
        caplog.text + json.dumps(store.query_docs("notifications")) + json.dumps(store.query_docs("tickets"))
    )
    assert "HTTP Request" in caplog.text  # httpx did log the request, redacted
    assert token not in everything and password not in everything
    assert "GS_HOOK_URL" in json.dumps(store.query_docs("notifications"))  # the variable's name is kept
