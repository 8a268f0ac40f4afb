"""The brief's appendix on source health: which sources covered the week, which failed, and why.

Read from the collection ledger and the detector's health events through `groundswell.health`; the
window is the four weeks up to the end of the brief's week, so a source that stopped before the week
still shows, with its gap.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from groundswell.config import Config
from groundswell.health import SourceHealth, source_health
from groundswell.store.base import Store

logger = logging.getLogger(__name__)

__all__ = ["HEALTH_WINDOW", "health_appendix"]

HEALTH_WINDOW = timedelta(days=28)


def health_appendix(
    config: Config, store: Store, week_start: date, now: datetime | None = None
) -> list[SourceHealth]:
    """Source health as of the end of the week (or `now`, when earlier); [] when the ledger cannot be read."""
    week_end = datetime.combine(week_start + timedelta(days=7), datetime.min.time(), tzinfo=UTC)
    until = min(week_end, now or datetime.now(UTC))
    try:
        rows = source_health(
            store,
            [s.name for s in config.sources if s.enabled],
            since=until - HEALTH_WINDOW,
            now=until,
            kinds={s.name: s.kind for s in config.sources},
        )
    except Exception:  # the appendix must never stop the brief
        logger.exception("brief: source health appendix left out")
        return []
    for row in rows:  # only what the week could see
        row.gaps = [(a, min(b, until)) for a, b in row.gaps if a < until]
    return rows
