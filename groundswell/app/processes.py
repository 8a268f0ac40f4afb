"""Enrichment in several local processes: what `groundswell run` and `groundswell nlp enrich` do.

With `nlp.processes` above 1 (or `auto` choosing more than one), the not-yet-enriched mentions are
dealt to N worker processes in shares of about equal work (`_shares`: in the store's order, each to
the worker with the least text so far; the Airflow partitions split by id hash instead), each enriched
as a partition (`groundswell.app.partitions`), with `threads // N` torch threads and their own store
connection, topics left pending; after each store write a worker sends this process the ids it wrote and their topic
embeddings. This process assigns the topics meanwhile, in the single run's order and batches, as soon
as every mention of the next batch is written, so no serial topics pass follows the partitions and no
model is loaded here. The documents and the topic state are those of one process.

On 2 cores, two one-thread processes enrich about twice what one two-thread process does (threads of
one process wait for each other between small matrix products; processes do not): README, "Models".
The workers fork from a fork server that imported torch, the lean BERT loader and spaCy once (a clean
process: this one's threads, store connection and lock are not copied).

Safety: the caller holds the store's writer lock; the workers write disjoint mentions without it (as
the Airflow partitions do), SQLite serialising their transactions (WAL, 30 s busy timeout) and
Elasticsearch taking concurrent bulk upserts. A worker that fails stops the command with an error
naming it; what was written stays (enriched, topic pending after the first gap, the topic state saved
for the topics assigned) and a re-run enriches the rest and assigns the pending topics in order. A
store another process cannot open (`:memory:`) or a GPU runs in one process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import queue as queue_module
import time
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from groundswell.config import Config, ConfigError
from groundswell.store import Filters, Store

if TYPE_CHECKING:
    from nlp.enricher import Enricher, EnrichSummary

logger = logging.getLogger(__name__)

# `auto` gives each process at least this many mentions (one core enriches ~160 a second): starting
# the workers costs ~4 s of CPU for the fork server's imports plus 2-3 s per worker for its models
# (load 5), which a few hundred mentions per process would not repay.
MIN_SHARE = 1000
PROCESS_MEMORY_MB = 1500  # peak RSS of one enriching process (bench_nlp.py: 1.1-1.4 GB)
POLL_S = 0.5

BuildEnricher = Callable[[Config], "Enricher"]


class EnrichWorkerFailed(RuntimeError):
    """A worker process of a local multi-process enrichment failed; a re-run finishes its share."""


def resolve_processes(setting: Any, *, pending: int, device: Callable[[], str] = lambda: "cpu") -> int:
    """How many processes enrich `pending` mentions: a whole number as given, or `auto`: the idle CPUs
    (`nlp.encoder.default_threads`), no more than `pending // MIN_SHARE` and the memory available
    allow, and 1 on a GPU (`device()` is asked only when more than one process is possible)."""
    if setting != "auto":
        if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
            raise ConfigError(
                f"nlp.processes={setting!r}: must be 'auto' or a whole number of processes, at least 1"
            )
        return setting
    if pending < 2 * MIN_SHARE or device() != "cpu":
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
    (default `Enricher.from_settings`; a module-level function: the workers import it)."""
    from groundswell.app.partitions import PENDING_TOPIC, enrich_partition, topics_pass
    from nlp.classifier import pick_device
    from nlp.enricher import enrich_store

    setting = config.nlp.processes if processes is None else processes
    pending = store.count(Filters(enriched=False))
    count = resolve_processes(setting, pending=pending, device=lambda: pick_device(config.nlp.device))
    if count > 1 and not store.opened_from(config):
        logger.warning("enrich: this store cannot be opened by other processes; enriching in one")
        count = 1
    if store.count(Filters(topic_ids=(PENDING_TOPIC,))):
        # an interrupted run left topics pending: enrich the rest with topics pending too, then assign
        # every pending topic in order, as that run would have
        logger.info("enrich: finishing an interrupted run in this process")
        enricher = build(config) if build else None
        summary = enrich_partition(
            config, store, 0, 1, enricher=enricher, progress=progress, defer_topics=True
        )
        topics = topics_pass(config, store, enricher=enricher)
        # every mention this run enriched waited for its topic: count the flags once the topics are in
        summary.topics_reassigned, summary.flagged = topics.reassigned, topics.flagged
        return summary
    if count == 1 or not pending:
        return enrich_store(config, store, progress=progress, enricher=build(config) if build else None)
    return _enrich_in_processes(config, store, count, progress=progress, build=build)


