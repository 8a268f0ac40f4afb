"""Which shifts become work, of which type, about whom, how severe, for which team.

`classify(config, event, mentions)` reads one `TrendEvent` of kind "shift" (plus the evidence
mentions fetched from the store) and returns a `Decision`. The rules, in order:

- **opinion leader**: the series is an author (`group_by="author"`) or the entity is a configured
  person. The subject is the opinion leader's id when the author matches a watched handle, else
  the author name. A drop in a leader's volume is not actionable.
- an opinion shift about us (not a safety signal) where at least 30% of the evidence comes from or names
  a watched opinion leader (people echoing their post) is that leader's: one opinion-leader ticket.
- **product**: the entity is our brand or one of our products and the signal is adverse: more
  safety signals, a higher negative or complaint share, a lower mean sentiment, or more volume
  carried by safety hazards or mostly negative posts. Severity comes from the safety signal
  (hazards named by the detector and the mentions' `safety_severity`) and from growth.
- **competitor**: the entity is a competitor or a competitor's product. The signal is named from
  the metric and the drivers: outage (outage words), launch (volume up for a product hardly
  talked about before, or no other explanation), price move (pricing words or pricing
  mentions), sentiment collapse or surge.
- Source and topic series are attributed to the configured entity that most of their evidence
  mentions name, when one does; otherwise they are not actionable (the detector still records them).
  `process_events` lets them add evidence to that entity's ticket, never open one.
  A brand-level shift whose evidence is mostly about one of the brand's products is that product's.

A ticket's id is stable per type + subject (+ metric family for competitors, where a launch and a
sentiment collapse are separate stories), so one ongoing shift keeps one ticket.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from alerts.lifecycle import SEVERITIES
from groundswell.config import Config, Entity, OpinionLeaderConfig
from groundswell.mention import Mention
from groundswell.records import SEVERITY_ORDER, Severity, TicketType, TrendEvent, stable_id
from groundswell.text import tokens

logger = logging.getLogger(__name__)


# Hazards that can hurt people rank above a plain defect.
HAZARD_LEVEL: dict[str, int] = {
    "defect": 1,
    "recall": 2,
    "illness": 2,
    "injury": 2,
    "fire_burn": 2,
    "choking": 2,
}
PRICE_WORDS = frozenset(
    "price prices pricing priced cheaper cheap discount discounts deal deals sale expensive cost costs promo coupon "
    "undercut undercuts pricier".split()
)
OUTAGE_WORDS = frozenset(
    "outage outages offline servers server unavailable crash crashes crashing bricked login".split()
)
ADVERSE_METRICS = {
    ("negative_share", "up"),
    ("complaint_share", "up"),
    ("mean_sentiment", "down"),
    ("safety_count", "up"),
}
DOMINANT_SHARE = 0.5  # share of a shift's evidence that makes it about one entity
LEADER_SHARE = 0.3  # share of a shift's evidence that must name or come from a watched leader
MATERIAL_SHARE = 0.2  # share of the evidence a hazard must appear in to count without the detector
HIGH_REACH = 10_000
NEW_PRODUCT_BASELINE = 1.0  # mentions per bucket under which a competitor product counts as new  # followers from which a non-watched author counts as high-reach


class NotActionable(Exception):
    """A shift that opens no ticket; the message says why (counted as skipped, never an error)."""


@dataclass(frozen=True)
class Decision:
    """What a shift becomes: the ticket's type, subject, title, severity and owning team."""

    ticket_id: str
    type: TicketType
    subject: str
    subject_name: str
    signal: str
    title: str
    severity: Severity
    team: str


def ticket_id_for(ticket_type: str, subject: str, family: str = "") -> str:
    return stable_id("ticket", ticket_type, subject, family)


def entity_index(config: Config) -> dict[str, Entity]:
    """Every configured entity by id (build once per run: `config.entities()` is rebuilt per call)."""
    return {e.id: e for e in config.entities()}


