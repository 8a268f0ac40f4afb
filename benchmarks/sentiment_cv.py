"""Cross-validated sentiment recipes: k folds of the TweetEval "train" split plus the validation split.

The shared `train` split is the first 8,000 official TweetEval *test* tweets, so a model trained on
all of it has no unseen test tweets left there: this script trains one model per fold on the other
folds and scores the fold it held out (and the official validation split, which no fold trained on).
The frozen lower layers are computed once for every text and shared by all folds and recipes, so a
fold costs only the adapted top layers.

    PYTHONPATH=. nice .venv/bin/python benchmarks/sentiment_cv.py --folds 5 --recipe top2:r16:e3:lr1e-3

A recipe is `top<k>:r<rank>:e<epochs>:lr<lr>` (k top layers adapted with LoRA of that rank). Writes
`<out>/<recipe>.npz` with the out-of-fold probabilities (train), the per-fold validation
probabilities and the labels, which `--calibrate` then uses to fit class-prior offsets on held-out
predictions only.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from groundswell.paths import shared_data_dir
from nlp.classifier import PACKAGED_MINILM, build_pooled_model, normalise_tweet, resolve_base
from nlp.train import SENTIMENTS, _encoded_batches, _LowerCache, cv_folds, load_tweeteval, macro_recall

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    top: int
    rank: int
    epochs: int
    lr: float

    @classmethod
    def parse(cls, text: str) -> Recipe:
        m = re.fullmatch(r"top(\d+):r(\d+):e(\d+):lr([0-9.e-]+)", text)
        if not m:
            raise ValueError(f"recipe '{text}' is not top<k>:r<rank>:e<epochs>:lr<lr>")
        return cls(int(m[1]), int(m[2]), int(m[3]), float(m[4]))

    @property
    def spec(self) -> str:
        return f"top{self.top}:r{self.rank}:e{self.epochs}:lr{self.lr:g}"

    @property
    def name(self) -> str:
        return f"top{self.top}-r{self.rank}-e{self.epochs}-lr{self.lr:g}"


def lower_states(texts: list[str], layers: set[int], max_length: int) -> dict[int, list[Any]]:
    """Hidden states entering each layer in `layers` (frozen base), one unpadded tensor per text."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    base = resolve_base(PACKAGED_MINILM)
    tok = AutoTokenizer.from_pretrained(base)
    bert = AutoModel.from_pretrained(base, add_pooling_layer=False).eval()
    out: dict[int, list[Any]] = {k: [] for k in layers}
    with torch.inference_mode():
        for enc in _encoded_batches(tok, texts, max_length, "cpu"):
            hs = bert(**enc, output_hidden_states=True).hidden_states
            for k in layers:
                for row, mask in zip(hs[k], enc["attention_mask"], strict=True):
                    out[k].append(row[: int(mask.sum())].clone())
    return out


def train_fold(
    recipe: Recipe, states: list[Any], labels: list[int], train_idx: list[int], seed: int
) -> tuple[Any, _LowerCache]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, get_linear_schedule_with_warmup

    random.seed(seed)
    torch.manual_seed(seed)
    encoder = AutoModel.from_pretrained(resolve_base(PACKAGED_MINILM), add_pooling_layer=False)
    n = int(encoder.config.num_hidden_layers)
    layers = list(range(n - recipe.top, n))
    lora = LoraConfig(
        r=recipe.rank,
        lora_alpha=2 * recipe.rank,
        lora_dropout=0.1,
        target_modules=["query", "key", "value", "dense"],
        layers_to_transform=layers,
        layers_pattern="layer",
        bias="none",
    )
    encoder = get_peft_model(encoder, lora)
    model = build_pooled_model(encoder, len(SENTIMENTS))
    lower = _LowerCache.__new__(_LowerCache)
    lower.torch = torch
    lower.layers = list(encoder.base_model.model.encoder.layer)[layers[0] :]  # type: ignore[union-attr,arg-type]
    lower.states = states
    trainable = [p for p in model.parameters() if p.requires_grad]
    ys = [labels[i] for i in train_idx]
    counts = [max(1, ys.count(c)) for c in range(len(SENTIMENTS))]
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=torch.tensor([len(ys) / (len(SENTIMENTS) * c) for c in counts], dtype=torch.float32)
    )
    batch = 32
    total = math.ceil(len(train_idx) / batch) * recipe.epochs
    optim = torch.optim.AdamW(trainable, lr=recipe.lr, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(optim, int(0.06 * total), total)
    model.train()
    for _ in range(recipe.epochs):
        order = list(train_idx)
        random.shuffle(order)
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            logits = model.head(model.dropout(lower.forward_top(idx)))
            loss = loss_fn(logits, torch.tensor([labels[i] for i in idx]))
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optim.step()
            sched.step()
    model.eval()
    return model, lower


def predict(model: Any, lower: _LowerCache, idx: list[int]) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(idx), 128):
            out.append(torch.softmax(model.head(lower.forward_top(idx[start : start + 128])), -1).numpy())
    return np.concatenate(out)


