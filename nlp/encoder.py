"""One MiniLM pass shared by sentiment, emotion and the sentence embedding (topics, the safety head).

The offline sentiment and emotion models are the packaged MiniLM with LoRA merged into its *top*
layers only (`layers_to_transform` in each adapter; today sentiment 4-5, emotion 3-5), and the topic
embedding is the plain MiniLM. So the embeddings and the lower layers are the same network for all
three: `SharedEncoder` runs them once and branches where the weights differ (found by comparing the
merged weights with the base, not by trusting a config). With today's artifacts a text costs 11 layer
passes instead of 18.

Inputs must be identical for a layer to be shared: the classifiers read the TweetEval-normalised text
cut at 64 tokens, the embedding reads the raw text cut at 256 tokens (as `SentenceTransformer.encode`
does). Each input is tokenised per input kind and identical token sequences are computed once, so a
short text with no handle or link (most mentions) goes through one shared pass; a longer one gets its
classifier pass and its embedding pass; an identical text seen twice in a request costs nothing more.
Jobs are grouped by the outputs they need and sorted by length. On the CPU torch backend a batch is
packed (`nlp.packed`): no padding token is computed and each text's result is its own, whatever its
batch neighbours.

On the CPU torch backend the base model and tokenizer are loaded without transformers where
`nlp.lean_bert` can vouch for the files (bit-identical outputs, 2-3 CPU-s less start-up per process);
`GROUNDSWELL_NLP_LOADER=transformers` forces transformers, which CUDA and ONNX always use.

Backends (`backend=`, or the environment variable `GROUNDSWELL_NLP_BACKEND`):

- `torch`: PyTorch; on CPU bf16 where AMX is present, else fp32 (`resolve_precision`); fp16 on CUDA
  (padded batches of at least `GPU_MIN_BATCH`).
- `onnx`: ONNX Runtime fp32 on CPU, one small graph per distinct layer, exported on first use into a
  cache folder (`GROUNDSWELL_CACHE_DIR`, default `~/.cache/groundswell/onnx`). Same scores as torch
  to about 1e-5.
- `onnx-int8`: the same graphs with int8 dynamic quantisation of the transformer layers' matrix
  products (embeddings and heads stay fp32).
- `auto` (default): `torch`, on CUDA and on CPU. On a quiet 2-core machine (load about 1) the shared
  torch pass enriched 65 mentions/s against 33/s for `onnx` at 2 threads (`benchmarks/bench_nlp.py`,
  512 mentions); `onnx` gave 37/s against 42/s at 1 thread. ONNX Runtime stays opt-in (the `onnx` extra).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import warnings
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

EMBEDDING = "embedding"
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
PRECISIONS = ("auto", "fp32", "bf16")
# bf16 on CPU: a classifier row whose two most likely labels are closer than this is recomputed in fp32,
# so bf16 never decides a label. Against fp32, bf16 moved the gap of the two best labels by at most
# 0.021 on TweetEval validation (2,374 tweets) and 3,000 review sentences, but by 0.035 (emotion) on
# the 512 bench texts; label flips without the recompute had a bf16 gap of at most 0.015. Smaller
# margins (0.03, 0.04) would leave less than the largest move seen, so 0.05 stays.
BF16_MARGIN = 0.05
# bf16 on the CPU torch path: a row depends on its input alone (`nlp.packed`), so the rows of the last
# this many distinct inputs are kept and an input seen again (a repost, a retweet, a recurring target
# clause) is not computed again: the same bits as computing it, ~2 KB per input (`SharedEncoder._memo`).
MEMO_SEQUENCES = 8192
GPU_MIN_BATCH = 256  # on CUDA, small batches leave the GPU idle: at least this many texts per forward
EMBEDDING_MAX_LENGTH = 256  # the packaged MiniLM's max_seq_length (sentence_bert_config.json)
_ONNX_FORMAT = "2"  # bump when the exported graphs change shape or meaning


def resolve_backend(backend: str | None, device: str) -> str:
    """The backend to use: explicit > GROUNDSWELL_NLP_BACKEND > auto (torch: see the module docstring)."""
    chosen = backend or os.environ.get("GROUNDSWELL_NLP_BACKEND") or "auto"
    if chosen not in BACKENDS:
        raise ValueError(f"NLP backend '{chosen}' is not one of {', '.join(BACKENDS)}")
    if device != "cpu":
        if chosen.startswith("onnx"):
            logger.warning("NLP backend %s is CPU-only; using torch on %s", chosen, device)
        return "torch"
    if chosen == "auto":
        return "torch"
    if chosen.startswith("onnx"):
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            logger.warning("NLP backend %s asked for but onnxruntime is not installed; using torch", chosen)
            return "torch"
    return chosen


@functools.cache
def bf16_supported() -> bool:
    """True where the CPU multiplies bf16 matrices on AMX (`amx_bf16` among the /proc/cpuinfo flags;
    Intel Sapphire Rapids and later) and a PyTorch that can use its tiles: bf16 is the default there."""
    return _cpu_flag("amx_bf16", "_is_amx_tile_supported")


@functools.cache
def bf16_native() -> bool:
    """True where the CPU multiplies bf16 natively: AMX (`bf16_supported`) or AVX512-BF16 dot products
    (`avx512_bf16`: AMD Zen 4, Intel Cooper Lake); bf16 is the default there (`resolve_precision`). On a
    Zen 4 (AMD EPYC, 2 cores) it encoded 1,024 distinct bench texts in 10.3 CPU-s against 19.3 in fp32
    (1 thread), its rows as batch-independent as on AMX (the bf16 tests of `tests/test_nlp_encoder.py`
    pass there), but its probabilities are not AMX's bit for bit."""
    return bf16_supported() or _cpu_flag("avx512_bf16", "_is_avx512_bf16_supported")


