"""Detector speed: series per second over 10,000 synthetic series of 90 daily points, and peak memory.

One "series" is one key with all five metrics (volume, negative share, mean sentiment,
complaint share, safety count), judged together with false-discovery control as `detect()` does.
Baselines in the same run: the 3-sigma spike alert (volume and negative share) and ruptures'
PELT on the volume alone, one series at a time (on a subset; it is much slower).

    .venv/bin/python benchmarks/bench_trends_speed.py [--series 10000] [--periods 90]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import ruptures as rpt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.kit.synthetic import generate  # noqa: E402
from trends.detector import ShiftDetector, ThreeSigmaAlert  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=90)
    parser.add_argument("--baseline-subset", type=int, default=500)
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = generate(
        11, n_series=args.series, n_periods=args.periods, event_window=(40, min(72, args.periods - 5))
    )
    print(f"generated {len(data.series)} series x {args.periods} points in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    detector = ShiftDetector().fit(data.series)
    findings = detector.predict()
    elapsed = time.perf_counter() - t0
    tracemalloc.start()  # a second, traced run for the peak memory (tracing slows it down)
    ShiftDetector().fit(data.series).predict()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    shifts = sum(f.kind == "shift" for f in findings)
    print(
        f"groundswell ShiftDetector: {len(data.series) / elapsed:,.0f} series/s "
        f"({elapsed:.2f} s, {detector.tests} tests, {shifts} shifts, {len(findings) - shifts} blips), "
        f"peak traced memory {peak / 2**20:.0f} MiB"
    )

    t0 = time.perf_counter()
    alerts = 0
    for s in data.series:
        alerts += len(ThreeSigmaAlert(metric="volume").fit(s).predict())
        alerts += len(ThreeSigmaAlert(metric="negative_share").fit(s).predict())
    elapsed = time.perf_counter() - t0
    print(f"baseline 3-sigma alert (2 metrics): {len(data.series) / elapsed:,.0f} series/s ({alerts} alerts)")

    subset = data.series[: args.baseline_subset]
    t0 = time.perf_counter()
    for s in subset:
        x = 2 * np.sqrt(s.count + 0.375)
        rpt.Pelt(model="l2", min_size=1, jump=1).fit(x).predict(pen=3 * np.log(len(x)) * max(x.var(), 1.0))
    elapsed = time.perf_counter() - t0
    print(
        f"baseline ruptures PELT, volume only, one series at a time: {len(subset) / elapsed:,.0f} series/s ({len(subset)} series)"
    )
    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
