"""Records that stages hand to each other besides mentions: trend events, tickets, the collection
ledger, saved searches.

All are stored as JSON documents through the store interface (`trends`, `tickets`, `ledger` and
`queries` collections), keyed by stable ids so re-runs update instead of duplicating. Read and write
them with the store's typed accessors (`Store.get_ticket`, `Store.put_trend_event`,
`Store.collection_ledger`, `Store.saved_queries`, ...), not the generic document methods.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# shift: a confirmed change (opens work); blip: recorded only; developing: a change under way whose
# evidence is strong and many-authored but not confirmed yet (watch notification, no ticket; keeps
# its id when confirmed as a shift); health: a source stopped delivering or keeps failing (for the
# operators' health team, never a market shift or a ticket)
EventKind = Literal["shift", "blip", "developing", "health"]
Metric = Literal["volume", "negative_share", "mean_sentiment", "complaint_share", "safety_count"]
TicketType = Literal["product", "competitor", "opinion_leader"]
Severity = Literal["low", "medium", "high", "critical"]
TicketState = Literal["open", "acknowledged", "in_progress", "resolved", "dismissed"]
CoverageStatus = Literal["ok", "partial", "failed"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def stable_id(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:20]


def series_name(group_by: str, key: str, topics: list[str] | tuple[str, ...] = ()) -> str:
    """A series as people read it: 'entity:steampro', and a topic with its label,
    'topic:8 (battery / charger / overheating)'. `topics` are the event's topic labels (for a topic
    series the first is the topic's own c-TF-IDF label)."""
    if group_by == "topic" and topics:
        return f"topic:{key} ({topics[0]})"
    return f"{group_by}:{key}"


class Record(BaseModel):
    """Base of the stored records: no unknown fields, datetimes in UTC."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value


class SeriesValue(Record):
    """One point of the chart data kept with an event: the bucket, the metric's value, the volume."""

    t: datetime
    value: float
    count: int


class TrendEvent(Record):
    """A change the detector found in one series: a real shift (opens work) or a blip (recorded only)."""

    id: str = Field(description="stable: series + metric + direction + start bucket")
    kind: EventKind
    reason: str = Field(
        description="shift: 'level' or 'slope'; blip: 'reverted', 'single_author', 'bot_burst', 'weekly_rhythm', 'low_volume', 'one_off', 'withdrawn' (a shift later data no longer supports); developing: 'developing'; health: 'failing' (the source's collection runs fail), 'stopped_delivering' (it answers but yields nothing)"
    )
    group_by: Literal["entity", "source", "topic", "author"]
    key: str = Field(description="the series key: entity id, source name, topic id or author")
    metric: Metric
    direction: Literal["up", "down"]
    start: datetime
    end: datetime = Field(description="last bucket covered by the evidence")
    detected_at: datetime
    baseline: float
    level: float
    change: float = Field(description="level - baseline, in the metric's unit")
    relative_change: float | None = None
    confidence: float = Field(ge=0, le=1)
    p_value: float | None = None
    periods_confirmed: int = 0
    authors: int = 0
    sources: int = 0
    top_authors: list[str] = Field(default_factory=list)
    source_names: list[str] = Field(default_factory=list)
    drivers: list[str] = Field(default_factory=list, description="significant terms against the baseline")
    topics: list[str] = Field(default_factory=list)
    safety_hazards: dict[str, int] = Field(default_factory=dict)
    mention_ids: list[str] = Field(default_factory=list, description="most representative mentions")
    series: list[SeriesValue] = Field(default_factory=list, description="chart data around the event")
    method: str = Field(default="", description="detector name@version")
    team: str = Field(
        default="", description="health: the configured health team; developing: the team it is watched by"
    )

    @property
    def series_name(self) -> str:
        """'topic:8 (battery / charger / overheating)', 'entity:steampro' (see `series_name`)."""
        return series_name(self.group_by, self.key, self.topics)

    @staticmethod
    def make_id(group_by: str, key: str, metric: str, direction: str, start: datetime) -> str:
        return stable_id("trend", group_by, key, metric, direction, start.astimezone(UTC).isoformat())


class HistoryEntry(Record):
    at: datetime
    who: str
    action: str
    from_state: TicketState | None = None
    to_state: TicketState | None = None
    note: str = ""


class Evidence(Record):
    trend_ids: list[str] = Field(default_factory=list)
    mention_ids: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    threads: list[str] = Field(
        default_factory=list, description="URLs of the threads/posts behind it, for outreach"
    )
    drivers: list[str] = Field(default_factory=list)
    safety_hazards: dict[str, int] = Field(default_factory=dict)
    series: list[SeriesValue] = Field(default_factory=list)


class Ticket(Record):
    """A BPM-style action ticket owned by a team. One ongoing shift keeps one ticket."""

    id: str = Field(description="stable: type + subject key, so a returning shift finds its ticket")
    type: TicketType
    subject: str = Field(description="entity id / author the ticket is about")
    title: str
    severity: Severity
    team: str
    assignee: str | None = None
    state: TicketState = "open"
    created: datetime
    updated: datetime
    due: datetime
    escalated: bool = False
    dismiss_reason: str | None = None
    evidence: Evidence = Field(default_factory=Evidence)
    history: list[HistoryEntry] = Field(default_factory=list)

    def log_change(self, action: str, *, who: str, at: datetime, note: str) -> None:
        """Append the history entry of a change that keeps the ticket's state (assign, evidence,
        severity, escalate); state transitions write their own entry (`alerts.lifecycle`)."""
        self.history.append(
            HistoryEntry(at=at, who=who, action=action, from_state=self.state, to_state=self.state, note=note)
        )


class LedgerEntry(Record):
    """What one collection run of one source covered (the collection ledger).

    Written by collect for every source of every run, success or not. The detector reads it to tell
    buckets a source did not cover (missing) from buckets where nobody wrote (zero); operators read
    it as source health (last success, gaps, errors by reason).

    Coverage: an `ok` or `partial` run covers ``[covered_start, covered_end)``; ``covered_start`` is
    the previous covered run's ``covered_end`` for the same source (None on a source's first run:
    everything published before ``covered_end`` was in reach). A `failed` run covers nothing.
    """

    id: str = Field(description="stable: source + run id, so re-recording a run replaces its entry")
    source: str
    kind: str = Field(default="", description="the source's kind (forum, rss, reddit, ...)")
    run_id: str = Field(description="the collection run this entry belongs to (one per `collect_all`)")
    started: datetime
    finished: datetime
    status: CoverageStatus
    covered_start: datetime | None = None
    covered_end: datetime | None = Field(default=None, description="None when the run failed")
    pages: int = 0
    items: int = 0
    new: int = 0
    errors: int = 0
    errors_by_reason: dict[str, int] = Field(default_factory=dict)
    empty_reason: str | None = Field(
        default=None, description="why a source that answered yielded nothing (None when it yielded items)"
    )
    message: str = Field(default="", description="one line for operators: what failed or was partial")

    @staticmethod
    def make_id(source: str, run_id: str) -> str:
        return stable_id("ledger", source, run_id)


class SavedQuery(Record):
    """A search a person saved in the web UI: its query text and form filters, under a name."""

    id: str = Field(description="stable: the name, so saving under the same name replaces it")
    name: str
    q: str = ""
    form: dict[str, str] = Field(default_factory=dict, description="the search form's filters, by field")
    who: str | None = Field(default=None, description="who saved it")
    created: datetime

    @staticmethod
    def make_id(name: str) -> str:
        return stable_id("query", name)
