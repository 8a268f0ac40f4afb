"""Notifications: email (SMTP), Slack and Teams webhooks, a generic JSON webhook; exactly once.

Teams gets a MessageCard (Office 365 connector webhooks) or, for Workflows webhook hosts (Power
Automate / Logic Apps), an Adaptive Card message.

Delivery goes through an outbox, the store's `notifications` collection:

1. `Notifier.enqueue` writes one *pending* ledger record per (ticket event, team channel) with a
   deterministic id (ticket id + index of the history entry + channel), before the ticket itself
   is stored. Writing the same record again is a no-op, so re-runs never add deliveries.
2. `Notifier.deliver_pending` (called after the tickets are stored) sends every pending or failed
   record whose ticket event exists, retrying a few times with exponential backoff, and marks it
   *sent*. Each record is first *claimed* with a compare-and-set on its version (status `sending`,
   a claim token and an expiry), so two runs or two processes never both send it; every attempt is
   counted in the record before it is made, so `attempts` is what the receiver may have seen. A
   claim left by a crashed run lapses after `claim_s` and the record is sent again, with the same
   key. A failure is recorded (attempts, redacted error) and retried on the next run; after
   `give_up_after` attempts the record is *abandoned* (kept, with its last error, for an operator).
   Nothing here raises into the pipeline: once a target (SMTP server, webhook) has failed in a run,
   its other records wait for the next run instead of each paying the retries, and a run spends
   at most `run_budget_s` on deliveries.

The duplicate windows are a crash between a successful send and marking the record sent, and a
send that timed out after the receiver got it: both are sent again with the same key. Webhooks
carry the ledger id as an `Idempotency-Key` header (and in the JSON body) and emails as their
`Message-ID`, so receivers can drop the repeat. The HTTP timeout (`timeout_s`, 30 s) is longer than
a slow receiver's answer, so a slow webhook is not sent the same payload again and again.

Which events notify: a ticket opened, reopened, escalated, or its severity raised by new evidence.
Each team channel has a `min_severity`; the ticket's severity at the event decides.

A *developing* signal (a change under way, not confirmed yet: `TrendEvent.kind == "developing"`)
sends one *watch* message to the team it is watched by (`TrendEvent.team`), through the same
outbox, claims and channels (`Notifier.enqueue_watch`): no ticket. The record id is the trend
event's id + channel, and the event keeps its id when it is confirmed, so a signal seen again on
later runs, or confirmed as a shift (whose ticket then notifies as usual), is never watched twice.
A watch counts as severity `low`: only channels that take every ticket (`min_severity: low`) get it.

Security: post text from the web is untrusted. It is HTML-escaped in email (Jinja2 autoescape),
`&`, `<`, `>` are escaped for Slack mrkdwn (so `<!channel>` or `<http://x|y>` stay inert), and
escaped for Teams. Secrets (SMTP username/password, webhook URLs that carry tokens) are read from
the environment variables the configuration names at send time; the ledger stores the variable
*name*, and a logging filter redacts the values from this module's and httpx's log records.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Self

import httpx
import jinja2
from tenacity import RetryError, Retrying, stop_after_attempt, wait_exponential

from groundswell.config import ChannelConfig, Config, SmtpConfig, TeamConfig
from groundswell.records import SEVERITY_ORDER, Severity, Ticket, TrendEvent
from groundswell.store import Store
from groundswell.store.base import DocVersion

logger = logging.getLogger(__name__)

# history action -> the event name used in messages and webhook payloads
NOTIFY_ACTIONS: dict[str, str] = {
    "open": "opened",
    "reopen": "reopened",
    "escalate": "escalated",
    "severity": "severity_raised",
}
WATCH_EVENT = "watch"  # a developing signal: a heads-up to the team that owns the series, no ticket
WATCH_SEVERITY: Severity = "low"  # what a watch counts as against a channel's min_severity
PENDING, SENDING, SENT, FAILED, ABANDONED = "pending", "sending", "sent", "failed", "abandoned"
USER_AGENT = "Groundswell-Notifier/0.1"
SEVERITY_COLORS = {"low": "2E7D32", "medium": "F9A825", "high": "EF6C00", "critical": "C62828"}
MAX_QUOTE_CHARS = 280


class DeliveryError(RuntimeError):
    """One delivery attempt failed; the message never contains a secret."""


# ---- secrets and log redaction ------------------------------------------------------------------------
class SecretRedactor(logging.Filter):
    """Replaces every registered secret value in a log record's message with `<redacted>`."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business, not ours
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


