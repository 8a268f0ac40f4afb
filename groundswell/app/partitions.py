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
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from groundswell.config import Config
from groundswell.progress import ProgressLog
from groundswell.store import Filters, Store

if TYPE_CHECKING:
    from nlp.enricher import Enricher, EnrichSummary

logger = logging.getLogger(__name__)

PENDING_TOPIC = -2  # a partition enriched the mention; the topics pass has not assigned its topic yet
_CHUNK = 1000  # ids per `Filters(ids=...)` query


def partition_of(mention_id: str, partitions: int) -> int:
    """The partition (0..partitions-1) a mention belongs to: a stable hash of its id, the same on every worker."""
    digest = hashlib.blake2b(mention_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def check_partition(partition: int, partitions: int) -> None:
    if partitions < 1:
        raise ValueError(f"partitions={partitions!r}: must be at least 1")
    if not 0 <= partition < partitions:
        raise ValueError(f"partition={partition!r}: must be in 0..{partitions - 1} (partitions={partitions})")


def _topics_deferred(enricher: Enricher) -> Enricher:
    """An enricher sharing `enricher`'s models that leaves every mention's topic pending.

    Its topic step still runs (the embedding it computes is what the safety head reads when there
    is no shared encoder pass), but on a throw-away topic model; the topics are then reset.
    """
    from nlp.enricher import Enricher
    from nlp.topics import TopicModel

    scratch = enricher.topics
    params = {
        k: getattr(scratch, k)
        for k in ("assign_threshold", "cluster_threshold", "min_topic_size", "max_pool", "label_terms")
    }

    class TopicsDeferred(Enricher):
        def enrich(self, mentions: list, *, save_topics: bool = True) -> list:
            super().enrich(mentions, save_topics=save_topics)
            for mention in mentions:  # the topics pass assigns them, in the single-run order
                mention.topic_id, mention.topic_label = PENDING_TOPIC, None
                mention.flags = [f for f in mention.flags if not f.startswith("emerging_topic")]
            self.reassigned_topics.clear()
            return mentions

    return TopicsDeferred(enricher.config, enricher.models, TopicModel(**params), topic_state=None)


def enrich_partition(
    config: Config,
    store: Store,
    partition: int,
    partitions: int,
    *,
    enricher: Enricher | None = None,
    progress: Callable[[int], None] | None = None,
) -> EnrichSummary:
    """Enrich this partition's share of the not-yet-enriched mentions (topics left pending when partitions > 1)."""
    from nlp.enricher import Enricher, EnrichSummary, enrich_store

    check_partition(partition, partitions)
    if partitions == 1:
        return enrich_store(config, store, progress=progress, enricher=enricher)
    ids = [
        m.id
        for m in store.iter_mentions(Filters(enriched=False))
        if partition_of(m.id, partitions) == partition
    ]
    summary = EnrichSummary()
    if isinstance(progress, ProgressLog) and progress.total is None:
        progress.total = len(ids)  # its share is known only now
    if not ids:
        logger.info("enrich partition %d/%d: nothing to do", partition, partitions)
        return summary
    deferred = _topics_deferred(enricher or Enricher.from_settings(config))
    for start in range(0, len(ids), _CHUNK):
        part = enrich_store(
            config,
            store,
            filters=Filters(enriched=False, ids=tuple(ids[start : start + _CHUNK])),
            progress=progress,
            enricher=deferred,
        )
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
    """Assign topics to the mentions the partitions left pending, in the single-run order; returns how many."""
    from nlp.enricher import Enricher

    ids = [m.id for m in store.iter_mentions(Filters(topic_ids=(PENDING_TOPIC,)))]
    if not ids:
        logger.info("topics: nothing pending")
        return 0
    enricher = enricher or Enricher.from_settings(config)
    size = enricher.batch_size
    for start in range(0, len(ids), size):
        batch = store.get_mentions(ids[start : start + size])
        texts = [enricher.analysis_text(m) for m in batch]
        analysable = [i for i, text in enumerate(texts) if text.strip()]
        rules_flags: list[list[str]] = []
        for mention in batch:
            mention.topic_id, mention.topic_label = None, None
            rules_flags.append([f for f in mention.flags if f.startswith("rules_failed")])
            mention.flags = [
                f
                for f in mention.flags
                if not f.startswith(("emerging_topic", "topics_failed", "rules_failed"))
            ]
        enricher._encoded = None  # no shared pass here: the topic step computes the embedding alone
        enricher._guard(batch, analysable, "topics", partial(enricher._topics, batch, texts, analysable))
        for mention, flags in zip(batch, rules_flags, strict=True):
            mention.flags.extend(flags)  # the single pass records rule failures after the topic step
        store.upsert_mentions(batch)
        if progress:
            progress(len(batch))
    enricher.save_topics()
    enricher.write_reassigned_topics(store)  # pooled mentions that later formed a topic, as `enrich_store`
    logger.info("topics: %d pending mentions assigned", len(ids))
    return len(ids)
