"""Enrichment split across workers: partitions by id hash, then one ordered topics pass.

Everything the enricher does per mention (language, entities, sentiment, emotion, VoC kind, business
area, safety) depends on that mention alone, so `enrich_partition(config, store, i, n)` can run on n
workers at once, each taking the not-yet-enriched mentions whose id hashes to `i`. The incremental
topic model is the exception: what a mention joins depends on every mention before it. So the
partitions leave topics out and mark each mention `topic_id = PENDING_TOPIC`; `assign_pending_topics`
then runs once, over the pending mentions in the store's order (published, id) and in the enricher's
batches, which is exactly the order and batching of a single `enrich_store` run. The result is the
same documents and the same topic state as one process would write, on either store backend.

Idempotent: a partition re-run takes only what is still not enriched in its share; the topics pass
takes only what is still pending. With `partitions == 1` enrichment is the plain single pass.

The topic embedding each partition computed in its shared encoder pass is kept (`EmbeddingCache`:
float32 files under the data folder, keyed by mention id and a digest of the analysed text), so the
topics pass only clusters: it computes an embedding only for a mention the cache lacks (a worker that
died between its store write and its cache write, a worker on another machine). The vectors are the
ones the single pass feeds the topic model, so the topics are the same either way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from groundswell.config import Config
from groundswell.progress import ProgressLog
from groundswell.store import Filters, Store

if TYPE_CHECKING:
    from nlp.enricher import Enricher, EnrichSummary

logger = logging.getLogger(__name__)

PENDING_TOPIC = -2  # a partition enriched the mention; the topics pass has not assigned its topic yet
_CHUNK = 1000  # ids per `Filters(ids=...)` query
EMBEDDING_CACHE_DIR = "nlp/topic-embeddings"  # under the data folder: the partitions' topic embeddings


def partition_of(mention_id: str, partitions: int) -> int:
    """The partition (0..partitions-1) a mention belongs to: a stable hash of its id, the same on every worker."""
    digest = hashlib.blake2b(mention_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def check_partition(partition: int, partitions: int) -> None:
    if partitions < 1:
        raise ValueError(f"partitions={partitions!r}: must be at least 1")
    if not 0 <= partition < partitions:
        raise ValueError(f"partition={partition!r}: must be in 0..{partitions - 1} (partitions={partitions})")


class EmbeddingCache:
    """The topic embeddings the partitions computed, for the topics pass: one `.npz` file per chunk of
    a partition (mention ids, a digest of each analysed text, float32 vectors), in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._vectors: dict[str, tuple[str, np.ndarray]] = {}
        self._files: list[Path] = []

    @classmethod
    def from_settings(cls, config: Config) -> EmbeddingCache:
        return cls(config.path(EMBEDDING_CACHE_DIR))

    @staticmethod
    def digest(text: str) -> str:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()

    def write(self, vectors: dict[str, tuple[str, np.ndarray]]) -> None:
        """Add {mention id: (text digest, embedding)} as one file (written whole, then renamed)."""
        if not vectors:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        tmp = self.folder / f"{name}.tmp.npz"
        ids = list(vectors)
        np.savez(
            tmp,
            ids=np.array(ids),
            digests=np.array([vectors[i][0] for i in ids]),
            vectors=np.stack([np.asarray(vectors[i][1], dtype=np.float32) for i in ids]),
        )
        os.replace(tmp, self.folder / f"{name}.npz")

    def load(self) -> int:
        """Read every cache file there is now; returns how many vectors."""
        self._files = sorted(self.folder.glob("*.npz")) if self.folder.is_dir() else []
        self._files = [f for f in self._files if not f.name.endswith(".tmp.npz")]
        for path in self._files:
            try:
                with np.load(path) as data:
                    for mid, digest, vector in zip(
                        data["ids"], data["digests"], data["vectors"], strict=True
                    ):
                        self._vectors[str(mid)] = (str(digest), vector)
            except (OSError, ValueError, KeyError) as err:  # a torn file: those embeddings are computed
                logger.warning("topic embedding cache %s unreadable (%s); computing those again", path, err)
        return len(self._vectors)

    def add(self, vectors: dict[str, tuple[str, np.ndarray]]) -> None:
        """Hold these embeddings too (as received from a worker process), without a file."""
        self._vectors.update(vectors)

    def get(self, mention_id: str, text: str) -> np.ndarray | None:
        """The cached embedding of this mention, if it was computed from this very text."""
        found = self._vectors.get(mention_id)
        if found is None or found[0] != self.digest(text):
            return None
        return found[1]

    def clear(self, *, every_file: bool = False) -> None:
        """Delete the files `load` read (after the topics pass has used them), or `every_file` there is."""
        files = list(self.folder.glob("*.npz")) if every_file and self.folder.is_dir() else self._files
        for path in files:
            path.unlink(missing_ok=True)
        self._files, self._vectors = [], {}


