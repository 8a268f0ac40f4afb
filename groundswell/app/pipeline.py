"""The pipeline runner: collect -> understand -> index -> detect -> act -> report.

Each step is a call into its stage package; the same functions are what the Airflow DAGs call,
one task per step. Every step is idempotent: re-running a step (or the whole run) on the same
data writes the same documents and tickets, never duplicates.

The stages' summary types are imported for type checking only: importing this module (the command
line does) loads no stage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from groundswell import exitcodes
from groundswell.config import Config
from groundswell.store import Store

if TYPE_CHECKING:
    from alerts.tickets import TicketSummary
    from brief.build import BriefResult
    from crawlers.collect import CollectSummary
    from groundswell.records import TrendEvent
    from nlp.enricher import EnrichSummary
    from trends.detect import DetectSummary

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]  # (step, done, total)
T = TypeVar("T")


@dataclass
class StepTiming:
    step: str
    seconds: float
    summary: str


@dataclass
class RunSummary:
    collected: list[CollectSummary] = field(default_factory=list)  # one per source
    enriched: EnrichSummary | None = None  # None: the step did not run
    authors: int = 0
    detected: DetectSummary | None = None
    tickets: TicketSummary | None = None
    brief: BriefResult | None = None
    timings: list[StepTiming] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)  # collected nothing and reported errors
    partial_sources: list[str] = field(default_factory=list)  # collected, with errors
    problems: list[str] = field(default_factory=list)  # why the run did not fully succeed, one line each

    @property
    def exit_code(self) -> int:
        """0: done; 1 (failed): every source failed, nothing was judged; 3 (partial): the rest was
        done but notifications could not be delivered (see `groundswell.exitcodes`)."""
        if not self.problems:
            return exitcodes.OK
        if self.collected and len(self.failed_sources) == len(self.collected):
            return exitcodes.FAILED
        return exitcodes.PARTIAL


def source_outcomes(collected: list[CollectSummary]) -> tuple[list[str], list[str]]:
    """(failed, partial) source names from the collect summaries."""
    failed = [s.source for s in collected if s.errors and not s.items]
    partial = [s.source for s in collected if s.errors and s.items]
    return failed, partial


def last_complete_week(today: date) -> date:
    """The Monday that starts the last full week (Monday-Sunday) before `today`'s week."""
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7)


def collect(
    config: Config, store: Store, *, sources: list[str] | None = None, run_id: str | None = None
) -> list[CollectSummary]:
    from crawlers.collect import collect_all

    return collect_all(config, store, sources=sources, run_id=run_id)


def stage(config: Config, store: Store, source: str, *, run_id: str) -> CollectSummary:
    """Collect one source and stage what it gave for run `run_id` (`store_collected` stores it)."""
    from crawlers.collect import stage_source

    return stage_source(config, source, store, run_id=run_id)


def store_collected(
    config: Config, store: Store, *, run_id: str, sources: list[str] | None = None
) -> list[CollectSummary]:
    """Store what every source staged for run `run_id`, in configuration order, as `collect` would."""
    from crawlers.collect import store_staged

    return store_staged(config, store, run_id=run_id, sources=sources)


def enrich(config: Config, store: Store, *, progress: Callable[[int], None] | None = None) -> EnrichSummary:
    """Enrich the not-yet-enriched mentions, in `nlp.processes` local processes (`groundswell.app.processes`)."""
    from groundswell.app.processes import enrich_local

    return enrich_local(config, store, progress=progress)


def score_authors(config: Config, store: Store) -> int:
    from nlp.authors import score_authors as _score

    return len(_score(config, store))


def detect(config: Config, store: Store, *, now: datetime | None = None) -> DetectSummary:
    from trends.detect import detect as _detect

    return _detect(config, store, now=now)


def act(
    config: Config, store: Store, events: list[TrendEvent], *, now: datetime | None = None
) -> TicketSummary:
    """Open or update tickets for real shifts, notify, then escalate tickets that are past due."""
    import alerts

    summary = alerts.process_events(config, store, events, now=now)
    summary.escalated = len(alerts.escalate_overdue(config, store, now))
    return summary


