"""The NLP quality gate: scores on the reference data beside simple baselines, pinned floors.

Run it as `groundswell nlp eval` or `python benchmarks/eval_nlp.py`. Prints every score and returns
a non-zero exit code when one falls below its floor. The data is read in place from
`../shared/data/` (GROUNDSWELL_SHARED_DATA); a missing folder is reported and exits with code 2.

Splits: the sentiment/emotion models were trained on the TweetEval `train` files only; scores are
on `val`. Safety is judged *leave one category out*: for each product category of
`../shared/data/safety` (groups of CPSC toy product types, arts and crafts, NHTSA vehicles) the head
(`nlp.safety_model`) is retrained without it and judged on it, beside the hazard rules and the
keyword list; false positives are counted on the held-out half (`nlp.datasets.held_out`) of the
review sentences and tweets, which no head was trained on. The hazard rules were written by reading
the development half of every category, so their column is not an unseen-category figure.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from groundswell import exitcodes
from groundswell.mention import EMOTIONS, SENTIMENTS

if TYPE_CHECKING:
    from groundswell.config import Config

# Pinned floors: what the committed models and rules reach, rounded down (see the closing note).
FLOORS = {
    "sentiment_val_macro_recall": 0.66,  # reached 0.669 (VADER 0.598)
    # mean of the 5 held-out folds of the train split (recorded in meta.json; each fold scored by a model
    # of the committed recipe trained on the other four): reached 0.7116 (VADER 0.554-0.592 per fold)
    "sentiment_cv_macro_recall": 0.71,
    "emotion_val_macro_recall": 0.69,  # reached 0.701
    "review_accuracy": 0.75,  # reached 0.762 (neutral counts as wrong)
    # safety, leave one category out (head + rules): each category judged by a head trained without it
    "safety_loco_recall": 0.985,  # reached 0.9910 over all 2,343 narratives (rules 0.942, keywords 0.656)
    # reached 0.9873 (pretend electronics); vehicles 1.000 since the rules read loss of power/control
    # (written after reading the missed vehicle reports, so vehicles is no unseen-category figure for
    # the rules; the head trained without vehicles finds 0.455 of them)
    "safety_loco_min_recall": 0.98,
    "safety_loco_max_fpr": 0.02,  # ceiling; reached 0.0116 (tweets/reviews, any fold)
    "safety_fpr_reviews": 0.02,  # ceiling; committed head + rules reached 0.0104 (held-out half)
    "safety_fpr_tweets": 0.02,  # ceiling; reached 0.0113 (held-out half)
    "safety_fpr_paragraphs": 0.07,  # ceiling; reached 0.0612 (3-6 ordinary sentences; all from the rules)
    "voc_accuracy": 0.70,  # reached 0.736
    "area_accuracy": 0.75,  # reached 0.776
}
OPTIONAL = {"sentiment_cv_macro_recall"}  # only for the offline default, not in --quick
# --quick scores these on random samples of this size: a floor is then checked less two standard errors of
# the sample, so the gate fails on the models, not on which items the sample drew
QUICK_SAMPLES = {"sentiment_val_macro_recall": 600, "review_accuracy": 900}
CEILINGS = {"safety_fpr_reviews", "safety_fpr_tweets", "safety_fpr_paragraphs", "safety_loco_max_fpr"}


def sampling_margin(rate: float, n: int) -> float:
    """Two standard errors of a rate measured on n random items (the --quick samples)."""
    return 2 * math.sqrt(rate * (1 - rate) / n)


def effective_floor(key: str, floor: float, *, quick: bool) -> float:
    """The floor a score is checked against: under --quick, a sampled score's floor less its margin."""
    if quick and key in QUICK_SAMPLES and key not in CEILINGS:
        return round(floor - sampling_margin(floor, QUICK_SAMPLES[key]), 4)
    return floor


def macro_recall(y_true: Sequence[int], y_pred: Sequence[int], n: int) -> float:
    from nlp.train import macro_recall as mr

    return mr(list(y_true), list(y_pred), n)


def per_class(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, tuple[float, float, int]]:
    """label -> (precision, recall, support)."""
    out = {}
    for label in sorted(set(y_true) | set(y_pred)):
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == p == label)
        pred = sum(1 for p in y_pred if p == label)
        true = sum(1 for t in y_true if t == label)
        out[label] = (tp / pred if pred else 0.0, tp / true if true else 0.0, true)
    return out