REDACTOR = SecretRedactor()
for _name in (__name__, "httpx"):  # httpx logs every request URL at INFO
    logging.getLogger(_name).addFilter(REDACTOR)


def secret_from_env(name: str | None, what: str) -> str:
    """The value of environment variable `name`, registered for redaction; raises if unset."""
    if not name:
        raise DeliveryError(f"{what}: no environment variable is configured for it")
    value = os.environ.get(name, "")
    if not value:
        raise DeliveryError(f"{what}: environment variable {name} is not set or empty")
    REDACTOR.add(value)
    path = value.split("://", 1)[-1].partition("/")[2]
    if len(path) >= 8:  # the token part of a webhook URL, in case a library prints only the path
        REDACTOR.add("/" + path)
    return value


# ---- what is said --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quote:
    author: str
    source: str
    url: str
    text: str


@dataclass(frozen=True)
class Message:
    """One ticket event to tell a channel about."""

    ticket: Ticket
    event: str  # opened, reopened, escalated, severity_raised
    note: str
    quotes: tuple[Quote, ...]
    key: str  # idempotency key: the ledger record id

    @property
    def severity(self) -> Severity:
        return self.ticket.severity

    @property
    def ref(self) -> str:
        """The id the message is about (a ticket's)."""
        return self.ticket.id

    @property
    def threads(self) -> list[str]:
        return self.ticket.evidence.threads

    @property
    def triage(self) -> str:
        return f"groundswell tickets show {self.ticket.id}"

    @property
    def subject(self) -> str:
        words = self.event.replace("_", " ")
        return _one_line(f"[Groundswell][{self.ticket.severity.upper()}] {words}: {self.ticket.title}")

    def facts(self) -> list[tuple[str, str]]:
        t = self.ticket
        facts = [
            ("Type", t.type.replace("_", " ")),
            ("Severity", t.severity),
            ("Team", t.team),
            ("State", t.state.replace("_", " ")),
            ("Due", t.due.strftime("%Y-%m-%d %H:%M UTC")),
            ("Ticket", t.id),
        ]
        if t.assignee:
            facts.append(("Assignee", t.assignee))
        if t.evidence.drivers:
            facts.append(("Drivers", ", ".join(t.evidence.drivers[:8])))
        if t.evidence.safety_hazards:
            facts.append(
                ("Hazards", ", ".join(f"{h} ({n})" for h, n in sorted(t.evidence.safety_hazards.items())))
            )
        if t.evidence.authors:
            more = len(t.evidence.authors) - 10
            facts.append(
                ("Authors", ", ".join(t.evidence.authors[:10]) + (f" and {more} more" if more > 0 else ""))
            )
        return facts


