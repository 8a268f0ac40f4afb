"""The TF-IDF sentiment model blended into the offline sentiment output (`nlp.tfidf`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from groundswell.mention import SENTIMENTS
from nlp.classifier import ARTIFACTS_DIR, ArtifactMeta, TextBlend, normalise_tweet
from nlp.tfidf import TfidfClassifier, blend_log_proba
from nlp.train import choose_blend_weight

TRAIN = [
    ("I hate this, worst day ever", 0),
    ("awful service, never again", 0),
    ("this is terrible and broken", 0),
    ("so angry at @acme right now", 0),
    ("the meeting is on tuesday", 1),
    ("the store opens at nine", 1),
    ("new episode airs tonight http://t.co/x", 1),
    ("he said the train was late", 1),
    ("I love it, best day ever", 2),
    ("great service, thank you @acme", 2),
    ("this is wonderful and works", 2),
    ("so happy with my new phone", 2),
]
TRAIN = TRAIN * 3  # each word seen in enough documents to pass the vectorisers' min_df
TEXTS = ["worst service, so angry", "love my new phone http://t.co/y", "the train opens tuesday", ""]


@pytest.fixture(scope="module")
def model() -> TfidfClassifier:
    texts = [normalise_tweet(t) for t, _ in TRAIN]
    return TfidfClassifier.fit(texts, [y for _, y in TRAIN], SENTIMENTS)


def test_tfidf_model_saved_and_loaded_scores_the_same_without_pickle(
    model: TfidfClassifier, tmp_path: Path
) -> None:
    model.save(tmp_path / "tfidf")
    files = sorted(p.name for p in (tmp_path / "tfidf").iterdir())
    assert files == ["vocabulary.json", "weights.npz"]
    json.loads((tmp_path / "tfidf" / "vocabulary.json").read_text())  # plain JSON
    with np.load(tmp_path / "tfidf" / "weights.npz", allow_pickle=False) as w:  # raises on pickled arrays
        assert all(w[k].dtype != object for k in w.files)
    loaded = TfidfClassifier.load(tmp_path / "tfidf")
    assert loaded.version == model.version
    a, b = model.log_proba(TEXTS), loaded.log_proba(TEXTS)
    assert np.array_equal(a, b)
    assert np.allclose(np.exp(a).sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(loaded.log_proba(TEXTS), b)  # deterministic


def test_tfidf_model_learns_the_training_words(model: TfidfClassifier) -> None:
    pred = model.predict_proba(["worst service, so angry", "love my new phone"]).argmax(axis=1)
    assert pred.tolist() == [0, 2]


def test_tfidf_fit_is_deterministic() -> None:
    texts = [normalise_tweet(t) for t, _ in TRAIN]
    a = TfidfClassifier.fit(texts, [y for _, y in TRAIN], SENTIMENTS)
    b = TfidfClassifier.fit(texts, [y for _, y in TRAIN], SENTIMENTS)
    assert a.version == b.version
    assert np.array_equal(a.log_proba(TEXTS), b.log_proba(TEXTS))


def test_tfidf_load_rejects_other_vectoriser_settings(model: TfidfClassifier, tmp_path: Path) -> None:
    model.save(tmp_path)
    raw = json.loads((tmp_path / "vocabulary.json").read_text())
    raw["settings"]["char"]["ngram_range"] = [1, 3]
    (tmp_path / "vocabulary.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="settings"):
        TfidfClassifier.load(tmp_path)
    (tmp_path / "weights.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"weights\.npz"):
        TfidfClassifier.load(tmp_path)


def test_blend_adds_the_weighted_log_probabilities() -> None:
    base = np.array([[0.5, 0.3, 0.2], [0.1, 0.45, 0.45]])
    extra = np.log(np.array([[0.3, 0.3, 0.4], [0.2, 0.2, 0.6]]))
    assert np.allclose(blend_log_proba(base, extra, 0.0), base, atol=1e-6)
    out = blend_log_proba(base, extra, 0.5)
    expected = base * np.exp(extra) ** 0.5
    assert np.allclose(out, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)
    assert out[0].argmax() == 0 and out[1].argmax() == 2  # the weight moves the close call only


def test_blend_weight_is_the_smallest_best_of_the_grid() -> None:
    base = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6]])
    extra = np.log(np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]]))
    # row 1 is positive: the base says neutral (0.5 vs 0.3), the blend fixes it once w > log(5/3)/log(8)
    w, score = choose_blend_weight(base, extra, [0, 2, 2], grid=(0.0, 0.1, 0.3, 0.5, 1.0))
    assert (w, score) == (0.3, 1.0)
    w, score = choose_blend_weight(base, extra, [0, 1, 2], grid=(0.0, 0.5))
    assert (w, score) == (0.0, 1.0)


def _blended_artifact(model: TfidfClassifier, target: Path, weight: float) -> Path:
    source = ARTIFACTS_DIR / "sentiment"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("tfidf"))
    meta = json.loads((source / "meta.json").read_text())
    meta["blend"] = {"tfidf": "tfidf", "weight": weight}
    (target / "meta.json").write_text(json.dumps(meta))
    model.save(target / "tfidf")
    return target


def _unblended_artifact(target: Path) -> Path:
    source = ARTIFACTS_DIR / "sentiment"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("tfidf"))
    meta = json.loads((source / "meta.json").read_text())
    meta.pop("blend", None)
    (target / "meta.json").write_text(json.dumps(meta))
    return target


def test_blend_weight_outside_the_range_is_refused(model: TfidfClassifier, tmp_path: Path) -> None:
    directory = _blended_artifact(model, tmp_path / "sentiment", weight=-1.0)
    with pytest.raises(ValueError, match="blend weight -1"):
        TextBlend.from_meta(directory, ArtifactMeta.read(directory))


@pytest.mark.slow
def test_shared_encoder_applies_the_artifacts_blend_weight(model: TfidfClassifier, tmp_path: Path) -> None:
    from nlp.encoder import SharedEncoder

    plain = SharedEncoder({"sentiment": _unblended_artifact(tmp_path / "plain")}, backend="torch", threads=1)
    blended = SharedEncoder(
        {"sentiment": _blended_artifact(model, tmp_path / "blended", weight=0.5)}, backend="torch", threads=1
    )
    base = plain.encode(TEXTS, ["sentiment"])["sentiment"]
    got = blended.encode(TEXTS, ["sentiment"])["sentiment"]
    extra = model.log_proba([normalise_tweet(t) for t in TEXTS])
    assert np.allclose(got, blend_log_proba(base, extra, 0.5), atol=1e-5)
    assert not np.allclose(got, base, atol=1e-3)
    assert blended.name("sentiment") == plain.name("sentiment") + f"+tfidf0.5@{model.version}"
    # the enricher's request shape: two requests in one pass, each blended with its own texts
    whole, clauses = blended.encode_many([(TEXTS[:2], ["sentiment"]), (TEXTS[2:], ["sentiment"])])
    assert np.allclose(np.concatenate([whole["sentiment"], clauses["sentiment"]]), got, atol=1e-5)


def test_the_committed_sentiment_model_is_the_lora_model_alone() -> None:
    # the blend was measured and not shipped (review sentences 0.762 -> 0.747): meta.json records it
    meta = ArtifactMeta.read(ARTIFACTS_DIR / "sentiment")
    assert not meta.blend
    assert TextBlend.from_meta(ARTIFACTS_DIR / "sentiment", meta) is None
    assert not list((ARTIFACTS_DIR / "sentiment").rglob("*.pkl"))
