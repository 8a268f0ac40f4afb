"""The topic model's cached pool distances and array-computed labels give exactly what the direct
computation gives: scikit-learn's clustering of the whole pool after every batch and a sort of every
scored term of every topic (the implementation before the caches, kept here as the reference)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from groundswell.text import ENGLISH_STOP_WORDS
from nlp.topics import TopicModel, _cluster_reference, _PoolDistances

VOCABULARY = [f"term{i:02d}" for i in range(40)]
DISTANCE_THRESHOLD = 0.55  # 1 - cluster_threshold


class ReferenceTopicModel(TopicModel):
    """`TopicModel` with the pool clustering and the labels computed afresh, as they were before."""

    def _grow_from_pool(self) -> dict[str, int]:
        if len(self.pool) < self.min_topic_size:
            return {}
        vectors = np.stack([v for _, v, _ in self.pool])
        return self._form_topics(_cluster_reference(list(vectors), 1 - self.cluster_threshold).tolist())

    def _relabel(self, only: object = None) -> None:  # every topic after every batch, as before
        if not self.topics:
            return
        total = Counter[str]()
        for topic in self.topics.values():
            total.update(topic.terms)
        avg_words = sum(total.values()) / len(self.topics)
        for topic in self.topics.values():
            words = sum(topic.terms.values()) or 1
            scored = sorted(
                ((count / words) * math.log(1 + avg_words / total[term]), term)
                for term, count in topic.terms.items()
            )
            top = [term for _, term in reversed(scored[-self.label_terms :])]
            topic.label = " / ".join(top) if top else f"topic {topic.id}"


def _stream(seed: int, batches: int, dim: int = 32) -> list[tuple[list[str], np.ndarray, list[str]]]:
    """Batches of 1-24 mentions around a few directions, noisy enough that many pairs sit near the
    clustering threshold, and in every other batch a triple whose average-linkage merge distance is
    within 1e-6 of the threshold (so a distance off by a rounding error changes the topics); texts of
    a few words of a small vocabulary (tied scores are common)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, dim))
    out = []
    for b in range(batches):
        n = int(rng.integers(1, 25))
        which = rng.integers(0, len(centres), n)
        noise = rng.uniform(0.3, 1.4, (n, 1))
        vectors = centres[which] + noise * rng.standard_normal((n, dim))
        texts = [" ".join(rng.choice(VOCABULARY[w * 6 : w * 6 + 12], int(rng.integers(0, 5)))) for w in which]
        if b % 2:
            u, w = np.linalg.qr(rng.standard_normal((dim, 2)))[0].T
            cosine = 1 - DISTANCE_THRESHOLD + rng.uniform(-1e-6, 1e-6)
            triple = [u, u + 1e-4 * w, cosine * u + math.sqrt(1 - cosine**2) * w]
            vectors = np.vstack([vectors, triple])
            texts += [" ".join(rng.choice(VOCABULARY, 3)) for _ in triple]
        out.append(([f"s{seed}-b{b}-{i}" for i in range(len(texts))], vectors, texts))
    return out


def _outputs(
    result: tuple[list, dict[str, int]],
) -> tuple[list[tuple[int, str | None, bool]], dict[str, int]]:
    assignments, reassigned = result
    return [(a.topic_id, a.label, a.emerging) for a in assignments], reassigned


