"""Store-backed detection: build every series from the store's aggregations, judge them, write events.

`detect(config, store)` is what the pipeline, the DAG and `groundswell trends detect` call. It
reads `store.series(...)` per group (entities, sources, topics, watched and high-score authors),
runs one `ShiftDetector` over all series together (so false-discovery control spans all of
them), checks every event's authors against the store (a shift carried by fewer than
`min_authors` distinct people, or mostly by one account, becomes a blip; a blip whose moving
mentions are mostly one account's is a 'single_author' one), gathers the evidence and upserts
one `TrendEvent` document per event in the `trends` collection. Blips include the one-bucket
spikes the detector's spike scan finds (a rant, a bot burst that dedup collapsed into copies).

Event ids are `TrendEvent.make_id(group_by, key, metric, direction, start)`: a re-run writes the
same documents again. An ongoing shift whose detected start moves by a few buckets as data
arrives keeps the id of the event already stored for it, so one shift stays one event (and one
ticket downstream).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from groundswell.config import Config
from groundswell.records import SeriesValue, TrendEvent
from groundswell.store.base import Filters, Store
from trends.coverage import coverage, source_health
from trends.detector import METHOD, Finding, ShiftDetector
from trends.series import BUCKET_STEP, CountSeries, bucket_range, floor_bucket, series_from_points

logger = logging.getLogger(__name__)

STATE_KEY = "trends"
GROUP_METRICS: dict[str, tuple[str, ...]] = {
    "entity": ("volume", "negative_share", "mean_sentiment", "complaint_share", "safety_count"),
    "source": ("volume", "negative_share", "mean_sentiment"),
    "topic": ("volume", "negative_share"),
    "author": ("volume", "negative_share", "mean_sentiment"),
}
# at least this many buckets of history are read on an online run
MIN_HISTORY = 90
TOP_AUTHORS = 20  # high-score authors followed besides the watched opinion leaders
DOMINANT_AUTHOR_SHARE = 0.5  # one account writing half a shift's mentions makes it a burst


@dataclass
class DetectSummary:
    events: list[TrendEvent] = field(default_factory=list)
    shifts: int = 0
    blips: int = 0
    withdrawn: int = 0  # stored shifts this run's data no longer supports
    developing: int = 0  # changes under way, not confirmed yet (watch, no ticket)
    missing: int = 0  # buckets of the window collection did not cover (left out, not zeros)
    health: list[TrendEvent] = field(default_factory=list)  # sources failing or no longer delivering
    series_tested: int = 0
    start: datetime | None = None
    end: datetime | None = None


def detect(
    config: Config,
    store: Store,
    *,
    now: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> DetectSummary:
    """Judge every series of the store over [start, end) and upsert the events found.

    Online (no start/end): the window ends at the start of the current bucket of `now` (only
    complete buckets) and reaches back max(90, 3 * baseline_periods) buckets. Backfill
    (start/end given): exactly that window, deterministically.
    """
    bucket = config.trends.bucket
    step = BUCKET_STEP[bucket]
    now = _utc(now) if now is not None else datetime.now(UTC)
    backfill = start is not None or end is not None
    if end is not None:
        window_end = floor_bucket(_utc(end), bucket)
        if window_end < _utc(end):  # a partial last bucket is included in a backfill
            window_end += step
    else:
        window_end = floor_bucket(now, bucket)
    history = max(MIN_HISTORY, 3 * config.trends.baseline_periods)
    window_start = floor_bucket(_utc(start), bucket) if start else window_end - history * step
    if window_start >= window_end:
        raise ValueError(
            f"detect: start {window_start.isoformat()} must be before end {window_end.isoformat()}"
        )
    times = bucket_range(window_start, window_end, bucket)
    base = Filters(start=window_start, end=window_end)

    all_series = _build_series(config, store, times, base)
    # buckets collection did not cover (an outage, the unfinished last bucket) are missing, not
    # zeros: they are left out, so no shift or blip is judged on them
    volume = {s.key: float(s.count.sum()) for s in all_series if s.group_by == "source"}
    total = sum(volume.values())
    weights = {k: v / total for k, v in volume.items()} if total > 0 else None
    cov = coverage(store, times, step, [s.name for s in config.sources if s.enabled], weights)
    missing = cov.missing if cov.known else 0
    keep = np.flatnonzero(cov.overall)
    if missing:
        all_series = [s.taken(keep) for s in all_series] if len(keep) else []
        times = [times[i] for i in keep]
        logger.info("trends: %d of %d buckets not covered by collection, left out", missing, len(cov.overall))
    if cov.known and len(keep):
        # a source that missed some of the buckets kept (a small one, failing) is not judged: its
        # zeros there are an outage, reported by its health event
        gaps = {k for k, mask in cov.by_source.items() if not mask[keep].all()}
        if gaps:
            all_series = [s for s in all_series if not (s.group_by == "source" and s.key in gaps)]
            logger.info("trends: sources %s left out: collection missed some of their buckets", sorted(gaps))
    if all_series:
        # the store's history may begin inside the window: buckets before its first mention are
        # not silence, they are before collection started
        first = min(int(np.argmax(s.count > 0)) for s in all_series if s.count.any())
        if first > 0:
            all_series = [s.sliced(first, len(times)) for s in all_series]
            times = times[first:]
    summary = DetectSummary(
        series_tested=len(all_series), start=window_start, end=window_end, missing=missing
    )
    detected_at = window_end if backfill else now
    summary.health = source_health(config, store, now=detected_at)
    if not all_series:
        logger.info("trends: no series in %s .. %s", window_start, window_end)
        _save_state(store, summary, backfill)
        return summary
    detector = ShiftDetector.from_settings(config).fit(all_series)
    findings = detector.predict()
    by_key = {(s.group_by, s.key): s for s in all_series}
    for f in findings:
        event = _event(config, store, f, by_key[(f.group_by, f.key)], times, detected_at)
        store.put_trend_event(event)
        summary.events.append(event)
    summary.shifts = sum(e.kind == "shift" for e in summary.events)
    summary.blips = sum(e.kind == "blip" for e in summary.events)
    summary.developing = sum(e.kind == "developing" for e in summary.events)
    settled = times[0] + config.trends.baseline_periods * BUCKET_STEP[bucket]
    stale = (2 * config.trends.confirm_periods + 1) * BUCKET_STEP[bucket]  # a developing signal's chance
    summary.withdrawn = _withdraw_unsupported(store, summary, set(by_key), settled, window_end, stale)
    logger.info(
        "trends: %d series (%d tests), %d shifts, %d blips, %d withdrawn in %s .. %s",
        len(all_series),
        detector.tests,
        summary.shifts,
        summary.blips,
        summary.withdrawn,
        window_start.date(),
        window_end.date(),
    )
    _save_state(store, summary, backfill)
    return summary


def _withdraw_unsupported(
    store: Store,
    summary: DetectSummary,
    tested: set[tuple[str, str]],
    settled: datetime,
    end: datetime,
    stale: timedelta,
) -> int:
    """Stored shifts this run re-judged with a full baseline and did not find again become blips.

    A shift reported on thin evidence (found one day at q 0.009, gone the next as data arrives)
    would otherwise stay a shift for ever. It is kept, with reason 'withdrawn', so the brief and any
    ticket opened for it can still point at it; if later data supports it again, the same id
    comes back as a shift.
    """
    found = {e.id for e in summary.events}
    withdrawn = 0
    for event in store.trend_events(where={"kind": "developing"}, limit=100_000):
        if event.id in found or (event.group_by, event.key) not in tested:
            continue
        if event.end < end - stale:
            # raised while young, then neither confirmed nor seen again: it was a blip
            store.put_trend_event(event.model_copy(update={"kind": "blip", "reason": "not_confirmed"}))
    for event in store.trend_events(where={"kind": "shift"}, limit=100_000):
        if event.id in found or (event.group_by, event.key) not in tested:
            continue
        if not settled <= event.start < end:
            continue  # outside what this run could judge with a full baseline
        store.put_trend_event(event.model_copy(update={"kind": "blip", "reason": "withdrawn"}))
        withdrawn += 1
    return withdrawn


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _save_state(store: Store, summary: DetectSummary, backfill: bool) -> None:
    state = store.get_state(STATE_KEY, {}) or {}
    state.update(
        {
            "last_start": summary.start.isoformat() if summary.start else None,
            "last_end": summary.end.isoformat() if summary.end else None,
            "last_mode": "backfill" if backfill else "online",
            "series_tested": summary.series_tested,
            "shifts": summary.shifts,
            "blips": summary.blips,
            "method": METHOD,
        }
    )
    store.set_state(STATE_KEY, state)


# ---- series ---------------------------------------------------------------------------------
def _followed_authors(config: Config, store: Store) -> list[str]:
    names: dict[str, None] = {}
    for person in config.opinion_leaders:
        for handle in person.handles:
            names[handle] = None
    for doc in store.query_docs("authors", where={"watched": True}, limit=1000):
        if doc.get("author"):
            names[str(doc["author"])] = None
    for doc in store.query_docs("authors", order_by="score", descending=True, limit=TOP_AUTHORS):
        if doc.get("author"):
            names[str(doc["author"])] = None
    return list(names)


def _build_series(config: Config, store: Store, times: list[datetime], base: Filters) -> list[CountSeries]:
    bucket = config.trends.bucket
    out: list[CountSeries] = []
    entity_ids = tuple(e.id for e in config.entities())
    groups: list[tuple[str, Filters]] = [("source", base), ("topic", base)]
    if entity_ids:
        groups.insert(0, ("entity", base.replace(entities=entity_ids)))
    authors = _followed_authors(config, store)
    if authors:
        groups.append(("author", base.replace(authors=tuple(authors))))
    for group_by, filters in groups:
        points = store.series(bucket=bucket, group_by=group_by, filters=filters)  # type: ignore[arg-type]
        series = series_from_points(points, group_by=group_by, times=times, metrics=GROUP_METRICS[group_by])
        out.extend(series[k] for k in sorted(series))
    return out


# ---- evidence -------------------------------------------------------------------------------
def _group_filter(group_by: str, key: str, base: Filters) -> Filters:
    if group_by == "entity":
        return base.replace(entities=(key,))
    if group_by == "source":
        return base.replace(sources=(key,))
    if group_by == "topic":
        return base.replace(topic_ids=(int(key),))
    if group_by == "author":
        return base.replace(authors=(key,))
    raise ValueError(f"unknown group_by {group_by!r}; allowed: {', '.join(GROUP_METRICS)}")


def _metric_filter(metric: str, direction: str, f: Filters) -> Filters:
    """The mentions that make the metric move (negatives for a rising negative share, ...)."""
    if metric == "negative_share" or (metric == "mean_sentiment" and direction == "down"):
        return f.replace(sentiments=("negative",))
    if metric == "mean_sentiment":
        return f.replace(sentiments=("positive",))
    if metric == "complaint_share":
        return f.replace(voc_kinds=("complaint",))
    if metric == "safety_count":
        return f.replace(safety=True)
    return f


def _event(
    config: Config,
    store: Store,
    f: Finding,
    series: CountSeries,
    times: list[datetime],
    detected_at: datetime,
) -> TrendEvent:
    step = BUCKET_STEP[config.trends.bucket]
    start, last = times[f.start], times[f.end]
    window = _group_filter(f.group_by, f.key, Filters(start=start, end=last + step))
    baseline = _group_filter(
        f.group_by, f.key, Filters(start=start - config.trends.baseline_periods * step, end=start)
    )
    movers = _metric_filter(f.metric, f.direction, window)
    kind, reason = f.kind, f.reason

    author_terms = store.terms("author", movers, size=10_000)
    n_authors = len(author_terms)
    moved = sum(t.count for t in author_terms)
    if f.direction == "up" and moved > 0:
        top_share = author_terms[0].count / moved
        if kind in ("shift", "developing") and (
            n_authors < config.trends.min_authors or top_share >= DOMINANT_AUTHOR_SHARE
        ):
            kind, reason = (
                "blip",
                "single_author" if n_authors <= 1 or top_share >= DOMINANT_AUTHOR_SHARE else "bot_burst",
            )
        elif kind == "blip" and top_share >= DOMINANT_AUTHOR_SHARE:
            reason = "single_author"  # the mentions that moved the metric are mostly one account's
    if kind in ("shift", "developing") and f.direction == "down":
        # a fall is carried by the people who stopped: the baseline's authors, and a fall that
        # fewer than min_authors people made is no shift (nor is silence nobody was there to break)
        before = _metric_filter(f.metric, f.direction, baseline)
        base_authors = store.terms("author", before, size=10_000)
        if len(base_authors) < config.trends.min_authors:
            kind, reason = "blip", "low_volume"
        if n_authors < len(base_authors):
            author_terms, n_authors = base_authors, len(base_authors)
        if not store.terms("source", movers, size=1):
            movers = before  # nothing left in the window: the evidence is what stopped
    sources = store.terms("source", movers, size=100)
    drivers = store.top_terms(movers, background=_metric_filter(f.metric, f.direction, baseline), size=10)
    topics = store.terms("topic_label", movers, size=5)
    hazards = store.terms("safety_hazards", movers, size=10)
    query = " OR ".join(t.term for t in drivers[:3])
    hits = store.search(query, movers, limit=10, sort="relevance").hits if query else []
    if len(hits) < 10:
        seen = {h.mention.id for h in hits}
        more = store.search("", movers, limit=10, sort="newest").hits
        hits.extend(h for h in more if h.mention.id not in seen)
    mention_ids = [h.mention.id for h in hits[:10]]

    lo = max(0, f.start - config.trends.baseline_periods)
    values = series.value(f.metric)
    chart = [
        SeriesValue(
            t=times[i], value=float(values[i]) if np.isfinite(values[i]) else 0.0, count=int(series.count[i])
        )
        for i in range(lo, len(times))
    ]
    event_start = start
    event_id = TrendEvent.make_id(f.group_by, f.key, f.metric, f.direction, start)
    existing = _ongoing_event(store, f, start, last, step * config.trends.confirm_periods)
    first_seen = detected_at
    if existing is not None:
        event_id = existing.id
        event_start = existing.start
        first_seen = existing.detected_at
    else:
        stored = store.get_trend_event(event_id)
        if stored is not None:
            first_seen = stored.detected_at
    change = f.level - f.baseline
    return TrendEvent(
        id=event_id,
        kind=kind,
        reason=reason,
        group_by=f.group_by,  # type: ignore[arg-type]
        key=f.key,
        metric=f.metric,  # type: ignore[arg-type]
        direction=f.direction,
        start=event_start,
        end=last,
        detected_at=min(first_seen, detected_at),
        baseline=_finite(f.baseline),
        level=_finite(f.level),
        change=_finite(change),
        relative_change=_finite(change / f.baseline) if f.baseline else None,
        confidence=f.confidence,
        p_value=f.p_value,
        periods_confirmed=f.periods,
        authors=n_authors,
        sources=len(sources),
        top_authors=[t.term for t in author_terms[:10]],
        source_names=[t.term for t in sources],
        drivers=[t.term for t in drivers],
        topics=[t.term for t in topics],
        safety_hazards={t.term: t.count for t in hazards},
        mention_ids=mention_ids,
        series=chart,
        method=METHOD,
        team=_watching_team(config, f.group_by, f.key) if kind == "developing" else "",
    )


def _watching_team(config: Config, group_by: str, key: str) -> str:
    """The team a developing signal is for: the team its ticket would go to once confirmed."""
    routing = config.alerts.routing
    if group_by == "author":
        return routing.get("opinion_leader", "")
    if group_by == "entity":
        entity = next((e for e in config.entities() if e.id == key), None)
        if entity is not None and entity.kind == "person":
            return routing.get("opinion_leader", "")
        if entity is not None and (entity.kind == "competitor" or not entity.ours):
            return routing.get("competitor", "")
        return routing.get("product", "")
    return ""


def _finite(x: float) -> float:
    return float(x) if np.isfinite(x) else 0.0


def _ongoing_event(
    store: Store, f: Finding, start: datetime, last: datetime, slack: timedelta
) -> TrendEvent | None:
    """An event already stored for this series and direction that this finding continues."""
    stored = store.trend_events(
        where={"group_by": f.group_by, "key": f.key, "metric": f.metric, "direction": f.direction},
        limit=1000,
    )
    best = None
    for event in stored:
        if event.kind == "health":
            continue  # a source's outage is not the continuation of a market event
        d_start, d_end = event.start, event.end
        if d_start == start:
            return None  # the same id: a plain re-run
        if d_start - slack <= start <= d_end + slack and d_start <= last:
            if best is None or d_start < best.start:
                best = event
    return best
