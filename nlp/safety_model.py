"""Learned product-safety classifier: a small head on the shared MiniLM sentence embedding.

The head reads the mean-pooled, L2-normalised all-MiniLM-L6-v2 embedding that the enricher already
computes for topics, so it costs no extra encoder pass (`SafetyClassifier.predict_proba(embeddings)`).
It says *whether* a text reports a product-safety incident; the hazard rules in `nlp.safety` say
*which* hazard and how severe (`combine`).

Training data (`train_head`): every CPSC / NHTSA narrative in `../shared/data/safety` is a positive;
negatives are the *development* half (`nlp.datasets.held_out` False) of the review sentences and
tweets, so the false-positive rate is always measured on the held-out half nobody trained on.
The decision threshold is chosen on out-of-fold probabilities of the training data only (the
highest recall whose training false-positive rate stays under `target_fpr`).

`leave_one_category_out` is the generalisation test the gate prints: for each product category
(toy product types, arts and crafts, vehicles) the head is retrained without it and judged on it.

The committed artifact (`nlp/artifacts/safety/`: `head.safetensors` + `meta.json` with the recipe)
is rebuilt with `python -m nlp.safety_model train`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from groundswell.paths import REPO_ROOT
from nlp import datasets
from nlp.classifier import ARTIFACTS_DIR, PACKAGED_MINILM, resolve_base

logger = logging.getLogger(__name__)

ARTIFACT_DIR = ARTIFACTS_DIR / "safety"
CACHE_DIR = REPO_ROOT / "models" / "cache"  # git-ignored
EMBEDDING_DIM = 384
MAX_SEQ_LENGTH = 256  # sentence-transformers' setting for all-MiniLM-L6-v2, as the topics pass uses


# ---- embeddings ------------------------------------------------------------------------------------
def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9, None)


def embed(texts: Sequence[str], *, batch_size: int = 64, model: Any = None) -> np.ndarray:
    """MiniLM sentence embeddings as the enricher computes them (for training and evaluation)."""
    if model is None:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(resolve_base(PACKAGED_MINILM), device="cpu")
    out = model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return _normalise(out)


def cached_embeddings(texts: Sequence[str], name: str, *, model: Any = None) -> np.ndarray:
    """`embed(texts)`, cached under models/cache/ by the texts' digest (the reference sets are fixed)."""
    digest = hashlib.sha1("\x1e".join(texts).encode("utf-8", "replace")).hexdigest()[:12]
    path = CACHE_DIR / f"minilm-{name}-{digest}.npy"
    if path.exists():
        arr = np.load(path)
        if arr.shape == (len(texts), EMBEDDING_DIM):
            return arr
    started = time.monotonic()
    arr = embed(texts, model=model)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, arr)
    logger.info("embedded %d %s texts in %.0fs -> %s", len(texts), name, time.monotonic() - started, path)
    return arr


# ---- the reference sets, with their categories -----------------------------------------------------
# Leave-one-category-out groups: the larger CPSC toy product types, the remaining toys, arts and
# crafts, and vehicles (NHTSA).
TOY_GROUPS = {
    "toys: dolls, plush, figures": ("Dolls, Plush Toys, and Action Figures",),
    "toys: toy vehicles": ("Toy Vehicles",),
    "toys: pretend electronics": ("Pretend Electronics",),
    "toys: building sets, blocks": ("Building Sets", "Blocks, Stacking Toys"),
    "toys: water, play tents, rattles": ("Water Toys", "Children's Play Tents", "Baby Rattles"),
}


def category(n: datasets.Narrative) -> str:
    if n.source == "nhtsa":
        return "vehicles (NHTSA)"
    if n.source == "cpsc_artsandcrafts":
        return "arts and crafts"
    for group, prefixes in TOY_GROUPS.items():
        if n.product_type.startswith(prefixes):
            return group
    return "toys: other types"


@dataclass
class SafetyData:
    texts: list[str]
    y: np.ndarray  # 1 safety incident, 0 ordinary
    kind: list[str]  # narrative / review / tweet
    group: list[str]  # category for narratives, source for negatives
    held_out: np.ndarray  # negatives: the half never trained on
    severity: list[str] = field(default_factory=list)
    x: np.ndarray | None = None


