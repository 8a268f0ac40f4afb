"""Gather everything the weekly brief shows from the store, through the `Store` interface only.

`collect_brief_data(config, store, week_start)` returns a `BriefData`: plain dataclasses per section
plus the evidence list that every claim and number links to. Nothing here renders anything; the
charts (`brief.charts`) and the HTML (`brief.render`) are built from this data, so the numbers in
the brief are exactly the numbers asked of the store (SQLite or Elasticsearch alike).

The week is `[week_start, week_start + 7 days)` in UTC; "previous week" is the seven days before.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from pydantic import ValidationError

from groundswell.config import Config, Entity
from groundswell.mention import BUSINESS_AREAS, SAFETY_HAZARDS, Mention
from groundswell.records import SEVERITY_ORDER, Ticket, TrendEvent
from groundswell.store.base import Filters, Store, collection_of
from groundswell.text import significance, tokens

logger = logging.getLogger(__name__)
R = TypeVar("R", TrendEvent, Ticket)

SENTIMENT_WEEKS = 8
EVIDENCE_SAMPLE = 3  # newest mentions shown for a number the brief computed
NAMED_SAMPLE = 5  # mentions shown of those a trend event or ticket names as its evidence
CLOUD_KINDS = ("compliment", "complaint", "idea")
CLOUD_WORDS = 14
CLOUD_MIN_AUTHORS = 2  # a word one person used is not the voice of the customer
# Words that say nothing about what customers feel or want, on top of the stop words.
CLOUD_FILLER = frozenset(
    "app apps let lets actually anyway basically literally honestly maybe probably sure okay ok "
    "thanks thank please pls guys everyone anyone someone something anything nothing stuff bit lot "
    "lots use used using want wanted need needs needed try tried trying look looks looking come "
    "came coming went goes sure yes yep nope oh wow omg btw imo tbh idk week weeks month months year "
    "years today yesterday tomorrow morning night post posted read reading saw seen getting having "
    "let's i'm it's that's don't can't won't didn't doesn't isn't wasn't i've you're".split()
)
_HANDLE_OR_HASHTAG = re.compile(r"(?<![\w])[#@]\w+")
MAX_TOPICS = 8
MAX_LEADERS = 6
OPEN_STATES = ("open", "acknowledged", "in_progress")
TICKET_GRACE = timedelta(days=7)  # how long after the week a ticket for one of its shifts still counts
STEADY = 0.05  # a change of mean sentiment smaller than this is reported as "held steady"
COMPETITOR_NEWS = 0.15  # a competitor's change of mean sentiment that makes the headline
MIN_SUPPORT = 10  # no percentage of fewer mentions than this unless it is labelled a small sample
SAFETY_MIN_MENTIONS = 3  # below this, a product's safety signals make headline news only with harm
# A safety statement is "well supported" (tier "act on") with a confirmed safety shift or at least this
# many mentions from as many distinct authors; fewer are stated, labelled, under "check".
SAFETY_ACT_MIN_AUTHORS = 3
MAX_SHIFT_CLAIMS = 3  # shifts stated one by one in the headline (the rest are in the shifts table)

# The headline is ordered by what a reader must act on: tier 1 well-supported safety signals and
# confirmed shifts on our own products and brands, tier 2 competitor moves, tier 3 safety reports of
# one or two authors (to check, not yet a pattern), tier 4 the rest (volume, share of voice,
# sentiment, topics, complaints, tickets).
TIER_ACT, TIER_COMPETITORS, TIER_CHECK, TIER_CONTEXT = 1, 2, 3, 4
TIER_LABELS = {
    TIER_ACT: "act on",
    TIER_COMPETITORS: "competitors",
    TIER_CHECK: "check",
    TIER_CONTEXT: "context",
}
STRENGTH_DEFINITION = (
    "strength = effect × distinct authors × confidence; effect is |ln(level / baseline)| for counts "
    "and shares (+1 mention, +0.05 share smoothing) and the absolute change for mean sentiment"
)

METRIC_LABELS = {
    "volume": "volume",
    "negative_share": "negative share",
    "mean_sentiment": "mean sentiment",
    "complaint_share": "complaint share",
    "safety_count": "safety signals",
}
BLIP_REASONS = {
    "reverted": "spike reverted to its baseline",
    "single_author": "carried by a single author",
    "bot_burst": "bot burst of near-identical posts",
    "weekly_rhythm": "known weekly pattern",
    "low_volume": "too few mentions to mean anything",
    "one_off": "one-off commentary",
    "withdrawn": "reported as a shift, not supported by later data",
}
AREA_LABELS = {
    "product": "Product",
    "customer_service": "Customer service",
    "shopping_experience": "Shopping experience",
    "delivery": "Delivery",
    "pricing": "Pricing",
    "marketing": "Marketing",
    "branding_pr": "Branding and PR",
}
SEVERITY_WORDS = {
    3: "emergency care, hospital, a fire or a death reported",
    2: "harm reported",
    1: "a hazard or defect, no harm reported",
    0: "none",
}
HAZARD_LABELS = {
    "injury": "injury",
    "fire_burn": "fire / burn",
    "choking": "choking",
    "defect": "defect",
    "illness": "illness",
    "recall": "recall",
}


# ---- evidence ---------------------------------------------------------------------------------
@dataclass
class MentionView:
    """What the evidence list shows of one mention. Text fields are untrusted (escaped on output)."""

    id: str
    title: str
    snippet: str
    url: str | None  # only http(s) URLs survive; anything else (javascript:, data:) is dropped
    source: str
    author: str
    published: str
    sentiment: str


@dataclass
class EvidenceItem:
    anchor: str  # HTML id, "ev-<n>"
    claim: str  # what this evidence backs, in words
    query: str  # how the mentions were selected, for the reader to repeat it
    mention_ids: list[str]
    total: int  # how many mentions match the query (the ids are a sample when total > len(ids))
    kibana_url: str | None = None
    mentions: list[MentionView] = field(default_factory=list)


@dataclass
class Claim:
    text: str
    evidence: str  # anchor
    tier: int = TIER_CONTEXT  # TIER_ACT / TIER_COMPETITORS / TIER_CHECK / TIER_CONTEXT: the headline's order

    @property
    def tier_label(self) -> str:
        return TIER_LABELS[self.tier]


# ---- sections ---------------------------------------------------------------------------------
@dataclass
class SovRow:
    entity_id: str
    name: str
    ours: bool
    count: int
    share: float
    prev_count: int
    prev_share: float
    evidence: str

    @property
    def delta_pts(self) -> float:
        return 100.0 * (self.share - self.prev_share)


@dataclass
class SentimentPoint:
    week: date
    count: int
    mean: float
    negative_share: float


@dataclass
class SentimentSeries:
    entity_id: str
    name: str
    ours: bool
    points: list[SentimentPoint]


@dataclass
class CloudWord:
    word: str
    kind: str
    count: int
    size: int  # 1..5


@dataclass
class TopicRow:
    topic_id: str
    label: str
    count: int
    prev_count: int
    evidence: str

    @property
    def change(self) -> int:
        return self.count - self.prev_count


@dataclass
class EventRow:
    event: TrendEvent
    subject: str
    metric: str
    summary: str
    evidence: str | None
    tier: int = TIER_CONTEXT  # whose series: ours (act on), a competitor's, or a topic/source/author
    effect: float = 0.0
    strength: float = 0.0  # effect x authors x confidence (STRENGTH_DEFINITION)

    @property
    def strength_text(self) -> str:
        e = self.event
        return f"{self.effect:.2f} × {e.authors} authors × {e.confidence:.2f} = {self.strength:.1f}"


@dataclass
class SafetyRow:
    entity_id: str
    name: str
    ours: bool
    total: int
    hazards: dict[str, int]
    max_severity: int
    evidence: str


@dataclass
class LeaderRow:
    author: str
    score: float
    reach: int
    watched: bool
    count: int
    mean_sentiment: float
    quotes: list[MentionView]
    evidence: str


@dataclass
class ScoreRow:
    area: str
    label: str
    count: int
    prev_count: int
    mean: float | None
    prev_mean: float | None
    complaint_share: float | None
    prev_complaint_share: float | None
    evidence: str


@dataclass
class TicketRow:
    ticket: Ticket
    overdue: bool
    evidence: str | None = None


@dataclass
class TicketSummary:
    opened: list[TicketRow]
    resolved: list[TicketRow]
    overdue: list[TicketRow]
    open_total: int
    as_of: datetime


@dataclass
class BriefData:
    title: str
    week_start: date
    week_end: date  # exclusive
    generated: datetime
    backend: str
    mentions: int
    prev_mentions: int
    scope: str  # which mentions the VoC cloud and the scorecard cover
    claims: list[Claim] = field(default_factory=list)
    share_of_voice: list[SovRow] = field(default_factory=list)
    sentiment: list[SentimentSeries] = field(default_factory=list)
    cloud: list[CloudWord] = field(default_factory=list)
    cloud_counts: dict[str, int] = field(default_factory=dict)
    topics: list[TopicRow] = field(default_factory=list)
    shifts: list[EventRow] = field(default_factory=list)
    blips: list[EventRow] = field(default_factory=list)
    developing: list[EventRow] = field(default_factory=list)  # changes under way, watched, not confirmed
    safety: list[SafetyRow] = field(default_factory=list)
    leaders: list[LeaderRow] = field(default_factory=list)
    scorecard: list[ScoreRow] = field(default_factory=list)
    tickets: TicketSummary | None = None
    evidence: list[EvidenceItem] = field(default_factory=list)
    safety_total: int = 0  # mentions with a safety signal this week
    safety_without_product: int = 0  # of those, mentions naming no configured product
    skipped_docs: int = 0  # trend/ticket documents that did not validate (logged)

    @property
    def empty(self) -> bool:
        return self.mentions == 0


# ---- helpers ----------------------------------------------------------------------------------
def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    """The week as UTC datetimes `[start, end)`; `week_start` must be a Monday."""
    if week_start.weekday() != 0:
        raise ValueError(
            f"week_start {week_start.isoformat()} is a {week_start.strftime('%A')}; it must be a Monday "
            f"(the Monday of that week is {(week_start - timedelta(days=week_start.weekday())).isoformat()})"
        )
    start = datetime.combine(week_start, time(0), tzinfo=UTC)
    return start, start + timedelta(days=7)


def safe_url(url: str | None) -> str | None:
    """The URL when it is a plain http(s) link with a host; None otherwise (never a script URL)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def _rison_string(value: str) -> str:
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def kibana_discover_url(
    kibana_url: str, mention_ids: list[str], start: datetime, end: datetime, data_view_id: str | None = None
) -> str:
    """A Kibana Discover link showing exactly these mentions (by id) in the given time range,
    on the mentions data view that `index_mappings.kibana` installs when its id is given."""
    query = "id:(" + " or ".join(f'"{i}"' for i in mention_ids) + ")"
    g = f"(time:(from:{_rison_string(start.isoformat())},to:{_rison_string(end.isoformat())}))"
    index = f"index:{_rison_string(data_view_id)}," if data_view_id else ""
    a = f"({index}query:(language:kuery,query:{_rison_string(query)}))"
    safe = "():,'!*"
    return f"{kibana_url.rstrip('/')}/app/discover#/?_g={quote(g, safe=safe)}&_a={quote(a, safe=safe)}"


