"""Store benchmark: bulk indexing throughput and the latency of the trend and brief queries, both backends.

    .venv/bin/python benchmarks/bench_store.py                # 100k mentions, SQLite + osmem-server
    .venv/bin/python benchmarks/bench_store.py --n 20000 --backends sqlite
    .venv/bin/python benchmarks/bench_store.py --es-url http://localhost:9200   # a real Elasticsearch

Prints documents per second for bulk upserts, a baseline of one write per mention (no batching) on
a sample, the median latency of `series` (trend detector), `terms`, `top_terms` and `search` (brief,
web UI), and peak memory (this process; the osmem-server process when it is the server).
Without --es-url an osmem-server (in-memory, Elasticsearch-compatible) is started on loopback.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from groundswell.mention import Mention, TargetSentiment
from groundswell.store.base import Filters, Store
from groundswell.store.sqlite import SqliteStore

WORDS = (
    "kettle toaster blender battery charger screen delivery refund warranty price quality support app update "
    "overheating broken smoke fire burn noise leak crack shipping late fast cheap expensive love hate great awful "
    "recommend return replace customer service store order package box manual design colour size weight sound"
).split()


def make_mentions(n: int, seed: int = 7, days: int = 90) -> list[Mention]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    entities = [f"brand-{i}" for i in range(10)] + [f"product-{i}" for i in range(30)]
    sources = [f"source-{i}" for i in range(30)]
    out = []
    for i in range(n):
        named = rng.sample(entities, k=rng.choice((1, 1, 1, 2, 3)))
        sentiment = rng.choices(("negative", "neutral", "positive"), weights=(3, 4, 3))[0]
        score = {"negative": -rng.random(), "neutral": rng.uniform(-0.2, 0.2), "positive": rng.random()}[
            sentiment
        ]
        targets = (
            [TargetSentiment(entity=named[0], label="negative", score=-0.7)]
            if len(named) > 1 and rng.random() < 0.3
            else []
        )
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40)))
        hazard = rng.random() < 0.02
        out.append(
            Mention(
                source=rng.choice(sources),
                source_kind=rng.choice(("forum", "review", "news", "reddit")),
                url=f"https://example.org/m/{i}",
                author=f"user{rng.randint(0, 5000)}",
                author_reach=rng.randint(0, 100000),
                published=start + timedelta(seconds=rng.randint(0, days * 86400)),
                title=" ".join(rng.choice(WORDS) for _ in range(5)) if rng.random() < 0.4 else "",
                text=text,
                entities=named,
                sentiment=sentiment,
                sentiment_score=score,
                target_sentiments=targets,
                voc_kind=rng.choice(("complaint", "question", "compliment", "other", None)),
                business_area=rng.choice(("product", "delivery", "pricing", None)),
                topic_id=rng.randint(0, 24),
                topic_label=f"topic {rng.randint(0, 24)}",
                safety_hazards=["fire_burn"] if hazard else [],
                safety_severity=2 if hazard else 0,
                enriched=True,
            )
        )
    return out


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time in milliseconds over `repeat` runs (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def queries(store: Store, end: datetime) -> dict[str, Callable[[], Any]]:
    last_week = Filters(start=end - timedelta(days=7), end=end)
    baseline = Filters(start=end - timedelta(days=35), end=end - timedelta(days=7))
    return {
        "series day x entity (trends)": lambda: store.series("day", "entity"),
        "series week x source (trends)": lambda: store.series("week", "source"),
        "series day, one entity (trends)": lambda: store.series(
            "day", "entity", Filters(entities=("product-3",))
        ),
        "terms entities, last week (brief)": lambda: store.terms("entities", last_week, size=20),
        "terms source (brief)": lambda: store.terms("source", size=20),
        "top_terms last week (brief)": lambda: store.top_terms(last_week, size=20),
        "top_terms vs background (brief)": lambda: store.top_terms(
            Filters(start=last_week.start, end=end, entities=("product-3",), sentiments=("negative",)),
            background=baseline,
            size=20,
        ),
        "search 'overheating OR smoke' (web)": lambda: store.search("overheating OR smoke", limit=20),
        "search phrase + filters (web)": lambda: store.search(
            '"customer service" -refund', Filters(sentiments=("negative",)), limit=20
        ),
    }


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench(
    name: str,
    make_store: Callable[[], Store],
    mentions: list[Mention],
    chunk: int,
    baseline_n: int,
    repeat: int,
    server_pid: int | None,
) -> None:
    store = make_store()
    sample = mentions[:baseline_n]
    t0 = time.perf_counter()
    for m in sample:  # baseline: one write per mention, no batching
        store.upsert_mentions([m])
    baseline_rate = len(sample) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    written = 0
    for i in range(0, len(mentions), chunk):
        written += store.upsert_mentions(mentions[i : i + chunk]).written
    elapsed = time.perf_counter() - t0
    assert store.count() == len(mentions), f"{name}: {store.count()} stored, {len(mentions)} expected"
    print(f"\n== {name}: {len(mentions)} mentions")
    print(f"bulk upsert ({chunk}/call):       {written / elapsed:9.0f} docs/s  ({elapsed:.1f} s)")
    print(f"baseline, one per call ({len(sample)}): {baseline_rate:9.0f} docs/s")
    end = max(m.published for m in mentions)
    for label, fn in queries(store, end).items():
        print(f"{label:38s} {timed(fn, repeat):9.1f} ms")
    print(f"peak RSS of this process:        {rss_mb():9.0f} MB")
    if server_pid:
        print(f"peak RSS of osmem-server:        {process_peak_mb(server_pid):9.0f} MB")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="mentions to index")
    parser.add_argument("--chunk", type=int, default=2000, help="mentions per upsert call")
    parser.add_argument(
        "--baseline", type=int, default=1000, help="mentions written one by one for the baseline"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per query (median reported)")
    parser.add_argument("--backends", default="sqlite,elasticsearch")
    parser.add_argument("--es-url", default=None, help="a real Elasticsearch (default: start osmem-server)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    mentions = make_mentions(args.n)
    print(f"generated {len(mentions)} mentions in {time.perf_counter() - t0:.1f} s")
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in backends:
            bench(
                "sqlite (file, WAL)",
                lambda: SqliteStore(Path(tmp) / "bench.sqlite"),
                mentions,
                args.chunk,
                args.baseline,
                args.repeat,
                None,
            )
        if "elasticsearch" in backends:
            bench_es(args, mentions, Path(tmp))


def bench_es(args: argparse.Namespace, mentions: list[Mention], tmp: Path) -> None:
    from elasticsearch import Elasticsearch

    from index_mappings.store import ElasticsearchStore
    from index_mappings.templates import install

    process = None
    if args.es_url:
        client = Elasticsearch(args.es_url, request_timeout=120)
        label = f"elasticsearch at {args.es_url}"
    else:
        from osmem_server import resolve_binary

        from tests.kit.es import CompatNode, free_port

        port = free_port()
        process = subprocess.Popen(
            [resolve_binary(), "-addr", f"127.0.0.1:{port}", "-no-stdin-watch", "-no-ja"],
            stdout=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        client = Elasticsearch(url, node_class=CompatNode, request_timeout=120)
        label = "elasticsearch API on osmem-server (in memory)"
    try:
        install(client, "bench")
        bench(
            label,
            lambda: ElasticsearchStore(
                client, index_prefix="bench", dead_letter_path=tmp / "dead.ndjson", chunk_size=args.chunk
            ),
            mentions,
            args.chunk,
            args.baseline,
            args.repeat,
            process.pid if process else None,
        )
    finally:
        if process:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