@dataclass
class _Deferred:
    """An enricher that leaves topics pending, and what it records for the topics pass."""

    enricher: Enricher
    embeddings: dict[str, tuple[str, np.ndarray]]  # {mention id: (text digest, topic embedding)}
    enriched: list[str]  # ids enriched since the caller last cleared it


def _topics_deferred(enricher: Enricher) -> _Deferred:
    """An enricher sharing `enricher`'s models that leaves every mention's topic pending and records
    the topic embedding it computed (for `EmbeddingCache`) and the mentions it enriched.

    The embedding is the one the single pass feeds the topic model (the shared encoder pass's, or the
    embedder's when there is none, which is then also what the safety head reads).
    """
    from nlp.enricher import Enricher

    embeddings: dict[str, tuple[str, np.ndarray]] = {}
    enriched: list[str] = []

    class TopicsDeferred(Enricher):
        def enrich(self, mentions: list, *, save_topics: bool = True) -> list:
            super().enrich(mentions, save_topics=False)
            for mention in mentions:  # the topics pass assigns them, in the single-run order
                mention.topic_id, mention.topic_label = PENDING_TOPIC, None
            enriched.extend(m.id for m in mentions)
            return mentions

        def _topics(self, batch: list, texts: list[str], idx: list[int]) -> None:
            if self._encoded is not None:
                vectors = self._encoded["embedding"]
            else:
                vectors = self.models.embedder.encode(
                    [texts[i] for i in idx],
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                self._embeddings, self._embedding_row = vectors, {i: k for k, i in enumerate(idx)}
            for k, i in enumerate(idx):
                embeddings[batch[i].id] = (EmbeddingCache.digest(texts[i]), np.asarray(vectors[k]))

    deferred = TopicsDeferred(enricher.config, enricher.models, enricher.topics, topic_state=None)
    return _Deferred(deferred, embeddings, enriched)


@dataclass
class TopicsPass:
    """What `topics_pass` did."""

    assigned: int = 0  # pending mentions given their topic
    reassigned: int = 0  # earlier pooled mentions given a topic formed later
    flagged: int = 0  # of the assigned, those with a flag (the topic flags included, as one pass counts)


Written = Callable[[list[str], dict[str, tuple[str, np.ndarray]]], None]


def enrich_partition(
    config: Config,
    store: Store,
    partition: int,
    partitions: int,
    *,
    enricher: Enricher | None = None,
    progress: Callable[[int], None] | None = None,
    defer_topics: bool | None = None,
    on_written: Written | None = None,
    ids: list[str] | None = None,
) -> EnrichSummary:
    """Enrich this partition's share of the not-yet-enriched mentions, topics left pending when
    `defer_topics` (default: when partitions > 1) for `assign_pending_topics`.

    The share is the mentions whose id hashes to `partition`, or `ids` when given (those of them not
    yet enriched, in the given order: `groundswell.app.processes` deals the shares itself).
    `on_written(ids, embeddings)` is called after each store write with the mentions just written and
    their topic embeddings (`groundswell.app.processes` assigns topics while the partitions run)."""
    from nlp.enricher import Enricher, EnrichSummary, enrich_store

    check_partition(partition, partitions)
    if not (partitions > 1 if defer_topics is None else defer_topics):
        return enrich_store(config, store, progress=progress, enricher=enricher)
    if ids is None:
        ids = [
            i for i in store.mention_ids(Filters(enriched=False)) if partition_of(i, partitions) == partition
        ]
    summary = EnrichSummary()
    if isinstance(progress, ProgressLog) and progress.total is None:
        progress.total = len(ids)  # its share is known only now
    if not ids:
        logger.info("enrich partition %d/%d: nothing to do", partition, partitions)
        return summary
    deferred = _topics_deferred(enricher or Enricher.from_settings(config))
    cache = EmbeddingCache.from_settings(config)
    reported: set[str] = set()

    def written(n: int) -> None:
        if on_written is not None:
            fresh = deferred.embeddings.keys() - reported
            on_written(list(deferred.enriched), {i: deferred.embeddings[i] for i in fresh})
            reported.update(fresh)
        deferred.enriched.clear()
        if progress:
            progress(n)

    for start in range(0, len(ids), _CHUNK):
        part = enrich_store(
            config,
            store,
            filters=Filters(enriched=False, ids=tuple(ids[start : start + _CHUNK])),
            progress=written,
            enricher=deferred.enricher,
        )
        cache.write(deferred.embeddings)  # after the store write: a mention the cache lacks is computed
        deferred.embeddings.clear()
        reported.clear()
        summary.seen += part.seen
        summary.enriched += part.enriched
        summary.flagged += part.flagged
        summary.failed_writes += part.failed_writes
        summary.models = part.models or summary.models
    logger.info("enrich partition %d/%d: %s", partition, partitions, summary.as_dict())
    return summary


def assign_pending_topics(
    config: Config,
    store: Store,
    *,
    enricher: Enricher | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Assign topics to the mentions the partitions left pending, in the single-run order; returns how many.

    The embeddings come from the partitions' `EmbeddingCache`; the models are loaded (when `enricher`
    is not given) only if a mention is missing from it.
    """
    return topics_pass(config, store, enricher=enricher, progress=progress).assigned


def topics_pass(
    config: Config,
    store: Store,
    *,
    enricher: Enricher | None = None,
    progress: Callable[[int], None] | None = None,
) -> TopicsPass:
    """`assign_pending_topics`, with what it did (see `TopicsPass`)."""
    from nlp.enricher import Enricher

    ids = store.mention_ids(Filters(topic_ids=(PENDING_TOPIC,)))
    if not ids:
        logger.info("topics: nothing pending")
        return TopicsPass()
    cache = EmbeddingCache.from_settings(config)
    cache.load()
    enricher = enricher or Enricher.for_topics(config)
    cached = computed = flagged = 0
    for start in range(0, len(ids), enricher.batch_size):
        batch = store.get_mentions(ids[start : start + enricher.batch_size])
        embedded, missing = _assign_topics(enricher, batch, cache)
        cached, computed = cached + (0 if missing else embedded), computed + (embedded if missing else 0)
        flagged += sum(1 for m in batch if m.flags)
        store.update_topics(batch)
        if progress:
            progress(len(batch))
    enricher.save_topics()
    reassigned = enricher.write_reassigned_topics(store)  # pooled mentions that later formed a topic
    cache.clear()
    logger.info(
        "topics: %d pending mentions assigned (%d embeddings from the partitions, %d computed)",
        len(ids),
        cached,
        computed,
    )
    return TopicsPass(assigned=len(ids), reassigned=reassigned, flagged=flagged)


def _assign_topics(enricher: Enricher, batch: list[Any], cache: EmbeddingCache) -> tuple[int, int]:
    """Give one batch its topics as the single pass does; returns (mentions with an embedding, how many
    of those the cache lacked: when any, the batch's embeddings were computed)."""
    texts = [enricher.analysis_text(m) for m in batch]
    analysable = [i for i, text in enumerate(texts) if text.strip()]
    rules_flags: list[list[str]] = []
    for mention in batch:
        mention.topic_id, mention.topic_label = None, None
        rules_flags.append([f for f in mention.flags if f.startswith("rules_failed")])
        mention.flags = [
            f for f in mention.flags if not f.startswith(("emerging_topic", "topics_failed", "rules_failed"))
        ]
    vectors = [cache.get(batch[i].id, texts[i]) for i in analysable]
    missing = sum(v is None for v in vectors)
    # every embedding cached: the topic step takes them as it takes the shared pass's; else it
    # computes the batch's embeddings (the same vectors: a text's embedding is its own)
    enricher._encoded = None if missing or not vectors else {"embedding": np.stack(vectors)}  # type: ignore[arg-type]
    enricher._guard(batch, analysable, "topics", partial(enricher._topics, batch, texts, analysable))
    enricher._encoded = None
    for mention, flags in zip(batch, rules_flags, strict=True):
        mention.flags.extend(flags)  # the single pass records rule failures after the topic step
    return len(analysable), missing