def _enrich_in_processes(
    config: Config,
    store: Store,
    count: int,
    *,
    progress: Callable[[int], None] | None,
    build: BuildEnricher | None,
) -> EnrichSummary:
    """`count` worker processes enrich the partitions; this process assigns the topics, in the
    single-run order and batches, as soon as every mention of the next batch is written."""
    from groundswell.app.partitions import EmbeddingCache, _assign_topics
    from nlp.encoder import default_threads
    from nlp.enricher import Enricher, EnrichSummary

    started = time.perf_counter()
    context = _context()
    # The fork server imports torch and loads the models shared by the workers (~2.3 CPU-s, one core)
    # while this process reads the order, deals the shares and readies the topics on the other core
    with _pipeline_named_to_the_fork_server(config if build is None else None):
        _start_fork_server(context)
    order, shares = _shares(store, count, max_chars=config.nlp.max_chars)
    threads = max(1, default_threads() // count)
    logger.info("enrich: %d mentions in %d processes of %d thread(s)", len(order), count, threads)
    messages: Any = context.Queue()
    inbox = _Inbox(messages, EmbeddingCache.from_settings(config), progress)
    enricher = build(config) if build else Enricher.for_topics(config)
    _import_topic_clustering()
    workers = [
        context.Process(
            target=_worker,
            args=(config, partition, count, threads, build, messages, shares[partition]),
            name=f"groundswell-enrich-{partition + 1}/{count}",
            daemon=True,
        )
        for partition in range(count)
    ]
    for worker in workers:
        worker.start()
    assigned = flagged = 0
    try:
        while assigned < len(order):
            batch_ids = order[assigned : assigned + enricher.batch_size]
            if inbox.written.issuperset(batch_ids):
                batch = store.get_mentions(batch_ids)
                _assign_topics(enricher, batch, inbox.cache)
                store.update_topics(batch)
                assigned += len(batch_ids)
                flagged += sum(1 for m in batch if m.flags)  # with the topic flags, as one process counts
                inbox.take(wait=0)
            elif inbox.failed() or not any(w.is_alive() for w in workers):
                inbox.take(wait=0)
                if not inbox.written.issuperset(batch_ids):
                    break  # a worker failed: its share cannot be assigned
            else:
                inbox.take(wait=POLL_S)
        while any(w.is_alive() for w in workers):
            inbox.take(wait=POLL_S)
        inbox.take(wait=0)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        # the topic state of the mentions given their topic, also when stopping part-way: a re-run
        # continues from it with the rest, in order
        enricher.save_topics()
    reassigned = enricher.write_reassigned_topics(store)
    failures = [
        f"worker {w.name} " + inbox.failure(p, w.exitcode)
        for p, w in enumerate(workers)
        if w.exitcode != 0 or inbox.results.get(p, ("failed", None))[0] != "done"
    ]
    if failures or assigned < len(order):
        left = store.count(Filters(enriched=False))
        raise EnrichWorkerFailed(
            f"enrichment in {count} processes failed: {'; '.join(failures) or 'mentions went missing'}. "
            f"What was enriched is kept; {left} mentions are still to enrich: run the command again "
            "to finish (topics are then assigned in order)"
        )
    summary = EnrichSummary(topics_reassigned=reassigned, flagged=flagged)
    for partition in range(count):
        part = EnrichSummary(**inbox.results[partition][1])
        summary.seen += part.seen
        summary.enriched += part.enriched
        summary.failed_writes += part.failed_writes
        summary.models = summary.models or part.models
    inbox.cache.clear(every_file=True)  # the workers' files (for a re-run after a failure): not needed
    logger.info(
        "enrich: %s in %.1f s (%d processes, topics assigned as the partitions went)",
        summary.as_dict(),
        time.perf_counter() - started,
        count,
    )
    return summary


# `_shares`: a mention's work is taken as this many characters plus its text's (language, entities,
# rules and the per-text steps cost about what 20 characters of encoder work do)
SHARE_BASE_CHARS = 20


def _shares(store: Store, count: int, *, max_chars: int) -> tuple[list[str], list[list[str]]]:
    """The not-yet-enriched mention ids in the store's order, and their deal to `count` workers: each,
    in that order, to the worker with the least work so far (`SHARE_BASE_CHARS` plus the characters
    the models read), so the workers finish together and go through the order at the same pace (the
    topics are assigned in that order as the batches are written). The id-hash partitions of
    `groundswell.app.partitions` (for workers that cannot share this deal, on other machines) differ
    by ~1.5% of their characters on 8,192 mentions, so one worker ran on alone for ~0.5 s."""
    order: list[str] = []
    shares: list[list[str]] = [[] for _ in range(count)]
    work = [0] * count
    for mention in store.iter_mentions(Filters(enriched=False)):
        least = min(range(count), key=work.__getitem__)
        order.append(mention.id)
        shares[least].append(mention.id)
        work[least] += SHARE_BASE_CHARS + min(len(mention.title) + len(mention.text), max_chars)
    return order, shares


def _start_fork_server(context: Any) -> None:
    """Start the fork server now (it imports `_PRELOAD` meanwhile); the workers' `start` waits for it.
    Started with `nlp.enricher.FORK_SERVER_ENV` set: it then exits without tearing down (`nlp.preload`)."""
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        from nlp.enricher import FORK_SERVER_ENV

        with _environment(FORK_SERVER_ENV, "1"):
            forkserver.ensure_running()


def _import_topic_clustering() -> None:
    """Import what the topic model's first update imports (SciPy's clustering, ~0.25 CPU-s), while the
    fork server loads: once the workers run, this process's CPU is taken from theirs."""
    try:
        import scipy.cluster.hierarchy
        import scipy.spatial.distance  # noqa: F401
    except ImportError:  # pragma: no cover - the topic model says what is missing when it runs
        pass


# What a worker imports before it loads a model (torch, spaCy, the packed pass and the lean BERT loader;
# transformers is not imported on the CPU torch path, `nlp.lean_bert`): the fork server imports it once
# and forks every worker from there. A worker on another backend (ONNX) imports transformers itself.
_PRELOAD = (
    # first: unpacks the language model in a thread while it loads the spaCy pipeline (`nlp.preload`)
    "nlp.preload",
    "torch",
    "tokenizers",
    "safetensors.torch",
    "nlp.packed",
    "nlp.lean_bert",
    "nlp.encoder",
    "spacy",
    "nlp.enricher",
    "groundswell.app.partitions",
)


def _context() -> Any:
    """Workers fork from a fork server that imported `_PRELOAD` (clean: not from this process, whose
    threads, store connection and lock must not be copied); spawned where there is no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not POSIX
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(_PRELOAD))
    return context


@contextlib.contextmanager
def _pipeline_named_to_the_fork_server(config: Config | None) -> Iterator[None]:
    """While the fork server starts (it inherits this environment), name the spaCy pipeline the
    workers' enrichers build to its preload (`nlp.preload`): it is loaded there once instead of in
    every worker. Nothing for a custom `build`, whose pipeline is not known here; a fork server
    already running keeps what it has."""
    if config is None:
        yield
        return
    from nlp.entities import PIPELINE_ENV, pipeline_key

    with _environment(PIPELINE_ENV, json.dumps(pipeline_key(config))):
        yield


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """`name` set to `value` in this process's environment for the block, then as it was."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


class _Inbox:
    """What the workers report: ("written", partition, (ids, embeddings)) after each store write,
    then ("done", partition, summary dict) or ("failed", partition, reason)."""

    def __init__(self, messages: Any, cache: Any, progress: Callable[[int], None] | None) -> None:
        self.messages = messages
        self.cache = cache
        self.progress = progress
        self.written: set[str] = set()
        self.results: dict[int, tuple[str, Any]] = {}

    def take(self, *, wait: float) -> None:
        """Take every message there is (waiting up to `wait` seconds for the first)."""
        while True:
            try:
                kind, partition, value = (
                    self.messages.get(timeout=wait) if wait else self.messages.get_nowait()
                )
            except queue_module.Empty:
                return
            wait = 0
            if kind == "written":
                ids, vectors = value
                self.written.update(ids)
                self.cache.add(vectors)
                if self.progress:
                    self.progress(len(ids))
            else:
                self.results[partition] = (kind, value)
                if kind == "failed":
                    logger.error("enrich worker %d failed: %s", partition + 1, value)

    def failed(self) -> bool:
        return any(kind == "failed" for kind, _ in self.results.values())

    def failure(self, partition: int, exitcode: int | None) -> str:
        kind, value = self.results.get(partition, ("", None))
        return str(value).splitlines()[0] if kind == "failed" else f"exited with code {exitcode}"


def _worker(
    config: Config,
    partition: int,
    partitions: int,
    threads: int,
    build: BuildEnricher | None,
    messages: Any,
    ids: list[str],
) -> None:
    """One spawned worker: enrich `ids` (share `partition` of `partitions`, `_shares`), topics
    deferred; report to `messages`."""
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
                defer_topics=True,
                on_written=lambda done, vectors: messages.put(("written", partition, (done, vectors))),
                ids=ids,
            )
        messages.put(("done", partition, summary.as_dict()))
    except BaseException as exc:
        messages.put(("failed", partition, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        raise SystemExit(1) from None
    finally:
        messages.close()
        messages.join_thread()
