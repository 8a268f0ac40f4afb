"""MiniLM (BERT) stages on packed sequences: no padding token is ever computed (CPU torch path).

A batch of token sequences of different lengths is one `[total_tokens, hidden]` matrix: the linear
layers (query/key/value fused into one product, attention output, feed-forward) run on it whole, and
attention runs per group of sequences of one length (they are sorted by length, so a group is a run of
consecutive rows and needs no mask). Mean pooling sums each sequence's own rows.

Each row's result therefore depends on its own sequence only, not on how long or how many its batch
neighbours are. In bf16 (oneDNN on AMX) the rows are bit-identical whatever the batch, position or
thread count (tests/test_nlp_encoder.py), once the one product whose rounding followed the row count
is split (`_layer`): bf16 scores do not depend on batching or partitioning. In fp32 rows agree to
~1e-6 (the fp32 matrix products pick their kernels by matrix size).

Kept apart from `nlp.encoder` because it imports torch at module level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

# Matrix products get at least this many rows. On one thread, fp32 rows were then bit-identical for
# every row count 16-2096 (fewer rows: another kernel, ~1e-6 apart); bf16 rows for every count once
# the 1536-long product is split (`_layer`).
MIN_ROWS = 16


@dataclass(frozen=True)
class Packing:
    """Where each sequence lies in the packed rows: `groups` are (first row, sequences, length) runs of
    sequences of one length, in row order."""

    lengths: tuple[int, ...]
    groups: tuple[tuple[int, int, int], ...]
    input_ids: torch.Tensor  # [total_tokens]
    positions: torch.Tensor  # [total_tokens]

    @classmethod
    def of(cls, seqs: list[tuple[int, ...]], device: str = "cpu") -> Packing:
        """Pack `seqs` in their order; sequences of one length must be consecutive (sort them by length)."""
        groups: list[tuple[int, int, int]] = []
        row = 0
        for seq in seqs:
            length = len(seq)
            if length == 0:
                raise ValueError("an empty token sequence cannot be encoded (the tokenizer adds [CLS] [SEP])")
            if groups and groups[-1][2] == length and groups[-1][0] + groups[-1][1] * length == row:
                first, count, _ = groups[-1]
                groups[-1] = (first, count + 1, length)
            else:
                groups.append((row, 1, length))
            row += length
        ids = torch.tensor([t for seq in seqs for t in seq], dtype=torch.long, device=device)
        positions = torch.cat([torch.arange(len(s), device=device) for s in seqs])
        return cls(tuple(len(s) for s in seqs), tuple(groups), ids, positions)


@dataclass
class _Embeddings:
    word: torch.Tensor
    position: torch.Tensor
    token_type: torch.Tensor  # row 0: every input is one segment
    ln_weight: torch.Tensor
    ln_bias: torch.Tensor
    eps: float


@dataclass
class _Layer:
    qkv_weight: torch.Tensor  # [3 * hidden, hidden]: query, key, value in one product
    qkv_bias: torch.Tensor
    out_weight: torch.Tensor
    out_bias: torch.Tensor
    ln1_weight: torch.Tensor
    ln1_bias: torch.Tensor
    ln1_eps: float
    # the whole feed-forward matrices where it is not computed in blocks (fp32); None in bf16, where
    # `up_blocks` and `down_blocks` hold them
    up_weight: torch.Tensor | None
    up_bias: torch.Tensor | None
    act: Any
    down_weight: torch.Tensor | None
    down_bias: torch.Tensor
    # bf16: the down projection as products over `hidden`-long slices of its input, summed in fp32
    # (see `_layer`); empty in fp32
    down_blocks: tuple[torch.Tensor, ...]
    # bf16: the up projection as the products giving those slices (rows of `up_weight`, with their
    # bias), so each slice is its own contiguous matrix; empty in fp32
    up_blocks: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    ln2_weight: torch.Tensor
    ln2_bias: torch.Tensor
    ln2_eps: float
    heads: int


class PackedStages:
    """Packed forward passes of the stages (an embeddings module or a BERT layer) of a `SharedEncoder`.

    Weights are copied once per stage and matrix dtype (`torch.float32` or `torch.bfloat16`); layer
    norms, attention, the residual stream and pooling stay fp32 in both.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[int, torch.dtype], _Embeddings | _Layer] = {}

    def forward(
        self, module: Any, hidden: torch.Tensor | None, packing: Packing, dtype: torch.dtype
    ) -> torch.Tensor:
        """The stage's output rows: `hidden` is the previous stage's output (None for the embeddings)."""
        weights = self._weights(module, dtype)
        if isinstance(weights, _Embeddings):
            return _embeddings(weights, packing)
        assert hidden is not None, "a transformer layer needs the previous stage's output"
        return _layer(weights, hidden, packing, dtype)

    def _weights(self, module: Any, dtype: torch.dtype) -> _Embeddings | _Layer:
        key = (id(module), dtype)
        cached = self._cache.get(key)
        if cached is None:
            cached = _copy_weights(module, dtype)
            self._cache[key] = cached
        return cached