def report(config: Config, store: Store, *, week_start: date, out_dir: Path | None = None) -> BriefResult:
    from brief import build_brief

    return build_brief(config, store, week_start=week_start, out_dir=out_dir, pdf=config.brief.pdf)


def source_health(config: Config, store: Store, *, now: datetime | None = None) -> list[TrendEvent]:
    from trends.coverage import source_health as _health

    return _health(config, store, now=now)


def _health_only(health: list[TrendEvent]) -> DetectSummary:
    from trends.detect import DetectSummary

    return DetectSummary(health=health)


def run_pipeline(
    config: Config,
    store: Store,
    *,
    sources: list[str] | None = None,
    now: datetime | None = None,
    week_start: date | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Run every stage once. `now` fixes the detector's clock (defaults to the current time)."""
    now = now or datetime.now(UTC)
    week_start = week_start or last_complete_week(now.date())
    summary = RunSummary()

    def timed(step: str, fn: Callable[[], T], describe: Callable[[T], str]) -> T:
        if progress:
            progress(step, 0, None)
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
        text = describe(result)
        summary.timings.append(StepTiming(step=step, seconds=seconds, summary=text))
        logger.info("%s: %s (%.1f s)", step, text, seconds)
        return result

    summary.collected = timed(
        "collect",
        lambda: collect(config, store, sources=sources),
        lambda r: f"{sum(s.items for s in r)} items from {len(r)} sources, {sum(s.errors for s in r)} errors",
    )
    summary.failed_sources, summary.partial_sources = source_outcomes(summary.collected)
    if summary.collected and len(summary.failed_sources) == len(summary.collected):
        # nothing new was observed: judging the series now would read the outage as a collapse,
        # acting would escalate tickets on no news, and a brief would describe an empty week.
        # Only the sources' health is recorded, and the run fails visibly.
        summary.problems.append(
            f"every source failed ({', '.join(summary.failed_sources)}): nothing detected, no tickets, no brief"
        )
        health = timed(
            "detect",
            lambda: source_health(config, store, now=now),
            lambda r: f"skipped (no source delivered); {len(r)} source-health events",
        )
        summary.detected = _health_only(health)
        return summary

    enriched_so_far = 0  # enrich_store reports each batch; the callback gets the running total

    def enrich_progress(n: int) -> None:
        nonlocal enriched_so_far
        enriched_so_far += n
        if progress:
            progress("enrich", enriched_so_far, None)

    summary.enriched = timed(
        "enrich",
        lambda: enrich(config, store, progress=enrich_progress),
        lambda r: f"{r.enriched} mentions enriched",
    )
    summary.authors = timed("authors", lambda: score_authors(config, store), lambda n: f"{n} authors scored")
    detected = summary.detected = timed(
        "detect",
        lambda: detect(config, store, now=now),
        lambda r: (
            f"{r.shifts} shifts, {r.blips} blips in {r.series_tested} series"
            + (f", {r.developing} developing" if r.developing else "")
            + (f", {r.withdrawn} earlier shifts withdrawn" if r.withdrawn else "")
            + (f", {r.missing} uncovered buckets left out" if r.missing else "")
            + (f", {len(r.health)} source-health events" if r.health else "")
        ),
    )
    tickets = summary.tickets = timed(
        "act",
        lambda: act(config, store, detected.events, now=now),
        lambda r: (
            f"{r.opened} opened, {r.updated} updated, {r.reopened} reopened, {r.escalated} escalated, {r.notified} notified"
            + (f", {r.watched} developing watched" if r.watched else "")
        ),
    )
    if tickets.notify_failed:
        summary.problems.append(
            f"{tickets.notify_failed} notifications could not be delivered (retried on the next run)"
        )
    summary.brief = timed(
        "report",
        lambda: report(config, store, week_start=week_start),
        lambda r: f"brief for week of {week_start}: {r.html_path}",
    )
    return summary