def _vader(texts: list[str]) -> list[int]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    preds = []
    for text in texts:
        c = analyzer.polarity_scores(text)["compound"]
        preds.append(2 if c >= 0.05 else 0 if c <= -0.05 else 1)
    return preds


def _sentiment_folds() -> float | None:
    """The committed recipe's cross-validated folds of the train split (recorded in meta.json by
    `benchmarks/sentiment_cv.py`: each fold scored by a model trained on the other folds), with VADER
    scored here on the same folds. With a TF-IDF blend (meta.json `blend`, `groundswell nlp
    train-blend`) each fold is also scored blended, its weight chosen on the other folds only. Returns
    the mean fold macro-recall of what the offline default outputs (the blend when there is one), or
    None when no fold is recorded."""
    import json

    from nlp.classifier import ARTIFACTS_DIR
    from nlp.train import cv_folds

    meta = json.loads((ARTIFACTS_DIR / "sentiment" / "meta.json").read_text())
    cv = meta.get("cross_validation")
    if not cv:
        print("  no cross-validated folds recorded in nlp/artifacts/sentiment/meta.json")
        return None
    from nlp import datasets

    blend = meta.get("blend") or {}
    blended = {int(k): v for k, v in blend.get("folds", {}).items()}
    texts, labels = datasets.tweeteval("sentiment", "train")
    folds = cv_folds(len(texts), int(cv["folds"]), int(cv.get("seed", 0)))
    print(
        f"  held-out folds of the train split (recipe `{cv['recipe']}`; each fold scored by a model trained"
        " on the other folds, recorded in meta.json; VADER scored now on the same fold):"
    )
    scored = {int(k): float(v) for k, v in cv["fold_macro_recall"].items()}
    outputs: list[float] = []
    for k, fold in enumerate(folds):
        if k not in scored:
            continue
        vader = macro_recall([labels[i] for i in fold], _vader([texts[i] for i in fold]), 3)
        val = cv.get("fold_val_macro_recall", {}).get(str(k))
        val_text = f"  (that fold's model on val {val:.4f})" if val is not None else ""
        blend_text = ""
        if k in blended:
            b = blended[k]
            blend_text = f"  | + TF-IDF (w={b['weight']:g}, chosen on the other folds) {b['blend']:.4f}"
            outputs.append(float(b["blend"]))
        else:
            outputs.append(scored[k])
        print(
            f"    fold {k} (n={len(fold)}): macro-recall {scored[k]:.4f}{blend_text}  | VADER {vader:.4f}{val_text}"
        )
    mean = sum(scored.values()) / len(scored)
    print(f"    mean of {len(scored)} of {len(folds)} folds: {mean:.4f}", end="")
    out_mean = sum(outputs) / len(outputs)
    if blended:
        print(f"; with the TF-IDF blend {out_mean:.4f} (shipped weight {blend['weight']:g})")
    else:
        print()
    return out_mean