def classify(
    config: Config,
    event: TrendEvent,
    mentions: Sequence[Mention],
    *,
    entities: dict[str, Entity] | None = None,
) -> Decision:
    """Decide the ticket for a shift, or raise `NotActionable` saying why it opens none.

    `entities`: `entity_index(config)`, when the caller classifies many events."""
    if event.kind != "shift":
        # blips, developing signals and source-health events (an outage) never open or escalate one
        raise NotActionable(f"event {event.id} is a {event.kind} ({event.reason}); only shifts open tickets")
    if event.group_by == "author":
        return _opinion_leader(config, event, mentions, author=event.key)
    entities = entities if entities is not None else entity_index(config)
    if event.group_by == "entity":
        entity = _entity(entities, event.key)
    else:
        entity = _dominant_entity(entities, event, mentions)
    entity = _narrowest(entities, entity, mentions)
    if entity.kind == "person":
        return _opinion_leader(config, event, mentions, author=entity.id)
    if entity.ours:
        leader = _driving_leader(config, event, mentions)
        if leader is not None:
            return _opinion_leader(config, event, mentions, author=leader.id, about=entity)
        return _product(config, event, mentions, entity)
    return _competitor(config, event, mentions, entity)


# ---- the three types -----------------------------------------------------------------------------
def _product(config: Config, event: TrendEvent, mentions: Sequence[Mention], entity: Entity) -> Decision:
    hazards = _material_hazards(event, mentions)
    negative = _negative_share(mentions)
    adverse = (event.metric, event.direction) in ADVERSE_METRICS or (
        event.metric == "volume" and event.direction == "up" and (bool(hazards) or negative >= 0.5)
    )
    if not adverse:
        raise NotActionable(
            f"{entity.id}: {event.metric} {event.direction} with no safety, defect or negative signal "
            f"(negative share of evidence {negative:.0%}); nothing for product safety to act on"
        )
    level = 1 if event.metric != "volume" else 0
    level = max([level, *(HAZARD_LEVEL.get(h, 1) for h in hazards)])
    worst = max((m.safety_severity for m in mentions if hazards & set(m.safety_hazards)), default=0)
    level = max(level, worst - 1)
    if _strong_growth(config, event):
        level += 1
    if hazards - {"defect"}:
        signal = "safety"
    elif "defect" in hazards:
        signal = "defect"
    elif event.metric == "complaint_share" or _share(mentions, lambda m: m.voc_kind == "complaint") >= 0.5:
        signal = "quality"
    else:
        signal = "negative sentiment"
    what = f"{signal} signal" + (f" ({', '.join(sorted(hazards))})" if hazards else "")
    return _decision(config, "product", entity.id, entity.name, signal, what, event, min(level, 3))


def _competitor(config: Config, event: TrendEvent, mentions: Sequence[Mention], entity: Entity) -> Decision:
    words = {t for d in event.drivers for t in tokens(d)} | {d.lower() for d in event.drivers}
    pricing = _share(mentions, lambda m: m.business_area == "pricing")
    if event.metric == "volume":
        if event.direction == "down":
            raise NotActionable(f"{entity.id}: competitor volume fell; no competitive move to act on")
        if words & OUTAGE_WORDS:
            signal = "outage"
        elif entity.kind == "product" and event.baseline < NEW_PRODUCT_BASELINE:
            signal = "launch"  # hardly talked about before: new on the market
        elif words & PRICE_WORDS or pricing >= 0.4:
            signal = "price move"
        else:
            signal = "launch"
        family = "volume"
    elif event.metric == "safety_count":
        if event.direction == "down":
            raise NotActionable(f"{entity.id}: fewer safety signals at a competitor; nothing to act on")
        signal, family = "safety issue", "sentiment"
    else:
        collapse = (event.metric, event.direction) in ADVERSE_METRICS
        signal, family = ("sentiment collapse" if collapse else "sentiment surge"), "sentiment"
    level = 0 if signal == "sentiment surge" else 1
    if _strong_growth(config, event):
        level += 1
    return _decision(
        config, "competitor", entity.id, entity.name, signal, signal, event, min(level, 2), family=family
    )


def _opinion_leader(
    config: Config, event: TrendEvent, mentions: Sequence[Mention], author: str, about: Entity | None = None
) -> Decision:
    if event.metric == "volume" and event.direction == "down":
        raise NotActionable(f"author {author}: volume fell; an opinion leader going quiet opens no ticket")
    leader = _leader(config, author)
    subject, name = (leader.id, leader.name) if leader else (author, author)
    reach = max((m.author_reach for m in mentions if _same_author(m.author, author, leader)), default=0)
    level = 1 if leader else 0
    if not leader and reach >= HIGH_REACH:
        level += 1
    adverse = (event.metric, event.direction) in ADVERSE_METRICS
    if adverse:
        level += 1
    if _strong_growth(config, event):
        level += 1
    signal = (
        "turning negative" if adverse else ("more vocal" if event.metric == "volume" else "turning positive")
    )
    what = f"opinion leader {signal}" + (f" on {about.name}" if about is not None else "")
    return _decision(config, "opinion_leader", subject, name, signal, what, event, min(level, 2))