@dataclass(frozen=True)
class WatchMessage:
    """A developing signal to tell its team about: a change under way, not confirmed, no ticket."""

    trend: TrendEvent
    team: str
    quotes: tuple[Quote, ...]
    key: str  # idempotency key: the ledger record id
    event: str = WATCH_EVENT
    note: str = (
        "A change is under way but too young to tell from a blip: watch it. "
        "A ticket opens only if it is confirmed as a shift."
    )

    @property
    def severity(self) -> Severity:
        return WATCH_SEVERITY

    @property
    def ref(self) -> str:
        return self.trend.id

    @property
    def threads(self) -> list[str]:
        return []

    @property
    def triage(self) -> str:
        return "groundswell trends list --kind developing"

    @property
    def subject(self) -> str:
        t = self.trend
        change = f" ({t.relative_change:+.0%})" if t.relative_change is not None else ""
        return _one_line(
            f"[Groundswell][WATCH] developing: {t.metric.replace('_', ' ')} of {t.series_name} "
            f"{t.direction}{change} since {t.start:%a %d %b}"
        )

    def facts(self) -> list[tuple[str, str]]:
        t = self.trend
        facts = [
            ("Series", t.series_name),
            ("Metric", t.metric.replace("_", " ")),
            ("Change", f"{t.baseline:.3g} -> {t.level:.3g} ({t.direction})"),
            ("Since", t.start.strftime("%Y-%m-%d")),
            ("Confidence", f"{t.confidence:.0%}"),
            ("Authors", str(t.authors)),
            ("Sources", ", ".join(t.source_names[:8]) or str(t.sources)),
            ("Team", self.team),
            ("Event", t.id),
        ]
        if t.drivers:
            facts.append(("Drivers", ", ".join(t.drivers[:8])))
        if t.safety_hazards:
            facts.append(("Hazards", ", ".join(f"{h} ({n})" for h, n in sorted(t.safety_hazards.items()))))
        return facts


