"""Where the detector loses the planted shifts it misses: `bench_blips.py`'s online replay, every candidate traced.

Every run (day T, the series cut after T) goes through the detector as in `bench_blips.py`, and every shift,
blip and developing candidate of the run is recorded with its Benjamini-Hochberg q-value, as is every
excursion the trend rule (`_explained_by_trend`) called a trend. A planted shift is found when a shift
of its metric and direction, starting -5..+20 buckets from its start, passes within 20 buckets (the
bench's rule). Otherwise the furthest it got, in this order:

- cut by Benjamini-Hochberg: a matching shift candidate, q above the false-discovery rate in every run;
- found after the window: a matching shift passes, later than 20 buckets after the start;
- blip: a matching excursion was classed a blip (its reason: reverted, low_volume, single_author, ...);
- other shift: a shift of another metric, direction or start on that series;
- developing only: raised as developing, never confirmed;
- a trend: an excursion of its metric and direction was judged smooth growth by the trend rule;
- no candidate: nothing of its metric and direction was significant, sustained and many-authored.

Beside each group, the known-start oracle's best z within 20 buckets (`bench_oracle.py`): a miss that
even the oracle sees below z 4 is out of reach at the detector's false-alarm level.

    .venv/bin/python benchmarks/bench_misses.py [--seed 101] [--series 1000]
"""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_blips import LOW_VOLUME, MAX_DELAY, _matches_shift, generated, synthetic_market  # noqa: E402
from benchmarks.bench_oracle import PRE, lag_z, oracle_signal  # noqa: E402
from tests.kit.synthetic import Truth  # noqa: E402
from trends.detector import Finding, ShiftDetector, seasonal_factors  # noqa: E402

CATEGORIES = (
    "found",
    "cut by Benjamini-Hochberg",
    "found after the window",
    "blip",
    "other shift",
    "developing only",
    "a trend",
    "no candidate",
)
BANDS = ("< 10/day", "10-20/day", "20+/day")


class _Tracing(ShiftDetector):
    """The detector, recording its candidates (with q) and the trend rule's verdicts of each run."""

    def __init__(self) -> None:
        super().__init__()
        self.run = -1
        self.candidates: dict[str, list[tuple[int, Finding, bool]]] = defaultdict(list)
        self.trends: dict[str, list[tuple[int, str, str, int]]] = defaultdict(list)
        self._current: tuple[str, int] | None = None

    def _fdr(self, candidates: list[Finding], tests: int, level: float | None = None) -> list[Finding]:
        kept = super()._fdr(candidates, tests, level)
        ids = {id(f) for f in kept}
        for c in candidates:
            self.candidates[c.key].append((self.run, c, id(c) in ids))
        return kept

    def _classify(self, series: Any, data: Any, ref: Any, segs: Any, sign: int) -> Finding | None:
        self._current = (series.key, segs[-1][1])
        return super()._classify(series, data, ref, segs, sign)

    def _ongoing_finding(self, data: Any, series: Any, metric: str, **kwargs: Any) -> Finding | None:
        self._current = (series.key, kwargs["n"])
        return super()._ongoing_finding(data, series, metric, **kwargs)

    def _explained_by_trend(self, data: Any, ref: Any, start: int, stop: int, sign: int) -> bool:
        trend = super()._explained_by_trend(data, ref, start, stop, sign)
        if trend and self._current is not None:
            key, _ = self._current
            self.trends[key].append((self.run, data.metric, "up" if sign > 0 else "down", stop))
        return trend


def _band(volume: float) -> str:
    return BANDS[0] if volume < 10 else BANDS[1] if volume < LOW_VOLUME else BANDS[2]


def _where(tr: Truth, det: _Tracing) -> tuple[str, str]:
    """(category, detail) of one planted shift."""
    cands = det.candidates.get(tr.key, [])
    in_window = [(run, c, kept) for run, c, kept in cands if run - tr.start <= MAX_DELAY]

    def matching(c: Finding) -> bool:
        return _matches_shift(tr, c.metric, c.direction, c.start)

    if any(c.kind == "shift" and kept and matching(c) for _, c, kept in in_window):
        return "found", ""
    cut = [c for _, c, _ in in_window if c.kind == "shift" and matching(c)]
    if cut:
        return "cut by Benjamini-Hochberg", f"best q {min(c.q_value or 1.0 for c in cut):.3f}"
    if any(c.kind == "shift" and kept and matching(c) for _, c, kept in cands):
        return "found after the window", ""
    blips = Counter(
        c.reason
        for _, c, _ in in_window
        if c.kind == "blip"
        and c.metric == tr.metric
        and c.direction == tr.direction
        and c.end >= tr.start - 3
    )
    if blips:
        return "blip", blips.most_common(1)[0][0]
    if any(c.kind == "shift" and kept for _, c, kept in in_window):
        return "other shift", ""
    if any(c.kind == "developing" and matching(c) for _, c, _ in in_window):
        return "developing only", ""
    trends = [
        run
        for run, metric, direction, stop in det.trends.get(tr.key, [])
        if metric == tr.metric
        and direction == tr.direction
        and stop > tr.start
        and run - tr.start <= MAX_DELAY
    ]
    if trends:
        return "a trend", f"{len(trends)} verdicts"
    return "no candidate", ""


def main() -> int:
    parser = synthetic_market(__doc__, seed=101)
    parser.add_argument("--list", action="store_true", help="print every missed shift")
    args = parser.parse_args()
    data = generated(args)
    det = _Tracing()
    t0 = time.perf_counter()
    first_t = min(t.start for t in data.truth if t.start >= 0) - 1
    for last in range(first_t, args.periods):
        det.run = last
        det.fit([s.truncated(last + 1) for s in data.series]).predict()
    elapsed = time.perf_counter() - t0

    factors = seasonal_factors(np.stack([s.count for s in data.series]), 7)
    counts: dict[tuple[str, str], list[float]] = defaultdict(list)
    details: Counter[tuple[str, str]] = Counter()
    for s, factor, tr in zip(data.series, factors, data.truth, strict=True):
        if tr.kind != "shift":
            continue
        category, detail = _where(tr, det)
        sign = 1 if tr.direction == "up" else -1
        z = (
            float(lag_z(oracle_signal(s, factor, tr.metric), tr.start, sign).max())
            if tr.start >= PRE
            else np.nan
        )
        counts[(category, _band(tr.base_volume))].append(z)
        if category == "blip":
            details[(detail, _band(tr.base_volume))] += 1
        if args.list and category != "found":
            print(
                f"  {tr.key:24s} {tr.direction:4s} {tr.base_volume:6.1f}/day start {tr.start:2d} "
                f"oracle z {z:4.1f}: {category} {detail}"
            )
    shifts = sum(t.kind == "shift" for t in data.truth)
    print(
        f"synthetic: seed {args.seed}, {len(data.series)} series x {args.periods} days, {shifts} planted shifts; "
        f"{args.periods - first_t} online runs in {elapsed:.1f} s"
    )
    print("planted shifts by where they were lost: n (known-start oracle z median, share at z >= 4)")
    print(f"{'':28s}" + "".join(f"{band:>24s}" for band in BANDS))
    for category in CATEGORIES:
        cells = []
        for band in BANDS:
            z = np.array(counts.get((category, band), []))
            cells.append(
                f"{len(z):4d} ({np.nanmedian(z):4.1f}, {np.nanmean(z >= 4):.2f})" if len(z) else f"{0:4d}"
            )
        print(f"  {category:26s}" + "".join(f"{cell:>24s}" for cell in cells))
    for (reason, band), n in sorted(details.items()):
        print(f"    blip reason {reason}, {band}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