# ---- helpers ---------------------------------------------------------------------------------------
def _decision(
    config: Config,
    ticket_type: TicketType,
    subject: str,
    name: str,
    signal: str,
    what: str,
    event: TrendEvent,
    level: int,
    family: str = "",
) -> Decision:
    team = config.alerts.routing.get(ticket_type)
    if team is None:
        raise NotActionable(
            f"alerts.routing has no team for ticket type '{ticket_type}'; configured: {dict(config.alerts.routing)}"
        )
    title = f"{name}: {what}, {describe_change(event)}"
    return Decision(
        ticket_id=ticket_id_for(ticket_type, subject, family),
        type=ticket_type,
        subject=subject,
        subject_name=name,
        signal=signal,
        title=title,
        severity=SEVERITIES[max(0, level)],
        team=team,
    )


# what a reader calls each metric; counts are per bucket of the series ("a day" for daily series)
COUNT_NOUNS = {"volume": "mentions", "safety_count": "safety reports"}
SHARE_NAMES = {"negative_share": "negative share", "complaint_share": "complaint share"}


def describe_change(event: TrendEvent) -> str:
    """The change in a reader's words, e.g. 'mentions up from 4 to 12 a day (3x)',
    'safety reports up from under 0.1 to 5.7 a day', 'negative share up from 10% to 45%',
    'mean sentiment down from +0.20 to -0.35'.

    Counts are the series' mean per bucket; a ratio is given only when the baseline is at least one
    per bucket (a rise from 0.05 a day is not "+11,000%").
    """
    if event.metric in SHARE_NAMES:
        return f"{SHARE_NAMES[event.metric]} {event.direction} from {event.baseline:.0%} to {event.level:.0%}"
    if event.metric == "mean_sentiment":
        return f"mean sentiment {event.direction} from {event.baseline:+.2f} to {event.level:+.2f}"
    noun = COUNT_NOUNS.get(event.metric, event.metric)
    text = f"{noun} {event.direction} from {_count(event.baseline)} to {_count(event.level)} {_per_bucket(event)}"
    if event.baseline >= 1 and event.level >= 1:
        ratio = event.level / event.baseline
        if ratio >= 1.95:
            text += f" ({ratio:.0f}x)" if ratio >= 9.5 else f" ({ratio:.1f}x)"
        else:
            text += f" ({ratio - 1:+.0%})"
    return text


def _count(value: float) -> str:
    """A mean count per bucket, as a reader would say it: 0, under 0.1, 0.24, 5.7, 12, 130."""
    if value <= 0:
        return "0"
    if value < 0.1:
        return "under 0.1"
    if value < 1:
        return f"{value:.2g}"
    if value < 10:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.0f}"


def _per_bucket(event: TrendEvent) -> str:
    """'a day', 'an hour', 'a week' from the spacing of the event's chart data (a day when unknown)."""
    times = sorted(p.t for p in event.series)
    step = min((b - a for a, b in pairwise(times) if b > a), default=None)
    if step is None:
        return "a day"
    hours = step.total_seconds() / 3600
    if hours <= 1.5:
        return "an hour"
    if hours >= 24 * 6:
        return "a week"
    return "a day"


def relative_change(event: TrendEvent) -> float | None:
    if event.relative_change is not None:
        return event.relative_change
    if event.baseline:
        return event.change / abs(event.baseline)
    return None


def _strong_growth(config: Config, event: TrendEvent) -> bool:
    """A large change for the metric's unit, or one carried by many independent authors."""
    if event.authors >= 3 * config.trends.min_authors:
        return True
    if event.metric in ("negative_share", "complaint_share"):
        return abs(event.change) >= 0.25
    if event.metric == "mean_sentiment":
        return abs(event.change) >= 0.5
    rel = relative_change(event)
    return rel is None or abs(rel) >= 1.0  # from zero, or at least doubled


def severity_max(a: Severity, b: Severity) -> Severity:
    return a if SEVERITY_ORDER[a] >= SEVERITY_ORDER[b] else b


