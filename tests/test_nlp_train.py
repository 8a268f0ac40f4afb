"""The training recipe end to end on a tiny set: both variants write an artifact that loads and predicts.

Quality is the gate's job (benchmarks/eval_nlp.py); this checks the recipe runs, reports the
official metric and produces what the enricher loads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.classifier import AdapterClassifier
from nlp.train import Labelled, train_classifier, train_head

pytestmark = pytest.mark.slow

TEXTS = [
    "I love this kettle, best purchase ever",
    "absolutely terrible, it broke after a day",
    "it is a kettle. it boils water.",
    "great service and fast delivery, thank you",
    "worst customer support I have ever dealt with",
    "the box arrived on tuesday",
]
LABELS = [2, 0, 1, 2, 0, 1]


def _tiny(n: int) -> Labelled:
    return Labelled(
        texts=[TEXTS[i % len(TEXTS)] for i in range(n)], labels=[LABELS[i % len(LABELS)] for i in range(n)]
    )


@pytest.mark.parametrize("variant", ["lora", "head"])
def test_training_writes_an_artifact_that_loads_and_predicts(tmp_path: Path, variant: str) -> None:
    out = tmp_path / variant
    if variant == "lora":
        metrics = train_classifier(
            task="sentiment",
            train=_tiny(24),
            val=_tiny(12),
            out=out,
            epochs=1,
            batch_size=8,
            top_layers=1,
            max_length=32,
            threads=1,
        )
    else:
        metrics = train_head(
            task="sentiment", train=_tiny(24), val=_tiny(12), out=out, epochs=3, max_length=32, threads=1
        )
    assert 0.0 <= metrics["val_macro_recall"] <= 1.0 and 0.0 <= metrics["val_accuracy"] <= 1.0
    assert (out / "meta.json").exists() and (out / "head.safetensors").exists()
    assert (out / "adapter").is_dir() == (variant == "lora")
    model = AdapterClassifier(out)
    probs = model.predict_proba(["I love it", "I hate it"], batch_size=2)
    assert probs.shape == (2, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
