"""Web UI latency at scale on the embedded store: page loads and searches over N synthetic mentions.

    .venv/bin/python benchmarks/bench_web.py              # 100k mentions (about 2 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_web.py --n 20000    # quicker

Builds a SQLite store in a temporary folder with `tests.kit.sample.synthetic_mentions(n)` (enriched,
with a planted shift, trend events and tickets), then times each page through the whole app
(routing, store queries, template rendering) with FastAPI's TestClient: median and p95 over
--repeat runs after one warm-up. Baseline, in the same run: the bare store call behind each
search page (`Store.search` with the same text and filters), so the UI's own overhead shows.
Prints insert throughput (mentions/s) and peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from groundswell.store.sqlite import SqliteStore
from tests.kit.sample import sample_config, sample_records, synthetic_mentions, write_records
from web.app import PAGE_SIZE, create_app
from web.query import parse_query

SEARCHES = {
    "search: empty (newest)": {"q": ""},
    "search: word": {"q": "kettle"},
    "search: phrase + OR + NOT": {"q": '"handle got too hot" OR lid -refund'},
    "search: word + field filters": {"q": "delivery brand:acme sentiment:negative kind:complaint lang:en"},
    "search: filters only, date range": {"q": "source:demo-forum after:2026-02-01 before:2026-02-15"},
    "search: page 40": {"q": "kettle", "page": "40"},
}


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm-up (page cache, template compilation)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="number of mentions (default 100000)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per page (default 7)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    load_before = os.getloadavg()[0]
    cpu0 = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        mentions, truth = synthetic_mentions(args.n, seed=args.seed)
        gen_s = time.perf_counter() - t0
        store = SqliteStore(Path(tmp) / "bench.sqlite")
        t0 = time.perf_counter()
        for i in range(0, len(mentions), 5000):
            store.upsert_mentions(mentions[i : i + 5000])
        insert_s = time.perf_counter() - t0
        events, tickets = sample_records(mentions, truth)
        write_records(store, events, tickets)
        total = store.count()
        print(
            f"mentions: {total:,} (generated in {gen_s:.1f} s; inserted in {insert_s:.1f} s = {total / insert_s:,.0f} mentions/s)"
        )

        config = sample_config()
        app = create_app(config, store)
        client = TestClient(app, base_url="http://127.0.0.1")
        forum = next(m for m in mentions if m.thread_id)
        pages = {
            "trends (90 days, 3 brands), cold": "/trends",
            "trends (90 days, 3 brands), cached": "/trends",
            "trends (week buckets, 1 year), cold": "/trends?bucket=week&days=365",
            "shift evidence": f"/trends/{events[0].id}",
            "tickets board": "/tickets",
            "ticket": f"/tickets/{tickets[0].id}",
            "mention + thread": f"/mentions/{forum.id}",
            "briefs": "/briefs",
        }
        rows: list[tuple[str, float, float, str]] = []
        for name, params in SEARCHES.items():
            page = int(params.get("page", "1"))
            parsed = parse_query(params["q"], config)

            def page_call(params: dict[str, str] = params) -> None:
                r = client.get("/search", params=params)
                assert r.status_code == 200, r.text[:500]

            def store_call(parsed=parsed, page: int = page) -> None:
                store.search(parsed.text, parsed.filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)

            med, p95 = _timed(page_call, args.repeat)
            bmed, _ = _timed(store_call, args.repeat)
            hits = store.search(parsed.text, parsed.filters, limit=1).total
            rows.append((name, med, p95, f"store.search alone {bmed:7.1f} ms; {hits:,} hits"))
        for name, url in pages.items():

            def get(url: str = url, cold: bool = name.endswith("cold")) -> None:
                if cold:  # the series cache only helps repeated views; time the aggregation too
                    app.state.ui._series_cache.clear()
                r = client.get(url)
                assert r.status_code == 200, r.text[:500]

            med, p95 = _timed(get, args.repeat)
            rows.append((name, med, p95, ""))
        store.close()

    print(f"{'page':36} {'median ms':>10} {'p95 ms':>9}  baseline")
    for name, med, p95, note in rows:
        print(f"{name:36} {med:10.1f} {p95:9.1f}  {note}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:,.0f} MiB")
    print(
        f"process CPU time {time.process_time() - cpu0:.1f} s; 1-minute load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after on {os.cpu_count()} cores (a busy machine inflates wall times)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