def _mentions_data_view_id(prefix: str) -> str | None:
    """The id of the mentions data view among Groundswell's Kibana saved objects (None if unavailable)."""
    try:
        from index_mappings.kibana import data_views
    except ImportError as err:
        logger.warning(
            "Kibana data view id unavailable (%s); Discover links use Kibana's default data view", err
        )
        return None
    return str(data_views(prefix)["mentions"]["id"])


def mention_view(m: Mention, snippet_chars: int = 240) -> MentionView:
    text = " ".join(m.text.split())
    if len(text) > snippet_chars:
        text = text[: snippet_chars - 1].rstrip() + "…"
    return MentionView(
        id=m.id,
        title=" ".join(m.title.split())[:160],
        snippet=text,
        url=safe_url(m.url),
        source=m.source,
        author=m.author,
        published=m.published.strftime("%Y-%m-%d %H:%M"),
        sentiment=m.sentiment or "unknown",
    )


def cloud_tokens(text: str) -> list[str]:
    """Words for the VoC cloud: `tokens()` without hashtags, handles, contractions, digits and filler."""
    return [
        t
        for t in tokens(_HANDLE_OR_HASHTAG.sub(" ", text))
        if "'" not in t and t not in CLOUD_FILLER and not any(c.isdigit() for c in t)
    ]