def _cpu_flag(flag: str, probe: str) -> bool:
    """`flag` among the /proc/cpuinfo flags and PyTorch's `torch.cpu.<probe>()` true (its kernels use it)."""
    import torch

    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split()
    except OSError:  # pragma: no cover - not Linux: PyTorch's own probe decides
        flags = None
    if flags is not None and flag not in flags:
        return False
    try:
        return bool(getattr(torch.cpu, probe)())
    except AttributeError:  # pragma: no cover - an older PyTorch without the probe
        return False


def resolve_precision(precision: str | None, device: str, backend: str) -> str:
    """The CPU torch backend's precision: explicit > GROUNDSWELL_NLP_PRECISION > auto.

    `auto` (default) is bf16 where the CPU multiplies bf16 natively (`bf16_native`: AMX bf16 units or
    AVX512-BF16), fp32 elsewhere (emulated bf16 would be slower). bf16 runs the matrix products in
    bfloat16 (layer norms, attention, residuals and pooling stay fp32): ~2-3x less CPU per text than
    fp32 on AMX, ~1.6-1.9x on AVX512-BF16 (AMD Zen 4). Every classifier row whose two best labels are within
    `BF16_MARGIN` is recomputed in fp32, so the labels are fp32's; probabilities and embeddings move
    by up to ~0.01 against fp32, and a text's scores are bit-identical whatever batch, position or
    thread count it comes in (`nlp.packed`), so partitions and re-runs agree exactly. CUDA runs fp16
    and ONNX Runtime fp32 or int8, whatever is asked here.
    """
    chosen = precision or os.environ.get("GROUNDSWELL_NLP_PRECISION") or "auto"
    if chosen not in PRECISIONS:
        raise ValueError(f"NLP precision '{chosen}' is not one of {', '.join(PRECISIONS)}")
    if device == "cuda":
        return "fp16"
    if chosen == "fp32":
        return "fp32"
    if backend != "torch":
        if chosen == "bf16":
            logger.warning("NLP precision bf16 runs on the torch backend only; %s runs fp32", backend)
        return "fp32"
    if bf16_native():
        return "bf16"
    if chosen == "bf16":
        logger.warning("NLP precision bf16 asked for but this CPU has no bf16 units; using fp32")
    return "fp32"


