"""Issue 15, item 1: a developing signal sends one watch message to the team that would own its
ticket, through the notification outbox (same channels, exactly once), and opens no ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts import Notifier, list_tickets, process_events
from alerts.notify import render_slack
from groundswell.config import Config
from groundswell.records import TrendEvent
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import T0, http_receiver, make_config, make_event, make_mention, smtp_receiver

NOW = T0 + timedelta(days=4)
HOSTILE = "<script>alert('x')</script> <!channel> see <http://evil.example|this> & more"


@pytest.fixture
def store() -> SqliteStore:
    return SqliteStore(":memory:")


def _notifier(config: Config) -> Notifier:
    return Notifier(smtp=config.alerts.smtp, max_attempts=2, backoff_s=0.0, timeout_s=5, sleep=lambda s: None)


def _webhook_config(min_severity: str = "low") -> Config:
    return make_config(
        {"product-safety": [{"kind": "webhook", "url_env": "GS_HOOK_URL", "min_severity": min_severity}]}
    )


def _developing(store: SqliteStore, text: str = "the kettle caught fire", **kw) -> TrendEvent:  # type: ignore[no-untyped-def]
    """A developing safety signal on our kettle, stored as detect() stores it."""
    mentions = [make_mention(i, text=text, hazards=("fire_burn",), severity=2) for i in range(5)]
    store.upsert_mentions(mentions)
    options = {"metric": "safety_count", "baseline": 1, "level": 3, "hazards": {"fire_burn": 5}}
    event = make_event("acme-kettle", kind="developing", mentions=mentions, **{**options, **kw})
    event = event.model_copy(update={"reason": "developing", "team": "product-safety"})
    store.put_doc("trends", event.id, event.model_dump(mode="json"))
    return event


def test_developing_signal_sends_one_watch_to_its_team_and_opens_no_ticket(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config()
        event = _developing(store)
        summary = process_events(config, store, [event], now=NOW, notifier=_notifier(config))
        assert list_tickets(store) == [] and summary.opened == 0
        assert (summary.watched, summary.notified) == (1, 1)
        (request,) = hook.delivered
        (record,) = store.query_docs("notifications")
        payload = request.json()
        assert payload["event"] == "trend.watch"
        assert payload["trend"]["id"] == event.id and payload["team"] == "product-safety"
        assert request.headers["Idempotency-Key"] == record["id"] == payload["idempotency_key"]
        assert (record["kind"], record["status"], record["attempts"]) == ("watch", "sent", 1)


def test_watch_is_sent_once_across_reruns_and_confirmation(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen again as developing on the next runs, then confirmed as a shift (same id): one watch, and
    the confirmation notifies only through its ticket."""
    with http_receiver() as hook:
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config()
        event = _developing(store)
        for day in range(3):
            process_events(config, store, [event], now=NOW + timedelta(days=day), notifier=_notifier(config))
        confirmed = event.model_copy(update={"kind": "shift", "reason": "level", "team": ""})
        store.put_doc("trends", confirmed.id, confirmed.model_dump(mode="json"))
        for day in range(3, 5):
            process_events(
                config, store, [confirmed], now=NOW + timedelta(days=day), notifier=_notifier(config)
            )
        assert [r.json()["event"] for r in hook.delivered] == ["trend.watch", "ticket.opened"]
        assert len(list_tickets(store)) == 1


def test_watch_failing_receiver_is_retried_and_delivered_once(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver(fail_first=2) as hook:  # both attempts of the first run fail
        monkeypatch.setenv("GS_HOOK_URL", hook.url)
        config = _webhook_config()
        event = _developing(store)
        first = process_events(config, store, [event], now=NOW, notifier=_notifier(config))
        assert (first.notified, first.notify_failed) == (0, 1)
        second = process_events(
            config, store, [event], now=NOW + timedelta(days=1), notifier=_notifier(config)
        )
        assert second.notified == 1
        assert len(hook.delivered) == 1 and len(set(hook.keys)) == 1  # retries carry the same key


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("topic series (supporting evidence only)", {"group_by": "topic", "key": "8"}),
        (
            "competitor volume fell (no rule acts on it)",
            {"key": "zephyr", "metric": "volume", "direction": "down"},
        ),
    ],
)
def test_developing_signal_that_would_open_no_ticket_is_not_watched(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch, case: str, options: dict[str, str]
) -> None:
    monkeypatch.setenv("GS_HOOK_URL", "http://127.0.0.1:9/never")
    config = make_config(
        {
            team: [{"kind": "webhook", "url_env": "GS_HOOK_URL"}]
            for team in ("product-safety", "competitive-intelligence", "communications")
        }
    )
    event = make_event(kind="developing", **{"key": "acme-kettle", **options})  # type: ignore[arg-type]
    store.put_doc("trends", event.id, event.model_dump(mode="json"))
    summary = process_events(config, store, [event], now=NOW, notifier=_notifier(config))
    assert summary.watched == 0, case
    assert store.query_docs("notifications") == []


def test_watch_goes_only_to_channels_that_take_every_ticket(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GS_HOOK_URL", "http://127.0.0.1:9/never")
    config = _webhook_config(min_severity="medium")  # a pager-like channel: no watch
    summary = process_events(config, store, [_developing(store)], now=NOW, notifier=_notifier(config))
    assert summary.watched == 0 and store.query_docs("notifications") == []


def test_watch_email_and_slack_escape_post_text(store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_receiver() as smtp:
        config = make_config(
            {"product-safety": [{"kind": "email", "to": ["safety@acme.example"]}]},
            smtp={"host": smtp.host, "port": smtp.port},
        )
        event = _developing(store, text=HOSTILE)
        process_events(config, store, [event], now=NOW, notifier=_notifier(config))
        (mail,) = smtp.messages
        assert mail["Subject"].startswith("[Groundswell][WATCH] developing: safety count of")
        assert mail["X-Groundswell-Trend"] == event.id and mail["X-Groundswell-Ticket"] is None
        html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True)
        assert b"<script>" not in html and b"&lt;script&gt;" in html
        assert b"groundswell trends list --kind developing" in html
    message = _notifier(config)._message(store, store.query_docs("notifications")[0])
    assert message is not None
    text = str(render_slack(message))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