def load_data(*, with_embeddings: bool = True) -> SafetyData:
    narratives = datasets.safety_narratives()
    reviews = datasets.review_sentences()
    # tweets: TweetEval sentiment val and emotion train+val (5,631; the 8,000 sentiment "train" tweets
    # are left out to keep the embedding pass short on a CPU)
    tweets = datasets.tweeteval("sentiment", "val")[0]
    tweets += [t for split in ("train", "val") for t in datasets.tweeteval("emotion", split)[0]]
    paragraphs, para_held = _paragraphs(reviews, tweets)
    texts = [n.text for n in narratives] + [r.text for r in reviews] + tweets + paragraphs
    kind = (
        ["narrative"] * len(narratives)
        + ["review"] * len(reviews)
        + ["tweet"] * len(tweets)
        + ["paragraph"] * len(paragraphs)
    )
    group = (
        [category(n) for n in narratives]
        + [r.source for r in reviews]
        + ["tweet"] * len(tweets)
        + ["paragraph"] * len(paragraphs)
    )
    n_neg = len(reviews) + len(tweets) + len(paragraphs)
    y = np.array([1] * len(narratives) + [0] * n_neg)
    held = np.array([datasets.held_out(t) for t in texts[: len(texts) - len(paragraphs)]] + para_held)
    severity = [n.severity for n in narratives] + [""] * n_neg
    data = SafetyData(texts, y, kind, group, held, severity)
    if with_embeddings:
        data.x = np.concatenate(
            [
                cached_embeddings([n.text for n in narratives], "narratives"),
                cached_embeddings([r.text for r in reviews], "reviews"),
                cached_embeddings(tweets, "tweets"),
                cached_embeddings(paragraphs, "paragraphs"),
            ]
        )
    return data


def _paragraphs(reviews: list[datasets.Sentence], tweets: list[str]) -> tuple[list[str], list[bool]]:
    """Length-matched negatives: runs of 3-6 consecutive review sentences of one source, or of 3-5
    tweets, from one half at a time (a paragraph is held out when its sentences are). Incident
    reports are paragraphs and posts are sentences: without these the head would learn the length."""
    out: list[str] = []
    held: list[bool] = []
    for half in (False, True):
        for source in ("amazon", "yelp", "imdb"):
            sentences = [r.text for r in reviews if r.source == source and datasets.held_out(r.text) == half]
            i, size = 0, 3
            while i + size <= len(sentences):
                out.append(" ".join(sentences[i : i + size]))
                held.append(half)
                i, size = i + size, 3 + (size - 2) % 4  # 3, 4, 5, 6, 3, ...
        chosen = [t for t in tweets if datasets.held_out(t) == half]
        i, size = 0, 3
        while i + size <= len(chosen):
            out.append(" ".join(chosen[i : i + size]))
            held.append(half)
            i, size = i + size, 3 + (size - 2) % 3  # 3, 4, 5, 3, ...
    return out, held


# ---- the head --------------------------------------------------------------------------------------
HARD_NEGATIVE_WEIGHT = 3.0  # ordinary posts using a safety keyword ("this song is fire") count more
DEFAULT_C = 1.0
DEFAULT_TARGET_FPR = 0.005
# The head alone (no hazard word at all) must be far surer: ordinary product talk on forums ("been
# using it for 8 weeks, does it have a dock?") reads like the start of an incident report.
ALONE_TARGET_FPR = 0.0005


@dataclass
class SafetyClassifier:
    """Logistic-regression head on the L2-normalised MiniLM sentence embedding."""

    coef: np.ndarray  # (EMBEDDING_DIM,)
    intercept: float
    threshold: float  # confirms hazard language read with product context (see `combine`)
    alone_threshold: float = 1.0  # flags a text on its own, with no hazard language at all
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"safety-minilm-logreg@{self.meta.get('version', 'dev')}"

    @classmethod
    def from_artifact(cls, directory: Path = ARTIFACT_DIR) -> SafetyClassifier:
        from safetensors.numpy import load_file

        meta_path = directory / "meta.json"
        if not meta_path.exists():
            raise FileNotFoundError(
                f"no safety head in {directory} (meta.json missing); build it with `python -m nlp.safety_model train`"
            )
        meta = json.loads(meta_path.read_text())
        weights = load_file(str(directory / "head.safetensors"))
        return cls(
            coef=weights["coef"].astype(np.float32).reshape(-1),
            intercept=float(weights["intercept"].reshape(-1)[0]),
            threshold=float(meta["threshold"]),
            alone_threshold=float(meta.get("alone_threshold", meta["threshold"])),
            meta=meta,
        )

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """P(product-safety incident) per row of (n, 384) sentence embeddings (normalised here)."""
        x = _normalise(np.asarray(embeddings, dtype=np.float32).reshape(-1, EMBEDDING_DIM))
        return 1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept)))

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        return self.predict_proba(embeddings) >= self.threshold

    def save(self, directory: Path = ARTIFACT_DIR) -> None:
        from safetensors.numpy import save_file

        directory.mkdir(parents=True, exist_ok=True)
        save_file(
            {
                "coef": self.coef.astype(np.float32),
                "intercept": np.array([self.intercept], dtype=np.float32),
            },
            str(directory / "head.safetensors"),
        )
        (directory / "meta.json").write_text(json.dumps(self.meta, indent=2) + "\n")


