"""Benchmark: the act stage. Turn many shifts into tickets, re-run them, and fill + drain the outbox.

Prints events per second for the first run (opens tickets, writes the ledger), for a re-run of the
same events (the idempotent path every pipeline re-run takes), for the outbox delivery to a local
HTTP receiver, and peak memory. The baseline in the same run is a naive writer that stores one
document per event with no classification, deduplication, evidence or ledger, so the cost of doing
it properly is visible.

    .venv/bin/python benchmarks/bench_alerts.py [--events 2000] [--subjects 200] [--mentions 10]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

from alerts import Notifier, process_events
from groundswell.config import Config, parse_config
from groundswell.records import TrendEvent
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import T0, http_receiver, make_event, make_mention


def _config(subjects: int) -> Config:
    products = [{"id": f"acme-p{i}", "name": f"Acme product {i}"} for i in range(subjects)]
    return parse_config(
        {
            "brands": [{"id": "acme", "name": "Acme", "products": products}],
            "teams": [
                {
                    "id": "product-safety",
                    "name": "Safety",
                    "channels": [{"kind": "webhook", "url_env": "GS_BENCH_HOOK"}],
                },
                {"id": "competitive-intelligence", "name": "CI"},
                {"id": "communications", "name": "Comms"},
            ],
        }
    )


def _events(store: SqliteStore, n_events: int, subjects: int, per_event: int) -> list[TrendEvent]:
    events = []
    for e in range(n_events):
        subject = f"acme-p{e % subjects}"
        mentions = [
            make_mention(
                e * per_event + k,
                entity=subject,
                hazards=("defect",),
                severity=1,
                author=f"user{(e + k) % 997}",
            )
            for k in range(per_event)
        ]
        store.upsert_mentions(mentions)
        # several shifts per subject over time: later ones append evidence to the same ticket
        start = T0 + timedelta(days=e // subjects)
        events.append(
            make_event(
                subject, metric="negative_share", baseline=0.1, level=0.3, start=start, mentions=mentions
            )
        )
    return events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--subjects", type=int, default=200, help="distinct products (tickets)")
    parser.add_argument("--mentions", type=int, default=10, help="evidence mentions per event")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    folder = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    store = SqliteStore(folder / "bench.sqlite")
    config = _config(args.subjects)
    events = _events(store, args.events, args.subjects, args.mentions)
    now = T0 + timedelta(days=60)

    # baseline: one document per event, nothing else
    baseline_store = SqliteStore(folder / "baseline.sqlite")
    t0 = time.perf_counter()
    for event in events:
        baseline_store.put_doc("tickets", event.id, {"id": event.id, "subject": event.key, "state": "open"})
    baseline_s = time.perf_counter() - t0

    with http_receiver() as hook:
        os.environ["GS_BENCH_HOOK"] = hook.url
        tracemalloc.start()
        t0 = time.perf_counter()
        first = process_events(config, store, events, now=now, deliver=False)
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = Notifier.from_settings(config).deliver_pending(store, now=now)
        deliver_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = process_events(config, store, events, now=now + timedelta(hours=1))
        rerun_s = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        delivered = len(hook.delivered)

    n = len(events)
    print(f"events: {n} shifts over {args.subjects} subjects, {args.mentions} evidence mentions each")
    print(f"baseline (one doc per event, no dedup): {n / baseline_s:,.0f} events/s ({baseline_s:.2f} s)")
    print(
        f"process_events, first run:  {n / first_s:,.0f} events/s ({first_s:.2f} s): "
        f"{first.opened} opened, {first.updated} updated"
    )
    print(
        f"process_events, re-run:     {n / rerun_s:,.0f} events/s ({rerun_s:.2f} s): {again.unchanged} unchanged, {again.notified} notified"
    )
    print(
        f"outbox delivery:            {report.sent / deliver_s:,.0f} notifications/s ({report.sent} sent, {delivered} received)"
    )
    print(f"peak traced memory: {peak / 2**20:.1f} MiB")
    ok = (
        first.opened == args.subjects
        and again.unchanged == args.subjects
        and again.notified == 0
        and delivered == report.sent
    )
    if not ok:
        print("FAILED: re-run was not idempotent or deliveries were lost/duplicated", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