def mean_pool(hidden: torch.Tensor, packing: Packing) -> torch.Tensor:
    """[sequences, hidden]: each sequence's rows averaged (as attention-masked mean pooling does)."""
    parts = []
    for first, count, length in packing.groups:
        rows = hidden[first : first + count * length].view(count, length, -1)
        parts.append(rows.sum(1) / length)
    return torch.cat(parts)


def _copy_weights(module: Any, dtype: torch.dtype) -> _Embeddings | _Layer:
    def cast(t: torch.Tensor) -> torch.Tensor:
        return t.detach().to(dtype).contiguous()

    def keep(t: torch.Tensor) -> torch.Tensor:
        return t.detach().float().contiguous()

    if hasattr(module, "word_embeddings"):
        return _Embeddings(
            keep(module.word_embeddings.weight),
            keep(module.position_embeddings.weight),
            keep(module.token_type_embeddings.weight[0]),
            keep(module.LayerNorm.weight),
            keep(module.LayerNorm.bias),
            float(module.LayerNorm.eps),
        )
    attention = module.attention
    hidden = int(attention.output.dense.out_features)
    down = module.output.dense
    blocked = dtype == torch.bfloat16 and down.in_features % hidden == 0
    q, k, v = attention.self.query, attention.self.key, attention.self.value
    return _Layer(
        qkv_weight=_prepack(cast(torch.cat([q.weight, k.weight, v.weight]))),
        qkv_bias=cast(torch.cat([q.bias, k.bias, v.bias])),
        out_weight=_prepack(cast(attention.output.dense.weight)),
        out_bias=cast(attention.output.dense.bias),
        ln1_weight=keep(attention.output.LayerNorm.weight),
        ln1_bias=keep(attention.output.LayerNorm.bias),
        ln1_eps=float(attention.output.LayerNorm.eps),
        up_weight=None if blocked else _prepack(cast(module.intermediate.dense.weight)),
        up_bias=None if blocked else cast(module.intermediate.dense.bias),
        act=module.intermediate.intermediate_act_fn,
        down_weight=None if blocked else cast(down.weight),
        down_bias=keep(down.bias) if blocked else cast(down.bias),
        down_blocks=_blocks(cast(down.weight), down.in_features // hidden) if blocked else (),
        up_blocks=_row_blocks(module.intermediate.dense, down.in_features // hidden, dtype)
        if blocked
        else (),
        ln2_weight=keep(module.output.LayerNorm.weight),
        ln2_bias=keep(module.output.LayerNorm.bias),
        ln2_eps=float(module.output.LayerNorm.eps),
        heads=int(attention.self.num_attention_heads),
    )


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """`F.linear` on at least `MIN_ROWS` rows (zero rows added and dropped): with fewer rows the fp32
    products take another kernel whose sums round differently (~1e-6), so a short text alone would
    not get what it gets among others. A weight `_prepack`ed for oneDNN goes to oneDNN's linear."""
    rows = x.shape[0]
    if rows < MIN_ROWS:
        x = torch.cat([x, x.new_zeros(MIN_ROWS - rows, x.shape[1])])
    if weight.is_mkldnn:
        out = torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
    else:
        out = F.linear(x, weight, bias)
    return out if rows >= MIN_ROWS else out[:rows]


def _prepack(weight: torch.Tensor) -> torch.Tensor:
    """A bf16 weight reordered once into oneDNN's blocked layout, for `_linear`: `F.linear` reached the
    same oneDNN product through `addmm` and its checks on every call, and passed the plain weight to
    be reordered each time. The same bits as `F.linear` for every row count 1-2200, 4096 and 8000 at 1
    and 2 threads, column-block inputs included (/work/notes/r8/speed8.md); ~20% less CPU per product.
    The plain weight where PyTorch has no oneDNN."""
    if weight.dtype != torch.bfloat16 or not torch.backends.mkldnn.is_available():
        return weight
    try:
        return torch.ops.mkldnn._reorder_linear_weight(weight, None)
    except (RuntimeError, AttributeError):  # pragma: no cover - a PyTorch without the op
        return weight


def _blocks(weight: torch.Tensor, count: int) -> tuple[torch.Tensor, ...]:
    """`weight`'s columns in `count` equal contiguous blocks."""
    return tuple(_prepack(block.contiguous()) for block in weight.chunk(count, dim=1))


def _row_blocks(dense: Any, count: int, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """`dense`'s output rows in `count` equal blocks: (weight, bias) of each, cast and prepacked."""
    weights = dense.weight.detach().to(dtype).chunk(count, dim=0)
    biases = dense.bias.detach().to(dtype).chunk(count, dim=0)
    return tuple((_prepack(w.contiguous()), b.contiguous()) for w, b in zip(weights, biases, strict=True))


def _embeddings(w: _Embeddings, packing: Packing) -> torch.Tensor:
    x = w.word[packing.input_ids] + w.token_type
    x = x + w.position[packing.positions]
    return F.layer_norm(x, (x.shape[-1],), w.ln_weight, w.ln_bias, w.eps)


def _layer(w: _Layer, x: torch.Tensor, packing: Packing, dtype: torch.dtype) -> torch.Tensor:
    hidden = x.shape[-1]
    head_size = hidden // w.heads
    qkv = _linear(x.to(dtype), w.qkv_weight, w.qkv_bias).float()
    # each group's attention (fp32) written straight into the matrix dtype: one copy, rounded as `.to`
    context = x.new_empty(x.shape, dtype=dtype)
    for first, count, length in packing.groups:
        rows = slice(first, first + count * length)
        q, k, v = qkv[rows].view(count, length, 3, w.heads, head_size).permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v)  # [count, heads, length, head]
        context[rows].view(count, length, w.heads, head_size).copy_(out.transpose(1, 2))
    attended = _linear(context, w.out_weight, w.out_bias)
    x = F.layer_norm(attended + x, (hidden,), w.ln1_weight, w.ln1_bias, w.ln1_eps)
    down = _feed_forward(w, x, dtype)
    return F.layer_norm(down + x, (hidden,), w.ln2_weight, w.ln2_bias, w.ln2_eps)


def _feed_forward(w: _Layer, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The layer's feed-forward output (up projection, activation, down projection) before the residual."""
    if w.down_blocks:
        # In bf16, oneDNN's products whose reduction is 1536 long (the down projection) order their
        # sums by the number of rows: 1-5 outputs in a million came out one bf16 step apart between
        # batch sizes. Products over 384 never did (every row count 1-2048, 1 and 2 threads), so the
        # down projection is four such products summed in fp32: each row's result is its own.
        # Their inputs, the up projection's four 384-wide column slices, are computed as four products
        # (the same bits as the slices of the whole product: /work/notes/r9/speed9.md), each its own
        # contiguous matrix: oneDNN copied a column slice into one before multiplying.
        inputs = x.to(dtype)
        parts = (
            _linear(w.act(_linear(inputs, up_weight, up_bias)), block)
            for (up_weight, up_bias), block in zip(w.up_blocks, w.down_blocks, strict=True)
        )
        down = next(parts).float()
        for part in parts:
            down += part
        down += w.down_bias
    else:
        assert w.up_weight is not None and w.down_weight is not None  # set where not blocked
        up = w.act(_linear(x.to(dtype), w.up_weight, w.up_bias))
        down = _linear(up, w.down_weight, w.down_bias)
    return down
