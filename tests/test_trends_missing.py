"""Missing values never crash the change-point methods, and a smooth trend is not cut into steps."""

from __future__ import annotations

import numpy as np

from trends.changepoint import ChangePointDetector, RupturesDetector, drop_trend_steps


def _step_with_gaps() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 60), rng.normal(5, 1, 60)])
    x[[5, 6, 7, 40, 90]] = np.nan  # two missing values and a short gap, as in real annotated series
    return x


def test_missing_values_are_left_out_and_change_points_keep_their_positions() -> None:
    x = _step_with_gaps()
    for method in (
        ChangePointDetector(),
        RupturesDetector(algorithm="binseg"),
        RupturesDetector(algorithm="pelt"),
    ):
        cps = method.fit(x).predict()
        assert cps and min(abs(c - 60) for c in cps) <= 1, (method, cps)


def test_a_signal_with_almost_nothing_observed_has_no_change_point() -> None:
    x = np.full(30, np.nan)
    x[3] = 1.0
    assert ChangePointDetector().fit(x).predict() == []
    assert RupturesDetector(algorithm="pelt").fit(x).predict() == []


def test_a_smooth_trend_is_not_a_change_point() -> None:
    t = np.arange(200, dtype=float)
    rng = np.random.default_rng(1)
    population = 1e6 * np.exp(0.01 * t) + rng.normal(0, 2e3, len(t))  # smooth growth, tiny noise
    assert ChangePointDetector(trend=True).fit(population).predict() == []


def test_a_step_on_a_trend_is_still_a_change_point() -> None:
    t = np.arange(200, dtype=float)
    rng = np.random.default_rng(2)
    x = 0.02 * t + rng.normal(0, 0.3, len(t))
    x[120:] += 4.0
    cps = ChangePointDetector(trend=True).fit(x).predict()
    assert cps and min(abs(c - 120) for c in cps) <= 2, cps


def test_drop_trend_steps_keeps_a_real_step() -> None:
    x = np.concatenate([np.zeros(50), np.ones(50) * 3])[:, None] + 0.01 * np.random.default_rng(3).normal(
        size=(100, 1)
    )
    assert drop_trend_steps(x, [50]) == [50]
