"""Issue 15: the rate test's dispersion, and a known false alarm of a quiet overdispersed series.

The second test records what main does today (strict xfail): in test_trends_early's market a quiet
series' chance excursion is confirmed at later runs, because the reference it is judged against
leaves out a dip (the walk's blip) and looks calmer than the series is. Estimating the dispersion
over the reference's whole span fixes it (tried in round 8, not landed: on a fresh seed smooth
growth with a shift was 8.3%, as on main, over the 5% its pre-registered rule required). When a
change makes it pass, drop the xfail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.kit.synthetic import nb_series
from trends.detector import ShiftDetector, _MetricData
from trends.series import CountSeries

N = 60
T0 = 50


def _volume_data(count: np.ndarray) -> _MetricData:
    times = [datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=i) for i in range(len(count))]
    series = CountSeries.empty("entity", "k", times)
    series.count[:] = count
    return _MetricData("volume", series, np.ones(len(count)), count.astype(float))


def test_the_rate_test_is_the_negative_binomial_score_test_on_its_reference() -> None:
    """A reference without gaps: z is the log-rate ratio over its null variance, with the reference's
    own dispersion (Pearson chi-square over its buckets, at least 1) growing with the mean."""
    rng = np.random.default_rng(4)
    count = rng.poisson(rng.gamma(20.0, 150.0 / 20.0, 26)).astype(float)
    ref, win = np.arange(0, 21), np.arange(21, 26)
    y_r, y_w = count[ref], count[win]
    mu_r = (y_r.sum() + 0.5) / len(ref)
    phi = max(1.0, float(((y_r - mu_r) ** 2 / mu_r).sum()) / (len(ref) - 1))
    mu_w = (y_w.sum() + 0.5) / len(win)
    mu0 = (y_r.sum() + y_w.sum() + 0.5) / (len(ref) + len(win))
    phi0 = 1.0 + (phi - 1.0) * min(max(1.0, mu0 / mu_r), 10.0)
    expected = (np.log(mu_w) - np.log(mu_r)) / np.sqrt(phi0 / (mu0 * len(win)) + phi0 / (mu0 * len(ref)))
    z, p, level, window_level = _volume_data(count).test(ref, win)
    assert phi > 1.0  # the case exercises the overdispersed branch
    assert abs(z - expected) < 1e-9
    assert 0.0 < p < 1.0
    assert level == y_r.sum() / len(ref) and window_level == y_w.sum() / len(win)


@pytest.mark.xfail(
    strict=True,
    reason="known: quiet10 (market seed 1) is confirmed at runs 57 and 59; its reference without a "
    "5-day dip has var/mean 4.2 against the generator's 8.5",
)
def test_quiet_overdispersed_series_are_never_confirmed_as_shifts_run_after_run() -> None:
    """40 quiet series at 150/day (negative-binomial, size 20) beside 20 doubling ones, every daily run
    of the change's first ten days: no quiet series is confirmed as a shift."""
    for seed in (1, 4):
        rng = np.random.default_rng(seed)
        quiet = [nb_series(f"quiet{i}", np.full(N, 150.0), rng) for i in range(40)]  # as test_trends_early
        plants = [nb_series(f"plant{i}", np.where(np.arange(N) >= T0, 400.0, 200.0), rng) for i in range(20)]
        series = plants + quiet
        detector = ShiftDetector(longest_blip=4)
        for cut in range(T0 + 3, N + 1):
            found = detector.fit([s.truncated(cut) for s in series]).predict()
            quiet_shifts = [
                (f.key, f.metric, f.start, f.end)
                for f in found
                if f.kind == "shift" and f.key.startswith("quiet")
            ]
            assert not quiet_shifts, f"market seed {seed}, run {cut}: {quiet_shifts}"
