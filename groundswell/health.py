"""Source health from the collection ledger: last success, coverage gaps, errors by reason, health events.

`source_health(store, sources)` reads `Store.collection_ledger` (written by `crawlers.collect`, one
entry per source per run) and the detector's health events (`trends` documents with kind "health",
group_by "source") and returns one `SourceHealth` per source, worst first. The web UI's source-health
page and the weekly brief's appendix both show it. It lives in the kernel because it reads only kernel
records (the ledger and trend events) and serves several stages, which must not import each other.

A gap is a stretch of time no ok/partial run covered: between one covered run's end and the next
covered run's start when they do not meet (failed runs in between), and from the last covered end to
now when the latest runs failed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from groundswell.records import LedgerEntry
from groundswell.store.base import Store

logger = logging.getLogger(__name__)

__all__ = ["SourceHealth", "source_health"]

_STATUS_RANK = {"failed": 0, "never": 1, "partial": 2, "ok": 3}


@dataclass
class SourceHealth:
    source: str
    kind: str = ""
    status: str = "never"  # the latest run's status; "never" when the source has no ledger entry
    runs: int = 0
    failed_runs: int = 0
    last_run: datetime | None = None
    last_success: datetime | None = None  # finished time of the latest ok run
    covered_until: datetime | None = None
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)
    errors_by_reason: dict[str, int] = field(default_factory=dict)  # summed over the runs read
    items: int = 0
    empty_reason: str | None = None  # the latest run's, when it answered but yielded nothing
    message: str = ""  # the latest run's message
    events: list[dict[str, Any]] = field(default_factory=list)  # detector health events

    @property
    def gap_hours(self) -> float:
        return round(sum((b - a).total_seconds() for a, b in self.gaps) / 3600, 1)


def _gaps(entries: Sequence[LedgerEntry], now: datetime) -> list[tuple[datetime, datetime]]:
    covered = sorted(
        (e for e in entries if e.status != "failed" and e.covered_end is not None), key=lambda e: e.finished
    )
    gaps: list[tuple[datetime, datetime]] = []
    for before, after in pairwise(covered):
        start = after.covered_start
        if start is not None and before.covered_end is not None and start > before.covered_end:
            gaps.append((before.covered_end, start))
    latest = max(entries, key=lambda e: e.finished)
    if covered and latest.status == "failed" and covered[-1].covered_end is not None:
        gaps.append((covered[-1].covered_end, now))
    return gaps


def source_health(
    store: Store,
    sources: Sequence[str] = (),
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    kinds: Mapping[str, str] | None = None,
) -> list[SourceHealth]:
    """One `SourceHealth` per source seen in the ledger (plus `sources` never run), worst first."""
    now = now or datetime.now(UTC)
    entries = store.collection_ledger(sources=sources, since=since)
    by_source: dict[str, list[LedgerEntry]] = {name: [] for name in sources}
    for entry in entries:
        by_source.setdefault(entry.source, []).append(entry)
    try:
        events = store.query_docs("trends", {"kind": "health"}, order_by="start", descending=True, limit=500)
    except Exception as exc:  # the detector may not have run yet on a new store
        logger.info("no health events: %s", exc)
        events = []
    rows: list[SourceHealth] = []
    for name, runs in by_source.items():
        row = SourceHealth(source=name, kind=(kinds or {}).get(name, ""))
        row.events = [e for e in events if e.get("group_by") == "source" and e.get("key") == name][:10]
        if runs:
            runs.sort(key=lambda e: e.finished)
            latest = runs[-1]
            row.kind = latest.kind or row.kind
            row.status = latest.status
            row.runs = len(runs)
            row.failed_runs = sum(e.status == "failed" for e in runs)
            row.last_run = latest.finished
            row.last_success = max((e.finished for e in runs if e.status == "ok"), default=None)
            row.covered_until = max((e.covered_end for e in runs if e.covered_end is not None), default=None)
            row.gaps = _gaps(runs, now)
            for e in runs:
                for reason, n in e.errors_by_reason.items():
                    row.errors_by_reason[reason] = row.errors_by_reason.get(reason, 0) + n
                row.items += e.items
            row.empty_reason = latest.empty_reason
            row.message = latest.message
        rows.append(row)
    rows.sort(key=lambda r: (_STATUS_RANK.get(r.status, 3), -len(r.events), -r.gap_hours, r.source))
    return rows


def stale(row: SourceHealth, now: datetime, after: timedelta = timedelta(days=2)) -> bool:
    """True when the source has had no ok run for `after` (or never)."""
    return row.last_success is None or now - row.last_success > after