def default_threads() -> int:
    """Torch/ONNX threads: GROUNDSWELL_NLP_THREADS, else OMP_NUM_THREADS, else the CPUs left idle.

    The CPUs this process may use, less the load other work puts on them, at least one: on a
    machine that other work keeps busy, threads that wait for a core to synchronise are slower than
    fewer threads (benchmarks/bench_nlp.py: 1 thread 2.8x faster than 2 at load 24 on 2 cores). One
    core of the 1-minute load average is taken as the pipeline's own (its crawl ran just before):
    on a quiet 2-core machine at load 0.9, 2 threads enriched 65 mentions/s against 42/s for 1.
    """
    for var in ("GROUNDSWELL_NLP_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value:
            try:
                return max(1, int(value))
            except ValueError as exc:
                raise ValueError(f"{var}={value!r} is not a whole number of threads") from exc
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        busy = 0.0
    others = max(0.0, busy - 1.0)
    return max(1, min(cpus, round(cpus - others)))


@dataclass(frozen=True)
class _InputKind:
    normalise: bool
    max_length: int


@dataclass
class _Branch:
    name: str
    stages: list[Any]  # embeddings module, then one module per transformer layer
    head: Any | None  # nn.Linear for a classifier; None for the (L2-normalised) sentence embedding
    labels: tuple[str, ...]
    kind: _InputKind
    display: str


class SharedEncoder:
    """MiniLM branches (classifier tasks and the sentence embedding) that share identical lower layers.

    `encode(texts, outputs)` returns `{output: array}`: class probabilities (rows sum to 1, columns in
    the task's `labels`) for a task, L2-normalised 384-d vectors for `"embedding"`.
    """

    def __init__(
        self,
        tasks: dict[str, Path],
        *,
        embedding_base: str | None = None,
        device: str = "cpu",
        backend: str | None = None,
        threads: int | None = None,
        precision: str | None = None,
    ) -> None:
        import torch
        from safetensors.torch import load_file
        from torch import nn

        from nlp.classifier import ArtifactMeta, TextBlend, normalise_tweet, resolve_base

        self._normalise = normalise_tweet
        self.device = device
        self.backend = resolve_backend(backend, device)
        self.threads = threads or default_threads()
        self.dtype = torch.float16 if device == "cuda" else torch.float32
        metas = {task: ArtifactMeta.read(directory) for task, directory in tasks.items()}
        bases = {resolve_base(m.base) for m in metas.values()}
        if embedding_base is not None:
            bases.add(resolve_base(embedding_base))
        if len(bases) != 1:
            raise ValueError(f"a shared encoder needs one base model; got {sorted(bases)}")
        base_path = bases.pop()
        # The CPU torch backend runs the packed pass, which reads only the weights: loaded without
        # transformers where `nlp.lean_bert` vouches for the files (2.7-3.2 CPU-s of imports saved)
        lean = None
        if self.backend == "torch" and device == "cpu" and _loader() == "auto":
            from nlp import lean_bert

            lean = lean_bert.load(base_path)
        base: Any = None
        self.tokenizer: Any  # lean_bert.LeanTokenizer or transformers' tokenizer: called alike
        if lean is not None:
            self.tokenizer, base_stages, self.hidden_size = lean
            self.loader = "lean"
        else:
            from transformers import AutoModel, AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(base_path)
            base = AutoModel.from_pretrained(base_path, add_pooling_layer=False).eval()
            self.hidden_size = int(base.config.hidden_size)
            base_stages = [base.embeddings, *base.encoder.layer]
            self.loader = "transformers"
        self.branches: dict[str, _Branch] = {}
        # a task whose artifact blends a TF-IDF model (`ArtifactMeta.blend`): applied to its output in
        # `encode_many`, so every caller (the enricher, `groundswell nlp eval`) gets the same scores
        self.blends: dict[str, TextBlend] = {}
        for task, directory in tasks.items():
            meta = metas[task]
            stages = list(base_stages)
            display = f"{meta.task}-{meta.base}-head@{meta.version}"
            if (directory / "adapter").is_dir():
                merged = merge_lora(base_stages, directory / "adapter")
                if merged is None:  # an adapter `merge_lora` does not read: PEFT merges it
                    from peft import PeftModel
                    from transformers import AutoModel

                    tuned = AutoModel.from_pretrained(base_path, add_pooling_layer=False)
                    tuned = PeftModel.from_pretrained(tuned, str(directory / "adapter")).merge_and_unload()
                    merged = [tuned.embeddings, *tuned.encoder.layer]
                for k, module in enumerate(merged):
                    if not _same_weights(module.eval(), base_stages[k]):
                        stages[k] = module
                display = f"{meta.task}-{meta.base}-lora@{meta.version}"
            blend = TextBlend.from_meta(directory, meta)
            if blend is not None:
                self.blends[task] = blend
                display += blend.suffix
            head = nn.Linear(self.hidden_size, len(meta.labels))
            head.load_state_dict(load_file(str(directory / "head.safetensors")))
            self.branches[task] = _Branch(
                task, stages, head.eval(), meta.labels, _InputKind(meta.normalise, meta.max_length), display
            )
        if embedding_base is not None:
            self.branches[EMBEDDING] = _Branch(
                EMBEDDING,
                list(base_stages),
                None,
                (),
                _InputKind(False, EMBEDDING_MAX_LENGTH),
                str(embedding_base),
            )
        self._modules: dict[int, Any] = {}
        for branch in self.branches.values():
            for module in branch.stages:
                self._modules[id(module)] = module.to(device=device, dtype=self.dtype)
            if branch.head is not None:
                branch.head.to(device=device, dtype=self.dtype)
        self._sessions: dict[int, Any] = {}
        self._packed: Any = None  # nlp.packed.PackedStages, built on first use (CPU torch)
        # `prefetch`ed outputs, (token ids, output) -> raw row, taken by the next `encode_many` calls
        self._held: dict[tuple[tuple[int, ...], str], np.ndarray] = {}
        # rows of inputs already computed, token ids -> {output: row}, least recently used first
        # (`MEMO_SEQUENCES`; bf16 CPU torch only, see `_memo_rows`); 0 turns it off
        self.memo_sequences = MEMO_SEQUENCES
        self._memo: OrderedDict[tuple[int, ...], dict[str, np.ndarray]] = OrderedDict()
        self._memo_margin = BF16_MARGIN
        # token ids of texts already tokenised, per input kind (`_tokenise`)
        self._token_memo: dict[_InputKind, OrderedDict[str, tuple[int, ...]]] = {}
        if self.backend.startswith("onnx"):
            try:
                self._build_onnx(base.config)  # the ONNX backend loads through transformers (`lean` is None)
            except Exception as exc:  # an unwritable cache, a missing exporter: the same pass on torch
                logger.warning("ONNX backend unavailable (%s: %s); using torch", type(exc).__name__, exc)
                self._sessions.clear()
                self.backend = "torch"
        if self.backend == "torch" and device == "cpu":
            torch.set_num_threads(self.threads)
        self.precision = resolve_precision(precision, device, self.backend)
        shared = self.shared_layers()
        logger.info(
            "shared encoder on %s (%s %s, %d threads): branches %s, %d of %d stages shared by all",
            device,
            self.backend,
            self.precision,
            self.threads,
            ", ".join(self.branches),
            shared,
            len(base_stages),
        )

    # ---- introspection -------------------------------------------------------------------------
    def shared_layers(self) -> int:
        """How many leading stages (embeddings + layers) every branch shares."""
        branches = list(self.branches.values())
        count = 0
        for stage in zip(*(b.stages for b in branches), strict=True):
            if any(m is not stage[0] for m in stage):
                break
            count += 1
        return count

    def labels(self, output: str) -> tuple[str, ...]:
        return self.branches[output].labels

    def name(self, output: str) -> str:
        return self.branches[output].display

    # ---- encoding --------------------------------------------------------------------------------
    def encode(
        self, texts: Sequence[str], outputs: Collection[str], *, batch_size: int = 32
    ) -> dict[str, np.ndarray]:
        """Every requested output for every text, in the texts' order."""
        return self.encode_many([(texts, outputs)], batch_size=batch_size)[0]

    def prefetch(
        self,
        texts: Sequence[str],
        outputs: Collection[str],
        *,
        batch_size: int,
        more: Sequence[tuple[Sequence[str], Collection[str]]] = (),
    ) -> None:
        """Compute `outputs` of `texts` (and those of each (texts, outputs) request in `more`) now, in
        passes of `batch_size`, and hold them (replacing what was held): later `encode_many` calls take
        held rows instead of computing them. Worth it where a row does not depend on its batch (the
        packed CPU path: bit-identical in bf16) and larger passes are cheaper: the enricher encodes
        several of its batches at once, their target clauses included (with two threads, passes of 128
        texts cost less CPU per text than passes of 32; on one thread a clause cost ~1.5x per token in
        its batch's own small pass what it costs in the prefetch's)."""
        self._held = {}
        needs: dict[tuple[int, ...], set[str]] = {}
        for request_texts, request_outputs in [(texts, outputs), *more]:
            if not request_texts:
                continue
            for kind, names in self._by_kind(request_outputs).items():
                for seq in self._tokenise(list(request_texts), kind):
                    needs.setdefault(seq, set()).update(names)
        if needs:
            self._held = self._compute(needs, batch_size)

    def release(self) -> None:
        """Drop the rows `prefetch` held."""
        self._held = {}

    def _by_kind(self, outputs: Collection[str]) -> dict[_InputKind, list[str]]:
        by_kind: dict[_InputKind, list[str]] = {}
        for output in outputs:
            by_kind.setdefault(self.branches[output].kind, []).append(output)
        return by_kind

    def encode_many(
        self, requests: Sequence[tuple[Sequence[str], Collection[str]]], *, batch_size: int = 32
    ) -> list[dict[str, np.ndarray]]:
        """Several (texts, outputs) requests in one pass: identical inputs across requests are computed once."""
        unknown = {o for _, outs in requests for o in outs} - set(self.branches)
        if unknown:
            raise ValueError(
                f"unknown encoder outputs {sorted(unknown)}; available: {', '.join(self.branches)}"
            )
        needs: dict[tuple[int, ...], set[str]] = {}  # token ids -> outputs wanted for them
        keys: list[dict[str, list[tuple[int, ...]]]] = []
        for texts, outputs in requests:
            per_output: dict[str, list[tuple[int, ...]]] = {}
            for kind, names in self._by_kind(outputs).items():
                ids = self._tokenise(list(texts), kind)
                for name in names:
                    per_output[name] = ids
                for seq in ids:
                    needs.setdefault(seq, set()).update(names)
            keys.append(per_output)
        held = self._held
        results: dict[tuple[tuple[int, ...], str], np.ndarray] = {}
        if held:
            for seq, wanted in list(needs.items()):
                for name in [n for n in wanted if (seq, n) in held]:
                    results[(seq, name)] = held[(seq, name)]
                    wanted.discard(name)
                if not wanted:
                    del needs[seq]
        results.update(self._compute(needs, batch_size))
        out: list[dict[str, np.ndarray]] = []
        for (texts, _), per_output in zip(requests, keys, strict=True):
            arrays = {}
            for name, ids in per_output.items():
                width = len(self.branches[name].labels) if self.branches[name].head is not None else None
                rows = [results[(seq, name)] for seq in ids]
                arrays[name] = (
                    np.stack(rows).astype(np.float32)
                    if rows
                    else np.zeros((0, width or self._hidden()), dtype=np.float32)
                )
                if name in self.blends:
                    arrays[name] = self.blends[name].apply(arrays[name], list(texts))
            out.append(arrays)
        return out

    def _hidden(self) -> int:
        return self.hidden_size

    def _tokenise(self, texts: list[str], kind: _InputKind) -> list[tuple[int, ...]]:
        """The token ids of each text as `kind` reads it. A text's ids are its own (no padding), so the
        last `MEMO_SEQUENCES` texts' are kept per kind: the enricher's batches tokenise again the texts
        its prefetch tokenised, and a repeated text is tokenised once."""
        if not texts:
            return []
        known = self._token_memo.setdefault(kind, OrderedDict())
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            if kind.normalise:
                prepared = [self._normalise(t) for t in missing]
            else:
                prepared = [t.strip() for t in missing]
            enc = self.tokenizer(prepared, truncation=True, max_length=kind.max_length)
            for text, ids in zip(missing, enc["input_ids"], strict=True):
                known[text] = tuple(ids)
        out = [known[t] for t in texts]
        limit = max(self.memo_sequences, len(missing))
        while len(known) > limit:
            known.popitem(last=False)
        return out

    def _memo_rows(self) -> OrderedDict[tuple[int, ...], dict[str, np.ndarray]] | None:
        """The memo of computed rows where a row depends on its input alone: bf16 on the CPU torch
        path (bit-identical whatever its batch, `nlp.packed`; close calls recomputed in fp32 on one
        thread, also per row). None elsewhere (fp32 rows move ~1e-6 with their batch neighbours at two
        threads; CUDA and ONNX pad) or when `memo_sequences` is 0. Emptied when `BF16_MARGIN` changes."""
        if not (
            self.memo_sequences > 0
            and self.precision == "bf16"
            and self.backend == "torch"
            and self.device == "cpu"
        ):
            return None
        if self._memo_margin != BF16_MARGIN:
            self._memo.clear()
            self._memo_margin = BF16_MARGIN
        return self._memo

    def _compute(
        self, needs: dict[tuple[int, ...], set[str]], batch_size: int
    ) -> dict[tuple[tuple[int, ...], str], np.ndarray]:
        """The rows `needs` asks for: from the memo where it holds them, the rest computed (and kept)."""
        memo = self._memo_rows()
        if memo is None:
            return self._compute_rows(needs, batch_size)
        results: dict[tuple[tuple[int, ...], str], np.ndarray] = {}
        missing: dict[tuple[int, ...], set[str]] = {}
        for seq, wanted in needs.items():
            known = memo.get(seq)
            if known is not None:
                memo.move_to_end(seq)
                for name in wanted & known.keys():
                    results[(seq, name)] = known[name]
                wanted = wanted - known.keys()
            if wanted:
                missing[seq] = wanted
        if missing:
            computed = self._compute_rows(missing, batch_size)
            for (seq, name), row in computed.items():
                # a copy: a view would keep its whole batch's array alive
                memo.setdefault(seq, {})[name] = row = row.copy()
                memo.move_to_end(seq)
                results[(seq, name)] = row
        while len(memo) > self.memo_sequences:
            memo.popitem(last=False)
        return results

    def _compute_rows(
        self, needs: dict[tuple[int, ...], set[str]], batch_size: int
    ) -> dict[tuple[tuple[int, ...], str], np.ndarray]:
        groups: dict[frozenset[str], list[tuple[int, ...]]] = {}
        for seq, wanted in needs.items():
            groups.setdefault(frozenset(wanted), []).append(seq)
        if self.device == "cuda":
            batch_size = max(batch_size, GPU_MIN_BATCH)
        bf16 = self.precision == "bf16"
        results: dict[tuple[tuple[int, ...], str], np.ndarray] = {}
        close: dict[tuple[int, ...], set[str]] = {}  # bf16: sequence -> the classifiers to recompute
        for names, seqs in groups.items():
            seqs.sort(key=len)
            for start in range(0, len(seqs), batch_size):
                chunk = seqs[start : start + batch_size]
                if bf16:
                    outputs = self._forward_packed(chunk, sorted(names), dtype=_bfloat16())
                else:
                    outputs = self._forward(chunk, sorted(names))
                for name, values in outputs.items():
                    if bf16 and self.branches[name].head is not None:
                        top2 = np.sort(values, axis=1)[:, -2:]
                        for k in np.flatnonzero(top2[:, 1] - top2[:, 0] < BF16_MARGIN):
                            close.setdefault(chunk[k], set()).add(name)
                    for seq, row in zip(chunk, values, strict=True):
                        results[(seq, name)] = row
        if close:
            self._recompute_fp32(close, results)
        return results

    def _recompute_fp32(
        self,
        close: dict[tuple[int, ...], set[str]],
        results: dict[tuple[tuple[int, ...], str], np.ndarray],
    ) -> None:
        """fp32 decides the labels bf16 might get wrong (`BF16_MARGIN`): the close classifiers only, on
        one thread, where fp32 rows do not depend on their batch neighbours (`nlp.packed.MIN_ROWS`;
        with two threads the 1536-long products' sums follow the row count), so the result depends on
        the text alone."""
        import torch

        by_names: dict[frozenset[str], list[tuple[int, ...]]] = {}
        for seq, wanted in close.items():
            by_names.setdefault(frozenset(wanted), []).append(seq)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for names, seqs in by_names.items():
                for name, values in self._forward(seqs, sorted(names)).items():
                    for seq, row in zip(seqs, values, strict=True):
                        results[(seq, name)] = row
        finally:
            torch.set_num_threads(threads)

    def _forward(self, seqs: list[tuple[int, ...]], names: list[str]) -> dict[str, np.ndarray]:
        """fp32 (fp16 on CUDA) outputs of `seqs`: packed on the CPU torch backend, padded elsewhere."""
        if self.backend == "torch" and self.device == "cpu":
            return self._forward_packed(seqs, names)
        return self._forward_padded(seqs, names)

    def _forward_padded(self, seqs: list[tuple[int, ...]], names: list[str]) -> dict[str, np.ndarray]:
        """The outputs of `seqs` padded to one width with an attention mask (CUDA, ONNX Runtime)."""
        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id or 0
        ids = np.full((len(seqs), width), pad, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        for row, seq in enumerate(seqs):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        if self.backend.startswith("onnx"):
            return self._forward_onnx(ids, mask, names)
        return self._forward_torch(ids, mask, names)

    def _forward_torch(
        self, ids_np: np.ndarray, mask_np: np.ndarray, names: list[str]
    ) -> dict[str, np.ndarray]:
        import torch

        with torch.inference_mode():
            ids = torch.from_numpy(ids_np).to(self.device)
            mask = torch.from_numpy(mask_np).to(self.device)
            additive = (1.0 - mask[:, None, None, :].to(self.dtype)) * torch.finfo(self.dtype).min
            memo: dict[tuple[int, ...], torch.Tensor] = {}

            def hidden(branch: _Branch, upto: int) -> torch.Tensor:
                key = tuple(id(m) for m in branch.stages[: upto + 1])
                if key not in memo:
                    module = branch.stages[upto]
                    if upto == 0:
                        memo[key] = module(input_ids=ids)
                    else:
                        memo[key] = module(hidden(branch, upto - 1), attention_mask=additive)
                return memo[key]

            out = {}
            lasts = {name: hidden(self.branches[name], len(self.branches[name].stages) - 1) for name in names}
            weights = mask.unsqueeze(-1).to(self.dtype)
            for name, last in lasts.items():
                branch = self.branches[name]
                pooled = (last * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                if branch.head is None:
                    out[name] = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()
                else:
                    out[name] = torch.softmax(branch.head(pooled).float(), dim=-1).cpu().numpy()
        return out

    def _forward_packed(
        self, seqs: list[tuple[int, ...]], names: list[str], *, dtype: torch.dtype | None = None
    ) -> dict[str, np.ndarray]:
        """The outputs of `seqs` (in their order) computed packed (`nlp.packed`): packed sorted by
        length, so no padding token is computed; matrix products in `dtype` (default fp32)."""
        import torch

        from nlp.packed import Packing, mean_pool

        if self._packed is None:
            from nlp.packed import PackedStages

            self._packed = PackedStages()
        stages = self._packed
        dtype = dtype or torch.float32
        ordered = sorted(seqs, key=len)  # stable: a length-sorted chunk keeps its order
        packing = Packing.of(ordered)
        with torch.inference_mode():
            memo: dict[tuple[int, ...], torch.Tensor] = {}

            def hidden(branch: _Branch, upto: int) -> torch.Tensor:
                key = tuple(id(m) for m in branch.stages[: upto + 1])
                if key not in memo:
                    previous = hidden(branch, upto - 1) if upto > 0 else None
                    memo[key] = stages.forward(branch.stages[upto], previous, packing, dtype)
                return memo[key]

            row = {seq: k for k, seq in enumerate(ordered)}
            order = torch.tensor([row[seq] for seq in seqs], dtype=torch.long)
            out = {}
            for name in names:
                branch = self.branches[name]
                pooled = mean_pool(hidden(branch, len(branch.stages) - 1), packing)[order]
                if branch.head is None:
                    out[name] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
                else:
                    # the head as a per-row sum, not a matrix product (whose rounding follows the row count)
                    head = branch.head
                    logits = (pooled[:, None, :] * head.weight[None]).sum(-1) + head.bias
                    out[name] = torch.softmax(logits, dim=-1).numpy()
        return out

    # ---- ONNX Runtime ------------------------------------------------------------------------------
    def _forward_onnx(self, ids: np.ndarray, mask: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        additive = ((1.0 - mask[:, None, None, :].astype(np.float32)) * np.finfo(np.float32).min).astype(
            np.float32
        )
        memo: dict[tuple[int, ...], np.ndarray] = {}

        def hidden(branch: _Branch, upto: int) -> np.ndarray:
            key = tuple(id(m) for m in branch.stages[: upto + 1])
            if key not in memo:
                session = self._sessions[id(branch.stages[upto])]
                if upto == 0:
                    memo[key] = session.run(None, {"input_ids": ids})[0]
                else:
                    memo[key] = session.run(None, {"hidden": hidden(branch, upto - 1), "mask": additive})[0]
            return memo[key]

        weights = mask[:, :, None].astype(np.float32)
        out = {}
        for name in names:
            branch = self.branches[name]
            last = hidden(branch, len(branch.stages) - 1)
            pooled = (last * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
            if branch.head is None:
                out[name] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            else:
                w, b = self._head_arrays(branch)
                logits = pooled @ w.T + b
                logits -= logits.max(axis=1, keepdims=True)
                e = np.exp(logits)
                out[name] = e / e.sum(axis=1, keepdims=True)
        return out

    def _head_arrays(self, branch: _Branch) -> tuple[np.ndarray, np.ndarray]:
        cached = getattr(branch, "_np_head", None)
        if cached is None:
            assert branch.head is not None, f"{branch.name} has no classifier head"
            cached = (
                branch.head.weight.detach().float().cpu().numpy(),
                branch.head.bias.detach().float().cpu().numpy(),
            )
            branch._np_head = cached  # type: ignore[attr-defined]
        return cached

    def _build_onnx(self, config: Any) -> None:
        import onnxruntime as ort

        cache = (
            Path(os.environ.get("GROUNDSWELL_CACHE_DIR") or Path.home() / ".cache" / "groundswell") / "onnx"
        )
        cache.mkdir(parents=True, exist_ok=True)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_cpu_mem_arena = False  # the arena keeps the largest batch's buffers: 2x peak RSS
        # Each stage is its own session with its own thread pool, and by default a pool's threads spin
        # after every run: with 2 threads the idle pools of the other stages spun against the running
        # one, which made ONNX Runtime 2x slower than with 1 thread (benchmarks/bench_nlp.py). Waiting
        # threads sleep instead: the same CPU time per text at 1 and 2 threads.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        quantise = self.backend == "onnx-int8"
        stand_ins: dict[int, object] = {}
        for position, module in self._stage_positions():
            path = self._export(module, position == 0, config, cache, quantise=quantise and position > 0)
            stand_ins[id(module)] = stand_in = object()
            self._sessions[id(stand_in)] = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        # The sessions hold the weights now: drop the PyTorch copies, keep the branch structure.
        for branch in self.branches.values():
            branch.stages = [stand_ins[id(m)] for m in branch.stages]
        self._modules.clear()

    def _stage_positions(self) -> list[tuple[int, Any]]:
        seen: dict[int, tuple[int, Any]] = {}
        for branch in self.branches.values():
            for position, module in enumerate(branch.stages):
                seen.setdefault(id(module), (position, module))
        return list(seen.values())

    def _export(self, module: Any, is_embeddings: bool, config: Any, cache: Path, *, quantise: bool) -> Path:
        import onnxruntime as ort
        import torch

        digest = hashlib.sha256(f"{_ONNX_FORMAT}|{ort.__version__}|{torch.__version__}".encode())
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
        stem = digest.hexdigest()[:20]
        fp32 = cache / f"{stem}.onnx"
        target = cache / f"{stem}.int8.onnx" if quantise else fp32
        if target.exists():
            return target
        if not fp32.exists():
            tmp = fp32.with_suffix(f".{os.getpid()}.tmp")
            previous = config._attn_implementation
            config._attn_implementation = "eager"  # plain MatMul/Softmax: exports and quantises everywhere
            try:
                # The TorchScript exporter is deprecated in favour of torch.export (which needs onnxscript);
                # it still exports these plain layers exactly (tested against torch to 1e-4).
                with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", torch.jit.TracerWarning)
                    if is_embeddings:
                        wrapper = _stage_wrapper(module, True)
                        args: tuple[Any, ...] = (torch.ones((2, 8), dtype=torch.long),)
                        names, axes = ["input_ids"], {"input_ids": {0: "batch", 1: "seq"}}
                    else:
                        wrapper = _stage_wrapper(module, False)
                        args = (torch.zeros((2, 8, config.hidden_size)), torch.zeros((2, 1, 1, 8)))
                        names = ["hidden", "mask"]
                        axes = {"hidden": {0: "batch", 1: "seq"}, "mask": {0: "batch", 3: "seq"}}
                    torch.onnx.export(
                        wrapper,
                        args,
                        str(tmp),
                        input_names=names,
                        output_names=["out"],
                        dynamic_axes={**axes, "out": {0: "batch", 1: "seq"}},
                        opset_version=17,
                        dynamo=False,
                    )
            finally:
                config._attn_implementation = previous
            os.replace(tmp, fp32)
            logger.info("exported an encoder stage to %s", fp32)
        if quantise:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            quantize_dynamic(
                str(fp32),
                str(tmp),
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
                per_channel=True,
            )
            os.replace(tmp, target)
        return target

    # ---- classifier / embedder views -------------------------------------------------------------
    def classifier(self, task: str) -> EncoderClassifier:
        return EncoderClassifier(self, task)

    def embedder(self) -> EncoderEmbedder:
        return EncoderEmbedder(self)


def _loader() -> str:
    """`auto` (default): the CPU torch backend loads the base without transformers where it can
    (`nlp.lean_bert`); `transformers` (GROUNDSWELL_NLP_LOADER) always loads through transformers."""
    chosen = os.environ.get("GROUNDSWELL_NLP_LOADER") or "auto"
    if chosen not in ("auto", "transformers"):
        raise ValueError(f"GROUNDSWELL_NLP_LOADER '{chosen}' is not one of auto, transformers")
    return chosen


def _bfloat16() -> torch.dtype:
    import torch

    return torch.bfloat16


# The LoRA adapters `merge_lora` merges itself (what `nlp train` writes); any other is left to PEFT.
_PLAIN_LORA: dict[str, tuple[Any, ...]] = {
    "peft_type": ("LORA",),
    "use_dora": (False, None),
    "use_rslora": (False, None),
    "fan_in_fan_out": (False, None),
    "bias": ("none", None),
    "lora_bias": (False, None),
    "modules_to_save": (None,),
    "rank_pattern": ({}, None),
    "alpha_pattern": ({}, None),
    "layer_replication": (None,),
}
_LORA_KEY = re.compile(r"base_model\.model\.encoder\.layer\.(\d+)\.(.+)\.lora_([AB])\.weight")


def merge_lora(base_stages: Sequence[Any], adapter: Path) -> list[Any] | None:
    """The stages (embeddings, then each layer) of the base with a plain LoRA adapter merged in, as PEFT's
    `merge_and_unload` computes it (each adapted weight += (B @ A) * alpha / r; the same tensors,
    tests/test_nlp_encoder.py); a stage the adapter leaves alone is the base's own module. None for an
    adapter with anything else (DoRA, rsLoRA, biases, other modules, per-layer ranks).

    Importing PEFT and building its wrapper cost a worker process about 2-3 s of CPU at start-up."""
    import copy

    import torch
    from safetensors.torch import load_file

    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    if any(config.get(key) not in allowed for key, allowed in _PLAIN_LORA.items()):
        return None
    pairs: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    for key, tensor in load_file(str(adapter / "adapter_model.safetensors")).items():
        match = _LORA_KEY.fullmatch(key)
        if match is None:
            return None
        pairs.setdefault((int(match[1]), match[2]), {})[match[3]] = tensor
    scaling = config["lora_alpha"] / config["r"]
    stages = list(base_stages)
    with torch.no_grad():
        for (layer, path), weights in sorted(pairs.items()):
            if set(weights) != {"A", "B"} or layer + 1 >= len(stages):
                return None
            if stages[layer + 1] is base_stages[layer + 1]:
                stages[layer + 1] = copy.deepcopy(base_stages[layer + 1])
            linear = stages[layer + 1].get_submodule(path)
            delta = (weights["B"] @ weights["A"]) * scaling
            if delta.shape != linear.weight.shape:
                return None
            linear.weight.data += delta.to(linear.weight.dtype)
    return stages


def _same_weights(a: Any, b: Any) -> bool:
    import torch

    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _stage_wrapper(module: Any, is_embeddings: bool) -> Any:
    """An nn.Module with plain tensor inputs around an embeddings or layer stage, for the ONNX export."""
    from torch import nn

    class Embeddings(nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any) -> Any:
            return self.inner(input_ids=input_ids)

    class Layer(nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, hidden: Any, mask: Any) -> Any:
            return self.inner(hidden, attention_mask=mask)

    return Embeddings(module) if is_embeddings else Layer(module)


class EncoderClassifier:
    """A task of a `SharedEncoder` seen as a `Classifier` (`name`, `labels`, `predict_proba`)."""

    def __init__(self, encoder: SharedEncoder, task: str) -> None:
        self.encoder = encoder
        self.task = task
        self.labels = encoder.labels(task)
        self.name = encoder.name(task)

    def predict_proba(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        return self.encoder.encode(texts, [self.task], batch_size=batch_size)[self.task]


class EncoderEmbedder:
    """The shared encoder's sentence embedding with `SentenceTransformer.encode`'s calling convention."""

    def __init__(self, encoder: SharedEncoder) -> None:
        self.encoder = encoder

    def encode(self, texts: list[str], *, batch_size: int = 32, **_: Any) -> np.ndarray:
        return self.encoder.encode(texts, [EMBEDDING], batch_size=batch_size)[EMBEDDING]
