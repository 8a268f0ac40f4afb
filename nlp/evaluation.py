"""The NLP quality gate: scores on the reference data beside simple baselines, pinned floors.

Run it as `groundswell nlp eval` or `python benchmarks/eval_nlp.py`. Prints every score and returns
a non-zero exit code when one falls below its floor. The data is read in place from
`../shared/data/` (GROUNDSWELL_SHARED_DATA); a missing folder is reported and exits with code 2.

Splits: the sentiment/emotion models were trained on the TweetEval `train` files only; scores are
on `val`. The safety rules were written by reading only the *development* half of the narratives,
reviews and tweets (`nlp.datasets.held_out` is False); the gate reports the held-out half.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from groundswell.mention import EMOTIONS, SENTIMENTS

if TYPE_CHECKING:
    from groundswell.config import Config

# Pinned floors: what the committed models and rules reach, rounded down (see the closing note).
FLOORS = {
    "sentiment_val_macro_recall": 0.66,  # reached 0.669 (VADER 0.598)
    "emotion_val_macro_recall": 0.69,  # reached 0.701
    "review_accuracy": 0.75,  # reached 0.762 (neutral counts as wrong)
    "safety_recall": 0.90,  # reached 0.924 on the held-out half
    "safety_fpr_reviews": 0.05,  # ceiling; reached 0.008
    "safety_fpr_tweets": 0.05,  # ceiling; reached 0.007
    "voc_accuracy": 0.70,  # reached 0.736
    "area_accuracy": 0.75,  # reached 0.776
}
CEILINGS = {"safety_fpr_reviews", "safety_fpr_tweets"}


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


def run_gate(*, config: Config | None = None, quick: bool = False) -> int:
    """Print every score; return 0 when all floors hold, 1 when one fails, 2 when data is missing."""
    import numpy as np

    from nlp import datasets, safety, voc
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
        narratives = datasets.safety_narratives()
        tweets = [t for split in ("train", "val") for t in datasets.tweeteval("sentiment", split)[0]]
        tweets += [t for split in ("train", "val") for t in datasets.tweeteval("emotion", split)[0]]
        labelled = datasets.voc_area_set()
    except datasets.DataMissing as exc:
        print(f"DATA MISSING: {exc}")
        return 2

    # ---- sentiment -------------------------------------------------------------------------
    started = time.monotonic()
    clf = load_classifier("sentiment", sentiment_model, profile=profile, device="cpu")
    print(f"sentiment model: {clf.name}", flush=True)
    pairs = sample(list(zip(sent_texts, sent_labels, strict=True)), 600)
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
    # review sentences: binary, a neutral prediction counts as wrong
    rev = sample(reviews, 900)
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
    test_narr = [n for n in narratives if datasets.held_out(n.text)]
    test_rev = [r.text for r in reviews if datasets.held_out(r.text)]
    test_tw = [t for t in tweets if datasets.held_out(t)]
    det = [bool(safety.detect_safety(n.text).hazards) for n in test_narr]
    base = [safety.keyword_baseline(n.text) for n in test_narr]
    scores["safety_recall"] = sum(det) / len(det)
    scores["safety_fpr_reviews"] = sum(bool(safety.detect_safety(t).hazards) for t in test_rev) / len(
        test_rev
    )
    scores["safety_fpr_tweets"] = sum(bool(safety.detect_safety(t).hazards) for t in test_tw) / len(test_tw)
    print("safety signal (held-out half; rules were written on the other half):")
    for source in ("cpsc_toys", "cpsc_artsandcrafts", "nhtsa"):
        idx = [i for i, n in enumerate(test_narr) if n.source == source]
        if idx:
            print(
                f"  recall {source:<20} n={len(idx):<5} detector {sum(det[i] for i in idx) / len(idx):.4f}"
                f"  | keyword baseline {sum(base[i] for i in idx) / len(idx):.4f}"
            )
    print(
        f"  recall all                  n={len(det):<5} detector {scores['safety_recall']:.4f}  | keyword baseline {sum(base) / len(base):.4f}"
    )
    print(
        f"  false-positive rate reviews n={len(test_rev):<5} detector {scores['safety_fpr_reviews']:.4f}"
        f"  | keyword baseline {sum(map(safety.keyword_baseline, test_rev)) / len(test_rev):.4f}"
    )
    print(
        f"  false-positive rate tweets  n={len(test_tw):<5} detector {scores['safety_fpr_tweets']:.4f}"
        f"  | keyword baseline {sum(map(safety.keyword_baseline, test_tw)) / len(test_tw):.4f}"
    )
    severe = [
        n for n in test_narr if n.severity.startswith(("Injury - Emergency", "Injury - Hospital", "Death"))
    ]
    mild = [n for n in test_narr if n.severity.startswith(("Incident, No Injury", "No Incident"))]
    if severe and mild:
        sev = lambda ns: sum(safety.detect_safety(n.text).severity for n in ns) / len(ns)  # noqa: E731
        print(
            f"  mean severity: ER/hospital/death reports {sev(severe):.2f} vs no-injury reports {sev(mild):.2f}"
        )

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
        value = scores[key]
        ok = value <= floor if key in CEILINGS else value >= floor
        if not ok:
            failed.append(
                f"{key} {value:.4f} {'above ceiling' if key in CEILINGS else 'below floor'} {floor}"
            )
    print("GATE:", "PASS" if not failed else "FAIL: " + "; ".join(failed))
    return 1 if failed else 0
