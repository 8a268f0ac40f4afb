"""Scale-out: enrichment split into partitions by id hash, then one topics pass, writes exactly what one run does.

Uses the enricher's real plumbing (spaCy entity ruler, rules, the incremental topic model) with the
small stand-in classifiers and embedder of `test_nlp_enricher`, so it is fast.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from groundswell.app.partitions import (
    PENDING_TOPIC,
    assign_pending_topics,
    check_partition,
    enrich_partition,
    partition_of,
)
from groundswell.config import Config, parse_config
from groundswell.mention import EMOTIONS, SENTIMENTS, Mention
from groundswell.store.base import Filters
from groundswell.store.sqlite import SqliteStore
from nlp.enricher import Enricher, Models, enrich_store
from nlp.entities import EntityLinker
from nlp.topics import TopicModel
from tests.test_nlp_enricher import CONFIG, HashEmbedder, KeywordClassifier

THEMES = (
    "battery overheating charger hot {i}",
    "the Rocket X2 screen cracked, awful {i}",
    "love my Acme Corp kettle, great coffee {i}",
    "@globex app crashing again after update {i}",
    "lovely weather at the lake {i}",
)


def _mentions() -> list[Mention]:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    out = [
        Mention(
            source="demo-forum",
            source_kind="forum",
            url=f"https://forum.example/t/{i}",
            external_id=str(i),
            author=f"user{i % 7}",
            published=t0 + timedelta(minutes=i),
            collected=t0 + timedelta(days=1),
            title="Rocket X2 thread" if i % 4 == 0 else "",
            text=THEMES[i % len(THEMES)].format(i=i),
        )
        for i in range(60)
    ]
    # nothing to analyse, and only a link: the single pass treats them differently from prose
    out.append(
        out[0].model_copy(
            update={"id": "", "external_id": "empty", "url": "https://f.example/e", "text": " "}
        )
    )
    out.append(
        out[0].model_copy(
            update={
                "id": "",
                "external_id": "link",
                "url": "https://f.example/l",
                "text": "https://x.example/a",
            }
        )
    )
    return [Mention.model_validate(m.model_dump()) for m in out]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return parse_config(
        {**CONFIG, "data_dir": str(tmp_path_factory.mktemp("data")), "nlp": {"batch_size": 4}}
    )


@pytest.fixture(scope="module")
def linker(config: Config) -> EntityLinker:
    return EntityLinker.from_settings(config)


class EmbeddingSafetyHead:
    """A stand-in safety head on the 64-dimension test embedding: the partitions must hand it the same
    embedding as the single pass does."""

    name = "embedding-test@0"
    threshold = 0.5
    alone_threshold = 0.5  # flags a text with no hazard language too, so the head's reading shows

    def predict_proba(self, embedding: np.ndarray) -> np.ndarray:
        return np.array([1.0 if float(np.asarray(embedding).reshape(-1)[7]) > 0 else 0.0])


def _enricher(config: Config, linker: EntityLinker, state: Path) -> Enricher:
    models = Models(
        linker=linker,
        sentiment=KeywordClassifier(SENTIMENTS),
        emotion=KeywordClassifier(EMOTIONS),
        embedder=HashEmbedder(),  # type: ignore[arg-type]
        embedder_name="hash-test@0",
        safety_head=EmbeddingSafetyHead(),  # type: ignore[arg-type]
    )
    return Enricher(config, models, TopicModel(min_topic_size=3), topic_state=state)


def _docs(store: SqliteStore) -> list[dict]:
    return [m.model_dump(mode="json") for m in store.iter_mentions()]


def test_partitions_are_stable_disjoint_and_cover_every_mention() -> None:
    ids = [m.id for m in _mentions()]
    shares = Counter(partition_of(i, 3) for i in ids)
    assert set(shares) == {0, 1, 2} and sum(shares.values()) == len(ids)
    assert [partition_of(i, 3) for i in ids] == [partition_of(i, 3) for i in ids]
    assert {partition_of(i, 1) for i in ids} == {0}


def test_two_partitions_then_the_topics_pass_enrich_exactly_what_one_run_does(
    config: Config, linker: EntityLinker, tmp_path: Path
) -> None:
    single, split = SqliteStore(":memory:"), SqliteStore(":memory:")
    mentions = _mentions()
    single.upsert_mentions([m.model_copy(deep=True) for m in mentions])
    split.upsert_mentions([m.model_copy(deep=True) for m in mentions])

    one = enrich_store(config, single, enricher=_enricher(config, linker, tmp_path / "one.json"))
    assert one.enriched == len(mentions) and one.topics_reassigned >= 1  # the pooled-topic path is exercised

    shared = _enricher(config, linker, tmp_path / "split.json")  # the models; topics are not touched
    parts = [enrich_partition(config, split, i, 2, enricher=shared) for i in range(2)]
    assert all(p.enriched > 0 for p in parts) and sum(p.enriched for p in parts) == len(mentions)
    assert split.count(Filters(enriched=False)) == 0
    assert split.count(Filters(topic_ids=(PENDING_TOPIC,))) == len(mentions)

    assigned = assign_pending_topics(
        config, split, enricher=_enricher(config, linker, tmp_path / "split.json")
    )
    assert assigned == len(mentions)
    assert split.count(Filters(topic_ids=(PENDING_TOPIC,))) == 0
    assert _docs(split) == _docs(single)
    assert any(m.safety_hazards for m in single.iter_mentions())  # the head's path is exercised
    assert not any(f.startswith("rules_failed") for m in single.iter_mentions() for f in m.flags)
    topics = json.loads((tmp_path / "one.json").read_text())
    assert topics["topics"] and json.loads((tmp_path / "split.json").read_text()) == topics


def test_rerunning_partitions_and_the_topics_pass_changes_nothing(
    config: Config, linker: EntityLinker, tmp_path: Path
) -> None:
    store = SqliteStore(":memory:")
    store.upsert_mentions(_mentions())
    enricher = _enricher(config, linker, tmp_path / "t.json")
    for i in range(3):
        enrich_partition(config, store, i, 3, enricher=enricher)
    assign_pending_topics(config, store, enricher=_enricher(config, linker, tmp_path / "t.json"))
    before = _docs(store)
    assert [enrich_partition(config, store, i, 3, enricher=enricher).seen for i in range(3)] == [0, 0, 0]
    assert assign_pending_topics(config, store, enricher=enricher) == 0
    assert _docs(store) == before


@pytest.mark.parametrize(("partition", "partitions"), [(0, 0), (2, 2), (-1, 2)])
def test_a_partition_outside_the_range_is_refused(partition: int, partitions: int) -> None:
    with pytest.raises(ValueError, match="partition"):
        check_partition(partition, partitions)


@pytest.mark.parametrize("raw", ["0", "-2", "two", ""])
def test_the_partition_count_from_the_environment_is_checked(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groundswell.app import tasks
    from groundswell.config import ConfigError

    monkeypatch.setenv("GROUNDSWELL_ENRICH_PARTITIONS", raw)
    with pytest.raises(ConfigError, match=f"GROUNDSWELL_ENRICH_PARTITIONS={raw!r}: must be a whole number"):
        tasks.enrich_partitions()
    monkeypatch.setenv("GROUNDSWELL_ENRICH_PARTITIONS", "3")
    assert tasks.enrich_partitions() == 3


def test_the_topics_pass_computes_the_embeddings_the_partitions_did_not_cache(
    config: Config, linker: EntityLinker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The partitions' embedding cache only saves work: without it (a worker on another machine, a
    worker that died between its store write and its cache write) the topics are the same."""
    import shutil

    from groundswell.app.partitions import EMBEDDING_CACHE_DIR

    caplog.set_level("INFO", logger="groundswell.app.partitions")
    docs = []
    for keep_cache in (True, False):
        store = SqliteStore(":memory:")
        store.upsert_mentions(_mentions())
        for i in range(2):
            enrich_partition(config, store, i, 2, enricher=_enricher(config, linker, tmp_path / "x.json"))
        if not keep_cache:
            shutil.rmtree(config.path(EMBEDDING_CACHE_DIR))
        caplog.clear()
        state = tmp_path / f"cache-{keep_cache}.json"
        assign_pending_topics(config, store, enricher=_enricher(config, linker, state))
        cached, computed = (len(_mentions()), 0) if keep_cache else (0, len(_mentions()))
        assert f"({cached} embeddings from the partitions, {computed} computed)" in caplog.text
        docs.append((_docs(store), json.loads(state.read_text())))
    assert docs[0] == docs[1]
