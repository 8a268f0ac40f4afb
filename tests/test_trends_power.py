"""The detector's power and its trend rule: low-volume shifts are found, smooth growth is not a shift.

- A shift's p-value is corrected for the segmentation's search over the windows of the
  excursion's length (not over windows of its confirming tail, half as long): a doubling of a
  quiet series (6 a day) is found among untouched series, which stay quiet.
- A step must beat one straight line by `(penalty - 1) * log(N)` (what a change point costs
  beyond its one extra parameter) before it is a shift: smooth growth among real shifts (whose
  discoveries loosen the Benjamini-Hochberg threshold) is seldom reported as a shift, in any
  online run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from tests.kit.synthetic import SCENARIOS, generate
from trends.detector import ShiftDetector
from trends.series import CountSeries


def _series(count: np.ndarray, key: str, rng: np.random.Generator) -> CountSeries:
    neg = rng.binomial(count.astype(int), 0.2).astype(float)
    pos = rng.binomial((count - neg).astype(int), 0.5).astype(float)
    times = [datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=i) for i in range(len(count))]
    return CountSeries.from_arrays(
        group_by="entity",
        key=key,
        times=times,
        count=count,
        negative=neg,
        positive=pos,
        sentiment_sum=(pos - neg) * 0.8,
        complaints=rng.binomial(count.astype(int), 0.1).astype(float),
        authors=np.round(count * 0.9),
        sources=np.minimum(count, 3),
    )


def test_a_low_volume_doubling_is_found_among_untouched_series_in_an_online_run() -> None:
    rng = np.random.default_rng(0)
    n, start = 90, 56
    series = []
    for k in range(40):
        rate = np.full(n, 6.0)
        rate[start:] = 12.0
        series.append(_series(rng.poisson(rate).astype(float), f"shift{k}", rng))
    for k in range(200):
        series.append(_series(rng.poisson(np.full(n, rng.uniform(3, 20))).astype(float), f"null{k}", rng))
    detector = ShiftDetector()
    found: set[str] = set()
    for cut in range(70, n + 1, 2):  # the daily run, every other day from two weeks after the start
        findings = detector.fit([s.truncated(cut) for s in series]).predict()
        found |= {
            f.key
            for f in findings
            if f.kind == "shift"
            and f.key.startswith("shift")
            and f.metric == "volume"
            and f.direction == "up"
            and abs(f.start - start) <= 5
        }
        assert not [f for f in findings if f.kind == "shift" and f.key.startswith("null")]
    # measured on generator seeds 0-7: 18-32 of 40 (2-20 with the tail's correction; 8 on seed 0)
    assert len(found) >= 16, sorted(found)


def test_smooth_growth_among_real_shifts_is_seldom_a_shift_in_any_online_run() -> None:
    data = generate(5, n_series=400, scenarios={**SCENARIOS, "growth": 0.25})
    growth = {t.key for t in data.truth if t.scenario == "growth"}
    detector = ShiftDetector()
    shifted: set[str] = set()
    for cut in range(45, 91, 3):
        findings = detector.fit([s.truncated(cut) for s in data.series]).predict()
        shifted |= {f.key for f in findings if f.kind == "shift" and f.key in growth}
    # measured: 6 of 79 (11 with a one-log(N) margin, 14 with it and the excursion's correction)
    assert len(shifted) <= 0.1 * len(growth), sorted(shifted)