def fit_offsets(probs: np.ndarray, labels: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """Log-prior offsets (first class fixed at 0) that maximise macro-recall of argmax(log p + b)."""
    grid = np.linspace(-1.5, 1.5, 31) if grid is None else grid
    logp = np.log(np.clip(probs, 1e-9, 1))
    best, best_b = -1.0, np.zeros(probs.shape[1])
    for b1 in grid:
        for b2 in grid:
            b = np.array([0.0, b1, b2])
            score = macro_recall(labels.tolist(), (logp + b).argmax(1).tolist(), 3)
            if score > best + 1e-9:
                best, best_b = score, b
    return best_b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", default="", help="comma-separated fold numbers to run (default all)")
    ap.add_argument("--recipe", action="append", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, default=Path("/tmp/sentiment_cv"))
    ap.add_argument(
        "--record",
        type=Path,
        help="artifact folder whose meta.json gets the folds' figures (cross_validation) for the gate",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    torch.set_num_threads(args.threads)
    data = shared_data_dir() / "tweeteval" / "sentiment"
    train = load_tweeteval(data, "train", SENTIMENTS)
    val = load_tweeteval(data, "val", SENTIMENTS)
    texts = [normalise_tweet(t) for t in train.texts + val.texts]
    labels = train.labels + val.labels
    n_train = len(train.texts)
    val_idx = list(range(n_train, len(texts)))
    recipes = [Recipe.parse(r) for r in args.recipe]
    t0 = time.monotonic()
    n_layers = 6
    states = lower_states(texts, {n_layers - r.top for r in recipes}, 64)
    logger.info("lower layers for %d texts in %.0fs", len(texts), time.monotonic() - t0)
    folds = cv_folds(n_train, args.folds, seed=0)
    only = {int(x) for x in args.only_folds.split(",") if x} or set(range(args.folds))
    args.out.mkdir(parents=True, exist_ok=True)
    y_train = np.array(train.labels)
    y_val = np.array(val.labels)
    for recipe in recipes:
        oof = np.full((n_train, 3), np.nan)
        vals = []
        record: dict[str, float] = {}
        record_val: dict[str, float] = {}
        for k, held in enumerate(folds):
            if k not in only:
                continue
            t1 = time.monotonic()
            train_idx = sorted(set(range(n_train)) - set(held))
            model, lower = train_fold(recipe, states[n_layers - recipe.top], labels, train_idx, args.seed)
            oof[held] = predict(model, lower, held)
            pv = predict(model, lower, val_idx)
            vals.append(pv)
            print(
                f"{recipe.name} fold {k}: held-out fold macro-recall "
                f"{macro_recall(y_train[held].tolist(), oof[held].argmax(1).tolist(), 3):.4f}"
                f"  val {macro_recall(y_val.tolist(), pv.argmax(1).tolist(), 3):.4f}"
                f"  ({time.monotonic() - t1:.0f}s)",
                flush=True,
            )
            np.savez(
                args.out / f"{recipe.name}{'' if args.seed == 13 else f'-s{args.seed}'}.npz",
                oof=oof,
                val=np.stack(vals),
                y_train=y_train,
                y_val=y_val,
                folds=np.array([f for f in range(args.folds) if f in only and f <= k]),
            )
            record[str(k)] = round(macro_recall(y_train[held].tolist(), oof[held].argmax(1).tolist(), 3), 4)
            record_val[str(k)] = round(macro_recall(y_val.tolist(), pv.argmax(1).tolist(), 3), 4)
        if args.record:
            meta_path = args.record / "meta.json"
            meta = json.loads(meta_path.read_text())
            meta["cross_validation"] = {
                "folds": args.folds,
                "seed": 0,
                "recipe": f"benchmarks/sentiment_cv.py --folds {args.folds} --recipe {recipe.spec}",
                "fold_macro_recall": record,
                "fold_val_macro_recall": record_val,
            }
            meta_path.write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
