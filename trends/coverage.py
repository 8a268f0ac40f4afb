"""What collection actually observed, from the collection ledger: coverage per bucket and source health.

Collect writes one `LedgerEntry` per source and run (`Store.record_collection`). An `ok` or
`partial` run covers ``[covered_start, covered_end)`` (``covered_start`` None: everything before
``covered_end`` was in reach); a `failed` run covers nothing. From that:

- `coverage(...)`: which buckets of a detection window were observed. A bucket counts only when
  the sources that covered all of it carry at least 90% of the window's mentions, so an outage,
  or the unfinished last bucket, is *missing* (the detector leaves it out), never a run of zeros
  that looks like a collapse; a small source that keeps failing loses only its own series. A store with no ledger (old stores, tests that write mentions directly) is treated as
  fully covered, as before the ledger existed.
- `source_health(...)`: a `TrendEvent` of kind ``"health"`` per source whose latest runs failed
  (reason ``failing``) or answered with nothing for at least `STOPPED_RUNS` runs over
  `STOPPED_AFTER` after delivering before (``stopped_delivering``). Health events belong to the
  configured `trends.health_team`; they are never market shifts and never open or escalate a
  ticket (alerts act on kind ``"shift"`` only).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from groundswell.config import Config
from groundswell.records import LedgerEntry, TrendEvent, stable_id
from groundswell.store.base import Store

logger = logging.getLogger(__name__)

HEALTH_METHOD = "groundswell-health@1"
STOPPED_RUNS = 2  # consecutive empty runs before a source that delivered is said to have stopped
STOPPED_AFTER = timedelta(days=2)  # ... spanning at least this long
_FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
MAX_MISSING_SHARE = 0.1  # a bucket missed by sources carrying less of the volume still counts


@dataclass
class Coverage:
    """Buckets of one window that were observed: overall and per source that ever delivered."""

    known: bool  # False: no ledger for these sources, everything is taken as covered
    overall: np.ndarray  # bool per bucket: every delivering source covered the whole bucket
    by_source: dict[str, np.ndarray]

    @property
    def missing(self) -> int:
        return int((~self.overall).sum())


def _merged(entries: Sequence[LedgerEntry]) -> list[tuple[datetime, datetime]]:
    """The union of what a source's successful runs covered, as disjoint sorted intervals."""
    spans = sorted(
        (e.covered_start or _FAR_PAST, e.covered_end)
        for e in entries
        if e.status != "failed" and e.covered_end is not None
    )
    out: list[tuple[datetime, datetime]] = []
    for a, b in spans:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def covered_buckets(entries: Sequence[LedgerEntry], times: Sequence[datetime], step: timedelta) -> np.ndarray:
    """True for each bucket ``[t, t + step)`` that one source's successful runs covered entirely."""
    spans = _merged(entries)
    out = np.zeros(len(times), dtype=bool)
    for i, t in enumerate(times):
        end = t + step
        out[i] = any(a <= t and end <= b for a, b in spans)
    return out


def coverage(
    store: Store,
    times: Sequence[datetime],
    step: timedelta,
    sources: Sequence[str] = (),
    weights: Mapping[str, float] | None = None,
) -> Coverage:
    """Which buckets of `times` were observed, from the ledger of `sources` (all when empty).

    `weights`: each source's share of the window's mentions. A bucket then counts as observed
    when the sources that missed it carry less than `MAX_MISSING_SHARE` of the volume (a small
    source that keeps failing does not blind every series; its own series is left out instead,
    and its health event says why). Without weights every delivering source must have covered it.
    """
    entries = store.collection_ledger(sources=sources)
    by_source: dict[str, list[LedgerEntry]] = {}
    for e in entries:
        by_source.setdefault(e.source, []).append(e)
    masks = {
        name: covered_buckets(runs, times, step)
        for name, runs in by_source.items()
        if any(r.status != "failed" and r.covered_end is not None for r in runs)
    }
    if not masks:
        # no ledger (an old store, mentions written directly) or no source ever delivered
        return Coverage(known=False, overall=np.ones(len(times), dtype=bool), by_source={})
    if weights is None:
        overall = np.logical_and.reduce(list(masks.values()))
    else:
        lost = np.zeros(len(times))
        for name, mask in masks.items():
            lost += np.where(mask, 0.0, weights.get(name, 0.0))
        overall = lost < MAX_MISSING_SHARE
    return Coverage(known=True, overall=np.asarray(overall, dtype=bool), by_source=masks)


def source_health(
    config: Config, store: Store, *, now: datetime | None = None, save: bool = True
) -> list[TrendEvent]:
    """One health event per enabled source that is failing or stopped delivering (upserted when `save`)."""
    now = now or datetime.now(UTC)
    names = [s.name for s in config.sources if s.enabled]
    if not names:
        return []
    runs: dict[str, list[LedgerEntry]] = {}
    for e in store.collection_ledger(sources=names):
        runs.setdefault(e.source, []).append(e)
    events: list[TrendEvent] = []
    for name in names:
        entries = runs.get(name)
        if not entries:
            continue
        event = _health_event(config, store, name, entries, now)
        if event is None:
            continue
        if save:
            store.put_trend_event(event)
        events.append(event)
    if events:
        logger.warning(
            "source health: %s", ", ".join(f"{e.key} {e.reason.replace('_', ' ')}" for e in events)
        )
    return events


def _health_event(
    config: Config, store: Store, source: str, entries: list[LedgerEntry], now: datetime
) -> TrendEvent | None:
    latest = entries[-1]
    streak: list[LedgerEntry] = []
    if latest.status == "failed":
        reason = "failing"
        for e in reversed(entries):
            if e.status != "failed":
                break
            streak.insert(0, e)
    else:
        reason = "stopped_delivering"
        for e in reversed(entries):
            if e.status == "failed" or e.items > 0:
                break
            streak.insert(0, e)
        delivered_before = any(e.items > 0 for e in entries[: len(entries) - len(streak)])
        span = streak[-1].finished - streak[0].started if streak else timedelta(0)
        if not delivered_before or len(streak) < STOPPED_RUNS or span < STOPPED_AFTER:
            return None
    before = [e for e in entries[: len(entries) - len(streak)] if e.status != "failed"]
    baseline = float(np.mean([e.items for e in before])) if before else 0.0
    start = streak[0].started
    event_id = stable_id("health", source, reason, start.astimezone(UTC).isoformat())
    stored = store.get_trend_event(event_id)
    detected_at = stored.detected_at if stored else now
    errors: dict[str, int] = {}
    for e in streak:
        for why, n in e.errors_by_reason.items():
            errors[why] = errors.get(why, 0) + n
        if e.empty_reason and reason == "stopped_delivering":
            errors[e.empty_reason] = errors.get(e.empty_reason, 0) + 1
    last_ok = before[-1].covered_end if before else None
    return TrendEvent(
        id=event_id,
        kind="health",
        reason=reason,
        group_by="source",
        key=source,
        metric="volume",
        direction="down",
        start=start,
        end=latest.finished,
        detected_at=min(detected_at, now),
        baseline=baseline,
        level=0.0,
        change=-baseline,
        relative_change=-1.0 if baseline else None,
        confidence=1.0,
        periods_confirmed=len(streak),
        sources=1,
        source_names=[source],
        drivers=[f"{why} ({n})" for why, n in sorted(errors.items(), key=lambda kv: -kv[1])]
        + ([latest.message] if latest.message and latest.message != latest.empty_reason else [])
        + ([f"last covered until {last_ok.isoformat()}"] if last_ok else []),
        method=HEALTH_METHOD,
        team=config.trends.health_team,
    )