def _safety_section(*, quick: bool) -> dict[str, float]:
    """Leave-one-category-out recall of the safety head (+ rules) beside the rules and the keyword
    list; false positives of the committed head + rules on the held-out half of reviews and tweets."""
    import numpy as np

    from nlp import datasets, safety, safety_model

    data = safety_model.load_data()
    assert data.x is not None
    folds = safety_model.leave_one_category_out(data, folds=3 if quick else 5)
    print("safety signal, leave one category out (the head retrained without the category, judged on it):")
    print(
        f"  {'held-out category':<34} {'n':>5} {'head+rules':>10} {'head':>7} {'rules':>7} {'keywords':>8}"
        f" {'FPR rev':>8} {'FPR tw':>7} {'FPR para':>8}"
    )
    for r in folds:
        print(
            f"  {r.category:<34} {r.n:>5} {r.combined:>10.4f} {r.head:>7.4f} {r.rules:>7.4f} {r.keywords:>8.4f}"
            f" {r.fpr_reviews:>8.4f} {r.fpr_tweets:>7.4f} {r.fpr_paragraphs:>8.4f}"
        )
    n = sum(r.n for r in folds)
    pooled = {
        k: sum(getattr(r, k) * r.n for r in folds) / n for k in ("combined", "head", "rules", "keywords")
    }
    print(
        f"  {'all categories (each unseen)':<34} {n:>5} {pooled['combined']:>10.4f} {pooled['head']:>7.4f}"
        f" {pooled['rules']:>7.4f} {pooled['keywords']:>8.4f}"
    )
    out = {
        "safety_loco_recall": pooled["combined"],
        "safety_loco_min_recall": min(r.combined for r in folds),
        "safety_loco_max_fpr": max(max(r.fpr_reviews, r.fpr_tweets) for r in folds),
    }
    # the committed artifact, as the enricher runs it: head on the embedding, rules for the hazard
    head = safety_model.SafetyClassifier.from_artifact()
    probs = head.predict_proba(data.x)
    flagged = np.array(
        [
            bool(
                safety_model.combine(
                    t, float(p), head.threshold, alone_threshold=head.alone_threshold
                ).hazards
            )
            if data.y[i] == 0 and data.held_out[i]
            else False
            for i, (t, p) in enumerate(zip(data.texts, probs, strict=True))
        ]
    )
    for kind in ("review", "tweet", "paragraph"):
        rows = np.array([k == kind for k in data.kind]) & data.held_out & (data.y == 0)
        kw = np.mean([safety.keyword_baseline(data.texts[i]) for i in np.flatnonzero(rows)])
        rules = np.mean([bool(safety.detect_safety(data.texts[i]).hazards) for i in np.flatnonzero(rows)])
        out[f"safety_fpr_{kind}s"] = float(flagged[rows].mean())
        print(
            f"  false-positive rate, held-out {kind}s n={int(rows.sum()):<5} committed head+rules "
            f"{out[f'safety_fpr_{kind}s']:.4f} | rules {rules:.4f} | keyword list {kw:.4f}"
        )
    narratives = datasets.safety_narratives()
    severe = [
        x for x in narratives if x.severity.startswith(("Injury - Emergency", "Injury - Hospital", "Death"))
    ]
    mild = [x for x in narratives if x.severity.startswith(("Incident, No Injury", "No Incident"))]
    if severe and mild and not quick:
        sev = lambda ns: sum(safety.detect_safety(x.text).severity for x in ns) / len(ns)  # noqa: E731
        print(
            f"  mean severity (rules): ER/hospital/death reports {sev(severe):.2f} vs no-injury reports {sev(mild):.2f}"
        )
    return out


