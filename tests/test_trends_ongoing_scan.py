"""Issue 15, recall: a shift the segmentation finds still under way at the last bucket pays a scan
correction over half the disjoint windows of its length (only its start was searched; a closed
excursion's window was placed at both ends), so a young low-volume step at the edge of
Benjamini-Hochberg is confirmed within its first two weeks instead of being cut."""

from __future__ import annotations

import numpy as np

from tests.kit.synthetic import nb_series
from trends.detector import ShiftDetector, _scan_windows
from trends.series import CountSeries

N = 80
T0 = 60  # where the planted steps start


def _market(seed: int, base: float, factor: float) -> list[CountSeries]:
    """30 low-volume series that step up by `factor` at T0, among 200 quiet ones at the same volume."""
    rng = np.random.default_rng(seed)
    plants = [
        nb_series(f"plant{i}", np.where(np.arange(N) >= T0, base * factor, base), rng) for i in range(30)
    ]
    return plants + [nb_series(f"quiet{i}", np.full(N, base), rng) for i in range(200)]


def test_the_scan_correction_of_an_excursion_under_way_is_half_a_closed_ones() -> None:
    assert _scan_windows(80, 10, ongoing=False) == 8.0
    assert _scan_windows(80, 10, ongoing=True) == 4.0
    # never below one window (no correction can make a p-value smaller)
    assert _scan_windows(80, 60, ongoing=True) == 1.0
    assert _scan_windows(80, 80, ongoing=False) == 1.0


def test_young_low_volume_steps_are_confirmed_two_weeks_in_and_quiet_series_are_not() -> None:
    cut = T0 + 14
    confirmed = 0
    for base, factor in ((6.0, 1.8), (10.0, 1.6)):
        for seed in range(4):
            series = [s.truncated(cut) for s in _market(seed, base, factor)]
            found = ShiftDetector().fit(series).predict()
            shifts = [f for f in found if f.kind == "shift"]
            assert not [f.key for f in shifts if f.key.startswith("quiet")], (base, seed)
            plants = {
                f.key
                for f in shifts
                if f.key.startswith("plant") and f.metric == "volume" and f.direction == "up"
            }
            # found where the step is, still under way (a low-volume segmentation places the start
            # within a few days of it: 51-63 here)
            assert all(
                T0 - 10 <= f.start <= T0 + 5 and f.ongoing and f.end == cut - 1
                for f in shifts
                if f.key in plants and f.metric == "volume"
            )
            confirmed += len(plants)
    # of 240 planted steps (6 -> 11 and 10 -> 16 a day, 14 days in; markets seeds 0-3), measured:
    # 33 confirmed with the halved correction, 12 with every excursion corrected over all the
    # disjoint windows of its length (main before this change)
    assert confirmed >= 24, f"confirmed {confirmed} of 240 young low-volume steps"
