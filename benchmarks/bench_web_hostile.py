"""Search latency under load with one hostile query in flight (issue 17).

    .venv/bin/python benchmarks/bench_web_hostile.py                    # 20k mentions, 2,000 searches, concurrency 20
    .venv/bin/python benchmarks/bench_web_hostile.py --hostile none     # the same load without the hostile query
    .venv/bin/python benchmarks/bench_web_hostile.py --hostile bounded  # the slowest query the bounds still accept

Builds a SQLite store in a temporary folder with `tests.kit.sample.synthetic_mentions(n)`, serves the
web UI with uvicorn on a free loopback port (a real server: the event loop, the thread pool and the
store's connections are what is measured), then sends `--searches` ordinary searches from
`--concurrency` client threads while one hostile search runs alongside:

- `words`: the issue's probe, 2,000 repeated words in one GET (a 14 KB URL);
- `parens`: 5,000 `(`;
- `bounded`: the most expensive query the query bounds accept (many OR'ed prefixes);
- `none`: no hostile query (the baseline).

Prints p50/p95/max of the ordinary searches, their status counts and errors, and how the hostile
query was answered (status, seconds).
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn

from groundswell.store.sqlite import SqliteStore
from tests.kit.sample import sample_config, sample_records, synthetic_mentions, write_records
from web.app import create_app

ORDINARY = [
    {"q": "kettle"},
    {"q": '"handle got too hot" OR lid -refund'},
    {"q": "delivery brand:acme sentiment:negative"},
    {"q": ""},
    {"q": "overheat*"},
]


def hostile_query(kind: str) -> str | None:
    if kind == "words":  # FTS5 work grows with the square of the repeats: ~50 s for 1,000 on 20k mentions
        return " ".join(["kettle"] * 2000)
    if kind == "parens":
        return "(" * 5000
    if kind == "bounded":
        letters = "abcdefghijklmnopqrstuvwxyz"
        return " OR ".join(f"{a}*" for a in letters)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000, help="number of mentions (default 20000)")
    parser.add_argument("--searches", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--hostile", choices=("words", "parens", "bounded", "none"), default="words")
    parser.add_argument(
        "--hostile-timeout", type=float, default=180.0, help="client timeout of the hostile GET"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        mentions, truth = synthetic_mentions(args.n, seed=args.seed)
        store = SqliteStore(Path(tmp) / "bench.sqlite")
        for i in range(0, len(mentions), 5000):
            store.upsert_mentions(mentions[i : i + 5000])
        events, tickets = sample_records(mentions, truth)
        write_records(store, events, tickets)
        app = create_app(sample_config(), store)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        print(f"{store.count():,} mentions; server on {base}; hostile query: {args.hostile}")

        hostile: dict[str, object] = {}
        hostile_q = hostile_query(args.hostile)

        def run_hostile() -> None:
            t0 = time.perf_counter()
            try:
                r = httpx.get(f"{base}/search", params={"q": hostile_q}, timeout=args.hostile_timeout)
                hostile["status"] = r.status_code
            except httpx.HTTPError as err:
                hostile["status"] = f"{type(err).__name__}"
            hostile["seconds"] = time.perf_counter() - t0

        hostile_thread = None
        if hostile_q is not None:
            hostile_thread = threading.Thread(target=run_hostile, daemon=True)
            hostile_thread.start()
            time.sleep(0.5)  # let it reach the store first

        latencies: list[float] = []
        statuses: dict[str, int] = {}
        lock = threading.Lock()

        def one(i: int, client: httpx.Client) -> None:
            t0 = time.perf_counter()
            try:
                status = str(client.get("/search", params=ORDINARY[i % len(ORDINARY)]).status_code)
            except httpx.HTTPError as err:
                status = type(err).__name__
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(ms)
                statuses[status] = statuses.get(status, 0) + 1

        t0 = time.perf_counter()
        with (
            httpx.Client(
                base_url=base, timeout=300.0, limits=httpx.Limits(max_connections=args.concurrency)
            ) as c,
            ThreadPoolExecutor(args.concurrency) as pool,
        ):
            list(pool.map(lambda i: one(i, c), range(args.searches)))
        wall = time.perf_counter() - t0
        if hostile_thread is not None:
            hostile_thread.join(args.hostile_timeout + 5)
        server.should_exit = True
        thread.join(10)
        store.close()

    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    errors = sum(n for s, n in statuses.items() if s != "200")
    print(
        f"{args.searches} searches at concurrency {args.concurrency} in {wall:.1f} s: "
        f"p50 {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms; "
        f"statuses {dict(sorted(statuses.items()))}; errors {errors}"
    )
    if hostile_q is not None:
        seconds = hostile.get("seconds")
        print(
            f"hostile query ({len(hostile_q):,} characters): status {hostile.get('status', 'still running')}"
            + (f" after {seconds:.1f} s" if isinstance(seconds, float) else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
