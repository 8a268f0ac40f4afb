"""How early could any detector raise the planted shifts of `bench_blips.py`? A known-change-point oracle.

For every planted shift the oracle is told its true start. It then compares the buckets after the
start with the 21 before it (a z-test on the variance-stabilised signal: Anscombe's root for volume,
the arcsine root for the negative share, noise estimated on the 21 buckets before) and reports the
first lag at which z reaches a threshold. That is the most powerful test for a change whose start
is known, and it need not tell a shift from a blip, so no online detector can alarm earlier at the
same false-alarm level per test. Our detector works near z 4: Benjamini-Hochberg at 0.01 over
about 5,000 series-metrics per run, with the corrections for scanning over the start.

Read the detector's recall and lag (`bench_blips.py`) against the oracle's on the same seeds: a
target the oracle misses at the detector's false-alarm level is out of reach for the generator,
not a tuning problem.

    .venv/bin/python benchmarks/bench_oracle.py [--seeds 2024,4242] [--series 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.kit.synthetic import SCENARIOS, generate  # noqa: E402
from trends.detector import seasonal_factors  # noqa: E402
from trends.series import CountSeries  # noqa: E402

PRE = 21  # buckets before the start the oracle compares with
MAX_LAG = 20  # bench_blips.py counts a shift found within 20 buckets
LOW_VOLUME = 20.0  # as bench_blips.py: under 20 mentions a day is low volume
GROWTH_WEIGHT = 0.08  # as bench_blips.py draws its smooth-growth series


def lag_z(signal: np.ndarray, start: int, sign: int) -> np.ndarray:
    """z of the post-start mean against the PRE buckets before the start, for every lag 0..MAX_LAG that
    the series reaches (lag 0 = the start bucket alone); positive in the direction `sign`."""
    pre = signal[start - PRE : start]
    sd = max(float(pre.std(ddof=1)), 1e-9)
    lengths = np.arange(1, min(MAX_LAG + 1, len(signal) - start) + 1)
    means = np.cumsum(signal[start : start + len(lengths)]) / lengths
    return np.asarray(sign * (means - pre.mean()) / (sd * np.sqrt(1 / lengths + 1 / PRE)))


def first_alarm_lag(signal: np.ndarray, start: int, sign: int, z_threshold: float) -> int | None:
    """The first lag (0 = the start bucket itself) at which the post-start mean is z_threshold
    noise units past the PRE buckets before the start, or None within MAX_LAG."""
    hits = np.flatnonzero(lag_z(signal, start, sign) >= z_threshold)
    return int(hits[0]) if len(hits) else None


def oracle_signal(series: CountSeries, factor: np.ndarray, metric: str) -> np.ndarray:
    """The variance-stabilised signal the oracle tests: Anscombe's root of the volume divided by its
    weekly rhythm, or the arcsine root of the negative share."""
    if metric == "volume":
        return np.asarray(2 * np.sqrt(series.count / factor + 0.375))
    return np.asarray(2 * np.arcsin(np.sqrt((series.negative + 0.375) / (series.count + 0.75))))


def median_p90(lags: list[int]) -> str:
    return f"{np.median(lags):.0f}/{np.percentile(lags, 90):.0f}" if lags else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="2024,4242", help="comma-separated generator seeds")
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--thresholds", default="3.0,3.5,4.0", help="comma-separated z thresholds")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    thresholds = [float(z) for z in args.thresholds.split(",")]

    plants: list[tuple[np.ndarray, int, int, bool]] = []  # (signal, start, sign, high volume)
    for seed in seeds:
        data = generate(
            seed, n_series=args.series, n_periods=90, scenarios={**SCENARIOS, "growth": GROWTH_WEIGHT}
        )
        counts = np.stack([s.count for s in data.series])
        factors = seasonal_factors(counts, 7)
        for series, factor, truth in zip(data.series, factors, data.truth, strict=True):
            if truth.kind != "shift" or truth.start < PRE:
                continue
            signal = oracle_signal(series, factor, truth.metric)
            sign = 1 if truth.direction == "up" else -1
            plants.append((signal, truth.start, sign, truth.base_volume >= LOW_VOLUME))

    high = sum(p[3] for p in plants)
    print(f"known-change-point oracle: seeds {seeds}, {len(plants)} planted shifts ({high} at 20+/day)")
    print(
        f"{'z':>4} {'recall hi':>10} {'recall lo':>10} {'lag hi med/p90':>15} {'lag lo med/p90':>15} {'hi found <= 4':>14}"
    )
    for z in thresholds:
        lags = {True: [], False: []}  # type: dict[bool, list[int]]
        found = {True: 0, False: 0}
        for signal, start, sign, is_high in plants:
            lag = first_alarm_lag(signal, start, sign, z)
            if lag is not None:
                found[is_high] += 1
                lags[is_high].append(lag)
        totals = {True: high, False: len(plants) - high}
        early = sum(lag <= 4 for lag in lags[True]) / max(totals[True], 1)
        print(
            f"{z:4.1f} {found[True] / max(totals[True], 1):10.3f} {found[False] / max(totals[False], 1):10.3f} "
            f"{median_p90(lags[True]):>15} {median_p90(lags[False]):>15} {early:14.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
