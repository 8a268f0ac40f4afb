"""Issue 15, item 1: with early confirmation on (`longest_blip`), a shift is confirmed as soon as it
has lasted longer than any blip can (the end scan), while a blip that has just ended is still not a
shift."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.kit.synthetic import generate, nb_series
from trends.detector import ShiftDetector
from trends.series import CountSeries

N = 60
T0 = 50  # where the change starts


def _market(rates: list[np.ndarray], seed: int) -> list[CountSeries]:
    rng = np.random.default_rng(seed)
    quiet = [nb_series(f"quiet{i}", np.full(N, 150.0), rng) for i in range(40)]
    return [nb_series(f"plant{i}", r, rng) for i, r in enumerate(rates)] + quiet


def _volume_shifts(
    detector: ShiftDetector, series: list[CountSeries], cut: int
) -> dict[str, tuple[int, int]]:
    found = detector.fit([s.truncated(cut) for s in series]).predict()
    return {f.key: (f.start, f.end) for f in found if f.kind == "shift" and f.metric == "volume"}


@pytest.mark.parametrize("factor", [2.0, 0.45])
def test_level_shift_is_confirmed_once_it_outlasts_the_longest_blip(factor: float) -> None:
    rates = [np.where(np.arange(N) >= T0, 200.0 * factor, 200.0) for _ in range(20)]
    series = _market(rates, seed=1 if factor > 1 else 2)
    detector = ShiftDetector(longest_blip=4)
    assert detector.longest_blip is not None
    cut = T0 + detector.longest_blip + 2  # the run that has seen longest_blip + 2 buckets of the change
    shifts = _volume_shifts(detector, series, cut)
    planted = {k: v for k, v in shifts.items() if k.startswith("plant")}
    # a floor under what it does (13 and 18 of 20 here; 12 and 18 with two buckets required outside
    # the blip), far over the segmentation alone (0)
    assert len(planted) >= 10, f"confirmed {len(planted)} of 20 level shifts {cut - T0} buckets in"
    assert all(abs(start - T0) <= 2 for start, _ in planted.values())
    assert not any(k.startswith("quiet") for k in shifts)
    # without the end scan the segmentation alone waits for a longer excursion
    assert len(
        [k for k in _volume_shifts(ShiftDetector(longest_blip=None), series, cut) if k.startswith("plant")]
    ) < len(planted)


@pytest.mark.parametrize(("factor", "seed"), [(2.0, 1), (0.45, 2)])
def test_level_shift_is_confirmed_the_first_run_it_has_outlasted_the_longest_blip(
    factor: float, seed: int
) -> None:
    """longest_blip + 1 buckets in (a lag of 4 days for daily buckets), the earliest a change can be
    told from a blip that lasts longest_blip buckets."""
    rates = [np.where(np.arange(N) >= T0, 200.0 * factor, 200.0) for _ in range(20)]
    series = _market(rates, seed=seed)
    detector = ShiftDetector(longest_blip=4)
    assert detector.longest_blip is not None
    shifts = _volume_shifts(detector, series, T0 + detector.longest_blip + 1)
    planted = {k: v for k, v in shifts.items() if k.startswith("plant") and abs(v[0] - T0) <= 2}
    # a floor under what it does (10 and 13 of 20 here; 5-12 and 10-14 on market seeds 1-6); with
    # two buckets required outside the blip (round 6-7) 3 and 1
    assert len(planted) >= 7, f"confirmed {len(planted)} of 20 level shifts 5 buckets in"
    assert not any(k.startswith("quiet") for k in shifts)


def test_a_change_found_by_the_segmentation_and_the_end_scan_is_one_shift() -> None:
    """The segmentation can close an excursion a bucket before the end while the end scan's window
    runs to the last bucket: the same change, reported (and counted in Benjamini-Hochberg) once, as
    under way, and not raised again as developing."""
    overlapping = []
    for seed in (1, 4):  # each had one such pair in runs T0+3..N (plant18 at 56, plant10 at 58)
        series = _market([np.where(np.arange(N) >= T0, 400.0, 200.0) for _ in range(20)], seed=seed)
        detector = ShiftDetector(longest_blip=4)
        for cut in range(T0 + 3, N + 1):
            found = [
                f for f in detector.fit([s.truncated(cut) for s in series]).predict() if f.kind != "blip"
            ]
            overlapping += [
                (cut, a.key, (a.kind, a.start, a.end), (b.kind, b.start, b.end))
                for a, b in itertools.combinations(found, 2)
                if (a.key, a.metric) == (b.key, b.metric) and a.start <= b.end and b.start <= a.end
            ]
    assert not overlapping


def test_blip_that_just_ended_is_not_confirmed_as_a_shift() -> None:
    """A many-author spike with its decaying tail (4 buckets, the longest blip) is not a shift in any
    of the runs right after it, when the end scan sees 5 to 8 buckets with the blip inside."""
    profile = np.ones(N)
    profile[T0 : T0 + 4] = [5.0, 4.0, 1.8, 1.3]
    series = _market([200.0 * profile for _ in range(20)], seed=3)
    detector = ShiftDetector(longest_blip=4)
    for cut in range(T0 + 4, T0 + 9):
        shifts = _volume_shifts(detector, series, cut)
        assert not shifts, f"run at {cut}: {shifts}"


def test_longest_blip_must_be_positive() -> None:
    with pytest.raises(ValueError, match="longest_blip must be at least 1"):
        ShiftDetector(longest_blip=0)


def test_early_confirmation_is_on_by_default_for_daily_buckets_and_set_from_the_configuration() -> None:
    from groundswell.config import parse_config

    def configured(**trends: object) -> int | None:
        config = parse_config({"brands": [{"id": "acme", "name": "Acme"}], "trends": trends})
        return ShiftDetector.from_settings(config).longest_blip

    assert ShiftDetector().longest_blip == 4  # daily buckets, like the default weekly rhythm
    assert configured() == 4
    assert configured(bucket="hour") is None  # a blip lasts more hours than 4: configure it
    assert configured(bucket="week") is None
    assert configured(bucket="hour", longest_blip=12) == 12
    assert configured(longest_blip=0) is None  # off
    assert configured(longest_blip=3) == 3


def test_a_level_shift_is_confirmed_by_the_default_configuration_before_the_segmentation_can() -> None:
    """The configured detector of a daily run confirms a doubling at high volume 6 buckets in, where
    the segmentation alone mostly needs more than `max_blip_periods` (6) buckets."""
    from groundswell.config import parse_config

    config = parse_config({"brands": [{"id": "acme", "name": "Acme"}]})
    rates = [np.where(np.arange(N) >= T0, 400.0, 200.0) for _ in range(20)]
    series = _market(rates, seed=1)
    shifts = _volume_shifts(ShiftDetector.from_settings(config), series, T0 + 6)
    planted = [k for k in shifts if k.startswith("plant")]
    # 13 of 20 here (seeds 1-4: 13-14); 1-3 with early confirmation off (the segmentation alone)
    assert len(planted) >= 10, sorted(shifts)
    assert not [k for k in shifts if k.startswith("quiet")]


def test_a_spikes_angrier_crowd_is_not_confirmed_early_as_a_negative_share_shift() -> None:
    """Spikes (3-8x for 1-2 buckets, half of them with a decaying tail) whose crowd is angrier (the
    negative share up by 0-30 points while the spike lasts): with early confirmation on, the end
    scan leaves a share window that holds a volume blip to the segmentation, which judges the share
    outside the blip. Replayed online over every day the spikes could be confirmed in."""
    data = generate(1, n_series=300, scenarios={"spike": 1.0})
    truth = {t.key: t for t in data.truth}
    detector = ShiftDetector(longest_blip=4)
    leaked: set[str] = set()
    for cut in range(45, 86):
        for f in detector.fit([s.truncated(cut) for s in data.series]).predict():
            tr = truth[f.key]
            if (
                f.kind == "shift"
                and f.metric == "negative_share"
                and f.start <= tr.end + 3
                and f.end >= tr.start - 3
            ):
                leaked.add(f.key)
    # generator seeds 0-5 with 300 spikes each: 0, 1, 0, 1, 4, 2 (8 of 1,800) reported as a negative-share
    # shift in some run; 1, 5, 2, 2, 5, 3 (18) when the end scan judged the share with the blip inside
    assert len(leaked) <= 2, sorted(leaked)
