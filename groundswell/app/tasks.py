"""Task-sized entry points for orchestration (Airflow DAGs call these, one per task).

Each takes a configuration path and plain values, opens the store itself, calls one stage of
`groundswell.app.pipeline`, and returns a small JSON-able summary (never data) for XCom. All are
idempotent: clearing and re-running a task writes the same documents and tickets.

The tasks after collection take the store's writer lock (`Store.writer_lock`), the same one
`groundswell run` takes, so a cron run and the DAG never enrich or notify at the same time: a task
waits up to `TASK_LOCK_WAIT_S` (`$GROUNDSWELL_TASK_LOCK_WAIT_S`, 900 s) for the other writer, then
fails with `StoreLocked` naming it (Airflow retries). Collection tasks run in parallel per source
and do not take it: they only stage what they fetched, under the DAG run's id and their source;
`store_collected` stores it all, in order, under the lock.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import smtplib
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from groundswell.app import pipeline
from groundswell.config import Config, ConfigError, load_config, whole_number
from groundswell.store import open_store

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_CONFIG = "groundswell.yaml"
TASK_LOCK_WAIT_S = float(os.environ.get("GROUNDSWELL_TASK_LOCK_WAIT_S", "900"))


# Airflow Assets (lineage) the DAGs declare: URIs only, so that this module never imports Airflow.
MENTIONS_ASSET = "groundswell://store/mentions"
TRENDS_ASSET = "groundswell://store/trends"
TICKETS_ASSET = "groundswell://store/tickets"
BRIEFS_ASSET = "groundswell://store/briefs"


def config_path() -> str:
    """The configuration file: Airflow Variable `groundswell_config`, else $GROUNDSWELL_CONFIG, else ./groundswell.yaml.

    Call only inside a task (reading a Variable is I/O). Raises ConfigError, naming where the path came
    from, when the file does not exist; a failure to read the Variable fails the task (never a silent
    fallback to another file).
    """
    env = os.environ.get("GROUNDSWELL_CONFIG")
    default = env or DEFAULT_CONFIG
    try:
        from airflow.sdk import Variable
    except ImportError:  # outside Airflow: the environment decides
        path, origin = default, "$GROUNDSWELL_CONFIG" if env else "the default"
    else:
        path = str(Variable.get("groundswell_config", default=default))
        origin = (
            "the Airflow Variable groundswell_config"
            if path != default
            else ("$GROUNDSWELL_CONFIG" if env else "the default")
        )
    if not Path(path).is_file():
        raise ConfigError(
            f"configuration file not found: {path} (from {origin}); set the Airflow Variable "
            "groundswell_config or $GROUNDSWELL_CONFIG to the path of the Groundswell YAML file"
        )
    return path


def config_errors_fail(fn: Callable[P, R]) -> Callable[P, R]:
    """For DAG task callables: a configuration error fails the task at once, with its message.

    ConfigError becomes Airflow's AirflowFailException (failed, no retries: retrying cannot fix a
    file); Airflow is imported only then, so this module stays importable without it.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ConfigError as err:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"Groundswell configuration error: {err}") from None

    return wrapper


def _load(path: str) -> Config:
    return load_config(path)


def _small(obj: Any) -> dict[str, Any]:
    if is_dataclass(obj) and not isinstance(obj, type):
        data = asdict(obj)
    elif hasattr(obj, "model_dump"):
        data = obj.model_dump(mode="json")
    else:
        data = dict(obj)
    return {k: v for k, v in data.items() if isinstance(v, str | int | float | bool | dict) or v is None}


def enabled_sources(path: str) -> list[str]:
    return [s.name for s in _load(path).sources if s.enabled]


class SourceFailed(RuntimeError):
    """A source's collection run failed (its ledger entry says `failed`); the task fails visibly."""


def collect_source(path: str, source: str, run_id: str | None = None) -> dict[str, Any]:
    """Collect one source (web sources crawl in their own Scrapy process) and stage what it found.

    `run_id` (the DAG run's id) keys the staged items, which `store_collected` dedups and stores with
    every other source's, in configuration order, once all collect tasks are done; a retry of the task
    replaces its staged items. A source whose run failed raises `SourceFailed` after it is staged: the
    task shows red (and retries), while the other sources are stored and enrichment and detection
    still run, with this source's buckets missing. The summary returned leaves out what only storing
    knows (new mentions, duplicates, documents written): `store_collected` returns those.
    """
    from crawlers.collect import explain_empty, ledger_status

    cfg = _load(path)
    with open_store(cfg) as store:
        summary = pipeline.stage(cfg, store, source, run_id=_dag_run(run_id))
    if ledger_status(summary) == "failed":
        why = "; ".join(summary.error_reasons[:3]) or explain_empty(summary)
        raise SourceFailed(f"source {source!r} failed: {why}"[:1000])
    return {k: v for k, v in _small(summary).items() if k not in ("new", "duplicates", "written")}


