"""Benchmark: build the weekly market brief for a synthetic market of a few thousand mentions.

Prints the time to gather the data, draw the charts and render the HTML, print the PDF, the PDF's
page count, the week's mentions per second, and peak memory. The baseline in the same run is the
HTML-only brief (`pdf=False`), so the cost of printing the PDF is visible on its own.

    .venv/bin/python benchmarks/bench_brief.py [--per-week 600] [--weeks 8] [--out /tmp/bench-brief]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

from brief.build import BriefBuilder
from brief.data import collect_brief_data
from groundswell.store.sqlite import SqliteStore
from tests.kit.sample import make_market, synthetic_config

WEEK = date(2026, 11, 16)
NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--per-week", type=int, default=600, help="mentions per week (the last week gets a third more)"
    )
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument(
        "--out", type=Path, default=None, help="where to write the briefs (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    out = args.out or Path(tempfile.mkdtemp(prefix="bench-brief-"))
    store = SqliteStore(out / "bench.sqlite")
    t0 = time.perf_counter()
    make_market(store, week_start=WEEK, seed=42, per_week=args.per_week, weeks=args.weeks)
    total = store.count()
    print(
        f"synthetic market: {total} mentions over {args.weeks} weeks, written in {time.perf_counter() - t0:.1f}s"
    )
    config = synthetic_config(out)
    builder = BriefBuilder(config, output_dir=out)

    # warm-up: imports (matplotlib, WeasyPrint, fonts) are paid once per process, not per brief
    t0 = time.perf_counter()
    builder.build(store, week_start=WEEK, out_dir=out / "warmup", pdf=True, now=NOW)
    print(f"first brief in this process (imports, font cache): {time.perf_counter() - t0:.2f}s")

    t0 = time.perf_counter()
    data = collect_brief_data(config, store, WEEK, now=NOW)
    t_data = time.perf_counter() - t0
    t0 = time.perf_counter()
    html = builder.render_html(data, builder.draw_charts(data))
    t_html = time.perf_counter() - t0
    c0 = time.process_time()
    baseline = builder.build(store, week_start=WEEK, out_dir=out / "html-only", pdf=False, now=NOW)
    c1 = time.process_time()
    full = builder.build(store, week_start=WEEK, out_dir=out / "full", pdf=True, now=NOW)
    c2 = time.process_time()

    # peak memory in a separate run: tracemalloc slows allocation-heavy code (matplotlib) several-fold
    tracemalloc.start()
    builder.build(store, week_start=WEEK, out_dir=out / "traced", pdf=True, now=NOW)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    assert full.pdf_path is not None
    print(
        f"week of {WEEK}: {full.mentions} mentions, {len(data.evidence)} evidence items, {len(html) / 1024:.0f} KiB of HTML"
    )
    print(f"  gather data from the store : {t_data:6.2f}s")
    print(f"  charts + HTML              : {t_html:6.2f}s")
    # CPU time next to wall time: on a shared machine the wall time also measures the neighbours
    print(
        f"baseline (HTML only)         : {baseline.seconds:6.2f}s wall, {c1 - c0:5.2f}s CPU "
        f"({full.mentions / baseline.seconds:,.0f} mentions/s)"
    )
    print(
        f"full brief (HTML + PDF)      : {full.seconds:6.2f}s wall, {c2 - c1:5.2f}s CPU "
        f"({full.mentions / full.seconds:,.0f} mentions/s)"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"PDF: {full.pages} pages, {full.pdf_path.stat().st_size / 1024:.0f} KiB -> {full.pdf_path}")
    print(
        f"peak memory of one full brief: {peak / 2**20:.1f} MiB traced Python allocations; process max RSS {rss_mb:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
