"""The detector's power and its trend rule: low-volume shifts are found, smooth growth is not a shift.

- A shift's p-value is corrected for the segmentation's search over the windows of the
  excursion's length (not over windows of its confirming tail, half as long): a doubling of a
  quiet series (6 a day) is found among untouched series, which stay quiet.
- A shift's evidence is its whole excursion, trimmed, and without its run of `confirm_periods`
  buckets where a blip inside it would sit when that run is far more off than the rest (not its
  later half alone): a young low-volume shift counts most of its buckets, and a spike joined
  with a few noisy buckets after it is not a shift.
- A step must beat one straight line by `penalty * log(N)` (what the segmentation charges a
  change point) before it is a shift: smooth growth among real shifts (whose
  discoveries loosen the Benjamini-Hochberg threshold) is seldom reported as a shift, in any
  online run. That margin is in units of the noise now (around the change), where it is calmer
  than over the whole history: a volatile past does not turn a later doubling into a "trend".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from tests.kit.synthetic import SCENARIOS, generate, nb_series
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


def _volume_shifts_found_online(series: list[CountSeries], start: int, cuts: range) -> set[str]:
    """Replay the daily run at each cut: the planted `shift*` series whose upward volume shift was
    found within 5 buckets of `start`; no `null*` series may ever be reported as a shift."""
    detector = ShiftDetector()
    found: set[str] = set()
    for cut in cuts:
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
    return found


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
    # the daily run, every other day from two weeks after the start
    found = _volume_shifts_found_online(series, start, range(70, n + 1, 2))
    # measured on generator seeds 0-7: 32-39 of 40; 18-32 with the trimmed later half as the
    # evidence, 2-20 with that and the correction over windows of its length (8 on seed 0)
    assert len(found) >= 28, sorted(found)


def test_smooth_growth_among_real_shifts_is_seldom_a_shift_in_any_online_run() -> None:
    data = generate(5, n_series=400, scenarios={**SCENARIOS, "growth": 0.25})
    growth = {t.key for t in data.truth if t.scenario == "growth"}
    detector = ShiftDetector()
    shifted: set[str] = set()
    for cut in range(45, 91, 3):
        findings = detector.fit([s.truncated(cut) for s in data.series]).predict()
        shifted |= {f.key for f in findings if f.kind == "shift" and f.key in growth}
    # measured on generator seeds 5-7: 0/79, 2/80, 2/67 with a margin of penalty * log(N) and the
    # whole excursion as the evidence; 6/79 on seed 5 with (penalty - 1) * log(N) and the later
    # half as the evidence, 11 with log(N), 14 with log(N) and the excursion's correction
    assert len(shifted) <= 0.1 * len(growth), sorted(shifted)


def test_a_spike_with_noisy_buckets_after_it_is_not_a_shift_in_the_runs_after_it() -> None:
    """A many-author 5x spike with its decay (4 buckets) at high, overdispersed volume: the
    segmentation may join it with a few noisy-high buckets after it into one excursion longer than
    a blip. The shift's evidence leaves out the excursion's most extreme run of `confirm_periods`
    buckets (where the blip sits, far more off than the rest), so it is not a shift in any of the
    5 runs after it."""
    n, t0 = 60, 50
    rng = np.random.default_rng(8)
    profile = np.ones(n)
    profile[t0 : t0 + 4] = [5.0, 4.0, 1.8, 1.3]
    series = [
        nb_series(f"quiet{k}" if k < 40 else f"plant{k - 40}", rate, rng)
        for k, rate in enumerate([np.full(n, 150.0)] * 40 + [200.0 * profile] * 20)
    ]
    detector = ShiftDetector()
    for cut in range(t0 + 4, t0 + 9):
        findings = detector.fit([s.truncated(cut) for s in series]).predict()
        shifts = {f.key: (f.start, f.end) for f in findings if f.kind == "shift" and f.metric == "volume"}
        # seeds 3-10 of this scenario: 0 of 160 plants (5 of 160 with the excursion's trimmed
        # later half as the evidence, 4 of them on this seed)
        assert not shifts, f"run at {cut}: {shifts}"


def test_a_rejected_shift_candidate_does_not_silence_its_developing_signal() -> None:
    """A volume rise of 1.8x, 7 buckets old, at high overdispersed volume among 200 quiet series,
    with a false-discovery rate for shifts so strict that every shift candidate is rejected: the
    series whose end the segmentation made a (rejected) shift candidate must still raise their
    developing signal (the last buckets against the baseline, at the developing stage's level)."""
    n = 60
    rng = np.random.default_rng(0)
    quiet = [nb_series(f"quiet{i}", np.full(n, 150.0), rng) for i in range(200)]
    plants = [nb_series(f"plant{k}", np.where(np.arange(n) >= n - 7, 270.0, 150.0), rng) for k in range(20)]
    findings = ShiftDetector(false_discovery_rate=1e-12).fit(plants + quiet).predict()
    assert not [f for f in findings if f.kind == "shift"]
    developing = {f.key for f in findings if f.kind == "developing" and f.metric == "volume"}
    # 6 of 20 here, 1 when a rejected candidate silenced the developing scan (generator seeds 0-3:
    # 2-7 against 1-4)
    assert len({k for k in developing if k.startswith("plant")}) >= 5, sorted(developing)
    assert not {k for k in developing if k.startswith("quiet")}


def test_a_doubling_after_a_volatile_past_is_a_shift_not_a_trend() -> None:
    # a quiet series (8 a day) whose first 46 days were volatile (a gamma-Poisson of shape 1.5),
    # then calm, doubles on day 68; 200 calm untouched series beside it
    rng = np.random.default_rng(0)
    n, start, volatile = 90, 68, 46
    series = []
    for k in range(40):
        rate = np.full(n, 8.0)
        rate[start:] = 16.0
        rate[:volatile] = rng.gamma(1.5, 8.0 / 1.5, volatile)
        series.append(_series(rng.poisson(rate).astype(float), f"shift{k}", rng))
    for k in range(200):
        series.append(_series(rng.poisson(np.full(n, rng.uniform(3, 20))).astype(float), f"null{k}", rng))
    found = _volume_shifts_found_online(series, start, range(start + 8, n + 1, 2))
    # measured on generator seeds 0-3: 28-31 of 40; 12-16 when the trend margin was in units of
    # the step's residual variance over the whole history (the volatile past inflated it)
    assert len(found) >= 22, sorted(found)