def _weights(data: SafetyData, idx: np.ndarray) -> np.ndarray:
    from nlp.safety import keyword_baseline

    w = np.ones(len(idx))
    for k, i in enumerate(idx):
        if data.y[i] == 0 and keyword_baseline(data.texts[i]):
            w[k] = HARD_NEGATIVE_WEIGHT
    return w


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    model.fit(x, y, sample_weight=w)
    return model.coef_.reshape(-1).astype(np.float32), float(model.intercept_[0])


def fit_head(
    data: SafetyData,
    idx: np.ndarray,
    *,
    c: float = DEFAULT_C,
    target_fpr: float = DEFAULT_TARGET_FPR,
    folds: int = 5,
    seed: int = 13,
) -> SafetyClassifier:
    """Fit on the rows `idx`; the threshold is set on out-of-fold probabilities of those rows only:
    the lowest one whose false-positive rate on the training negatives stays at `target_fpr`."""
    from sklearn.model_selection import StratifiedKFold

    assert data.x is not None
    x, y, w = data.x[idx], data.y[idx], _weights(data, idx)
    oof = np.zeros(len(idx))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        coef, b = _fit(x[tr], y[tr], w[tr], c)
        oof[te] = 1.0 / (1.0 + np.exp(-(x[te] @ coef + b)))
    negatives = np.sort(oof[y == 0])
    k = min(int(np.floor(target_fpr * len(negatives))), len(negatives) - 1)
    threshold = float(negatives[-k - 1]) + 1e-6  # at most k training negatives reach it
    k_alone = min(int(np.floor(ALONE_TARGET_FPR * len(negatives))), len(negatives) - 1)
    alone = max(float(negatives[-k_alone - 1]) + 1e-6, threshold)
    coef, b = _fit(x, y, w, c)
    oof_recall = float(np.mean(oof[y == 1] >= threshold))
    return SafetyClassifier(
        coef=coef,
        intercept=b,
        threshold=threshold,
        alone_threshold=alone,
        meta={
            "oof_recall": round(oof_recall, 4),
            "oof_fpr": round(float(np.mean(oof[y == 0] >= threshold)), 4),
        },
    )


def training_rows(data: SafetyData, *, without: str | None = None) -> np.ndarray:
    """Every narrative (but those of category `without`) and the development half of the negatives."""
    rows = [
        i
        for i in range(len(data.texts))
        if (data.y[i] == 1 and data.group[i] != without) or (data.y[i] == 0 and not data.held_out[i])
    ]
    return np.array(rows)


def load_safety_head(directory: Path = ARTIFACT_DIR) -> SafetyClassifier | None:
    """The committed head, or None (rules only, with a warning) when the artifact is missing."""
    try:
        return SafetyClassifier.from_artifact(directory)
    except FileNotFoundError as exc:
        logger.warning("safety head unavailable, the hazard rules work alone: %s", exc)
        return None


def safety_model_name(head: SafetyClassifier | None) -> str:
    """What `mention.models['safety']` records: the rules, and the head when there is one."""
    return "rules@1" if head is None else f"rules@1+{head.name}"


# ---- detection: head + rules ----------------------------------------------------------------------
def combine(
    text: str,
    probability: float,
    threshold: float,
    *,
    alone_threshold: float | None = None,
    product_context: bool = False,
) -> Any:
    """The safety signal of a text from the hazard rules and the head's probability:

    - the rules find a hazard: that is the signal (hazards and severity from the rules);
    - else the head reaches `threshold`: it stands in for the product context, so ambiguous hazard
      words count ("fire", "crash", "sick", "broke" in an incident-like text);
    - else the head reaches `alone_threshold` (default: `threshold`): 'defect' at severity 1;
    - else nothing.
    """
    from nlp.safety import SafetySignal, detect_safety

    signal = detect_safety(text, product_context=product_context)
    if signal.hazards or probability < threshold:
        return signal
    relaxed = detect_safety(text, product_context=True)
    if relaxed.hazards:
        return relaxed
    if probability >= (threshold if alone_threshold is None else alone_threshold):
        return SafetySignal(
            hazards=["defect"], severity=1, evidence={"defect": f"classifier p={probability:.2f}"}
        )
    return signal


