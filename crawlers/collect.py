"""Collect orchestration: run each configured source, dedup what it found, write it to the store.

Web kinds (forum, review, news, blog, sitemap) crawl with Scrapy in a child process
(`python -m crawlers.web.run ...`, one reactor per process) that writes one Mention JSON per line and
prints a final JSON stats line. Feed/API kinds (rss, reddit, mastodon, hackernews, youtube, x) run in
process; their cursors live in the store under `feeds:<source name>` and are saved only after the
mentions they cover are written. A failing source is logged and reported in its `CollectSummary`; only
configuration errors (an unknown source name) raise.

Every source of every run also gets one `LedgerEntry` in the store's collection ledger
(`Store.record_collection`), success or not, also when the source raised or its crawler process died:
one `run_id` per `collect_all` call; status `ok` (no error), `partial` (errors, a budget stop or a
crawler killed, but pages were read) or `failed` (the source raised, or no page could be read: every
page it got was an error); the covered interval runs
from the source's previous covered end to the start of this run (a failed run covers nothing); the
pages, items, new mentions, errors by reason, and `empty_reason` when a source that answered yielded
nothing (per-URL reasons are in `CollectSummary.empty`).

Scheduled in parallel (one task per source, the ingest DAG), collection is split in two so that the
store does not depend on which task finished first: `stage_source` fetches one source and stages what
it gave in the store's `state` documents under the run's id (nothing stored, no cursor advanced, no
ledger entry), then `store_staged` dedups and stores every source's staged items in configuration
order with one dedup index, saves the cursors and records the ledger, exactly as `collect_all` does in
one process: the same mentions, ids and duplicate counts, whatever the number of workers.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from crawlers.dedup import Deduplicator
from groundswell.config import Config, ConfigError, SourceConfig
from groundswell.mention import Mention
from groundswell.records import LedgerEntry
from groundswell.store.base import Store, StoreError

logger = logging.getLogger(__name__)

__all__ = [
    "WEB_KINDS",
    "CollectSummary",
    "collect_all",
    "collect_source",
    "drop_stale_staging",
    "ledger_entry",
    "stage_source",
    "state_key",
    "store_staged",
]

WEB_KINDS = ("forum", "review", "news", "blog", "sitemap")
RUNNER_MODULE = "crawlers.web.run"
RUNNER_GRACE_SECONDS = 60.0  # on top of the source's max_seconds before the child is killed
STAGED_PART_SIZE = 200  # mentions per staged document (`stage_source`)


@dataclass
class CollectSummary:
    """What collecting one source did."""

    source: str
    kind: str = ""
    items: int = 0  # mentions the collector returned
    new: int = 0  # of those, not in the store before (representatives written for the first time)
    pages: int = 0
    errors: int = 0
    error_reasons: list[str] = field(default_factory=list)
    duplicates: int = 0  # copies collapsed into another mention
    warnings: int = 0
    written: int = 0  # documents upserted (new + refreshed + representatives whose count grew)
    seconds: float = 0.0
    errors_by_reason: dict[str, int] = field(default_factory=dict)
    warnings_by_reason: dict[str, int] = field(default_factory=dict)
    empty: dict[str, str] = field(default_factory=dict)  # URL whose response yielded nothing -> why
    empty_reason: str | None = None  # why the source yielded nothing although it answered
    charset: dict[str, int] = field(default_factory=dict)  # "declared->used": pages re-decoded
    stopped: str = ""  # why the crawl ended early ("budget:pages", "crawler killed", ...); "" when it ran out
    failed: bool = False  # the source raised, its crawler died before reading anything, or nothing was read
    run_id: str = ""

    def count_error(self, reason: str, message: str | None = None, n: int = 1) -> None:
        self.errors += n
        self.errors_by_reason[reason] = self.errors_by_reason.get(reason, 0) + n
        if message is not None:
            self.error_reasons.append(message)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def state_key(source: SourceConfig) -> str:
    """The store state key holding a feed/API source's cursors."""
    return f"feeds:{source.name}"