def run_gate(*, config: Config | None = None, quick: bool = False) -> int:
    """Print every score; return 0 when all floors hold, 1 when one fails, 2 when data is missing."""
    import numpy as np

    from nlp import datasets, voc
    from nlp.classifier import load_classifier

    profile = config.nlp.profile if config else "offline"
    sentiment_model = config.nlp.sentiment_model if config else None
    emotion_model = config.nlp.emotion_model if config else None
    scores: dict[str, float] = {}
    rng = random.Random(0)

    def sample(items: list, n: int) -> list:
        return rng.sample(items, n) if quick and len(items) > n else items

    try:
        sent_texts, sent_labels = datasets.tweeteval("sentiment", "val")
        emo_texts, emo_labels = datasets.tweeteval("emotion", "val")
        reviews = datasets.review_sentences()
        datasets.safety_narratives()  # the safety section reads it (and the tweets) itself
        labelled = datasets.voc_area_set()
    except datasets.DataMissing as exc:
        print(f"DATA MISSING: {exc}")
        return exitcodes.CANNOT_START

    # ---- sentiment -------------------------------------------------------------------------
    started = time.monotonic()
    clf = load_classifier("sentiment", sentiment_model, profile=profile, device="cpu")
    print(f"sentiment model: {clf.name}", flush=True)
    pairs = sample(
        list(zip(sent_texts, sent_labels, strict=True)), QUICK_SAMPLES["sentiment_val_macro_recall"]
    )
    texts, labels = [p[0] for p in pairs], [p[1] for p in pairs]
    probs = clf.predict_proba(texts, batch_size=64)
    order = [clf.labels.index(s) for s in SENTIMENTS]
    preds = np.asarray(probs)[:, order].argmax(axis=1).tolist()
    scores["sentiment_val_macro_recall"] = macro_recall(labels, preds, 3)
    vader = macro_recall(labels, _vader(texts), 3)
    print(
        f"  TweetEval sentiment val (n={len(texts)}): macro-recall {scores['sentiment_val_macro_recall']:.4f}"
        f"  | VADER baseline {vader:.4f}  (TweetEval 'train' is the training data, not a test)"
    )
    if sentiment_model is None and profile == "offline" and not quick:
        cv = _sentiment_folds()
        if cv is not None:
            scores["sentiment_cv_macro_recall"] = cv
    # review sentences: binary, a neutral prediction counts as wrong
    rev = sample(reviews, QUICK_SAMPLES["review_accuracy"])
    rprobs = np.asarray(clf.predict_proba([r.text for r in rev], batch_size=64))[:, order]
    rpred = rprobs.argmax(axis=1)
    scores["review_accuracy"] = float(
        np.mean(
            [(p == 2 and r.label == 1) or (p == 0 and r.label == 0) for p, r in zip(rpred, rev, strict=True)]
        )
    )
    forced = float(np.mean([(int(rp[2] > rp[0]) == r.label) for rp, r in zip(rprobs, rev, strict=True)]))
    vrev = _vader([r.text for r in rev])
    vader_rev = float(
        np.mean(
            [(p == 2 and r.label == 1) or (p == 0 and r.label == 0) for p, r in zip(vrev, rev, strict=True)]
        )
    )
    by_source = Counter(r.source for r in rev)
    print(
        f"  review sentences (n={len(rev)}, {dict(by_source)}): accuracy {scores['review_accuracy']:.4f} (neutral = wrong)"
        f", {forced:.4f} forced positive-vs-negative  | VADER {vader_rev:.4f}"
    )
    print(f"  [{time.monotonic() - started:.0f}s]")

    # ---- emotion ---------------------------------------------------------------------------
    started = time.monotonic()
    eclf = load_classifier("emotion", emotion_model, profile=profile, device="cpu")
    eorder = [eclf.labels.index(e) for e in EMOTIONS]
    epreds = np.asarray(eclf.predict_proba(emo_texts, batch_size=64))[:, eorder].argmax(axis=1).tolist()
    scores["emotion_val_macro_recall"] = macro_recall(emo_labels, epreds, 4)
    majority = Counter(emo_labels).most_common(1)[0][0]
    print(f"emotion model: {eclf.name}")
    print(
        f"  TweetEval emotion val (n={len(emo_texts)}): macro-recall {scores['emotion_val_macro_recall']:.4f}"
        f"  | majority-class baseline {macro_recall(emo_labels, [majority] * len(emo_labels), 4):.4f}  [{time.monotonic() - started:.0f}s]"
    )

    # ---- safety ----------------------------------------------------------------------------
    started = time.monotonic()
    scores.update(_safety_section(quick=quick))
    print(f"  [{time.monotonic() - started:.0f}s]")

    # ---- VoC kind and business area ----------------------------------------------------------
    lprobs = np.asarray(clf.predict_proba([x.text for x in labelled], batch_size=64))[:, order]
    voc_pred, area_pred = [], []
    for x, p in zip(labelled, lprobs, strict=True):
        label = SENTIMENTS[int(p.argmax())]
        voc_pred.append(voc.voc_kind(x.text, sentiment=label, sentiment_score=float(p[2] - p[0])))
        area_pred.append(voc.business_area(x.text) or "none")
    voc_true = [x.voc_kind for x in labelled]
    area_true = [x.business_area or "none" for x in labelled]
    scores["voc_accuracy"] = sum(t == p for t, p in zip(voc_true, voc_pred, strict=True)) / len(voc_true)
    scores["area_accuracy"] = sum(t == p for t, p in zip(area_true, area_pred, strict=True)) / len(area_true)
    print(f"VoC kind on the hand-labelled set (n={len(labelled)}): accuracy {scores['voc_accuracy']:.4f}")
    for label, (p, r, n) in per_class(voc_true, voc_pred).items():
        print(f"  {label:<20} precision {p:.3f} recall {r:.3f} support {n}")
    print(
        f"business area on the hand-labelled set: accuracy {scores['area_accuracy']:.4f} ('none' = no area)"
    )
    for label, (p, r, n) in per_class(area_true, area_pred).items():
        print(f"  {label:<20} precision {p:.3f} recall {r:.3f} support {n}")

    # ---- floors ----------------------------------------------------------------------------
    failed = []
    for key, floor in FLOORS.items():
        if key in OPTIONAL and key not in scores:
            continue
        value = scores[key]
        floor = effective_floor(key, floor, quick=quick)
        ok = value <= floor if key in CEILINGS else value >= floor
        if not ok:
            failed.append(
                f"{key} {value:.4f} {'above ceiling' if key in CEILINGS else 'below floor'} {floor}"
            )
    print("GATE:", "PASS" if not failed else "FAIL: " + "; ".join(failed))
    return exitcodes.FAILED if failed else exitcodes.OK
