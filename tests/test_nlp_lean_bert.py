"""The CPU encoder loaded without transformers (`nlp.lean_bert`): the same token ids and the same bits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nlp.classifier import ARTIFACTS_DIR, PACKAGED_MINILM, resolve_base
from nlp.encoder import EMBEDDING, SharedEncoder, bf16_native

TASKS = {"sentiment": ARTIFACTS_DIR / "sentiment", "emotion": ARTIFACTS_DIR / "emotion"}
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
# edge cases beside the tweets and reviews read from ../shared/data
EDGE_TEXTS = [
    "",
    " ",
    "\n\t",
    "😀🔥 loving it!!! 👍🏽👍🏽",
    "Café naïve résumé ÅNGSTRÖM straße",
    "中文字符和日本語のテキスト mixed with English",
    "[CLS] a [SEP] b [PAD] [MASK] [UNK] [cls]",
    "zero\u200bwidth\u00adsoft\ufeffbom \x00 control \x07 chars",
    "@acme_support my order http://t.co/abc never arrived #fail",
    "Worst customer service ever. " * 40,  # beyond both max lengths
    "supercalifragilisticexpialidocious " * 70,
    "a" * 3000,
]


def _reference_texts() -> list[str]:
    texts = list(EDGE_TEXTS)
    tweets = SHARED / "tweeteval" / "sentiment" / "val_text.txt"
    if tweets.is_file():
        texts += tweets.read_text(encoding="utf-8").splitlines()[:800]
    reviews = SHARED / "reviews" / "yelp_labelled.txt"
    if reviews.is_file():
        texts += [line.rsplit("\t", 1)[0] for line in reviews.read_text(encoding="utf-8").splitlines()[:300]]
    long = " ".join(texts[len(EDGE_TEXTS) :][:60])
    return [*texts, long, long[:1500]]


@pytest.fixture(scope="module")
def base_path() -> str:
    return resolve_base(PACKAGED_MINILM)


def test_token_ids_are_auto_tokenizer_s(base_path: str) -> None:
    from transformers import AutoTokenizer

    from nlp import lean_bert

    loaded = lean_bert.load(base_path)
    assert loaded is not None
    lean, _, _ = loaded
    reference = AutoTokenizer.from_pretrained(base_path)
    texts = _reference_texts()
    assert len(texts) > 1000 or not SHARED.is_dir()
    for max_length in (64, 256, 64, 8):  # the encoder switches between its input kinds' lengths
        ours = lean(texts, truncation=True, max_length=max_length)["input_ids"]
        theirs = reference(texts, truncation=True, max_length=max_length)["input_ids"]
        assert ours == theirs, max_length
        assert max(len(ids) for ids in ours) == max_length  # truncation was exercised
    assert lean.pad_token_id == reference.pad_token_id


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_outputs_are_bit_identical_to_the_transformers_loaded_encoder(
    precision: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    if precision == "bf16" and not bf16_native():
        pytest.skip("no bf16 units (AMX or AVX512-BF16) on this CPU")
    texts = _reference_texts()[:400]
    outputs = ["sentiment", "emotion", EMBEDDING]
    encoders, results = {}, {}
    for loader in ("auto", "transformers"):
        monkeypatch.setenv("GROUNDSWELL_NLP_LOADER", loader)
        encoder = SharedEncoder(
            TASKS, embedding_base=PACKAGED_MINILM, backend="torch", threads=1, precision=precision
        )
        encoders[loader] = encoder
        results[loader] = encoder.encode(texts, outputs, batch_size=32)
    lean, reference = encoders["auto"], encoders["transformers"]
    assert (lean.loader, reference.loader) == ("lean", "transformers")
    assert lean.shared_layers() == reference.shared_layers()
    for name in outputs:
        ours, theirs = lean.branches[name], reference.branches[name]
        for k, (a, b) in enumerate(zip(ours.stages, theirs.stages, strict=True)):
            sa, sb = a.state_dict(), b.state_dict()
            assert sa.keys() == sb.keys() and all(torch.equal(sa[key], sb[key]) for key in sa), (name, k)
        assert np.array_equal(results["auto"][name], results["transformers"][name]), name
        for kind in {b.kind for b in lean.branches.values()}:
            assert lean._tokenise(texts, kind) == reference._tokenise(texts, kind)


def test_lean_loader_stands_aside_where_it_cannot_vouch_for_the_files(base_path: str, tmp_path: Path) -> None:
    from nlp import lean_bert

    folder = tmp_path / "model"
    shutil.copytree(base_path, folder, ignore=shutil.ignore_patterns("model.safetensors", "1_Pooling"))
    (folder / "model.safetensors").symlink_to(Path(base_path) / "model.safetensors")
    assert lean_bert.load(str(folder)) is not None
    (folder / "tokenizer.json").rename(folder / "tokenizer.moved")
    assert lean_bert.load(str(folder)) is None  # no tokenizer.json
    (folder / "tokenizer.moved").rename(folder / "tokenizer.json")
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**tokenizer_config, "do_lower_case": False}))
    assert lean_bert.load(str(folder)) is None  # transformers would rebuild the normaliser
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    added = json.loads((folder / "tokenizer.json").read_text())["added_tokens"]
    listed = {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added}
    (folder / "tokenizer_config.json").write_text(
        json.dumps({**tokenizer_config, "added_tokens_decoder": listed})
    )
    assert lean_bert.load(str(folder)) is not None  # newer saves list tokenizer.json's added tokens again
    listed["30522"] = {**listed["0"], "content": "<extra>"}
    (folder / "tokenizer_config.json").write_text(
        json.dumps({**tokenizer_config, "added_tokens_decoder": listed})
    )
    assert lean_bert.load(str(folder)) is None  # a token AutoTokenizer would add
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "position_embedding_type": "relative_key"}))
    assert lean_bert.load(str(folder)) is None  # another architecture
    assert lean_bert.load(str(tmp_path / "nowhere")) is None
    assert lean_bert.load("sentence-transformers/all-MiniLM-L6-v2") is None  # a hub name


@pytest.mark.slow
def test_cpu_enrichment_of_a_few_mentions_imports_no_transformers(tmp_path: Path) -> None:
    # nor torch._dynamo (~1.5 CPU-s), which transformers' loading and modules built on the meta device import
    code = f"""
        import json, sys
        from datetime import UTC, datetime
        from groundswell.config import parse_config
        from groundswell.mention import Mention
        from nlp.enricher import Enricher

        config = parse_config({{"data_dir": {str(tmp_path)!r}, "nlp": {{"device": "cpu"}}}})
        enricher = Enricher.from_settings(config)
        texts = ["I love the new phone!", "@acme my order never arrived, furious", "the kettle caught fire"]
        out = enricher.enrich([
            Mention(source="demo-forum", source_kind="forum", url=f"https://f.example/{{k}}", external_id=str(k),
                    author="a", published=datetime(2026, 3, 1, tzinfo=UTC), text=text)
            for k, text in enumerate(texts)
        ])
        assert all(m.enriched and m.sentiment for m in out)
        heavy = [m for m in sys.modules if m.split(".")[0] in ("transformers", "peft") or m == "torch._dynamo"]
        print(json.dumps(sorted(heavy)))
    """
    env = {
        k: v for k, v in os.environ.items() if k not in ("GROUNDSWELL_NLP_LOADER", "GROUNDSWELL_NLP_BACKEND")
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**env, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