def store_collected(path: str, sources: list[str], run_id: str | None = None) -> dict[str, Any]:
    """After every collect task, whatever its state: dedup and store what they staged for the DAG run.

    The sources are stored in the order given (the enabled sources in configuration order) with one
    dedup index, under the store's writer lock: the mentions, ids and duplicate counts `groundswell
    run` would write, whichever collect task finished first. Each source gets its ledger entry here
    (a source whose collect task staged nothing is recorded as failed); feed cursors advance here.
    Returns per source its ledger status and the items, new mentions, duplicates and writes.
    """
    from crawlers.collect import ledger_status

    cfg = _load(path)
    with open_store(cfg) as store, store.writer_lock("task store_collected", wait_s=TASK_LOCK_WAIT_S):
        summaries = pipeline.store_collected(cfg, store, run_id=_dag_run(run_id), sources=sources)
    return {
        s.source: {
            "status": ledger_status(s),
            "items": s.items,
            "new": s.new,
            "duplicates": s.duplicates,
            "written": s.written,
        }
        for s in summaries
    }


def _dag_run(run_id: str | None) -> str:
    if not run_id:
        raise ConfigError("collection tasks need the DAG run's id (run_id), which keys what they stage")
    return run_id


def enrich_partitions() -> int:
    """How many mapped enrich tasks share the work: `$GROUNDSWELL_ENRICH_PARTITIONS` (default 1)."""
    raw = os.environ.get("GROUNDSWELL_ENRICH_PARTITIONS", "1")
    count = whole_number(raw)
    if count is None:
        raise ConfigError(f"GROUNDSWELL_ENRICH_PARTITIONS={raw!r}: must be a whole number, at least 1")
    return count


def enrich(path: str, partition: int = 0, partitions: int = 1) -> dict[str, Any]:
    """Enrich the not-yet-enriched mentions, or with `partitions` > 1 this partition's share of them.

    One partition is the plain single pass, under the store's writer lock. Several partitions run
    at once on several workers, so they do not take the lock (like collection, their writes are
    upserts of disjoint mentions); they leave topics pending for `finish_enrich`, which takes it.
    """
    from groundswell.app.partitions import enrich_partition
    from groundswell.progress import ProgressLog
    from groundswell.store import Filters

    cfg = _load(path)
    with open_store(cfg) as store:
        lock = (
            store.writer_lock("task enrich", wait_s=TASK_LOCK_WAIT_S)
            if partitions == 1
            else contextlib.nullcontext()
        )
        step = "enrich" if partitions == 1 else f"enrich {partition + 1}/{partitions}"
        # a task's log has no terminal: done/total, rate and ETA every few seconds
        total = store.count(Filters(enriched=False)) if partitions == 1 else None
        with lock, ProgressLog(step, total=total) as progress:
            summary = enrich_partition(cfg, store, partition, partitions, progress=progress)
    return _small(summary)


def finish_enrich(path: str) -> dict[str, Any]:
    """After every enrich partition: assign the topics they left pending (in order), score authors."""
    from groundswell.app.partitions import PENDING_TOPIC, assign_pending_topics
    from groundswell.progress import ProgressLog
    from groundswell.store import Filters

    cfg = _load(path)
    with open_store(cfg) as store, store.writer_lock("task finish_enrich", wait_s=TASK_LOCK_WAIT_S):
        pending = store.count(Filters(topic_ids=(PENDING_TOPIC,)))
        topics = 0
        if pending:
            with ProgressLog("topics", total=pending) as progress:
                topics = assign_pending_topics(cfg, store, progress=progress)
        authors = pipeline.score_authors(cfg, store)
    return {"topics_assigned": topics, "authors": authors}


def detect(path: str, now: datetime | None) -> list[str]:
    """Run the detector with its clock at `now` (the data interval's end; None, as in a manual run
    without a data interval, means the current time); returns the event ids."""
    cfg = _load(path)
    with open_store(cfg) as store, store.writer_lock("task detect", wait_s=TASK_LOCK_WAIT_S):
        summary = pipeline.detect(cfg, store, now=now)
    return [e.id for e in summary.events]