@pytest.mark.parametrize("seed", [3, 17, 29, 41])
def test_topic_model_cached_update_equals_the_direct_computation(seed: int) -> None:
    # a pool of 12: the oldest outliers are dropped in many batches of every seed
    params = {"min_topic_size": 3, "max_pool": 12, "cluster_threshold": 1 - DISTANCE_THRESHOLD}
    model, reference = TopicModel(**params), ReferenceTopicModel(**params)
    # asked for no state until the end (labels stale in between), and not restarted
    unsaved, unsaved_reference = TopicModel(**params), ReferenceTopicModel(**params)
    formed = 0
    for b, (ids, vectors, texts) in enumerate(_stream(seed, 70)):
        got = _outputs(model.update(ids, vectors, texts))
        assert got == _outputs(reference.update(ids, vectors, texts)), f"batch {b}"
        expected = _outputs(unsaved_reference.update(ids, vectors, texts))
        assert _outputs(unsaved.update(ids, vectors, texts)) == expected, f"batch {b}"
        formed += len(got[1])
        assert json.dumps(model.to_state()) == json.dumps(reference.to_state()), f"batch {b}"
        if b == 30:  # a restart from the saved state: new vector objects, nothing cached
            model = TopicModel.from_state(model.to_state())
            reference = ReferenceTopicModel.from_state(reference.to_state())
        if b == 45:  # a member added to the pool from outside (as `refresh_topics`'s test does)
            extra = vectors[0] + 0.1
            model.pool.append(("extra", extra, ["term01"]))
            reference.pool.append(("extra", extra, ["term01"]))
    assert len(model.topics) >= 3 and formed > 0  # the stream formed topics from the pool
    assert unsaved._stale_labels  # the last batch left labels to bring up to date
    unsaved.ensure_labels()
    labels = {t.id: t.label for t in unsaved_reference.topics.values()}
    assert {t.id: t.label for t in unsaved.topics.values()} == labels
    assert json.dumps(unsaved.to_state()) == json.dumps(unsaved_reference.to_state())
    assert model.refresh() == reference.refresh()
    assert json.dumps(model.to_state()) == json.dumps(reference.to_state())


def test_pool_distances_have_the_bits_of_pdist_as_the_pool_changes() -> None:
    rng = np.random.default_rng(5)
    distances = _PoolDistances()
    pool = [rng.standard_normal(16).astype(np.float32) for _ in range(30)]
    for step in range(40):
        keep = rng.permutation(len(pool))[: int(rng.integers(len(pool) // 2, len(pool) + 1))]
        pool = [pool[i] for i in keep] + [rng.standard_normal(16).astype(np.float32) for _ in range(8)]
        if step % 7 == 0:
            pool.append(pool[0])  # the same vector object twice
            pool.append(rng.standard_normal(16))  # float64
        expected = pdist(np.stack(pool).astype(np.float64), "cosine")
        got = distances.condensed(pool)
        assert got.tobytes() == expected.tobytes(), f"step {step}"


def test_topic_model_refuses_a_zero_vector_in_the_pool_as_scikit_learn_does() -> None:
    vectors = np.eye(4)[[0, 0, 1, 2]].astype(np.float32)
    vectors[3] = 0
    for model in (TopicModel(min_topic_size=2), ReferenceTopicModel(min_topic_size=2)):
        with pytest.raises(ValueError, match="zero vectors"):
            model.update(["a", "b", "c", "d"], vectors, ["battery charger"] * 4)


def test_stop_words_are_scikit_learns() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as SKLEARN_STOP_WORDS

    assert ENGLISH_STOP_WORDS == SKLEARN_STOP_WORDS


def test_the_topics_process_imports_neither_scikit_learn_nor_torch(tmp_path: Path) -> None:
    """What the coordinating process of a multi-process enrichment does (`Enricher.for_topics`, a
    topic model update), with `nlp.device: cpu`, in a fresh interpreter."""
    code = f"""
        import sys
        import numpy as np
        from groundswell.config import parse_config
        from nlp.enricher import Enricher
        enricher = Enricher.for_topics(parse_config({{"data_dir": {str(tmp_path)!r}, "nlp": {{"device": "cpu"}}}}))
        model = enricher.topics
        vectors = np.eye(4)[[0, 0, 0, 0, 2]]
        model.update(list("abcde"), vectors, ["battery charger hot"] * 5)
        print(len(model.topics), "sklearn" in sys.modules, "torch" in sys.modules)
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["1", "False", "False"]