def shift_effect(event: TrendEvent) -> float:
    """The size of a change on one scale for every metric (see STRENGTH_DEFINITION)."""
    if event.metric in ("volume", "safety_count"):
        return abs(math.log((event.level + 1.0) / (event.baseline + 1.0)))
    if event.metric in ("negative_share", "complaint_share"):
        return abs(math.log((event.level + 0.05) / (event.baseline + 0.05)))
    return abs(event.level - event.baseline)


def shift_strength(event: TrendEvent) -> float:
    """effect x distinct authors x confidence: what "the strongest" shift means in the brief."""
    return shift_effect(event) * max(event.authors, 0) * event.confidence


def shift_order(row: EventRow) -> tuple[int, bool, float, str]:
    """Our series first, then competitors', then topics/sources/authors; safety counts first within a
    tier, then the strongest."""
    return (row.tier, row.event.metric != "safety_count", -row.strength, row.event.id)


def plural(n: int, word: str) -> str:
    """'1 mention', '38 mentions'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def share_text(part: int, whole: int) -> str:
    """'45% of 38 mentions'; below MIN_SUPPORT the counts, labelled: '2 of 4 mentions (small sample)'."""
    if whole >= MIN_SUPPORT:
        return f"{_pct(part / whole)} of {whole} mentions"
    return f"{part} of {whole} mention(s) (small sample)"


def _signed(value: float) -> str:
    return f"{round(value, 2) + 0.0:+.2f}"


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _describe_filters(f: Filters) -> str:
    parts = []
    if f.start and f.end:
        parts.append(f"published {f.start:%Y-%m-%d} to {f.end - timedelta(seconds=1):%Y-%m-%d}")
    for name in ("entities", "sentiments", "voc_kinds", "business_areas", "authors", "topic_ids", "ids"):
        values = getattr(f, name)
        if values:
            parts.append(f"{name.replace('_', ' ')} = {', '.join(str(v) for v in values)}")
    if f.safety:
        parts.append("with a safety signal")
    return "; ".join(parts) or "all mentions"


class BriefCollector:
    """Asks the store for one week's numbers and keeps the evidence behind each of them."""

    def __init__(self, config: Config, store: Store, week_start: date, now: datetime | None = None) -> None:
        self.config = config
        self.store = store
        self.week_start = week_start
        self.start, self.end = week_bounds(week_start)
        self.prev_start = self.start - timedelta(days=7)
        self.now = now or datetime.now(UTC)
        self.week = Filters(start=self.start, end=self.end)
        self.prev = Filters(start=self.prev_start, end=self.start)
        self._evidence: list[EvidenceItem] = []
        self._told_shifts: set[str] = set()  # shift ids a safety statement of the headline tells
        entities = config.entities()
        self.names = {e.id: e.name for e in entities}
        self.owners: list[Entity] = [e for e in entities if e.kind in ("brand", "competitor")]
        self.families: dict[str, tuple[str, ...]] = {
            o.id: (o.id, *(e.id for e in entities if e.kind == "product" and e.brand == o.id))
            for o in self.owners
        }
        self.products: list[Entity] = [e for e in entities if e.kind == "product"]
        ours = tuple(i for o in self.owners if o.ours for i in self.families[o.id])
        self.ours_filter = ours
        self.competitor_ids = frozenset(i for o in self.owners if not o.ours for i in self.families[o.id])
        kibana = config.store.elasticsearch.kibana_url
        self.kibana = kibana if (config.store.backend == "elasticsearch" and kibana) else None
        self.data_view_id = (
            _mentions_data_view_id(config.store.elasticsearch.index_prefix) if self.kibana else None
        )

    # ---- evidence -------------------------------------------------------------------------
    def evidence(
        self, claim: str, filters: Filters, *, ids: list[str] | None = None, total: int | None = None
    ) -> str:
        """Register evidence for a claim: given mention ids, or a sample of the filter's newest mentions."""
        if ids is None:
            page = self.store.search("", filters, limit=EVIDENCE_SAMPLE, sort="newest")
            ids = [h.mention.id for h in page.hits]
            total = page.total if total is None else total
            query = _describe_filters(filters)
        else:
            total = len(ids) if total is None else total
            ids = ids[:NAMED_SAMPLE]
            query = "mentions the detector or ticket named as evidence"
        anchor = f"ev-{len(self._evidence) + 1}"
        kibana_url = (
            kibana_discover_url(self.kibana, ids, self.prev_start, self.end, self.data_view_id)
            if (self.kibana and ids)
            else None
        )
        self._evidence.append(
            EvidenceItem(
                anchor=anchor,
                claim=claim,
                query=query,
                mention_ids=ids,
                total=len(ids) if total is None else total,
                kibana_url=kibana_url,
            )
        )
        return anchor

    def _resolve_evidence(self) -> list[EvidenceItem]:
        wanted = list(dict.fromkeys(i for ev in self._evidence for i in ev.mention_ids))
        found: dict[str, MentionView] = {}
        for chunk in range(0, len(wanted), 500):
            for m in self.store.get_mentions(wanted[chunk : chunk + 500]):
                found[m.id] = mention_view(m)
        for ev in self._evidence:
            missing = [i for i in ev.mention_ids if i not in found]
            if missing:
                logger.warning(
                    "evidence %s names %s mention(s) not in the store: %s",
                    ev.anchor,
                    len(missing),
                    missing[:5],
                )
            ev.mentions = [found[i] for i in ev.mention_ids if i in found]
        return self._evidence

    # ---- sections -------------------------------------------------------------------------
    def collect(self) -> BriefData:
        mentions = self.store.count(self.week)
        prev_mentions = self.store.count(self.prev)
        scope = (
            "mentions of our brands and their products"
            if self.ours_filter
            else "all mentions (no brands configured)"
        )
        data = BriefData(
            title=f"Weekly market brief: {self.config.name}",
            week_start=self.week_start,
            week_end=self.week_start + timedelta(days=7),
            generated=self.now,
            backend=self.config.store.backend,
            mentions=mentions,
            prev_mentions=prev_mentions,
            scope=scope,
        )
        if mentions == 0:
            data.tickets = self.tickets(data)
            logger.info("no mentions in the week of %s: writing the short brief", self.week_start)
            data.evidence = self._resolve_evidence()
            return data
        data.share_of_voice = self.share_of_voice()
        data.sentiment = self.sentiment_series()
        data.cloud, data.cloud_counts = self.cloud()
        data.topics = self.emerging_topics()
        data.shifts, data.blips = self.events(data)
        data.developing = [r for r in data.blips if r.event.kind == "developing"]
        data.blips = [r for r in data.blips if r.event.kind == "blip"]  # health events: the appendix
        data.tickets = self.tickets(data, frozenset(r.event.id for r in data.shifts))
        data.safety = self.safety()
        data.safety_total = self.store.count(self.week.replace(safety=True))
        product_ids = tuple(e.id for e in self.products)
        with_product = (
            self.store.count(self.week.replace(safety=True, entities=product_ids)) if product_ids else 0
        )
        data.safety_without_product = data.safety_total - with_product
        data.leaders = self.leaders()
        data.scorecard = self.scorecard()
        data.claims = self.headline(data)
        # the evidence list reads in the order of the brief: the headline's claims first
        first = list(dict.fromkeys(c.evidence for c in data.claims))
        rank = {anchor: i for i, anchor in enumerate(first)}
        self._evidence.sort(key=lambda e: rank.get(e.anchor, len(rank)))
        data.evidence = self._resolve_evidence()
        return data

    def share_of_voice(self) -> list[SovRow]:
        counts = {
            o.id: self.store.count(self.week.replace(entities=self.families[o.id])) for o in self.owners
        }
        prev = {o.id: self.store.count(self.prev.replace(entities=self.families[o.id])) for o in self.owners}
        total, prev_total = sum(counts.values()), sum(prev.values())
        rows = []
        for o in self.owners:
            n = counts[o.id]
            anchor = self.evidence(
                f"{o.name}: {n} mentions of the brand or its products this week",
                self.week.replace(entities=self.families[o.id]),
                total=n,
            )
            rows.append(
                SovRow(
                    entity_id=o.id,
                    name=o.name,
                    ours=o.ours,
                    count=n,
                    share=n / total if total else 0.0,
                    prev_count=prev[o.id],
                    prev_share=prev[o.id] / prev_total if prev_total else 0.0,
                    evidence=anchor,
                )
            )
        rows.sort(key=lambda r: (-r.count, r.name))
        return rows

    def sentiment_series(self) -> list[SentimentSeries]:
        start = self.start - timedelta(days=7 * (SENTIMENT_WEEKS - 1))
        weeks = [(start + timedelta(days=7 * i)).date() for i in range(SENTIMENT_WEEKS)]
        out = []
        for o in self.owners:
            # one series per brand family: a mention counts once, so the counts equal the share of voice's
            f = Filters(start=start, end=self.end, entities=self.families[o.id])
            by_week = {
                p.bucket.astimezone(UTC).date(): p
                for p in self.store.series(bucket="week", group_by="none", filters=f)
            }
            series = [
                SentimentPoint(
                    week=w, count=p.count, mean=p.sentiment_sum / p.count, negative_share=p.negative / p.count
                )
                for w in weeks
                if (p := by_week.get(w)) is not None and p.count
            ]
            out.append(SentimentSeries(entity_id=o.id, name=o.name, ours=o.ours, points=series))
        return out

    def _scoped(self, base: Filters) -> Filters:
        return base.replace(entities=self.ours_filter) if self.ours_filter else base

    def cloud(self) -> tuple[list[CloudWord], dict[str, int]]:
        """Per VoC kind, the words that set it apart from the week's other posts, counted and sized by
        the number of distinct authors using them (one loud account cannot fill the cloud). Stop
        words, filler ("app", "let", "actually"), hashtags, handles, contractions and brand or
        product names are left out."""
        words: list[CloudWord] = []
        counts: dict[str, int] = {}
        background = self._scoped(self.week)
        # brand and product names are in every kind of post: they say nothing about what customers feel
        names = {t for e in self.config.entities() for n in e.names for t in cloud_tokens(n)}
        users: dict[str, dict[str, set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )  # kind -> word -> authors
        everyone: dict[str, set[str]] = defaultdict(set)
        authors_of: dict[str, set[str]] = defaultdict(set)
        for m in self.store.iter_mentions(background):
            author = m.author or m.id
            kind = m.voc_kind or "other"
            authors_of[kind].add(author)
            authors_of[""].add(author)
            for word in set(cloud_tokens(m.text)) - names:
                users[kind][word].add(author)
                everyone[word].add(author)
        for kind in CLOUD_KINDS:
            counts[kind] = self.store.count(self._scoped(self.week.replace(voc_kinds=(kind,))))
            fg_total, bg_total = len(authors_of[kind]), len(authors_of[""])
            scored = [
                (significance(len(a), fg_total, len(everyone[w]), bg_total), len(a), w)
                for w, a in users[kind].items()
                if len(a) >= CLOUD_MIN_AUTHORS
            ]
            scored.sort(key=lambda x: (-x[0], -x[1], x[2]))
            words += [
                CloudWord(word=w, kind=kind, count=n, size=1) for sig, n, w in scored[:CLOUD_WORDS] if sig > 0
            ]
        top = max((w.count for w in words), default=1)
        for w in words:
            w.size = 1 + min(4, int(4 * w.count / top))
        words.sort(key=lambda w: w.word)
        return words, counts

    def emerging_topics(self) -> list[TopicRow]:
        points = self.store.series(
            bucket="week", group_by="topic", filters=Filters(start=self.prev_start, end=self.end)
        )
        this: dict[str, int] = defaultdict(int)
        prev: dict[str, int] = defaultdict(int)
        for p in points:
            (this if p.bucket >= self.start else prev)[p.key] += p.count
        growing = sorted(
            (k for k in this if this[k] > prev.get(k, 0)), key=lambda k: (-(this[k] - prev.get(k, 0)), k)
        )
        rows = []
        for key in growing[:MAX_TOPICS]:
            f = self.week.replace(topic_ids=(int(key),))
            page = self.store.search("", f, limit=1, sort="newest")
            label = (page.hits[0].mention.topic_label if page.hits else None) or f"topic {key}"
            anchor = self.evidence(
                f"Topic '{label}': {this[key]} mentions this week, {prev.get(key, 0)} the week before",
                f,
                total=this[key],
            )
            rows.append(
                TopicRow(
                    topic_id=key, label=label, count=this[key], prev_count=prev.get(key, 0), evidence=anchor
                )
            )
        return rows

    def _subject(self, event: TrendEvent) -> str:
        if event.group_by == "entity":
            return self.names.get(event.key, event.key)
        if event.group_by == "topic":
            return f"topic '{event.topics[0]}'" if event.topics else f"topic {event.key}"
        if event.group_by == "author":
            return f"author {event.key}"
        return f"source {event.key}"

    def _tier(self, event: TrendEvent) -> int:
        if event.group_by == "entity" and event.key in self.ours_filter:
            return TIER_ACT
        if event.group_by == "entity" and event.key in self.competitor_ids:
            return TIER_COMPETITORS
        return TIER_CONTEXT

    def _load(self, model: type[R], data: BriefData) -> list[R]:
        collection = collection_of(model)

        def skip(doc: dict[str, Any], err: ValidationError) -> None:
            data.skipped_docs += 1
            logger.warning("skipping %s document %s: %s", collection, doc.get("id"), err.errors()[:1])

        # newest first (by the end of the evidence window for trends, creation for tickets)
        order = "end" if collection == "trends" else "created"
        return self.store.query_records(model, order_by=order, descending=True, limit=20000, on_invalid=skip)

    def events(self, data: BriefData) -> tuple[list[EventRow], list[EventRow]]:
        shifts, blips = [], []
        for ev in self._load(TrendEvent, data):
            in_week = (ev.start < self.end and ev.end >= self.start) or (
                self.start <= ev.detected_at < self.end
            )
            if not in_week:
                continue
            subject = self._subject(ev)
            metric = METRIC_LABELS.get(ev.metric, ev.metric)
            if ev.kind == "shift":
                rel = f" ({ev.relative_change:+.0%})" if ev.relative_change is not None else ""
                summary = (
                    f"{metric} of {subject} went {ev.direction} from {ev.baseline:.2f} to {ev.level:.2f}{rel} "
                    f"since {ev.start:%a %d %b}, confirmed over {ev.periods_confirmed} periods by {ev.authors} authors "
                    f"on {ev.sources} sources (confidence {ev.confidence:.0%})"
                )
                anchor = (
                    self.evidence(f"Shift: {summary}", self.week, ids=ev.mention_ids)
                    if ev.mention_ids
                    else None
                )
                shifts.append(
                    EventRow(
                        event=ev,
                        subject=subject,
                        metric=metric,
                        summary=summary,
                        evidence=anchor,
                        tier=self._tier(ev),
                        effect=shift_effect(ev),
                        strength=shift_strength(ev),
                    )
                )
            else:
                reason = BLIP_REASONS.get(ev.reason, ev.reason.replace("_", " "))
                summary = (
                    f"{metric} of {subject} {ev.direction} on {ev.start:%a %d %b}: filtered out, {reason}"
                )
                if ev.kind == "developing":
                    rel = f" ({ev.relative_change:+.0%})" if ev.relative_change is not None else ""
                    watch = f", watched by {ev.team}" if ev.team else ""
                    summary = (
                        f"{metric} of {subject} {ev.direction} from {ev.baseline:.2f} to {ev.level:.2f}{rel} "
                        f"since {ev.start:%a %d %b}: developing, not confirmed yet{watch}"
                    )
                anchor = (
                    self.evidence(f"{ev.kind.capitalize()}: {summary}", self.week, ids=ev.mention_ids)
                    if ev.mention_ids
                    else None
                )
                blips.append(
                    EventRow(event=ev, subject=subject, metric=metric, summary=summary, evidence=anchor)
                )
        # what a reader must act on first: our series, then competitors', then the rest; the
        # strongest first within each (safety counts before other metrics on the same tier)
        shifts.sort(key=shift_order)
        blips.sort(key=lambda r: (r.event.start, r.event.id))
        return shifts, blips

    def safety(self) -> list[SafetyRow]:
        rows = []
        for e in self.products:
            f = self.week.replace(entities=(e.id,), safety=True)
            total = self.store.count(f)
            if not total:
                continue
            hazards = {
                t.term: t.count for t in self.store.terms("safety_hazards", f, size=len(SAFETY_HAZARDS) + 4)
            }
            high = max((m.safety_severity for m in self.store.iter_mentions(f)), default=0)
            anchor = self.evidence(f"{e.name}: {total} mentions with a product-safety signal", f, total=total)
            rows.append(
                SafetyRow(
                    entity_id=e.id,
                    name=e.name,
                    ours=e.ours,
                    total=total,
                    hazards=hazards,
                    max_severity=high,
                    evidence=anchor,
                )
            )
        rows.sort(key=lambda r: (-r.total, r.name))
        return rows

    def leaders(self) -> list[LeaderRow]:
        active = {t.term: t.count for t in self.store.terms("author", self.week, size=5000)}
        docs = self.store.query_docs("authors", order_by="score", descending=True, limit=1000)
        chosen: list[tuple[str, float, int, bool]] = []
        for d in docs:
            author = str(d.get("author") or d.get("id") or "")
            if author and active.get(author):
                chosen.append(
                    (author, float(d.get("score") or 0.0), int(d.get("reach") or 0), bool(d.get("watched")))
                )
        if (
            not docs
        ):  # no opinion-leader scores yet: the most active authors stand in, said plainly in the brief
            chosen = [(a, 0.0, 0, False) for a in list(active)[:MAX_LEADERS]]
        chosen.sort(key=lambda c: (not c[3], -c[1], c[0]))
        chosen = chosen[:MAX_LEADERS]
        if not chosen:
            return []
        stats = {
            p.key: p
            for p in self.store.series(
                bucket="week",
                group_by="author",
                filters=self.week.replace(authors=tuple(c[0] for c in chosen)),
            )
        }
        rows = []
        for author, score, reach, watched in chosen:
            f = self.week.replace(authors=(author,))
            page = self.store.search("", f, limit=2, sort="newest")
            p = stats.get(author)
            n = p.count if p else active[author]
            mean = p.sentiment_sum / p.count if p and p.count else 0.0
            if not reach and page.hits:
                reach = max(h.mention.author_reach for h in page.hits)
            anchor = self.evidence(f"What {author} said this week ({n} mentions)", f, total=n)
            rows.append(
                LeaderRow(
                    author=author,
                    score=score,
                    reach=reach,
                    watched=watched,
                    count=n,
                    mean_sentiment=mean,
                    quotes=[mention_view(h.mention, 200) for h in page.hits],
                    evidence=anchor,
                )
            )
        return rows

    def scorecard(self) -> list[ScoreRow]:
        rows = []
        for area in BUSINESS_AREAS:
            f = self._scoped(Filters(start=self.prev_start, end=self.end, business_areas=(area,)))
            this = [0, 0.0, 0]
            prev = [0, 0.0, 0]
            for p in self.store.series(bucket="week", group_by="none", filters=f):
                a = this if p.bucket >= self.start else prev
                a[0] += p.count
                a[1] += p.sentiment_sum
                a[2] += p.complaints
            week_f = self._scoped(self.week.replace(business_areas=(area,)))
            anchor = self.evidence(
                f"{AREA_LABELS[area]}: {this[0]} mentions this week", week_f, total=int(this[0])
            )
            rows.append(
                ScoreRow(
                    area=area,
                    label=AREA_LABELS[area],
                    count=int(this[0]),
                    prev_count=int(prev[0]),
                    mean=this[1] / this[0] if this[0] else None,
                    prev_mean=prev[1] / prev[0] if prev[0] else None,
                    complaint_share=this[2] / this[0] if this[0] else None,
                    prev_complaint_share=prev[2] / prev[0] if prev[0] else None,
                    evidence=anchor,
                )
            )
        return rows

    def tickets(self, data: BriefData, shift_ids: frozenset[str] = frozenset()) -> TicketSummary:
        """Tickets opened, resolved and overdue in the week. The run that closes a week opens the
        tickets for that week's shifts just after it ends: those count as opened this week."""
        as_of = min(self.now, self.end)
        opened, resolved, overdue = [], [], []
        open_total = 0
        for t in self._load(Ticket, data):
            in_week = self.start <= t.created < self.end
            for_week = self.end <= t.created < self.end + TICKET_GRACE and bool(
                shift_ids & set(t.evidence.trend_ids)
            )
            if t.created >= self.end and not for_week:
                continue
            is_open = t.state in OPEN_STATES
            late = is_open and t.due < as_of
            row = TicketRow(ticket=t, overdue=late)
            relevant = in_week or for_week or late or t.state == "resolved"
            if relevant and t.evidence.mention_ids:
                row.evidence = self.evidence(
                    f"Ticket '{t.title}' ({t.type.replace('_', ' ')}, {t.severity})",
                    self.week,
                    ids=t.evidence.mention_ids,
                )
            if in_week or for_week:
                opened.append(row)
            resolved_at = [h.at for h in t.history if h.to_state == "resolved"]
            if any(self.start <= at < self.end for at in resolved_at) or (
                not resolved_at and t.state == "resolved" and self.start <= t.updated < self.end
            ):
                resolved.append(row)
            if late:
                overdue.append(row)
            open_total += is_open
        key = lambda r: (-SEVERITY_ORDER[r.ticket.severity], r.ticket.created, r.ticket.id)  # noqa: E731
        return TicketSummary(
            opened=sorted(opened, key=key),
            resolved=sorted(resolved, key=key),
            overdue=sorted(overdue, key=key),
            open_total=open_total,
            as_of=as_of,
        )

    # ---- the headline ---------------------------------------------------------------------
    def headline(self, data: BriefData) -> list[Claim]:
        """The week's statements, ordered by what a reader must act on (TIER_ACT, then
        TIER_COMPETITORS, then TIER_CONTEXT; the order within a tier is kept)."""
        claims: list[Claim] = []
        claims += self._safety_claims(data)
        stated: set[str] = {c.evidence for c in claims}
        for tier in (TIER_ACT, TIER_COMPETITORS):
            # one statement per series owner (several metrics of one product shift together)
            by_subject: dict[str, list[EventRow]] = {}
            for r in data.shifts:
                # a shift a safety statement already tells (the product's, or its brand's) is not repeated
                told = r.event.id in self._told_shifts or (r.evidence is not None and r.evidence in stated)
                if r.tier == tier and not told:
                    by_subject.setdefault(r.subject, []).append(r)
            for subject, rows in list(by_subject.items())[:MAX_SHIFT_CLAIMS]:
                who = "" if tier == TIER_ACT else " at a competitor"
                top = max(rows, key=lambda r: r.strength)
                if len(rows) == 1:
                    text = f"Confirmed shift{who}: {top.summary}; strength {top.strength_text}."
                else:
                    moves = ", ".join(
                        f"{r.metric} {r.event.baseline:.2f} → {r.event.level:.2f}" for r in rows
                    )
                    text = (
                        f"Confirmed shifts{who} on {subject}: {moves}; the strongest is {top.metric} since "
                        f"{top.event.start:%a %d %b}, by {top.event.authors} authors on {top.event.sources} "
                        f"sources (strength {top.strength_text})."
                    )
                claims.append(Claim(text, top.evidence or self.evidence(text, self.week), tier))
        claims += self._sentiment_claims(data, competitors=True)
        claims += self._context_claims(data)
        claims.sort(key=lambda c: c.tier)  # stable: the order within a tier is kept
        return claims

    def _safety_claims(self, data: BriefData) -> list[Claim]:
        claims = []
        tickets = (data.tickets.opened + data.tickets.overdue) if data.tickets else []
        minor: list[SafetyRow] = []
        self._told_shifts.clear()
        for row in data.safety:
            if not row.ours and row.entity_id not in self.competitor_ids:
                continue
            if row.total < SAFETY_MIN_MENTIONS and row.max_severity < 2:
                minor.append(row)  # one or two defect mentions: listed together, not headline news
                continue
            f = self.week.replace(entities=(row.entity_id,), safety=True)
            authors = len(self.store.terms("author", f, size=10_000))
            hazards = ", ".join(
                f"{HAZARD_LABELS.get(h, h)} {n}"
                for h, n in sorted(row.hazards.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            )
            text = (
                f"{row.name}{'' if row.ours else ' (competitor)'}: {plural(row.total, 'mention')} from "
                f"{plural(authors, 'author')} carried product-safety signals ({hazards or 'hazard unspecified'}; "
                f"highest severity {row.max_severity}, {SEVERITY_WORDS.get(row.max_severity, '')})"
            )
            shift = next(
                (
                    r
                    for r in data.shifts
                    if r.event.group_by == "entity"
                    and r.event.key == row.entity_id
                    and r.event.metric == "safety_count"
                ),
                None,
            )
            if shift is not None:
                text += (
                    f"; a confirmed shift since {shift.event.start:%a %d %b} (strength {shift.strength_text})"
                )
                self._told_shifts.add(shift.event.id)
                brand = next(
                    (
                        r
                        for r in data.shifts
                        if r.event.group_by == "entity"
                        and r.event.metric == "safety_count"
                        and r.event.key != row.entity_id
                        and row.entity_id in self.families.get(r.event.key, ())
                    ),
                    None,
                )
                if brand is not None:  # the brand's series counts the product's mentions too
                    self._told_shifts.add(brand.event.id)
                    text += (
                        f"; {brand.subject}'s safety signals as a whole went {brand.event.direction} too "
                        f"({brand.event.baseline:.2f} → {brand.event.level:.2f})"
                    )
            well_supported = shift is not None or (
                row.total >= SAFETY_MIN_MENTIONS and authors >= SAFETY_ACT_MIN_AUTHORS
            )
            ticket = next((t.ticket for t in tickets if t.ticket.subject == row.entity_id), None)
            if ticket is not None:
                # the ticket's own title repeats the detector's raw figures; the reader needs who and how urgent
                text += f"; a {ticket.severity} ticket for the {ticket.team} team ({ticket.state.replace('_', ' ')})"
            if not well_supported:
                single = "a single mention" if row.total == 1 else f"only {plural(row.total, 'mention')}"
                text += f"; {single} and no confirmed shift: check the evidence before acting"
                tier = TIER_CHECK
            else:
                tier = TIER_ACT if row.ours else TIER_COMPETITORS
            claims.append(
                Claim(text + ".", shift.evidence if shift and shift.evidence else row.evidence, tier)
            )
        if minor:
            names = ", ".join(f"{r.name} ({plural(r.total, 'mention')})" for r in minor)
            text = (
                f"Fewer than {SAFETY_MIN_MENTIONS} mentions with a low-severity safety signal (defect or "
                f"hazard, no harm) for: {names}."
            )
            claims.append(Claim(text, minor[0].evidence))
        return claims

    def _sentiment_claims(self, data: BriefData, *, competitors: bool) -> list[Claim]:
        claims = []
        for s in data.sentiment:
            if s.ours == competitors or not s.points or s.points[-1].week != self.week_start:
                continue
            cur = s.points[-1]
            before = (
                s.points[-2]
                if len(s.points) > 1 and s.points[-2].week == self.week_start - timedelta(days=7)
                else None
            )
            if not s.ours and (before is None or abs(cur.mean - before.mean) < COMPETITOR_NEWS):
                continue  # a competitor's sentiment is headline news only when it moves a lot
            small = "" if cur.count >= MIN_SUPPORT else f" (small sample: {cur.count} mentions)"
            if before is None:
                text = (
                    f"Mean sentiment towards {s.name} was {_signed(cur.mean)}, "
                    f"{share_text(round(cur.negative_share * cur.count), cur.count)} negative."
                )
                tone = ("negative",) if cur.mean < 0 else ("positive",)
            else:
                delta = cur.mean - before.mean
                verb = "rose" if delta > STEADY else "fell" if delta < -STEADY else "held steady"
                negative = (
                    f"negative share {_pct(before.negative_share)} → {_pct(cur.negative_share)}"
                    if min(cur.count, before.count) >= MIN_SUPPORT
                    else f"negative {round(before.negative_share * before.count)} of {before.count} → "
                    f"{round(cur.negative_share * cur.count)} of {cur.count}"
                )
                text = (
                    f"Sentiment towards {s.name}{'' if s.ours else ' (competitor)'} {verb}: "
                    f"mean {_signed(before.mean)} → {_signed(cur.mean)}, {negative}{small}."
                )
                tone = ("positive",) if delta > STEADY else ("negative",)
            f = self.week.replace(entities=self.families[s.entity_id], sentiments=tone)
            tier = TIER_CONTEXT if s.ours else TIER_COMPETITORS
            claims.append(Claim(text, self.evidence(text, f), tier))
        return claims

    def _context_claims(self, data: BriefData) -> list[Claim]:
        claims = []
        n, p = data.mentions, data.prev_mentions
        if p:
            change = (n - p) / p
            trend = "up" if change > 0.005 else "down" if change < -0.005 else "flat"
            text = f"{n} mentions this week, {trend} {abs(change):.0%} from {p} the week before."
            if trend == "flat":
                text = f"{n} mentions this week, about the same as the {p} the week before."
        else:
            text = f"{n} mentions this week (none the week before)."
        claims.append(Claim(text, self.evidence(text, self.week, total=n)))

        sov = [r for r in data.share_of_voice if r.count]
        total = sum(r.count for r in data.share_of_voice)
        if sov:
            lead = sov[0]
            share = _pct(lead.share) if total >= MIN_SUPPORT else f"{lead.count} of {total} (small sample)"
            text = f"{lead.name} led the share of voice with {share} ({lead.count} mentions, {lead.delta_pts:+.0f} pts)."
            claims.append(Claim(text, lead.evidence))
            for r in sov[1:]:
                if r.ours:
                    share = _pct(r.share) if total >= MIN_SUPPORT else f"{r.count} of {total} (small sample)"
                    text = f"{r.name} held {share} of the voice ({r.count} mentions, {r.delta_pts:+.0f} pts)."
                    claims.append(Claim(text, r.evidence))

        claims += self._sentiment_claims(data, competitors=False)

        if data.shifts:
            rest = [r for r in data.shifts if r.tier == TIER_CONTEXT]
            text = f"{plural(len(data.shifts), 'confirmed shift')} this week"
            if not rest:
                text += ", all stated above"
            if rest:
                top = max(rest, key=lambda r: r.strength)
                text += f"; the strongest of the {len(rest)} on topics, sources and authors: {top.summary} (strength {top.strength_text})"
                anchor = top.evidence or self.evidence(text, self.week)
            else:
                anchor = data.shifts[0].evidence or self.evidence(text, self.week)
            text += "."
            if data.blips:
                text += f" {plural(len(data.blips), 'blip')} filtered out."
            claims.append(Claim(text, anchor))
        elif data.blips:
            text = f"No confirmed shift this week; {plural(len(data.blips), 'blip')} seen and filtered out."
            claims.append(Claim(text, self.evidence(text, self.week)))

        if data.safety and not any(r.ours or r.entity_id in self.competitor_ids for r in data.safety):
            top_s = data.safety[0]
            text = f"{data.safety_total} mention(s) carried product-safety signals; most concern {top_s.name} ({top_s.total})."
            claims.append(Claim(text, top_s.evidence))

        if data.topics:
            t = data.topics[0]
            text = f"Fastest-growing topic: '{t.label}' ({t.prev_count} → {t.count} mentions)."
            claims.append(Claim(text, t.evidence))

        # complaint shares only where an area has enough mentions to make a percentage mean something
        worst = [r for r in data.scorecard if r.complaint_share is not None and r.count >= MIN_SUPPORT]
        if worst:
            w = max(worst, key=lambda r: (r.complaint_share or 0.0, r.count))
            complaints = round((w.complaint_share or 0.0) * w.count)
            text = f"Complaints weighed most on {w.label.lower()}: {share_text(complaints, w.count)}."
            f = self._scoped(self.week.replace(business_areas=(w.area,), voc_kinds=("complaint",)))
            claims.append(Claim(text, self.evidence(text, f)))

        if data.tickets and (data.tickets.opened or data.tickets.resolved or data.tickets.overdue):
            tk = data.tickets
            text = f"{plural(len(tk.opened), 'ticket')} opened, {len(tk.resolved)} resolved, {len(tk.overdue)} overdue."
            ids = list(
                dict.fromkeys(i for r in tk.opened + tk.overdue for i in r.ticket.evidence.mention_ids)
            )[:EVIDENCE_SAMPLE]
            anchor = self.evidence(text, self.week, ids=ids) if ids else self.evidence(text, self.week)
            claims.append(Claim(text, anchor))
        return claims


def collect_brief_data(
    config: Config, store: Store, week_start: date, now: datetime | None = None
) -> BriefData:
    """Everything the brief for the week starting `week_start` (a Monday) shows, with its evidence."""
    return BriefCollector(config, store, week_start, now=now).collect()
