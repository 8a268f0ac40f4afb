"""Blips vs shifts on seeded synthetic social-media series (`tests.kit.synthetic.generate`).

Replays the detector online: for every day T it runs on all series cut at T (as the daily run
would), so the figures include what a live deployment would have alerted on at any point:

- shift recall: planted shifts reported (right metric and direction, start within -5..+20
  buckets of the truth) within 20 periods, overall and for low (< 20/day) and high volumes;
- alarm lag per stage: the first run (day T, the last bucket it saw) that raises the shift minus
  the planted start, median and 90th percentile, for the developing signal (a `developing` or
  `shift` finding) and for the confirmed shift, beside the 3-sigma alert's first alarm day; and the
  share of high-volume shifts each raises within 4 days (the issue's median target needs 0.5);
- smooth growth/decline series (a trend, not a shift): those with a shift or a developing signal;
- blip-reported-as-shift rate: planted blips (spikes, single-author bursts, bot bursts) that any
  run reported as a shift overlapping them (target < 2%); false alarms on untouched series;
- planted blips the last run records as blips (for the brief), and blips recorded on untouched series;
- a complete null (only untouched series): the shifts and blips one run reports there, and the
  spike tests' calibration (buckets flagged at p <= x against the x * tests a calibrated test flags);

beside the 3-sigma spike alert (the commercial baseline) scored the same way. Exits 1 when the
detector misses its pinned floors.

    .venv/bin/python benchmarks/bench_blips.py [--seed 7] [--series 1000]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_oracle import PRE, lag_z, oracle_signal  # noqa: E402
from tests.kit.synthetic import BLIP_SCENARIOS, SCENARIOS, SHIFT_SCENARIOS, SyntheticSet, Truth, generate  # noqa: E402
from trends.detector import DAILY_LONGEST_BLIP, ShiftDetector, ThreeSigmaAlert, seasonal_factors  # noqa: E402

MAX_DELAY = 20
FLOOR_RECALL = 0.60  # pinned under the measured 0.679 (seed 7) and 0.642 (seed 8)
CEILING_BLIP_AS_SHIFT = 0.02  # the target; measured 0.018 (seed 7) and 0.014 (seed 8) online
TARGET_BLIP_AS_SHIFT = 0.02
LOW_VOLUME = 20.0
TARGET_LAG = 4  # the target: a median alarm lag of at most 4 days at 20+ mentions/day
# bands of the known-start oracle's z (bench_oracle.py: the best lag within MAX_DELAY); the detector works
# near z 4 (Benjamini-Hochberg at 0.01 over ~5,000 series-metrics a run, and the scans' corrections)
ORACLE_BANDS = ((5.0, math.inf), (4.0, 5.0), (3.0, 4.0), (-math.inf, 3.0))


def _matches_shift(truth: Truth, metric: str, direction: str, start: int) -> bool:
    return (
        metric == truth.metric
        and direction == truth.direction
        and truth.start - 5 <= start <= truth.start + MAX_DELAY
    )


def _overlaps_blip(truth: Truth, start: int, end: int) -> bool:
    """A shift that starts with the blip (give or take 3 buckets) or runs through it."""
    return end >= truth.start - 3 and start <= truth.end + 3


def synthetic_market(doc: str | None, *, seed: int) -> argparse.ArgumentParser:
    """The command line of a benchmark over the synthetic market (`tests.kit.synthetic`): --seed,
    --series, --periods and --growth, for `generated`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--periods", type=int, default=90)
    parser.add_argument("--growth", type=float, default=0.08, help="weight of smooth-growth series")
    return parser


def generated(args: argparse.Namespace) -> SyntheticSet:
    """The synthetic market `synthetic_market`'s arguments name."""
    return generate(
        args.seed,
        n_series=args.series,
        n_periods=args.periods,
        scenarios={**SCENARIOS, "growth": args.growth},
    )