def _entity(entities: dict[str, Entity], entity_id: str) -> Entity:
    try:
        return entities[entity_id]
    except KeyError:
        raise NotActionable(f"unknown entity '{entity_id}'; configured: {', '.join(entities)}") from None


def _narrowest(entities: dict[str, Entity], entity: Entity, mentions: Sequence[Mention]) -> Entity:
    """A brand-level shift whose evidence is mostly about one of the brand's products is that
    product's shift: the same story keeps one ticket whichever series saw it first."""
    if entity.kind not in ("brand", "competitor") or not mentions:
        return entity
    products = {e.id: e for e in entities.values() if e.kind == "product" and e.brand == entity.id}
    counts = Counter(p for m in mentions for p in set(m.entities) if p in products)
    if counts:
        product_id, n = counts.most_common(1)[0]
        if n >= DOMINANT_SHARE * len(mentions):
            return products[product_id]
    return entity


def _dominant_entity(entities: dict[str, Entity], event: TrendEvent, mentions: Sequence[Mention]) -> Entity:
    counts = Counter(e for m in mentions for e in set(m.entities))
    if not counts:
        raise NotActionable(
            f"{event.group_by} '{event.key}': its evidence mentions name no configured entity"
        )
    entity_id, n = counts.most_common(1)[0]
    if n < DOMINANT_SHARE * len(mentions):
        raise NotActionable(
            f"{event.group_by} '{event.key}': no entity dominates its evidence ('{entity_id}' in {n} of {len(mentions)})"
        )
    return _entity(entities, entity_id)


def _driving_leader(
    config: Config, event: TrendEvent, mentions: Sequence[Mention]
) -> OpinionLeaderConfig | None:
    """The watched opinion leader behind an opinion shift about us: at least LEADER_SHARE of its
    evidence was written by the leader or names them (people echoing a post). Safety signals stay
    product work."""
    if event.metric == "safety_count" or not mentions or _material_hazards(event, mentions):
        return None
    votes: Counter[str] = Counter()
    for m in mentions:
        names = {lead.id for lead in (_leader(config, m.author),) if lead is not None}
        names |= {lead.id for lead in config.opinion_leaders if lead.id in m.entities}
        votes.update(names)
    if not votes:
        return None
    leader_id, n = votes.most_common(1)[0]
    if n < LEADER_SHARE * len(mentions):
        return None
    return next(lead for lead in config.opinion_leaders if lead.id == leader_id)


def _leader(config: Config, author: str) -> OpinionLeaderConfig | None:
    wanted = _norm(author)
    for leader in config.opinion_leaders:
        if wanted in {_norm(leader.id), _norm(leader.name), *(_norm(h) for h in leader.handles)}:
            return leader
    return None


def _same_author(name: str, author: str, leader: OpinionLeaderConfig | None) -> bool:
    if _norm(name) == _norm(author):
        return True
    return leader is not None and _norm(name) in {
        _norm(leader.id),
        _norm(leader.name),
        *(_norm(h) for h in leader.handles),
    }


def _norm(name: str) -> str:
    return name.strip().lstrip("@").casefold()


def _material_hazards(event: TrendEvent, mentions: Sequence[Mention]) -> set[str]:
    """Hazards that carry the shift: any the detector counted in a safety_count shift; otherwise
    those in at least MATERIAL_SHARE of the shift's posts (the detector's counts against its
    authors) or of the evidence mentions, never fewer than 2 posts. One stray "burn" does not make
    a sentiment dip a safety case."""
    if event.metric == "safety_count":
        material = {h for h, n in event.safety_hazards.items() if n > 0}
    else:
        floor = max(2.0, MATERIAL_SHARE * max(event.authors, len(mentions)))
        material = {h for h, n in event.safety_hazards.items() if n >= floor}
    counts = Counter(h for m in mentions for h in set(m.safety_hazards))
    floor = max(2.0, MATERIAL_SHARE * len(mentions))
    return material | {h for h, n in counts.items() if n >= floor}


def _negative_share(mentions: Sequence[Mention]) -> float:
    return _share(mentions, lambda m: m.sentiment == "negative")


def _share(mentions: Sequence[Mention], pred: Callable[[Mention], bool]) -> float:
    return sum(1 for m in mentions if pred(m)) / len(mentions) if mentions else 0.0
