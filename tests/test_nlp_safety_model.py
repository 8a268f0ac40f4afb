"""The learned safety head: reads the shared MiniLM embedding, saves/loads as a small artifact, and is
combined with the hazard rules (the head decides *whether*, the rules say *which hazard, how severe*)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from nlp import safety_model
from nlp.safety_model import ARTIFACT_DIR, EMBEDDING_DIM, SafetyClassifier, combine


def _toy_head(threshold: float = 0.5) -> SafetyClassifier:
    coef = np.zeros(EMBEDDING_DIM, dtype=np.float32)
    coef[0] = 8.0
    return SafetyClassifier(coef=coef, intercept=-4.0, threshold=threshold, meta={"threshold": threshold})


def test_head_scores_each_embedding_and_ignores_its_norm() -> None:
    head = _toy_head()
    x = np.zeros((2, EMBEDDING_DIM), dtype=np.float32)
    x[0, 0] = 1.0
    x[1, 1] = 1.0
    p = head.predict_proba(x)
    assert p.shape == (2,) and p[0] > 0.9 > 0.1 > p[1]
    assert np.allclose(head.predict_proba(x * 7.5), p)
    assert head.predict(x).tolist() == [True, False]


def test_head_round_trips_through_its_artifact(tmp_path) -> None:
    head = _toy_head(0.37)
    head.save(tmp_path)
    loaded = SafetyClassifier.from_artifact(tmp_path)
    assert loaded.threshold == pytest.approx(0.37)
    x = np.random.default_rng(0).normal(size=(5, EMBEDDING_DIM))
    assert np.allclose(loaded.predict_proba(x), head.predict_proba(x), atol=1e-6)


def test_missing_artifact_names_the_folder_and_the_command(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"python -m nlp\.safety_model train"):
        SafetyClassifier.from_artifact(tmp_path)


def test_committed_artifact_is_small_and_records_its_recipe() -> None:
    size = sum(p.stat().st_size for p in ARTIFACT_DIR.iterdir())
    assert size < 1_000_000
    meta = json.loads((ARTIFACT_DIR / "meta.json").read_text())
    assert meta["recipe"] and meta["threshold"] > 0 and meta["training"]["positives"] > 0
    assert SafetyClassifier.from_artifact().coef.shape == (EMBEDDING_DIM,)


def test_combine_keeps_the_rules_reading_and_adds_what_only_the_head_sees() -> None:
    # the rules alone: a burn with a product stays what the rules say, whatever the head says
    ruled = combine("The heater caught fire and burned my hand", 0.0, 0.5)
    assert "fire_burn" in ruled.hazards and ruled.severity >= 2
    # an incident report the rules miss: flagged by the head, hazard from the rules with product context
    text = "After two weeks the stroller frame gave way and my toddler fell onto the pavement"
    assert combine(text, 0.1, 0.5).hazards == []
    flagged = combine(text, 0.9, 0.5)
    assert flagged.hazards and flagged.severity >= 1
    # with no hazard word at all, the head must reach its (stricter) threshold for acting alone
    assert combine(text, 0.9, 0.5, alone_threshold=0.95).hazards == []
    assert combine(text, 0.97, 0.5, alone_threshold=0.95).hazards == ["defect"]
    # an ambiguous hazard word counts when the head reads an incident, without a product word
    vague = "He got really sick the night after, we had to take him to the doctor"
    assert combine(vague, 0.1, 0.5).hazards == []
    assert "illness" in combine(vague, 0.6, 0.5, alone_threshold=0.95).hazards
    # an ordinary post the head does not flag is left alone
    assert combine("Loving the new colour options this spring", 0.01, 0.5).hazards == []


@pytest.mark.skipif(
    not (safety_model.datasets.SHARED_DATA / "safety").is_dir(), reason="../shared/data/safety not present"
)
@pytest.mark.skipif(os.environ.get("GROUNDSWELL_SKIP_MODELS") == "1", reason="model tests disabled")
def test_committed_head_flags_unseen_kinds_of_incident_and_not_ordinary_posts() -> None:
    """Products that are in none of the training categories (appliances, furniture, e-bikes)."""
    head = SafetyClassifier.from_artifact()
    incidents = [
        "My space heater's cord melted and the outlet started sparking; my husband burned his fingers unplugging it.",
        "The dresser tipped over onto my 3 year old when she opened the top drawer, she needed stitches.",
        "The e-bike battery swelled and exploded while charging in the garage overnight.",
        "The pressure cooker lid blew off while it was still pressurized and scalded my arm.",
    ]
    ordinary = [
        "this new album is fire, can't stop listening",
        "Delivery was two days late but the support team sorted it out quickly.",
        "Great phone, battery lasts all day and the screen is gorgeous.",
        "I'm so sick of mondays lol",
    ]
    p = head.predict_proba(safety_model.embed(incidents + ordinary))
    flagged = [
        bool(combine(t, float(q), head.threshold, alone_threshold=head.alone_threshold).hazards)
        for t, q in zip(incidents + ordinary, p, strict=True)
    ]
    assert flagged[: len(incidents)] == [True] * len(incidents)
    assert flagged[len(incidents) :] == [False] * len(ordinary)


@pytest.mark.skipif(
    not (safety_model.datasets.SHARED_DATA / "safety").is_dir(), reason="../shared/data/safety not present"
)
def test_every_safety_file_is_read_with_its_product_type() -> None:
    """Regression: the arts-and-crafts file has a title line before the disclaimer and was read as empty."""
    from collections import Counter

    narratives = safety_model.datasets.safety_narratives()
    assert Counter(n.source for n in narratives) == {
        "cpsc_toys": 2210,
        "cpsc_artsandcrafts": 32,
        "nhtsa": 101,
    }
    assert all(n.product_type for n in narratives)
    assert {safety_model.category(n) for n in narratives} >= {"arts and crafts", "vehicles (NHTSA)"}