# ---- leave one category out -----------------------------------------------------------------------
@dataclass
class LocoRow:
    category: str
    n: int
    head: float
    combined: float
    rules: float
    keywords: float
    fpr_reviews: float
    fpr_tweets: float
    fpr_paragraphs: float
    threshold: float


def leave_one_category_out(
    data: SafetyData, *, folds: int = 5, progress: Callable[[str], None] | None = None
) -> list[LocoRow]:
    """Per category: retrain the head without it, judge it (and the rules, and the keyword list) on it.
    False positives are on the held-out half of the reviews and tweets (never trained on)."""
    from nlp.safety import detect_safety, keyword_baseline

    assert data.x is not None
    rules = np.array(
        [
            bool(detect_safety(t).hazards) if data.y[i] or data.held_out[i] else False
            for i, t in enumerate(data.texts)
        ]
    )
    relaxed = np.array(
        [
            bool(detect_safety(t, product_context=True).hazards) if data.y[i] or data.held_out[i] else False
            for i, t in enumerate(data.texts)
        ]
    )
    keywords = np.array([keyword_baseline(t) for t in data.texts])
    held_rev = np.array([k == "review" for k in data.kind]) & data.held_out
    held_tw = np.array([k == "tweet" for k in data.kind]) & data.held_out
    held_para = np.array([k == "paragraph" for k in data.kind]) & data.held_out
    out = []
    for cat in sorted({g for g, y in zip(data.group, data.y, strict=True) if y == 1}):
        started = time.monotonic()
        head = fit_head(data, training_rows(data, without=cat), folds=folds)
        p = head.predict_proba(data.x)
        flagged = p >= head.threshold
        test = np.array([g == cat for g in data.group]) & (data.y == 1)
        both = rules | (flagged & relaxed) | (p >= head.alone_threshold)  # as `combine` decides
        out.append(
            LocoRow(
                category=cat,
                n=int(test.sum()),
                head=float(flagged[test].mean()),
                combined=float(both[test].mean()),
                rules=float(rules[test].mean()),
                keywords=float(keywords[test].mean()),
                fpr_reviews=float(both[held_rev].mean()),
                fpr_tweets=float(both[held_tw].mean()),
                fpr_paragraphs=float(both[held_para].mean()),
                threshold=head.threshold,
            )
        )
        if progress:
            progress(f"{cat}: {time.monotonic() - started:.0f}s")
    return out


def train(directory: Path = ARTIFACT_DIR) -> SafetyClassifier:
    """Train the committed head on every narrative and the development half of the negatives."""
    data = load_data()
    rows = training_rows(data)
    head = fit_head(data, rows)
    n_pos = int(data.y[rows].sum())
    head.meta = {
        "task": "safety",
        "base": PACKAGED_MINILM,
        "input": f"mean-pooled, L2-normalised sentence embedding (dim {EMBEDDING_DIM}, max {MAX_SEQ_LENGTH} tokens)",
        "model": "logistic regression (sklearn, class_weight=balanced)",
        "version": time.strftime("%Y%m%d"),
        "threshold": round(head.threshold, 6),
        "target_fpr": DEFAULT_TARGET_FPR,
        "alone_threshold": round(head.alone_threshold, 6),
        "alone_target_fpr": ALONE_TARGET_FPR,
        "C": DEFAULT_C,
        "hard_negative_weight": HARD_NEGATIVE_WEIGHT,
        "training": {
            "positives": n_pos,
            "negatives": int(len(rows) - n_pos),
            "positives_from": "../shared/data/safety: CPSC toys, CPSC arts and crafts, NHTSA (all narratives)",
            "negatives_from": "../shared/data/reviews and TweetEval sentiment val + emotion train/val, and paragraphs of 3-6 of them: the half with nlp.datasets.held_out False",
        },
        "metrics": head.meta,
        "recipe": "python -m nlp.safety_model train",
    }
    head.save(directory)
    return head


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - a command
    import argparse

    parser = argparse.ArgumentParser(description="train or evaluate the safety head")
    parser.add_argument("command", choices=("train", "loco", "embed"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.command == "embed":
        print(load_data().x.shape)  # type: ignore[union-attr]
    elif args.command == "train":
        head = train()
        print(json.dumps(head.meta, indent=2))
    else:
        for row in leave_one_category_out(load_data(), progress=print):
            print(row)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