def main() -> int:
    parser = synthetic_market(__doc__, seed=7)
    parser.add_argument("--max-blip", type=int, default=None, help="detector's max_blip_periods (tuning)")
    parser.add_argument(
        "--longest-blip",
        type=int,
        default=DAILY_LONGEST_BLIP["day"],
        help="detector's longest_blip: early confirmation (default: the daily buckets' default; 0: off)",
    )
    parser.add_argument("--developing", type=int, default=2, help="detector's developing_periods; 0: off")
    parser.add_argument("--developing-fdr", type=float, default=0.05, help="detector's developing_fdr")
    args = parser.parse_args()
    data = generated(args)
    truth = {t.key: t for t in data.truth}
    # the configuration defaults: baseline 21, confirm 3, 5 authors, FDR 0.01, longest blip 4 (daily)
    detector = ShiftDetector(
        max_blip_periods=args.max_blip,
        longest_blip=args.longest_blip or None,
        developing_periods=args.developing or None,
        developing_fdr=args.developing_fdr,
    )
    first_dev: dict[str, int] = {}  # shift series -> first T raising it as developing (or shift)
    blip_as_dev: set[str] = set()
    dev_untouched: set[str] = set()
    growth_alarm: set[str] = set()
    growth_dev: set[str] = set()

    first_found: dict[str, int] = {}  # shift series -> first T (last bucket seen) reporting it
    blip_as_shift: set[str] = set()
    false_alarm: set[str] = set()
    final_blip_as_shift: set[str] = set()
    recorded_blip: set[str] = set()  # planted blips the last run records as blips
    blip_on_untouched: set[str] = set()
    t0 = time.perf_counter()
    first_t = min(t.start for t in data.truth if t.start >= 0) - 1
    runs = 0
    for last in range(first_t, args.periods):
        cut = [s.truncated(last + 1) for s in data.series]
        findings = detector.fit(cut).predict()
        runs += 1
        for f in findings:
            tr = truth[f.key]
            if f.kind in ("developing", "shift"):
                if (
                    tr.kind == "shift"
                    and f.key not in first_dev
                    and _matches_shift(tr, f.metric, f.direction, f.start)
                ):
                    if last - tr.start <= MAX_DELAY:
                        first_dev[f.key] = last
                elif tr.kind == "blip" and _overlaps_blip(tr, f.start, f.end):
                    blip_as_dev.add(f.key)
                elif tr.scenario == "growth":
                    (growth_alarm if f.kind == "shift" else growth_dev).add(f.key)
                elif tr.kind == "none":
                    dev_untouched.add(f.key)
            if f.kind != "shift":
                if last == args.periods - 1 and f.kind == "blip":  # a developing signal is not a blip
                    tr = truth[f.key]
                    if tr.kind == "blip" and _overlaps_blip(tr, f.start, f.end):
                        recorded_blip.add(f.key)
                    elif tr.kind == "none":
                        blip_on_untouched.add(f.key)
                continue
            tr = truth[f.key]
            if (
                tr.kind == "shift"
                and f.key not in first_found
                and _matches_shift(tr, f.metric, f.direction, f.start)
            ):
                if last - tr.start <= MAX_DELAY:
                    first_found[f.key] = last
            elif tr.kind == "blip" and _overlaps_blip(tr, f.start, f.end):
                blip_as_shift.add(f.key)
                if last == args.periods - 1:
                    final_blip_as_shift.add(f.key)
            elif tr.kind == "none" and tr.scenario != "growth":
                false_alarm.add(f.key)
    elapsed = time.perf_counter() - t0

    # 3-sigma spike alert on volume and negative share, scored the same way
    base_found: dict[str, int] = {}
    base_blip, base_false, base_growth = set(), set(), set()
    for s in data.series:
        tr = truth[s.key]
        for metric in ("volume", "negative_share"):
            for t in ThreeSigmaAlert(metric=metric).fit(s).predict():
                if tr.kind == "shift" and metric == tr.metric and 0 <= t - tr.start <= MAX_DELAY:
                    base_found[s.key] = min(base_found.get(s.key, t), t)
                elif tr.kind == "blip" and tr.start <= t <= tr.end:
                    base_blip.add(s.key)
                elif tr.kind == "none" and tr.scenario != "growth":
                    base_false.add(s.key)
                elif tr.scenario == "growth":
                    base_growth.add(s.key)

    shifts = [t for t in data.truth if t.kind == "shift"]
    blips = [t for t in data.truth if t.kind == "blip"]
    nones = [t for t in data.truth if t.kind == "none" and t.scenario != "growth"]
    growth = [t for t in data.truth if t.scenario == "growth"]

    def recall(found: dict[str, int], subset: list[Truth]) -> str:
        if not subset:
            return "  n/a"
        return f"{sum(t.key in found for t in subset) / len(subset):5.3f}"

    def delays(found: dict[str, int], subset: list[Truth] | None = None) -> str:
        d = [found[t.key] - t.start for t in (shifts if subset is None else subset) if t.key in found]
        return f"{np.median(d):.0f} / {np.percentile(d, 90):.0f}" if d else "n/a"

    low = [t for t in shifts if t.base_volume < LOW_VOLUME]
    high = [t for t in shifts if t.base_volume >= LOW_VOLUME]
    # what any detector could see: the known-start oracle's best z within MAX_DELAY of each shift
    factors = seasonal_factors(np.stack([s.count for s in data.series]), 7)
    oracle_z: dict[str, float] = {}
    for s, factor in zip(data.series, factors, strict=True):
        tr = truth[s.key]
        if tr.kind == "shift" and tr.start >= PRE:
            sign = 1 if tr.direction == "up" else -1
            oracle_z[s.key] = float(lag_z(oracle_signal(s, factor, tr.metric), tr.start, sign).max())
    print(
        f"synthetic: seed {args.seed}, {len(data.series)} series x {args.periods} days: {len(shifts)} shifts, "
        f"{len(blips)} blips, {len(nones)} untouched; {runs} online runs in {elapsed:.1f} s"
    )
    print(f"{'':34s} {'groundswell':>12s} {'3-sigma':>12s}")
    print(
        f"{'shift recall (within 20 periods)':34s} {recall(first_found, shifts):>12s} {recall(base_found, shifts):>12s}"
    )
    print(f"{'  low volume (< 20/day)':34s} {recall(first_found, low):>12s} {recall(base_found, low):>12s}")
    print(f"{'  high volume':34s} {recall(first_found, high):>12s} {recall(base_found, high):>12s}")
    by_scenario = defaultdict(list)
    for t in shifts:
        by_scenario[t.scenario].append(t)
    for name in SHIFT_SCENARIOS:
        print(
            f"{'  ' + name:34s} {recall(first_found, by_scenario[name]):>12s} {recall(base_found, by_scenario[name]):>12s}"
        )
    print(f"{'recall, developing or confirmed':34s} {recall(first_dev, shifts):>12s}")
    print(f"{'  low volume (< 20/day)':34s} {recall(first_dev, low):>12s}")
    print(f"{'  high volume':34s} {recall(first_dev, high):>12s}")
    print("alarm lag (first alarm day - true start), median / p90:")
    for label, subset in (("all", shifts), ("high volume", high), ("low volume", low)):
        print(
            f"{'  ' + label:34s} developing {delays(first_dev, subset):>8s} | confirmed "
            f"{delays(first_found, subset):>8s} | 3-sigma {delays(base_found, subset):>8s}"
        )

    def within(found: dict[str, int], subset: list[Truth]) -> str:
        """The share of `subset`'s planted shifts raised at most TARGET_LAG buckets after their start."""
        raised = sum(t.key in found and found[t.key] - t.start <= TARGET_LAG for t in subset)
        return f"{raised / max(len(subset), 1):.3f}"

    # the median target: a median of TARGET_LAG needs half of the planted shifts raised by then
    print(
        f"{f'  raised within {TARGET_LAG} days, 20+/day':34s} developing {within(first_dev, high):>8s} | "
        f"confirmed {within(first_found, high):>8s} | 3-sigma {within(base_found, high):>8s}"
    )
    # the same per planted kind (level_* are steps, slope_* ramps of 12-25 days) and volume: which kind
    # sets the median; n = planted, then how many each stage raised within MAX_DELAY
    print("alarm lag by kind and volume, median / p90 (n planted, found developing / confirmed):")
    for label, subset in (("20+/day", high), ("< 20/day", low)):
        for name in SHIFT_SCENARIOS:
            for direction in ("up", "down"):
                kind = [t for t in subset if t.scenario == name and t.direction == direction]
                if not kind:
                    continue
                found = f"{sum(t.key in first_dev for t in kind)}/{sum(t.key in first_found for t in kind)}"
                print(
                    f"{'  ' + name + ' ' + direction + ', ' + label:34s} developing "
                    f"{delays(first_dev, kind):>8s} | confirmed {delays(first_found, kind):>8s} | 3-sigma "
                    f"{delays(base_found, kind):>8s}  (n {len(kind)}, found {found})"
                )
    print(
        "shift recall by the known-start oracle's z (bench_oracle.py, best lag <= 20): n, groundswell, 3-sigma"
    )
    for lo_z, hi_z in ORACLE_BANDS:
        label = (
            f"z >= {lo_z:g}"
            if hi_z == math.inf
            else f"z < {hi_z:g}"
            if lo_z == -math.inf
            else f"{lo_z:g} <= z < {hi_z:g}"
        )
        cells = []
        for name, subset in (("high volume", high), ("low volume", low)):
            band = [t for t in subset if t.key in oracle_z and lo_z <= oracle_z[t.key] < hi_z]
            cells.append(f"{name} {len(band):3d} {recall(first_found, band)} {recall(base_found, band)}")
        print(f"{'  ' + label:34s} " + " | ".join(cells))
    print(f"{'blip raised (developing or shift)':34s} {len(blip_as_dev) / max(len(blips), 1):12.3f}")
    print(f"{'untouched raised (dev. or shift)':34s} {len(dev_untouched) / max(len(nones), 1):12.3f}")
    if growth:
        print(
            f"{'smooth growth with a shift':34s} {len(growth_alarm) / len(growth):12.3f} "
            f"{len(base_growth) / len(growth):12.3f}  ({len(growth)} series; developing "
            f"{len(growth_dev) / len(growth):.3f})"
        )
    ours_blip = len(blip_as_shift) / max(len(blips), 1)
    print(
        f"{'blip reported as shift (any run)':34s} {ours_blip:12.3f} {len(base_blip) / max(len(blips), 1):12.3f}"
    )
    print(f"{'  at the last run only':34s} {len(final_blip_as_shift) / max(len(blips), 1):12.3f}")
    for name in BLIP_SCENARIOS:
        sub = [t for t in blips if t.scenario == name]
        ours = sum(t.key in blip_as_shift for t in sub) / max(len(sub), 1)
        base = sum(t.key in base_blip for t in sub) / max(len(sub), 1)
        print(f"{'  ' + name:34s} {ours:12.3f} {base:12.3f}")
    print(
        f"{'planted blip recorded as a blip':34s} {len(recorded_blip) / max(len(blips), 1):12.3f} {'n/a':>12s}"
    )
    for name in BLIP_SCENARIOS:
        sub = [t for t in blips if t.scenario == name]
        print(f"{'  ' + name:34s} {sum(t.key in recorded_blip for t in sub) / max(len(sub), 1):12.3f}")
    print(f"{'blip recorded on untouched series':34s} {len(blip_on_untouched) / max(len(nones), 1):12.3f}")
    print(
        f"{'false alarm on untouched (any run)':34s} {len(false_alarm) / max(len(nones), 1):12.3f} "
        f"{len(base_false) / max(len(nones), 1):12.3f}"
    )
    null = generate(args.seed + 1000, n_series=args.series, n_periods=args.periods, scenarios={"none": 1.0})
    null_detector = ShiftDetector(longest_blip=args.longest_blip or None)
    null_findings = null_detector.fit(null.series).predict()
    print(
        f"complete null ({len(null.series)} untouched series, one run): "
        f"{sum(f.kind == 'shift' for f in null_findings)} shifts, "
        f"{sum(f.kind == 'blip' for f in null_findings)} blips from {null_detector.spike_tests} bucket tests"
    )
    for metric in ("volume", "negative_share"):
        p, valid = null_detector.spike_pvalues(metric)
        tested = int(valid.sum())
        ratios = ", ".join(
            f"p<={x:g}: {int((p[valid] <= x).sum())}/{tested * x:.0f}" for x in (1e-2, 1e-3, 1e-4)
        )
        print(f"  spike test calibration, {metric} (flagged/expected): {ratios}")
    ours_recall = sum(t.key in first_found for t in shifts) / max(len(shifts), 1)
    ok = ours_recall >= FLOOR_RECALL and ours_blip < CEILING_BLIP_AS_SHIFT
    print(
        f"target: blip-as-shift < {TARGET_BLIP_AS_SHIFT} online: {'met' if ours_blip < TARGET_BLIP_AS_SHIFT else 'NOT met'}"
    )
    print(
        f"gate: recall >= {FLOOR_RECALL} and blip-as-shift < {CEILING_BLIP_AS_SHIFT}: {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