AnyMessage = Message | WatchMessage


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _http_url(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _snippet(text: str) -> str:
    text = _one_line(text)
    return text if len(text) <= MAX_QUOTE_CHARS else text[: MAX_QUOTE_CHARS - 1] + "…"


# ---- formats -------------------------------------------------------------------------------------------
_JINJA = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_EMAIL_HTML = _JINJA.from_string(
    """<!doctype html>
<html><body style="font-family: sans-serif">
<h2 style="color:#{{ color }}">{{ m.subject }}</h2>
{% if m.note %}<p>{{ m.note }}</p>{% endif %}
<table>{% for name, value in m.facts() %}<tr><th align="left">{{ name }}</th><td>{{ value }}</td></tr>{% endfor %}</table>
{% if m.quotes %}<h3>What people say</h3>
{% for q in m.quotes %}<blockquote><p>{{ q.text }}</p><p>&mdash; {{ q.author }} on {{ q.source }}{% if is_http(q.url) %}
 (<a href="{{ q.url }}">{{ q.url }}</a>){% endif %}</p></blockquote>
{% endfor %}{% endif %}
{% if threads %}<h3>Threads to answer</h3><ul>{% for url in threads %}<li><a href="{{ url }}">{{ url }}</a></li>{% endfor %}</ul>{% endif %}
<p>Triage: <code>{{ m.triage }}</code></p>
</body></html>
"""
)


def render_email(message: AnyMessage, *, sender: str, to: list[str]) -> EmailMessage:
    """A multipart (text + HTML) email; untrusted text is HTML-escaped in the HTML part."""
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = ", ".join(to)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = f"<{message.key}@groundswell>"
    if isinstance(message, Message):
        email["X-Groundswell-Ticket"] = message.ticket.id
    else:
        email["X-Groundswell-Trend"] = message.trend.id
    lines = [message.subject, ""]
    if message.note:
        lines += [message.note, ""]
    lines += [f"{name}: {value}" for name, value in message.facts()]
    for q in message.quotes:
        lines += ["", f"> {q.text}", f"-- {q.author} on {q.source} {q.url}".rstrip()]
    if message.threads:
        lines += ["", "Threads to answer:", *(f"- {u}" for u in message.threads[:10])]
    email.set_content("\n".join(lines))
    html_body = _EMAIL_HTML.render(
        m=message,
        is_http=_http_url,
        color=SEVERITY_COLORS[message.severity],
        threads=[u for u in message.threads[:10] if _http_url(u)],
    )
    email.add_alternative(html_body, subtype="html")
    return email


def escape_slack(text: str) -> str:
    """Slack mrkdwn escaping: only &, < and > are control characters (`<!channel>`, `<url|label>`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(message: AnyMessage) -> dict[str, Any]:
    """Incoming-webhook payload (mrkdwn); every string from a post or a config is escaped."""
    e = escape_slack
    facts = "\n".join(f"*{e(name)}:* {e(value)}" for name, value in message.facts())
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{e(message.subject)}*" + (f"\n{e(message.note)}" if message.note else ""),
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
    ]
    for q in message.quotes:
        link = f" <{e(q.url)}|{e(q.source)}>" if _http_url(q.url) else f" {e(q.source)}"
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"> {e(q.text)}\n— {e(q.author)} on{link}"}],
            }
        )
    return {"text": e(message.subject), "blocks": blocks}


_TEAMS_SPECIALS = str.maketrans({c: f"\\{c}" for c in "\\`*_[]()#|~"})


def escape_teams(text: str) -> str:
    """Teams MessageCard text is markdown with some HTML: escape both."""
    return escape_slack(text).replace('"', "&quot;").translate(_TEAMS_SPECIALS)


def render_teams(message: AnyMessage) -> dict[str, Any]:
    """An Office 365 connector MessageCard."""
    e = escape_teams
    sections: list[dict[str, Any]] = [
        {
            "activityTitle": e(message.subject),
            "activitySubtitle": e(message.note),
            "facts": [{"name": e(n), "value": e(v)} for n, v in message.facts()],
        }
    ]
    for q in message.quotes:
        sections.append({"activitySubtitle": f"{e(q.author)} on {e(q.source)}", "text": e(q.text)})
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": e(message.subject),
        "themeColor": SEVERITY_COLORS[message.severity],
        "title": e(message.subject),
        "sections": sections,
    }
    threads = [u for u in message.threads if _http_url(u)][:3]
    if threads:
        card["potentialAction"] = [
            {"@type": "OpenUri", "name": f"Open thread {i + 1}", "targets": [{"os": "default", "uri": u}]}
            for i, u in enumerate(threads)
        ]
    return card


def render_teams_adaptive(message: AnyMessage) -> dict[str, Any]:
    """An Adaptive Card message, for Teams Workflows (Power Automate) webhooks. TextBlocks render
    markdown, so untrusted text is escaped the same way as in a MessageCard."""
    e = escape_teams
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": e(message.subject), "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "FactSet", "facts": [{"title": e(n), "value": e(v)} for n, v in message.facts()]},
    ]
    if message.note:
        body.insert(1, {"type": "TextBlock", "text": e(message.note), "wrap": True, "isSubtle": True})
    for q in message.quotes:
        body.append(
            {"type": "TextBlock", "text": f"{e(q.text)} — {e(q.author)} on {e(q.source)}", "wrap": True}
        )
    threads = [u for u in message.threads if _http_url(u)][:3]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if threads:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": f"Open thread {i + 1}", "url": u}
            for i, u in enumerate(threads)
        ]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def teams_payload(url: str, message: AnyMessage) -> dict[str, Any]:
    """Workflows webhooks (Power Automate / Logic Apps hosts) take an Adaptive Card; the older
    Office 365 connector webhooks a MessageCard."""
    host = (httpx.URL(url).host or "").lower()
    workflows = host.endswith(("logic.azure.com", "powerplatform.com", "powerautomate.com"))
    return render_teams_adaptive(message) if workflows else render_teams(message)


def render_webhook(message: AnyMessage) -> dict[str, Any]:
    """Generic JSON for Jira, ServiceNow or a BPM engine: the whole ticket (or, for a watch, the
    developing trend event) plus the event."""
    quotes = [{"author": q.author, "source": q.source, "url": q.url, "text": q.text} for q in message.quotes]
    if isinstance(message, WatchMessage):
        return {
            "event": f"trend.{message.event}",
            "idempotency_key": message.key,
            "note": message.note,
            "team": message.team,
            "trend": message.trend.model_dump(mode="json"),
            "quotes": quotes,
        }
    return {
        "event": f"ticket.{message.event}",
        "idempotency_key": message.key,
        "note": message.note,
        "ticket": message.ticket.model_dump(mode="json"),
        "quotes": quotes,
    }


# ---- the outbox ------------------------------------------------------------------------------------------
@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    abandoned: int = 0
    waiting: int = 0  # records whose ticket event is not stored (yet), or left for the next run
    claimed_elsewhere: int = 0  # records another run is sending right now


def ledger_id(ticket_id: str, entry_index: int, team: str, channel_index: int, kind: str) -> str:
    from groundswell.records import stable_id

    return stable_id("notification", ticket_id, entry_index, team, channel_index, kind)


def watch_ledger_id(trend_id: str, team: str, channel_index: int, kind: str) -> str:
    from groundswell.records import stable_id

    return stable_id("notification", WATCH_EVENT, trend_id, team, channel_index, kind)


class Notifier:
    """Writes the outbox and delivers it. Build with `Notifier.from_settings(config)`."""

    def __init__(
        self,
        *,
        smtp: SmtpConfig,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        timeout_s: float = 30.0,
        run_budget_s: float = 120.0,
        give_up_after: int = 30,
        quotes: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if give_up_after < max_attempts:
            raise ValueError(
                f"give_up_after ({give_up_after}) must be at least max_attempts ({max_attempts})"
            )
        self.smtp = smtp
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.run_budget_s = run_budget_s
        self.give_up_after = give_up_after
        self.quotes = quotes
        self.sleep = sleep
        # how long a claim protects a record: every attempt may take the whole timeout, plus the backoff
        self.claim_s = max_attempts * (timeout_s + max_backoff_s) + 60.0

    @classmethod
    def from_settings(cls, config: Config) -> Self:
        return cls(smtp=config.alerts.smtp)

    # -- 1. enqueue --------------------------------------------------------------------------------------
    def enqueue(
        self, config: Config, store: Store, ticket: Ticket, entry_index: int, *, now: datetime
    ) -> list[str]:
        """Write pending ledger records for history entry `entry_index` of `ticket` (idempotent)."""
        entry = ticket.history[entry_index]
        event = NOTIFY_ACTIONS.get(entry.action)
        if event is None:
            return []
        found = _channels_for(config, ticket.team, ticket.severity, f"ticket {ticket.id}")
        if found is None:
            return []
        team, channels = found
        ids: list[str] = []
        for index, channel in channels:
            record_id = ledger_id(ticket.id, entry_index, team.id, index, channel.kind)
            ids.append(record_id)
            _put_pending(
                store,
                record_id,
                {
                    "ticket_id": ticket.id,
                    "entry": entry_index,
                    "action": entry.action,
                    "event": event,
                    "severity": ticket.severity,
                    "team": team.id,
                    "channel": _channel_record(channel),
                },
                now=now,
            )
        return ids

    def enqueue_watch(self, config: Config, store: Store, event: TrendEvent, *, now: datetime) -> list[str]:
        """Write pending watch records for a developing signal, one per channel of its team (idempotent).

        Anything but a developing event with a team is ignored. The record id depends only on the
        event's id and the channel, so a re-run, a later run that sees the signal again, or its
        confirmation as a shift (same id, kind `shift`) never adds a second watch.
        """
        if event.kind != "developing" or not event.team:
            return []
        found = _channels_for(config, event.team, WATCH_SEVERITY, f"developing signal {event.id}")
        if found is None:
            return []
        team, channels = found
        ids: list[str] = []
        for index, channel in channels:
            record_id = watch_ledger_id(event.id, team.id, index, channel.kind)
            ids.append(record_id)
            _put_pending(
                store,
                record_id,
                {
                    "kind": WATCH_EVENT,
                    "trend_id": event.id,
                    "ticket_id": "",
                    "entry": -1,
                    "action": WATCH_EVENT,
                    "event": WATCH_EVENT,
                    "severity": WATCH_SEVERITY,
                    "team": team.id,
                    "channel": _channel_record(channel),
                },
                now=now,
            )
        return ids

    def withdraw(self, store: Store, record_id: str, *, created: datetime) -> None:
        """Drop a record this run enqueued for a ticket change that did not get stored (a lost
        compare-and-set); records that were claimed, sent, or created by another run stay."""
        found = store.get_doc_versioned("notifications", record_id)
        if found is None:
            return
        record, _ = found
        if (
            record.get("status") == PENDING
            and record.get("attempts") == 0
            and record.get("created") == created.isoformat()
        ):
            store.delete_doc("notifications", record_id)

    # -- 2. deliver --------------------------------------------------------------------------------------
    def deliver_pending(self, store: Store, *, now: datetime | None = None) -> DeliveryReport:
        """Send every pending/failed record whose ticket event is stored. Never raises for a delivery."""
        report = DeliveryReport()
        records = store.query_docs(
            "notifications", where={"status": [PENDING, FAILED, SENDING]}, order_by="created", limit=100_000
        )
        if not records:
            return report
        started = time.monotonic()
        down: set[tuple[str, str]] = set()  # targets that failed in this run: the rest of theirs wait
        with httpx.Client(
            timeout=self.timeout_s, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        ) as client:
            for record in records:
                target = self._target(record["channel"])
                if time.monotonic() - started > self.run_budget_s or target in down:
                    report.waiting += 1
                    continue
                message = self._message(store, record)
                if message is None:
                    report.waiting += 1
                    continue
                claimed = self._claim(store, record["id"])
                if claimed is None:
                    report.claimed_elsewhere += 1
                    continue
                if not self._deliver_one(store, client, claimed[0], message, report, now, claimed[1]):
                    down.add(target)
        if report.waiting:
            logger.info("notifications: %s left pending for the next run", report.waiting)
        logger.info(
            "notifications: %s sent, %s failed, %s abandoned", report.sent, report.failed, report.abandoned
        )
        return report

    def _claim(self, store: Store, record_id: str) -> tuple[dict[str, Any], DocVersion] | None:
        """Take a record for sending (compare-and-set on its version), or None when it is not ours to
        send: already sent or abandoned, or claimed by another run whose claim has not lapsed."""
        found = store.get_doc_versioned("notifications", record_id)
        if found is None:
            return None
        record, version = found
        status = record.get("status")
        if status == SENDING:
            try:
                lapsed = datetime.fromisoformat(record.get("claim_expires") or "") <= datetime.now(UTC)
            except ValueError:
                lapsed = True
            if not lapsed:
                return None
            logger.warning(
                "notification %s: the claim of an earlier run lapsed (it crashed or was killed mid-send); "
                "sending again with the same idempotency key",
                record_id,
            )
        elif status not in (PENDING, FAILED):
            return None
        claim = {
            **record,
            "status": SENDING,
            "claim": secrets.token_hex(8),
            "claim_expires": (datetime.now(UTC) + timedelta(seconds=self.claim_s)).isoformat(),
            "previous_status": status if status != SENDING else record.get("previous_status", PENDING),
        }
        if not store.put_doc_if("notifications", record_id, claim, version):
            return None
        after = store.get_doc_versioned("notifications", record_id)
        if after is None or after[0].get("claim") != claim["claim"]:
            return None
        return after

    def _save(self, store: Store, record: dict[str, Any], version: DocVersion) -> DocVersion:
        """Write our claimed record; the claim makes us its only writer, so a lost compare-and-set
        means the claim lapsed and another run took it: say so loudly, and keep our count."""
        if not store.put_doc_if("notifications", record["id"], record, version):
            logger.error(
                "notification %s: the claim lapsed and another run took the record over; it may be sent twice "
                "(same idempotency key). Raise Notifier.claim_s if this repeats",
                record["id"],
            )
            store.put_doc("notifications", record["id"], record)
        found = store.get_doc_versioned("notifications", record["id"])
        return found[1] if found is not None else version

    def _target(self, channel: dict[str, Any]) -> tuple[str, str]:
        if channel["kind"] == "email":
            return ("email", f"{self.smtp.host}:{self.smtp.port}")
        return (channel["kind"], str(channel.get("url_env")))

    def _deliver_one(
        self,
        store: Store,
        client: httpx.Client,
        record: dict[str, Any],
        message: AnyMessage,
        report: DeliveryReport,
        now: datetime | None,
        version: DocVersion,
    ) -> bool:
        retrying = Retrying(  # any failure of one delivery is retried, then recorded, never raised
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=self.max_backoff_s),
            sleep=self.sleep,
        )
        try:
            for attempt in retrying:
                record["attempts"] += 1  # counted before the send: a timed-out attempt may have arrived
                record["updated"] = datetime.now(UTC).isoformat()
                version = self._save(store, record, version)
                with attempt:
                    self.send(client, record["channel"], message)
        except RetryError as failed:
            err = failed.last_attempt.exception()
            error = REDACTOR.redact(
                f"{type(err).__name__}: {err}" if not isinstance(err, DeliveryError) else str(err)
            )
        else:
            stamp = (now or datetime.now(UTC)).isoformat()
            record.update(status=SENT, sent_at=stamp, updated=stamp, last_error=None, claim_expires=None)
            self._save(store, record, version)
            report.sent += 1
            logger.info(
                "notified team %s by %s about %s (%s)",
                record["team"],
                record["channel"]["kind"],
                message.ref,
                record["event"],
            )
            return True
        total = record["attempts"]
        status = ABANDONED if total >= self.give_up_after else FAILED
        record.update(
            status=status,
            last_error=error,
            updated=(now or datetime.now(UTC)).isoformat(),
            claim_expires=None,
        )
        self._save(store, record, version)
        if status == ABANDONED:
            report.abandoned += 1
        else:
            report.failed += 1
        logger.warning(
            "notification %s (%s to team %s, about %s) %s after %s attempts: %s",
            record["id"],
            record["channel"]["kind"],
            record["team"],
            message.ref,
            "abandoned" if status == ABANDONED else "failed; retried on the next run",
            total,
            error,
        )
        return False

    def _message(self, store: Store, record: dict[str, Any]) -> AnyMessage | None:
        if record.get("kind") == WATCH_EVENT:
            return self._watch_message(store, record)
        ticket = store.get_ticket(record["ticket_id"])
        if ticket is None:
            logger.debug("notification %s: ticket %s not stored yet", record["id"], record["ticket_id"])
            return None
        index = record["entry"]
        if index >= len(ticket.history) or ticket.history[index].action != record["action"]:
            logger.debug(
                "notification %s: history entry %s of ticket %s not stored yet",
                record["id"],
                index,
                ticket.id,
            )
            return None
        quotes = tuple(
            Quote(author=m.author or "unknown", source=m.source, url=m.url, text=_snippet(m.text or m.title))
            for m in store.get_mentions(ticket.evidence.mention_ids[: self.quotes])
        )
        return Message(
            ticket=ticket,
            event=record["event"],
            note=ticket.history[index].note,
            quotes=quotes,
            key=record["id"],
        )

    def _watch_message(self, store: Store, record: dict[str, Any]) -> WatchMessage | None:
        doc = store.get_doc("trends", record["trend_id"])
        if doc is None:
            logger.debug("notification %s: trend event %s not stored", record["id"], record["trend_id"])
            return None
        trend = TrendEvent.model_validate(doc)
        quotes = tuple(
            Quote(author=m.author or "unknown", source=m.source, url=m.url, text=_snippet(m.text or m.title))
            for m in store.get_mentions(trend.mention_ids[: self.quotes])
        )
        return WatchMessage(trend=trend, team=record["team"], quotes=quotes, key=record["id"])

    # -- one attempt -------------------------------------------------------------------------------------
    def send(self, client: httpx.Client, channel: dict[str, Any], message: AnyMessage) -> None:
        kind = channel["kind"]
        if kind == "email":
            self._send_email(channel, message)
        elif kind in ("slack", "teams", "webhook"):
            self._post(client, channel, message)
        else:
            raise DeliveryError(f"unknown channel kind '{kind}'; allowed: email, slack, teams, webhook")

    def _post(self, client: httpx.Client, channel: dict[str, Any], message: AnyMessage) -> None:
        env = channel.get("url_env")
        url = secret_from_env(env, f"{channel['kind']} webhook")
        kind = channel["kind"]
        payload = (
            render_slack(message)
            if kind == "slack"
            else teams_payload(url, message)
            if kind == "teams"
            else render_webhook(message)
        )
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            headers = {"Content-Type": "application/json", "Idempotency-Key": message.key}
            response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as err:
            raise DeliveryError(
                f"{type(err).__name__} posting to the {channel['kind']} webhook in ${env}: {REDACTOR.redact(str(err))}"
            ) from None
        if response.status_code >= 300:
            raise DeliveryError(f"HTTP {response.status_code} from the {channel['kind']} webhook in ${env}")

    def _send_email(self, channel: dict[str, Any], message: AnyMessage) -> None:
        to = list(channel.get("to") or [])
        if not to:
            raise DeliveryError("email channel has no recipients (teams[].channels[].to is empty)")
        smtp = self.smtp
        email = render_email(message, sender=smtp.sender, to=to)
        user = secret_from_env(smtp.username_env, "SMTP username") if smtp.username_env else None
        password = secret_from_env(smtp.password_env, "SMTP password") if smtp.password_env else None
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout_s) as server:
                if smtp.starttls:
                    server.starttls(context=ssl.create_default_context())
                if user is not None and password is not None:
                    server.login(user, password)
                refused = server.send_message(email, from_addr=smtp.sender, to_addrs=to)
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(
                f"SMTP delivery via {smtp.host}:{smtp.port} failed: {type(err).__name__}: {REDACTOR.redact(str(err))}"
            ) from None
        if refused:  # the others got it: retrying would send them a duplicate
            logger.warning(
                "SMTP server refused recipients %s for %s",
                ", ".join(sorted(refused)),
                message.ref,
            )


def _channels_for(
    config: Config, team_id: str, severity: Severity, subject: str
) -> tuple[TeamConfig, list[tuple[int, ChannelConfig]]] | None:
    """The team and its channels (with their index) that take `severity`; None, with a warning,
    when the team is not declared."""
    try:
        team = config.team(team_id)
    except KeyError:
        logger.warning("%s: team '%s' is not declared in `teams`; no channel to notify", subject, team_id)
        return None
    channels = [
        (index, channel)
        for index, channel in enumerate(team.channels)
        if SEVERITY_ORDER[severity] >= SEVERITY_ORDER[channel.min_severity]
    ]
    return team, channels


def _put_pending(store: Store, record_id: str, fields: dict[str, Any], *, now: datetime) -> None:
    """Create a pending ledger record; an existing record (any status) is left as it is."""
    store.put_doc_if(
        "notifications",
        record_id,
        {
            "id": record_id,
            **fields,
            "status": PENDING,
            "attempts": 0,
            "created": now.isoformat(),
            "updated": now.isoformat(),
            "sent_at": None,
            "last_error": None,
        },
        None,
    )


def _channel_record(channel: ChannelConfig) -> dict[str, Any]:
    """What the ledger keeps about a channel: kind, recipients and the *name* of the URL variable."""
    return {
        "kind": channel.kind,
        "to": list(channel.to),
        "url_env": channel.url_env,
        "min_severity": channel.min_severity,
    }
