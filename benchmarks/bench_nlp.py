"""Throughput and peak memory of the full NLP enrichment (language, entities, sentiment, per-target
sentiment, emotion, topics, VoC, area, safety), on CPU at a few batch sizes and on GPU when present.

    .venv/bin/python benchmarks/bench_nlp.py [--n 512] [--batch-sizes 8,32,64] [--threads 2]

Each configuration runs in its own process so that its peak RSS is its own. The baseline printed
beside it is VADER + the same rules (no transformers): the floor any model-based enrichment costs
are compared with. Texts are real review sentences and tweets from ../shared/data when present,
otherwise generated sentences.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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


def texts(n: int) -> list[str]:
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


def run_one(kind: str, batch: int, n: int, device: str, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from groundswell.config import parse_config

    data = Path("/tmp") / f"gs-bench-nlp-{os.getpid()}"
    items = mentions(n)
    if kind == "baseline":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        from nlp import safety, voc

        analyzer = SentimentIntensityAnalyzer()
        started = time.perf_counter()
        for m in items:
            c = analyzer.polarity_scores(m.text)["compound"]
            label = "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"
            m.voc_kind = voc.voc_kind(m.text, sentiment=label, sentiment_score=c)
            m.business_area = voc.business_area(m.text)
            m.safety_hazards = safety.detect_safety(m.text).hazards
        elapsed = time.perf_counter() - started
        load = 0.0
    else:
        from nlp.enricher import Enricher

        config = parse_config(
            {**CONFIG, "data_dir": str(data), "nlp": {"batch_size": batch, "device": device}}
        )
        t0 = time.perf_counter()
        enricher = Enricher.from_settings(config)
        load = time.perf_counter() - t0
        enricher.enrich(mentions(min(batch, n)))  # warm-up
        started = time.perf_counter()
        enricher.enrich(items)
        elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_mb = 0.0
    if device == "cuda":
        gpu_mb = torch.cuda.max_memory_allocated() / 2**20
    return {
        "kind": kind,
        "device": device,
        "batch": batch,
        "n": n,
        "seconds": round(elapsed, 2),
        "per_second": round(n / elapsed, 1),
        "load_seconds": round(load, 1),
        "peak_rss_mb": round(peak_mb),
        "peak_gpu_mb": round(gpu_mb),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=512, help="mentions per run")
    parser.add_argument("--batch-sizes", default="8,32,64")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # kind:device:batch, run in a child
    args = parser.parse_args()
    if args.one:
        kind, device, batch = args.one.split(":")
        print(json.dumps(run_one(kind, int(batch), args.n, device, args.threads)))
        return 0

    import torch

    runs = [("baseline", "cpu", 0)] + [("full", "cpu", int(b)) for b in args.batch_sizes.split(",")]
    if torch.cuda.is_available():
        runs += [("full", "cuda", b) for b in (32, 128, 512)]
    else:
        print("no CUDA device: GPU path not measured")
    print(
        f"NLP enrichment benchmark: {args.n} mentions per run, torch threads {args.threads}, cpu count {os.cpu_count()}"
    )
    print(
        f"{'run':<10}{'device':<8}{'batch':>6}{'mentions/s':>12}{'seconds':>9}{'load s':>8}{'peak RSS MB':>13}{'peak GPU MB':>13}"
    )
    for kind, device, batch in runs:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                f"{kind}:{device}:{batch}",
                "--n",
                str(args.n),
                "--threads",
                str(args.threads),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(f"{kind} {device} {batch}: FAILED\n{proc.stderr[-2000:]}")
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{r['kind']:<10}{r['device']:<8}{r['batch']:>6}{r['per_second']:>12}{r['seconds']:>9}{r['load_seconds']:>8}{r['peak_rss_mb']:>13}{r['peak_gpu_mb']:>13}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