def _config_file(config: Config, directory: Path) -> Path:
    """Write the configuration as YAML (data_dir made absolute, so paths resolve as in the original)."""
    data = config.model_dump(mode="json", exclude={"base_dir"})
    data["data_dir"] = os.path.normpath(config.path("."))
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run_web(config: Config, source: SourceConfig, state_dir: Path, summary: CollectSummary) -> list[Mention]:
    mentions: list[Mention] = []
    with tempfile.TemporaryDirectory(prefix=f"gs-crawl-{source.name}-") as tmp:
        tmp_dir = Path(tmp)
        out = tmp_dir / "items.jsonl"
        cmd = [
            sys.executable, "-m", RUNNER_MODULE,
            "--config", str(_config_file(config, tmp_dir)),
            "--source", source.name,
            "--out", str(out),
            "--state-dir", str(state_dir),
        ]  # fmt: skip
        log_file = state_dir / f"{source.name}.crawl.log"  # the child's log, kept for inspection
        logger.info("source %s: running %s (log: %s)", source.name, " ".join(cmd[1:4]), log_file)
        with log_file.open("w", encoding="utf-8") as log:
            try:
                proc = subprocess.run(
                    cmd,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    timeout=source.budget.max_seconds + RUNNER_GRACE_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                summary.count_error(
                    "crawler_killed", f"crawler process killed after {exc.timeout:.0f} s (log: {log_file})"
                )
                summary.stopped = "crawler killed"
                proc = None
        if proc is not None and proc.returncode != 0:
            tail = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            summary.count_error(
                "crawler_died",
                f"crawler exited with code {proc.returncode}: {' | '.join(tail)[:500]} (log: {log_file})",
            )
            summary.stopped = f"crawler exited with code {proc.returncode}"
        if proc is not None:
            _read_stats(proc.stdout, summary)
        if out.is_file():  # whatever was written before a failure is kept
            with out.open(encoding="utf-8") as fh:
                for number, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        mentions.append(Mention.model_validate_json(line))
                    except ValidationError as exc:
                        summary.count_error(
                            "bad_item", f"{out.name}:{number}: not a Mention ({exc.error_count()} errors)"
                        )
    return mentions


def _read_stats(stdout: str, summary: CollectSummary) -> None:
    for line in reversed((stdout or "").strip().splitlines()):
        try:
            stats = json.loads(line)
        except ValueError:
            continue
        if not isinstance(stats, dict):
            continue
        summary.pages += int(stats.get("pages", 0) or 0)
        summary.errors += int(stats.get("errors", 0) or 0)
        reasons = stats.get("error_reasons") or {}
        urls = stats.get("error_urls") or {}
        if isinstance(reasons, dict):
            for k, v in reasons.items():
                count = v if isinstance(v, int) else 1  # older runners: {url: reason}
                summary.errors_by_reason[str(k)] = summary.errors_by_reason.get(str(k), 0) + count
                listed = ", ".join(urls.get(k, [])[:3]) if isinstance(urls, dict) else ""
                summary.error_reasons.append(f"{k}: {v}" + (f" ({listed})" if listed else ""))
        elif isinstance(reasons, list):
            summary.error_reasons.extend(str(r) for r in reasons)
        for k, v in (stats.get("warnings") or {}).items():
            summary.warnings_by_reason[k] = summary.warnings_by_reason.get(k, 0) + int(v)
            summary.warnings += int(v)
        summary.empty.update(stats.get("empty") or {})
        summary.charset.update(stats.get("charset") or {})
        if stats.get("empty_reason"):
            summary.empty_reason = str(stats["empty_reason"])
        finish = str(stats.get("finish_reason") or "")
        if finish.startswith("closespider_"):
            summary.stopped = summary.stopped or f"budget:{finish.removeprefix('closespider_')}"
        return
    summary.warnings += 1
    logger.warning("source %s: the crawler printed no stats line", summary.source)


def _run_feed(
    config: Config, source: SourceConfig, store: Store, summary: CollectSummary
) -> tuple[list[Mention], dict[str, Any] | None]:
    from crawlers.feeds import client_for
    from crawlers.http import CredentialError

    try:
        client = client_for(config, source)
    except CredentialError as exc:
        summary.count_error("credentials", str(exc))
        summary.failed = True
        logger.error("source %s: %s", source.name, exc)
        return [], None
    try:
        run = client.collect(store.get_state(state_key(source), {}) or {})
    finally:
        client.http.close()
    summary.pages += run.pages
    summary.errors += run.errors
    summary.warnings += run.warnings
    summary.error_reasons.extend(run.error_reasons)
    for k, v in run.errors_by_reason.items():
        summary.errors_by_reason[k] = summary.errors_by_reason.get(k, 0) + v
    summary.empty.update(run.empty)
    if run.stopped.startswith("budget:") or run.stopped == "error":
        summary.stopped = run.stopped
    return run.mentions, run.state


@dataclass
class Fetched:
    """What fetching one source gave, before dedup and storage (staged between the two in a DAG run)."""

    summary: CollectSummary
    started_at: datetime
    mentions: list[Mention] = field(default_factory=list)
    state: dict[str, Any] | None = None  # the feed's cursors, saved once the mentions they cover are stored


def _source(config: Config, source_name: str) -> SourceConfig:
    try:
        return config.source(source_name)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None


def _fetch(
    config: Config, source: SourceConfig, store: Store, run_id: str, state_dir: Path | None
) -> Fetched:
    """Run the source's crawler or feed client; never raises for source faults (they are in the summary)."""
    started = time.monotonic()
    fetched = Fetched(CollectSummary(source=source.name, kind=source.kind, run_id=run_id), datetime.now(UTC))
    summary = fetched.summary
    try:
        if source.kind in WEB_KINDS:
            directory = state_dir or config.path("state/crawl")
            directory.mkdir(parents=True, exist_ok=True)
            fetched.mentions = _run_web(config, source, directory, summary)
        else:
            fetched.mentions, fetched.state = _run_feed(config, source, store, summary)
        summary.items = len(fetched.mentions)
    except Exception as exc:  # a source fault must not stop the other sources
        _count_exception(summary, exc)
    summary.seconds = round(time.monotonic() - started, 3)
    return fetched


def _count_exception(summary: CollectSummary, exc: Exception) -> None:
    logger.exception("source %s failed", summary.source)
    summary.count_error(f"exception:{type(exc).__name__}", f"{type(exc).__name__}: {exc}")
    summary.failed = True


def _store(store: Store, source: SourceConfig, fetched: Fetched, dedup: Deduplicator) -> CollectSummary:
    """Dedup what a source gave against the store (and this run's earlier sources), upsert it, save
    its cursors, record its ledger entry; never raises for source faults."""
    started = time.monotonic()
    summary = fetched.summary
    try:
        result = dedup.dedup(fetched.mentions, store)
        written = store.upsert_mentions(result.mentions)
        summary.new = result.new
        summary.duplicates = result.duplicates
        summary.written = written.written
        if written.failed:
            summary.count_error("store_write", None, written.failed)
            summary.error_reasons.extend(written.errors)
        if fetched.state is not None:  # cursors advance only once what they cover is stored
            store.set_state(state_key(source), fetched.state)
    except Exception as exc:
        _count_exception(summary, exc)
    summary.seconds = round(summary.seconds + time.monotonic() - started, 3)
    if not summary.items and summary.pages and summary.empty_reason is None:
        summary.empty_reason = explain_empty(summary)
    _record(store, summary, fetched.started_at)
    logger.info(
        "source %s: %d items, %d new, %d duplicates, %d pages, %d errors in %.1f s",
        summary.source, summary.items, summary.new, summary.duplicates, summary.pages, summary.errors, summary.seconds,
    )  # fmt: skip
    return summary


def collect_source(
    config: Config,
    source_name: str,
    store: Store,
    *,
    state_dir: Path | None = None,
    deduplicator: Deduplicator | None = None,
    run_id: str | None = None,
) -> CollectSummary:
    """Collect one source, dedup, upsert, record it in the ledger; never raises for source faults.

    Raises ConfigError for unknown names. `run_id` groups the ledger entries of one `collect_all` call
    (a fresh id when None).
    """
    source = _source(config, source_name)
    fetched = _fetch(config, source, store, run_id or new_run_id(), state_dir)
    return _store(store, source, fetched, deduplicator or Deduplicator.from_settings(config))


def _source_names(config: Config, sources: list[str] | None) -> list[str]:
    """The enabled sources in configuration order, or the named ones (checked) in the order given."""
    if sources is None:
        return [s.name for s in config.sources if s.enabled]
    known = {s.name for s in config.sources}
    unknown = [n for n in sources if n not in known]
    if unknown:
        raise ConfigError(f"unknown source(s) {', '.join(unknown)}; configured: {', '.join(sorted(known))}")
    return list(sources)


def collect_all(
    config: Config, store: Store, *, sources: list[str] | None = None, run_id: str | None = None
) -> list[CollectSummary]:
    """Collect every enabled source (or the named ones, enabled or not), sharing one dedup index.

    All sources share one ledger `run_id` (a fresh one when None; a retry of a run with the same id
    replaces its ledger entries). A scheduler that collects each source in its own task uses
    `stage_source` and `store_staged` instead, which store what collect_all would.
    """
    names = _source_names(config, sources)
    dedup = Deduplicator.from_settings(config)
    run_id = run_id or new_run_id()
    return [collect_source(config, name, store, deduplicator=dedup, run_id=run_id) for name in names]


def staged_key(run_id: str, source_name: str, part: int | None = None) -> str:
    """The state key of a source's staged collection (`part`: one chunk of its mentions)."""
    return f"staged:{run_id}:{source_name}" + ("" if part is None else f":{part}")


def stage_source(
    config: Config, source_name: str, store: Store, *, run_id: str, state_dir: Path | None = None
) -> CollectSummary:
    """Collect one source and stage what it gave in the store, under `run_id`, without storing it.

    The mentions go in chunks of STAGED_PART_SIZE, then a head document with the summary and the
    feed's cursors (written last: a staging cut short is not seen). Staging again (a retry) replaces
    it. Nothing is deduplicated, written as a mention, recorded in the ledger or advanced as a cursor
    here: `store_staged` does that for every source of the run, in order. Raises ConfigError for unknown
    names and StoreError when the store cannot take the staged documents; source faults are in the summary.
    """
    source = _source(config, source_name)
    fetched = _fetch(config, source, store, run_id, state_dir)
    mentions = [m.model_dump(mode="json") for m in fetched.mentions]
    parts = range(0, len(mentions), STAGED_PART_SIZE)
    store.put_docs(
        "state",
        (
            (key, {"key": key, "value": mentions[start : start + STAGED_PART_SIZE]})
            for number, start in enumerate(parts)
            for key in [staged_key(run_id, source.name, number)]
        ),
    )
    head = {
        "summary": fetched.summary.as_dict(),
        "started_at": fetched.started_at.isoformat(),
        "state": fetched.state,
        "parts": len(parts),
    }
    store.set_state(staged_key(run_id, source.name), head)
    logger.info(
        "source %s: %d items staged for run %s (%d pages, %d errors in %.1f s)",
        source.name, len(mentions), run_id, fetched.summary.pages, fetched.summary.errors, fetched.summary.seconds,
    )  # fmt: skip
    return fetched.summary


def store_staged(
    config: Config, store: Store, *, run_id: str, sources: list[str] | None = None
) -> list[CollectSummary]:
    """Store what `stage_source` staged for run `run_id`: every source in order, as `collect_all` would.

    The sources are the enabled ones in configuration order (or the named ones, in the order given)
    and share one dedup index, so which copy of a story a run keeps does not depend on which collect
    task finished first. Each stored source's staged documents are then deleted. A source with nothing
    staged was either stored by an earlier try of this step (its ledger entry for the run exists: it is
    left as it is) or its collection never finished staging: it gets a `failed` ledger entry. Store
    writes of one source that fail are counted in its summary, as in `collect_all`.
    """
    dedup = Deduplicator.from_settings(config)
    summaries = []
    for name in _source_names(config, sources):
        head = store.get_state(staged_key(run_id, name))
        if head is None:
            summaries.append(_not_staged(config, store, name, run_id))
            continue
        mentions: list[Mention] = []
        for number in range(int(head["parts"])):
            part = store.get_state(staged_key(run_id, name, number))
            if part is None:
                raise StoreError(f"source {name}: staged part {number} of run {run_id} is missing")
            mentions.extend(Mention.model_validate(m) for m in part)
        fetched = Fetched(
            CollectSummary(**head["summary"]),
            datetime.fromisoformat(head["started_at"]),
            mentions,
            head["state"],
        )
        summaries.append(_store(store, config.source(name), fetched, dedup))
        _drop_staging(store, run_id, name)
    return summaries


def _drop_staging(store: Store, run_id: str, source_name: str) -> None:
    """Delete a source's staged collection: its head first (a staging without a head is not seen), then its parts."""
    store.delete_doc("state", staged_key(run_id, source_name))
    _drop_parts(store, run_id, source_name)


def _drop_parts(store: Store, run_id: str, source_name: str) -> None:
    number = 0
    while store.get_doc("state", staged_key(run_id, source_name, number)) is not None:
        store.delete_doc("state", staged_key(run_id, source_name, number))
        number += 1


def _not_staged(config: Config, store: Store, source_name: str, run_id: str) -> CollectSummary:
    """The summary of a source with nothing staged: from its ledger entry when an earlier try stored
    it, else a failed collection, recorded."""
    _drop_parts(store, run_id, source_name)  # left by a staging cut short
    entry = store.get_record(LedgerEntry, LedgerEntry.make_id(source_name, run_id))
    kind = config.source(source_name).kind
    if entry is not None:
        logger.info("source %s: stored by an earlier try of run %s", source_name, run_id)
        return CollectSummary(
            source=source_name, kind=kind, run_id=run_id, items=entry.items, new=entry.new, pages=entry.pages,
            errors=entry.errors, errors_by_reason=dict(entry.errors_by_reason), empty_reason=entry.empty_reason,
            failed=entry.status == "failed",
        )  # fmt: skip
    summary = CollectSummary(source=source_name, kind=kind, run_id=run_id, failed=True)
    summary.count_error("not_staged", f"its collection staged nothing for run {run_id}")
    _record(store, summary, datetime.now(UTC))
    logger.error("source %s: nothing staged for run %s; recorded as failed", source_name, run_id)
    return summary


def drop_stale_staging(
    store: Store, *, older_than: timedelta = timedelta(days=2), now: datetime | None = None
) -> int:
    """Delete the staging of runs whose store step never ran (a DAG run deleted, or failed for good).

    A source's staging is dropped when its head document says it was staged more than `older_than`
    ago (a run's store step follows its collect tasks within the hour). Parts left without a head by a
    staging cut short are dropped by that run's store step, not here. Returns the sources' stagings dropped.
    """
    cutoff = (now or datetime.now(UTC)) - older_than
    dropped = 0
    for doc in store.query_docs("state", limit=100_000):
        head = doc.get("value")
        if (
            not str(doc.get("key", "")).startswith("staged:")
            or not isinstance(head, dict)
            or "parts" not in head
        ):
            continue  # not staging, or one of its parts
        if datetime.fromisoformat(head["started_at"]) >= cutoff:
            continue
        run_id, source = head["summary"]["run_id"], head["summary"]["source"]
        _drop_staging(store, run_id, source)
        logger.warning(
            "source %s: staging of run %s never stored (staged %s); dropped",
            source,
            run_id,
            head["started_at"],
        )
        dropped += 1
    return dropped


def new_run_id() -> str:
    """A collection run id: UTC time (sortable) plus a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def explain_empty(summary: CollectSummary) -> str:
    """Why a source that answered (pages > 0) yielded no item, from what its collector recorded."""
    if summary.empty:
        url, reason = next(iter(summary.empty.items()))
        return f"{len(summary.empty)} response(s) yielded nothing, e.g. {url}: {reason}"
    if summary.errors_by_reason:
        return "errors: " + ", ".join(f"{k} ({v})" for k, v in sorted(summary.errors_by_reason.items()))
    if summary.stopped:
        return f"stopped early: {summary.stopped}"
    return f"{summary.pages} page(s) read, nothing new since the last run"


def ledger_status(summary: CollectSummary) -> str:
    """ok / partial / failed for one source's run (see the module docstring)."""
    if summary.failed or (summary.errors and not summary.items and summary.errors >= summary.pages):
        return "failed"  # nothing was read: no page, or every page it got was an error (a 0-byte feed)
    if summary.errors or summary.stopped:
        return "partial"
    return "ok"


def ledger_entry(
    summary: CollectSummary, started: datetime, finished: datetime, previous: LedgerEntry | None
) -> LedgerEntry:
    """The ledger record of one source's run; `previous` is its last covered (ok/partial) run, if any."""
    status = ledger_status(summary)
    message = ""
    if status != "ok":
        message = "; ".join(summary.error_reasons[:3])[:500] or summary.stopped
    return LedgerEntry(
        id=LedgerEntry.make_id(summary.source, summary.run_id),
        source=summary.source,
        kind=summary.kind,
        run_id=summary.run_id,
        started=started,
        finished=finished,
        status=status,  # type: ignore[arg-type]
        covered_start=previous.covered_end if previous is not None else None,
        covered_end=None if status == "failed" else started,
        pages=summary.pages,
        items=summary.items,
        new=summary.new,
        errors=summary.errors,
        errors_by_reason=dict(summary.errors_by_reason),
        empty_reason=summary.empty_reason,
        message=message,
    )


def _record(store: Store, summary: CollectSummary, started: datetime) -> None:
    """Write the source's ledger entry; a ledger failure is logged, never fatal to the collection."""
    try:
        covered = [
            e
            for e in store.collection_ledger(sources=[summary.source])
            if e.status != "failed" and e.covered_end is not None and e.run_id != summary.run_id
        ]
        previous = max(covered, key=lambda e: e.covered_end or started) if covered else None
        store.record_collection(ledger_entry(summary, started, datetime.now(UTC), previous))
    except Exception:
        logger.exception("source %s: could not record the collection ledger entry", summary.source)
