"""Crawl benchmark: pages/s and items/s of the Scrapy web spiders on the full demo web served on loopback.

    .venv/bin/python benchmarks/bench_crawl.py [--weeks 9] [--seed 7]

For each web source of the demo (forum, reviews, news, sitemap) it runs `python -m crawlers.web.run`
three ways and prints one row each:
- cold: empty HTTP cache and crawl state (a first crawl);
- rerun: the same again (incremental: conditional requests, unchanged threads/pages skipped);
- baseline: a plain sequential fetch of the same number of pages with urllib (no parsing, no
  politeness), to show what the crawler's robots/throttle/cache/parsing cost on top of raw HTTP.
Peak memory is the largest resident set of the crawler processes (ru_maxrss of the children).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from groundswell.app.demo import build_market, demo_config, serve_market  # noqa: E402

SOURCES = ("demo-forum", "demo-reviews", "demo-news", "demo-sitemap")


def crawl(config: Path, source: str, out: Path, state: Path) -> dict[str, object]:
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawlers.web.run",
            "--config",
            str(config),
            "--source",
            source,
            "--out",
            str(out),
            "--state-dir",
            str(state),
            "--log-level",
            "WARNING",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"crawl of {source} failed with exit code {proc.returncode}:\n{proc.stderr[-2000:]}"
        )
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    stats["wall"] = wall
    return stats


def baseline(base: str, n: int) -> float:
    """Seconds to fetch `n` forum/review/news pages one after another with urllib."""
    html = urllib.request.urlopen(f"{base}/sitemap.xml", timeout=10).read().decode()
    urls = re.findall(r"<loc>(.*?)</loc>", html)
    urls = (urls * (n // max(1, len(urls)) + 1))[:n]
    started = time.perf_counter()
    for url in urls:
        urllib.request.urlopen(url, timeout=10).read()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=9)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        truth = build_market(root / "web", seed=args.seed, end=date(2026, 3, 1), weeks=args.weeks)
        print(
            f"demo market: {truth.total_items} items, {sum(1 for _ in (root / 'web').rglob('*'))} files, built in {time.perf_counter() - t0:.2f}s"
        )
        with serve_market(root / "web") as base:
            config = root / "groundswell.yaml"
            config.write_text(yaml.safe_dump(demo_config(base, root / "data")), encoding="utf-8")
            print(
                f"{'source':<14}{'run':<10}{'pages':>7}{'items':>7}{'errors':>7}{'crawl s':>9}{'wall s':>8}{'pages/s':>9}{'items/s':>9}"
            )
            total_pages = total_items = 0
            total_seconds = 0.0
            for source in SOURCES:
                for run in ("cold", "rerun"):
                    s = crawl(config, source, root / f"{source}-{run}.jsonl", root / "state")
                    secs = float(s["seconds"])  # type: ignore[arg-type]
                    pages, items = int(s["pages"]), int(s["items"])  # type: ignore[call-overload]
                    if run == "cold":
                        total_pages += pages
                        total_items += items
                        total_seconds += secs
                    print(
                        f"{source:<14}{run:<10}{pages:>7}{items:>7}{s['errors']:>7}{secs:>9.2f}{s['wall']:>8.2f}"
                        f"{pages / secs:>9.1f}{items / secs:>9.1f}"
                    )
            base_secs = baseline(base, total_pages)
            print(
                f"{'all (cold)':<24}{total_pages:>7}{total_items:>7}{'':>7}{total_seconds:>9.2f}{'':>8}"
                f"{total_pages / total_seconds:>9.1f}{total_items / total_seconds:>9.1f}"
            )
            print(
                f"{'baseline urllib':<24}{total_pages:>7}{'-':>7}{'':>7}{base_secs:>9.2f}{'':>8}{total_pages / base_secs:>9.1f}{'-':>9}"
            )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"peak memory of a crawler process: {peak_kib / 1024:.0f} MiB (ru_maxrss); this process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
