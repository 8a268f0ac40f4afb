"""A small TF-IDF + logistic-regression text classifier, blended into the offline sentiment model.

Word 1-2-grams and character 2-5-grams (within word boundaries) of the TweetEval-normalised text,
sublinear TF-IDF, and a class-balanced multinomial logistic regression. Alone it is much weaker than
the LoRA model (0.56 val macro-recall against 0.67), but its errors differ, so the sentiment output
of the offline profile is `softmax(log p(LoRA) + w * log p(TF-IDF))` with `w` chosen on out-of-fold
predictions of the train split (`nlp.train.train_sentiment_blend`).

Stored without pickle in `<artifact>/tfidf/`: `vocabulary.json` (the terms of each vectoriser in
column order, and the settings) and `weights.npz` (idf vectors, coefficients, intercepts; loaded with
`allow_pickle=False`). Scoring a tweet costs well under a millisecond (scikit-learn's vectorisers).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import spmatrix

logger = logging.getLogger(__name__)

FORMAT = 1
# (name, TfidfVectorizer settings): the same at training and at loading.
VECTORISERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("word", {"analyzer": "word", "ngram_range": (1, 2), "min_df": 2, "lowercase": True}),
    ("char", {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 3, "lowercase": True}),
)
DEFAULT_C = 1.0


class TfidfClassifier:
    """`predict_proba(texts)` -> (n, labels) class probabilities; texts are normalised by the caller."""

    def __init__(
        self,
        labels: tuple[str, ...],
        vocabularies: dict[str, list[str]],
        idf: dict[str, np.ndarray],
        coef: np.ndarray,
        intercept: np.ndarray,
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        names = [name for name, _ in VECTORISERS]
        if set(vocabularies) != set(names) or set(idf) != set(names):
            raise ValueError(
                f"a TF-IDF model needs vocabularies and idf for {names}; got {sorted(vocabularies)}"
            )
        width = sum(len(vocabularies[n]) for n in names)
        if coef.shape != (len(labels), width) or intercept.shape != (len(labels),):
            raise ValueError(
                f"TF-IDF weights have shape {coef.shape} / {intercept.shape}; "
                f"expected ({len(labels)}, {width}) / ({len(labels)},)"
            )
        self.labels = labels
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.vocabularies = vocabularies
        self.vectorisers = []
        for name, settings in VECTORISERS:
            terms = vocabularies[name]
            if len(idf[name]) != len(terms):
                raise ValueError(f"TF-IDF '{name}': {len(idf[name])} idf values for {len(terms)} terms")
            vec = TfidfVectorizer(
                **settings,
                sublinear_tf=True,
                vocabulary={t: i for i, t in enumerate(terms)},
            )
            vec.idf_ = np.asarray(idf[name], dtype=np.float64)
            self.vectorisers.append(vec)

    @classmethod
    def fit(
        cls, texts: list[str], labels: list[int], label_names: tuple[str, ...], *, c: float = DEFAULT_C
    ) -> TfidfClassifier:
        """Fit the vectorisers and a class-balanced logistic regression (deterministic: lbfgs)."""
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if sorted(set(labels)) != list(range(len(label_names))):
            raise ValueError(f"labels must cover 0..{len(label_names) - 1}; got {sorted(set(labels))}")
        vecs = [TfidfVectorizer(**settings, sublinear_tf=True) for _, settings in VECTORISERS]
        features = hstack([v.fit_transform(texts) for v in vecs]).tocsr()
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(features, labels)
        vocabularies = {}
        for (name, _), vec in zip(VECTORISERS, vecs, strict=True):
            terms = [""] * len(vec.vocabulary_)
            for term, i in vec.vocabulary_.items():
                terms[i] = term
            vocabularies[name] = terms
        idf = {name: vec.idf_ for (name, _), vec in zip(VECTORISERS, vecs, strict=True)}
        return cls(label_names, vocabularies, idf, lr.coef_, lr.intercept_)

    def _features(self, texts: list[str]) -> spmatrix:
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self.vectorisers]).tocsr()

    def log_proba(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)))
        scores = np.asarray(self._features(texts) @ self.coef.T, dtype=np.float64) + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        return (scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))).astype(np.float32)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.exp(self.log_proba(texts))

    @property
    def version(self) -> str:
        digest = hashlib.sha256(self.coef.tobytes() + self.intercept.tobytes()).hexdigest()
        return digest[:8]

    # ---- storage (no pickle) -------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        settings = {
            name: {k: list(v) if isinstance(v, tuple) else v for k, v in s.items()} for name, s in VECTORISERS
        }
        (directory / "vocabulary.json").write_text(
            json.dumps(
                {
                    "format": FORMAT,
                    "labels": list(self.labels),
                    "settings": settings,
                    "terms": self.vocabularies,
                },
                ensure_ascii=False,
            )
        )
        arrays = {f"idf_{name}": v.idf_ for (name, _), v in zip(VECTORISERS, self.vectorisers, strict=True)}
        np.savez_compressed(directory / "weights.npz", coef=self.coef, intercept=self.intercept, **arrays)

    @classmethod
    def load(cls, directory: Path) -> TfidfClassifier:
        vocab_path, weights_path = directory / "vocabulary.json", directory / "weights.npz"
        for path in (vocab_path, weights_path):
            if not path.exists():
                raise FileNotFoundError(
                    f"TF-IDF model incomplete: {path} missing; rebuild it with `groundswell nlp train-blend`"
                )
        raw = json.loads(vocab_path.read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(f"{vocab_path}: format {raw.get('format')!r}, this code reads format {FORMAT}")
        expected = {
            name: {k: list(v) if isinstance(v, tuple) else v for k, v in s.items()} for name, s in VECTORISERS
        }
        if raw["settings"] != expected:
            raise ValueError(
                f"{vocab_path}: vectoriser settings {raw['settings']} differ from this code's {expected}"
            )
        with np.load(weights_path, allow_pickle=False) as w:
            idf = {name: w[f"idf_{name}"] for name, _ in VECTORISERS}
            coef, intercept = w["coef"], w["intercept"]
        return cls(tuple(raw["labels"]), raw["terms"], idf, coef, intercept)


def blend_log_proba(base: np.ndarray, extra_log: np.ndarray, weight: float) -> np.ndarray:
    """Row-normalised `softmax(log base + weight * extra_log)` (base: probabilities; extra_log: log-probabilities)."""
    logits = np.log(np.clip(base.astype(np.float64), 1e-12, 1.0)) + weight * extra_log.astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)
