"""Enrichment in several local processes: what `groundswell run` and `groundswell nlp enrich` do.

With `nlp.processes` above 1 (or `auto` choosing more than one), the not-yet-enriched mentions are
split as the Airflow partitions split them (`groundswell.app.partitions`): this process enriches
partition 0 while spawned worker processes enrich the others, each with `threads // processes` torch
threads and its own store connection; then this process runs the one ordered topics pass, on the
embeddings the partitions cached. The documents and the topic state are those of one process.

On 2 cores, two one-thread processes enrich about twice what one two-thread process does (threads of
one process wait for each other between small matrix products; processes do not): see README,
"Enrichment speed".

Safety: the caller holds the store's writer lock; the workers write disjoint mentions without it (as
the Airflow partitions do), SQLite serialising their transactions (WAL, 30 s busy timeout) and
Elasticsearch taking concurrent bulk upserts. A worker that fails stops the command with an error
naming it; what every process wrote stays (enriched, topic pending) and a re-run enriches the rest
and assigns the pending topics in order. A store another process cannot open (`:memory:`) or a GPU
runs in one process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue as queue_module
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from groundswell.config import Config, ConfigError
from groundswell.store import Filters, Store

if TYPE_CHECKING:
    from nlp.enricher import Enricher, EnrichSummary

logger = logging.getLogger(__name__)

# `auto` gives each process at least this many mentions: a worker's start (spawn, imports, models)
# took about 6 s of one core at load 3-4, what 600-900 mentions take to enrich.
MIN_SHARE = 1000
PROCESS_MEMORY_MB = 1500  # peak RSS of one enriching process (bench_nlp.py: 1.1-1.4 GB)
POLL_S = 0.5

BuildEnricher = Callable[[Config], "Enricher"]


class EnrichWorkerFailed(RuntimeError):
    """A worker process of a local multi-process enrichment failed; a re-run finishes its share."""


def resolve_processes(setting: Any, *, pending: int, device: str = "cpu") -> int:
    """How many processes enrich `pending` mentions: a whole number as given, or `auto`: the idle CPUs
    (`nlp.encoder.default_threads`), no more than `pending // MIN_SHARE` and the memory available
    allow, and 1 on a GPU."""
    if setting != "auto":
        if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
            raise ConfigError(
                f"nlp.processes={setting!r}: must be 'auto' or a whole number of processes, at least 1"
            )
        return setting
    if device != "cpu":
        return 1
    from nlp.encoder import default_threads

    return max(1, min(default_threads(), pending // MIN_SHARE, _memory_allows()))


def _memory_allows() -> int:
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):  # pragma: no cover - not POSIX
        return 1
    return max(1, int(available // (PROCESS_MEMORY_MB * 2**20)))


def enrich_local(
    config: Config,
    store: Store,
    *,
    processes: Any = None,
    progress: Callable[[int], None] | None = None,
    build: BuildEnricher | None = None,
) -> EnrichSummary:
    """Enrich the store's not-yet-enriched mentions in `processes` local processes (default:
    `nlp.processes`); the result is what one process writes. `build` makes each process's enricher
    (default `Enricher.from_settings`; a module-level function, as the workers are spawned)."""
    from groundswell.app.partitions import PENDING_TOPIC, enrich_partition, topics_pass
    from nlp.classifier import pick_device
    from nlp.enricher import Enricher, EnrichSummary, enrich_store

    setting = config.nlp.processes if processes is None else processes
    pending = store.count(Filters(enriched=False))
    count = resolve_processes(setting, pending=pending, device=pick_device(config.nlp.device))
    if count > 1 and not store.opened_from(config):
        logger.warning("enrich: this store cannot be opened by other processes; enriching in one")
        count = 1
    left_pending = store.count(Filters(topic_ids=(PENDING_TOPIC,)))
    if count == 1 and not left_pending:
        return enrich_store(config, store, progress=progress, enricher=build(config) if build else None)

    # several processes, or topics an interrupted run left pending (they are assigned in order with
    # the rest, as that run would have)
    from nlp.encoder import default_threads

    threads = max(1, default_threads() // count)
    logger.info("enrich: %d mentions in %d processes of %d thread(s)", pending, count, threads)
    context = multiprocessing.get_context("spawn")
    messages: Any = context.Queue()
    workers = [
        context.Process(
            target=_worker,
            args=(config, partition, count, threads, build, messages),
            name=f"groundswell-enrich-{partition + 1}/{count}",
            daemon=True,
        )
        for partition in range(1, count)
    ]
    for worker in workers:
        worker.start()
    results: dict[int, Any] = {}

    def forward(n: int) -> None:
        if progress:
            progress(n)
        _drain(messages, results, progress, wait=0)

    try:
        enricher = build(config) if build else Enricher.from_settings(config)
        with _torch_threads(enricher, threads):
            summary = enrich_partition(
                config, store, 0, count, enricher=enricher, progress=forward, defer_topics=True
            )
        while any(w.is_alive() for w in workers) or not messages.empty():
            _drain(messages, results, progress, wait=POLL_S)
        _drain(messages, results, progress, wait=0)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
    failures = [
        f"worker {w.name} "
        + (
            results[p][1].splitlines()[0]
            if p in results and results[p][0] == "failed"
            else f"exited with code {w.exitcode}"
        )
        for p, w in enumerate(workers, start=1)
        if w.exitcode != 0 or results.get(p, ("failed",))[0] != "done"
    ]
    if failures:
        left = store.count(Filters(enriched=False))
        raise EnrichWorkerFailed(
            f"enrichment in {count} processes failed: {'; '.join(failures)}. What the other processes "
            f"enriched is kept; {left} mentions are still to enrich: run the command again to finish"
        )
    for partition in range(1, count):
        part = EnrichSummary(**results[partition][1])
        summary.seen += part.seen
        summary.enriched += part.enriched
        summary.flagged += part.flagged
        summary.failed_writes += part.failed_writes
        summary.models = summary.models or part.models
    _, summary.topics_reassigned = topics_pass(config, store, enricher=enricher)
    logger.info("enrich: %s", summary.as_dict())
    return summary


def _drain(
    messages: Any, results: dict[int, Any], progress: Callable[[int], None] | None, *, wait: float
) -> None:
    """Take the workers' messages: ("progress", partition, n), ("done", partition, summary dict) or
    ("failed", partition, reason)."""
    while True:
        try:
            kind, partition, value = messages.get(timeout=wait) if wait else messages.get_nowait()
        except queue_module.Empty:
            return
        wait = 0
        if kind == "progress":
            if progress:
                progress(value)
        else:
            results[partition] = (kind, value)
            if kind == "failed":
                logger.error("enrich worker %d failed: %s", partition, value)


@contextlib.contextmanager
def _torch_threads(enricher: Enricher, threads: int) -> Iterator[None]:
    """This process's torch threads set to `threads` inside the block."""
    import torch

    encoder = enricher.models.encoder
    before = torch.get_num_threads(), encoder.threads if encoder is not None else None
    torch.set_num_threads(threads)
    if encoder is not None:
        encoder.threads = threads
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        if encoder is not None and before[1] is not None:
            encoder.threads = before[1]


def _worker(
    config: Config, partition: int, partitions: int, threads: int, build: BuildEnricher | None, messages: Any
) -> None:
    """One spawned worker: enrich `partition` of `partitions`, topics deferred; report to `messages`."""
    os.environ["GROUNDSWELL_NLP_THREADS"] = str(threads)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from groundswell.app.partitions import enrich_partition
        from groundswell.store import open_store
        from nlp.enricher import Enricher

        with open_store(config) as store:
            enricher = build(config) if build else Enricher.from_settings(config)
            summary = enrich_partition(
                config,
                store,
                partition,
                partitions,
                enricher=enricher,
                progress=lambda n: messages.put(("progress", partition, n)),
                defer_topics=True,
            )
        messages.put(("done", partition, summary.as_dict()))
    except BaseException as exc:
        messages.put(("failed", partition, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        raise SystemExit(1) from None
    finally:
        messages.close()
        messages.join_thread()
