"""The packaged MiniLM (a BERT) loaded without transformers, for the CPU packed pass (`nlp.packed`).

Importing transformers' BERT costs a process 2.7-3.2 CPU-s at load 7 (it pulls torch._dynamo, sympy and
torch.distributed through its model-loading code), paid by the fork server, the 1-process command and
every Airflow partition task. The packed pass reads only the weights of the embeddings and layers, so
on the CPU torch backend `load` builds plain `nn.Module`s with transformers' attribute names and
state-dict keys (so `merge_lora`, `_same_weights` and `nlp.packed` read them unchanged) from the
model's `model.safetensors`, and the tokenizer with the `tokenizers` library from its
`tokenizer.json`, set up as `AutoTokenizer` sets it (no padding, longest-first truncation on the right
at each call's max_length, special tokens added). Token ids and every output are bit-identical to the
transformers-loaded encoder (tests/test_nlp_lean_bert.py).

`load` returns None where that cannot be vouched for (files missing, another architecture, a tokenizer
configuration that transformers would rebuild differently): the caller then uses transformers.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from torch import nn
from torch.nn import functional as F

logger = logging.getLogger(__name__)

# config.json values the lean modules implement; anything else is left to transformers
_CONFIG_ALLOWED: dict[str, tuple[Any, ...]] = {
    "model_type": ("bert",),
    "hidden_act": ("gelu",),
    "position_embedding_type": ("absolute", None),
    "is_decoder": (False, None),
    "add_cross_attention": (False, None),
}
# tokenizer_config.json classes that AutoTokenizer builds from tokenizer.json as it is
_TOKENIZER_CLASSES = ("BertTokenizer", "BertTokenizerFast", None)


class LeanTokenizer:
    """The `tokenizers` Tokenizer of `tokenizer.json`, called as the encoder calls `AutoTokenizer`:
    `tokenizer(texts, truncation=True, max_length=n)["input_ids"]`."""

    def __init__(self, path: Path, pad_token_id: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._max_length: int | None = None
        self.pad_token_id = pad_token_id

    def __call__(self, texts: list[str], *, truncation: bool, max_length: int) -> dict[str, list[list[int]]]:
        if not truncation:  # pragma: no cover - the encoder always truncates
            raise ValueError("LeanTokenizer truncates only")
        if self._max_length != max_length:
            self._tokenizer.enable_truncation(
                max_length, stride=0, strategy="longest_first", direction="right"
            )
            self._max_length = max_length
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        return {"input_ids": [e.ids for e in encodings]}


# The modules are built with uninitialised tensors, then given the checkpoint's: no random
# initialisation (0.12 CPU-s), and not on the meta device, whose initialisers import torch._dynamo
# (~1.5 CPU-s; transformers' loading imports it too).
class _Linear(nn.Linear):
    def reset_parameters(self) -> None:
        pass


class _Embedding(nn.Embedding):
    def reset_parameters(self) -> None:
        pass


class _LayerNorm(nn.LayerNorm):
    def reset_parameters(self) -> None:
        pass


class _Embeddings(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = config["hidden_size"]
        self.word_embeddings = _Embedding(config["vocab_size"], hidden)
        self.position_embeddings = _Embedding(config["max_position_embeddings"], hidden)
        self.token_type_embeddings = _Embedding(config["type_vocab_size"], hidden)
        self.LayerNorm = _LayerNorm(hidden, eps=config["layer_norm_eps"])


class _SelfAttention(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = config["hidden_size"]
        self.num_attention_heads = config["num_attention_heads"]
        self.query = _Linear(hidden, hidden)
        self.key = _Linear(hidden, hidden)
        self.value = _Linear(hidden, hidden)


class _DenseNorm(nn.Module):
    def __init__(self, into: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.dense = _Linear(into, hidden)
        self.LayerNorm = _LayerNorm(hidden, eps=eps)


class _Attention(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = config["hidden_size"]
        self.self = _SelfAttention(config)  # transformers' attribute name
        self.output = _DenseNorm(hidden, hidden, config["layer_norm_eps"])


class _Intermediate(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.dense = _Linear(config["hidden_size"], config["intermediate_size"])
        self.intermediate_act_fn = F.gelu  # transformers' "gelu" (GELUActivation) is F.gelu


class _Layer(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.attention = _Attention(config)
        self.intermediate = _Intermediate(config)
        self.output = _DenseNorm(config["intermediate_size"], config["hidden_size"], config["layer_norm_eps"])


def load(base_path: str) -> tuple[LeanTokenizer, list[nn.Module], int] | None:
    """(tokenizer, [embeddings, layer 0, ...], hidden size) of a local BERT folder, or None where the lean
    loader does not apply (the caller uses transformers)."""
    folder = Path(base_path)
    files = [folder / n for n in ("config.json", "tokenizer.json", "model.safetensors")]
    if not all(f.is_file() for f in files):
        return None
    try:
        config = json.loads(files[0].read_text(encoding="utf-8"))
        tokenizer_config = _read_json(folder / "tokenizer_config.json")
        if not _config_supported(config) or not _tokenizer_supported(tokenizer_config, files[1]):
            return None
        stages = _stages(config, files[2])
        if stages is None:
            return None
        tokenizer = LeanTokenizer(files[1], int(config.get("pad_token_id") or 0))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        logger.info("lean BERT loader not used for %s (%s: %s)", base_path, type(exc).__name__, exc)
        return None
    return tokenizer, stages, int(config["hidden_size"])


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _config_supported(config: dict[str, Any]) -> bool:
    if "BertModel" not in (config.get("architectures") or ["BertModel"]):
        return False
    if any(config.get(key) not in allowed for key, allowed in _CONFIG_ALLOWED.items()):
        return False
    return config["hidden_size"] % config["num_attention_heads"] == 0


def _tokenizer_supported(tokenizer_config: dict[str, Any], tokenizer_json: Path) -> bool:
    """True where AutoTokenizer would use tokenizer.json's pipeline as it is: a BERT tokenizer whose
    tokenizer_config.json agrees with the normaliser (transformers rebuilds it where they differ) and
    no added tokens beyond tokenizer.json's."""
    if tokenizer_config.get("tokenizer_class") not in _TOKENIZER_CLASSES:
        return False
    if tokenizer_config.get("additional_special_tokens"):
        return False
    if (tokenizer_json.parent / "added_tokens.json").exists():
        return False
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    # newer saves list the added tokens in tokenizer_config.json too: fine where they are tokenizer.json's
    known = {str(t["id"]): _token_fields(t) for t in spec.get("added_tokens") or []}
    listed = tokenizer_config.get("added_tokens_decoder") or {}
    if any(known.get(str(k)) != _token_fields(t) for k, t in listed.items()):
        return False
    normaliser = spec.get("normalizer") or {}
    if normaliser.get("type") != "BertNormalizer":
        return False
    expected = {
        "lowercase": tokenizer_config.get("do_lower_case", True),
        "strip_accents": tokenizer_config.get("strip_accents"),
        "handle_chinese_chars": tokenizer_config.get("tokenize_chinese_chars", True),
    }
    if any(normaliser.get(key) != value for key, value in expected.items()):
        return False
    return (spec.get("model") or {}).get("type") == "WordPiece"


def _token_fields(token: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        token.get(k) for k in ("content", "special", "lstrip", "rstrip", "normalized", "single_word")
    )


def _stages(config: dict[str, Any], weights: Path) -> list[nn.Module] | None:
    from safetensors import safe_open

    modules: list[nn.Module] = [_Embeddings(config)]
    modules += [_Layer(config) for _ in range(config["num_hidden_layers"])]
    prefixes = ["embeddings."] + [f"encoder.layer.{k}." for k in range(config["num_hidden_layers"])]
    with safe_open(str(weights), framework="pt") as handle:
        keys = set(handle.keys())
        lead = "bert." if any(k.startswith("bert.embeddings.") for k in keys) else ""
        for module, prefix in zip(modules, prefixes, strict=True):
            names = list(module.state_dict())
            if not all(lead + prefix + n in keys for n in names):
                return None
            state = {n: handle.get_tensor(lead + prefix + n).float() for n in names}
            module.load_state_dict(state, strict=True, assign=True)
    return [m.eval() for m in modules]