def act(path: str, event_ids: list[str], now: datetime | None) -> dict[str, Any]:
    cfg = _load(path)
    with open_store(cfg) as store, store.writer_lock("task act", wait_s=TASK_LOCK_WAIT_S):
        events = [e for e in (store.get_trend_event(i) for i in event_ids) if e is not None]
        summary = pipeline.act(cfg, store, events, now=now)
    return _small(summary)


def build_brief(path: str, week_start: date) -> dict[str, Any]:
    cfg = _load(path)
    with open_store(cfg) as store, store.writer_lock("task build_brief", wait_s=TASK_LOCK_WAIT_S):
        result = pipeline.report(cfg, store, week_start=week_start)
    return {
        "week_start": week_start.isoformat(),
        "html_path": str(result.html_path),
        "pdf_path": str(result.pdf_path) if result.pdf_path else None,
        "pages": result.pages,
        "mentions": result.mentions,
    }


def deliver_brief(path: str, brief: dict[str, Any]) -> dict[str, Any]:
    """Email the brief to `brief.recipients` (HTML inline, PDF attached). Files are already written."""
    cfg = _load(path)
    recipients = cfg.brief.recipients
    if not recipients:
        logger.info(
            "brief for week %s written to %s; no recipients configured",
            brief["week_start"],
            brief["html_path"],
        )
        return {"emailed": 0}
    smtp = cfg.alerts.smtp
    msg = EmailMessage()
    msg["Subject"] = f"Groundswell market brief, week of {brief['week_start']}"
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(recipients)
    msg.set_content(f"The market brief for the week of {brief['week_start']} is attached.")
    msg.add_alternative(Path(brief["html_path"]).read_text(encoding="utf-8"), subtype="html")
    if brief.get("pdf_path"):
        pdf = Path(brief["pdf_path"])
        msg.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.username_env and smtp.password_env:
            client.login(os.environ[smtp.username_env], os.environ[smtp.password_env])
        client.send_message(msg)
    logger.info("brief for week %s emailed to %d recipients", brief["week_start"], len(recipients))
    return {"emailed": len(recipients)}


def week_of(moment: datetime | None) -> date:
    """The Monday of the week that contains `moment` (UTC). None (a manual run without a data
    interval) means the last complete week: the one before the current one."""
    if moment is None:
        return pipeline.last_complete_week(datetime.now(UTC).date())
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def backfill(path: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Recompute trend events deterministically over [start, end) and update tickets."""
    import alerts
    from trends.detect import detect

    cfg = _load(path)
    with open_store(cfg) as store, store.writer_lock("task backfill", wait_s=TASK_LOCK_WAIT_S):
        summary = detect(cfg, store, now=end, start=start, end=end)
        tickets = alerts.process_events(cfg, store, summary.events, now=end)
    return {"shifts": summary.shifts, "blips": summary.blips, **_small(tickets)}


def rollover(path: str) -> dict[str, Any]:
    """Store housekeeping: index rollover and retention on Elasticsearch, FTS optimisation on SQLite,
    and the staging of ingest runs whose store step never ran (staged over two days ago) dropped."""
    from crawlers.collect import drop_stale_staging

    cfg = _load(path)
    with open_store(cfg) as store:
        return {**store.maintain(), "stale_staging_dropped": drop_stale_staging(store)}


def refresh_topics(path: str) -> dict[str, Any]:
    """Refresh the incremental topic model (new topics from pooled outliers, fresh labels) and the stored mentions."""
    from nlp.enricher import TOPIC_STATE_FILE
    from nlp.topics import refresh_topics as _refresh

    cfg = _load(path)
    with open_store(cfg) as store, store.writer_lock("task refresh_topics", wait_s=TASK_LOCK_WAIT_S):
        return _refresh(cfg, store, state_path=cfg.path(TOPIC_STATE_FILE))


def on_task_failure(context: dict[str, Any]) -> None:
    """Airflow failure callback: a clear log line naming the DAG, task, run and error, for the owning team."""
    ti = context.get("task_instance") or context.get("ti")
    error = context.get("exception")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", "?")
    logger.error("groundswell task failed: dag=%s task=%s run=%s error=%r", dag_id, task_id, run_id, error)
    try:
        cfg = _load(config_path())
        with open_store(cfg) as store:
            store.put_doc(
                "state",
                f"failure:{dag_id}:{task_id}:{run_id}",
                {
                    "key": "failure",
                    "value": {
                        "dag": dag_id,
                        "task": task_id,
                        "run": run_id,
                        "error": repr(error),
                        "at": datetime.now(UTC).isoformat(),
                    },
                },
            )
    except Exception as err:  # the callback must never raise
        logger.warning("could not record the failure in the store: %s", err)
