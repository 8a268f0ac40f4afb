"""The shift-vs-blip detector on small planted cases (no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from trends.changepoint import ChangePointDetector, segment_batch
from trends.detector import ShiftDetector, ThreeSigmaAlert, seasonal_factors
from trends.series import CountSeries

N = 70
TIMES = [datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=i) for i in range(N)]


def _series(
    count: np.ndarray,
    *,
    negative: np.ndarray | None = None,
    authors: np.ndarray | None = None,
    key: str = "acme",
    seed: int = 0,
) -> CountSeries:
    rng = np.random.default_rng(seed)
    count = np.asarray(count, dtype=float)
    neg = negative if negative is not None else rng.binomial(count.astype(int), 0.2).astype(float)
    pos = rng.binomial((count - neg).astype(int), 0.5).astype(float)
    return CountSeries.from_arrays(
        group_by="entity",
        key=key,
        times=TIMES,
        count=count,
        negative=neg,
        positive=pos,
        sentiment_sum=(pos - neg) * 0.8,
        complaints=rng.binomial(count.astype(int), 0.1).astype(float),
        authors=authors if authors is not None else np.maximum(1, np.round(count * 0.9)),
        sources=np.minimum(count, 3),
    )


def _poisson(rate: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rate).astype(float)


def _shifts(findings, metric: str = "volume"):  # type: ignore[no-untyped-def]
    return [f for f in findings if f.kind == "shift" and f.metric == metric]


def test_detector_finds_level_shift_near_its_start() -> None:
    rate = np.full(N, 40.0)
    rate[45:] = 90.0
    findings = ShiftDetector().fit(_series(_poisson(rate, 1))).predict()
    shifts = _shifts(findings)
    assert len(shifts) == 1
    assert shifts[0].direction == "up" and abs(shifts[0].start - 45) <= 2
    assert shifts[0].ongoing and shifts[0].confidence > 0.99
    assert shifts[0].level > 1.8 * shifts[0].baseline


def test_detector_reverting_spike_is_a_blip() -> None:
    rate = np.full(N, 40.0)
    rate[50:52] = 250.0
    findings = ShiftDetector().fit(_series(_poisson(rate, 2))).predict()
    assert not _shifts(findings)
    blips = [f for f in findings if f.kind == "blip" and f.metric == "volume"]
    assert blips and blips[0].reason in ("reverted", "one_off") and 49 <= blips[0].start <= 51


def test_detector_single_author_burst_is_a_blip() -> None:
    base = _poisson(np.full(N, 30.0), 3)
    authors = np.maximum(1, np.round(base * 0.9))
    count = base.copy()
    count[40:44] += 120  # one account posts 120 times a day for four days, all negative
    authors[40:44] += 1
    neg = np.random.default_rng(3).binomial(base.astype(int), 0.2).astype(float)
    neg[40:44] += 120
    findings = ShiftDetector().fit(_series(count, negative=neg, authors=authors)).predict()
    assert not [f for f in findings if f.kind == "shift"]
    assert any(f.kind == "blip" and f.reason == "single_author" for f in findings)


def test_detector_bot_burst_is_a_blip() -> None:
    base = _poisson(np.full(N, 30.0), 4)
    authors = np.maximum(1, np.round(base * 0.9))
    count = base.copy()
    count[40:45] += 200  # six accounts flood for five days
    authors[40:45] += 6
    findings = ShiftDetector().fit(_series(count, authors=authors)).predict()
    assert not _shifts(findings)
    assert any(f.kind == "blip" and f.reason == "bot_burst" for f in findings)


def test_detector_low_volume_two_of_three_is_not_a_shift() -> None:
    count = np.full(N, 3.0)
    neg = np.zeros(N)
    neg[::3] = 1.0  # one negative in three a day on average
    neg[30:32] = 2.0  # two days of 2 of 3 ...
    neg[N - 4 :] = 2.0  # ... and 2 of 3 on each of the last four days: 67%, but only 8 mentions
    findings = ShiftDetector().fit(_series(count, negative=neg, authors=np.full(N, 3.0))).predict()
    assert not _shifts(findings, "negative_share")


def test_detector_negative_share_shift_found_at_volume() -> None:
    rng = np.random.default_rng(5)
    count = _poisson(np.full(N, 80.0), 5)
    p = np.where(np.arange(N) >= 50, 0.45, 0.15)
    neg = rng.binomial(count.astype(int), p).astype(float)
    shifts = _shifts(ShiftDetector().fit(_series(count, negative=neg)).predict(), "negative_share")
    assert shifts and shifts[0].direction == "up" and abs(shifts[0].start - 50) <= 2


def test_detector_weekly_rhythm_is_not_a_shift() -> None:
    weekly = np.array([1.3, 1.3, 1.2, 1.1, 1.0, 0.3, 0.25])
    rate = 60.0 * weekly[np.arange(N) % 7]
    findings = ShiftDetector().fit(_series(_poisson(rate, 6))).predict()
    assert not [f for f in findings if f.kind == "shift"]
    factors = seasonal_factors(rate[None, :], 7)[0]
    assert factors[5] < 0.4 < 1.1 < factors[0]


def test_detector_false_discovery_control_keeps_null_series_quiet() -> None:
    series = [_series(_poisson(np.full(N, 25.0), 100 + i), key=f"k{i}", seed=i) for i in range(200)]
    findings = ShiftDetector().fit(series).predict()
    assert len([f for f in findings if f.kind == "shift"]) <= 2


def test_detector_rejects_series_of_different_lengths() -> None:
    short = _series(np.full(N, 5.0)).truncated(40)
    with pytest.raises(ValueError, match="share the time axis"):
        ShiftDetector().fit([_series(np.full(N, 5.0)), short])


def test_detector_new_source_is_not_a_shift_from_zero() -> None:
    count = _poisson(np.full(N, 40.0), 7)
    count[:30] = 0  # the source was added on day 30
    series = _series(count)
    series.group_by = "source"
    assert not _shifts(ShiftDetector().fit(series).predict())


def test_detector_launch_of_an_entity_is_a_shift() -> None:
    count = _poisson(np.full(N, 12.0), 8)
    count[:50] = 0  # a configured product nobody talked about until its launch
    shifts = _shifts(ShiftDetector().fit(_series(count)).predict())
    assert shifts and shifts[0].direction == "up" and abs(shifts[0].start - 50) <= 1


def test_detector_fresh_excursion_is_developing_not_a_shift() -> None:
    rate = np.full(N, 40.0)
    rate[N - 3 :] = 150.0  # three days into something: a blip or a shift, too early to confirm
    findings = [f for f in ShiftDetector().fit(_series(_poisson(rate, 9))).predict() if f.metric == "volume"]
    assert [(f.kind, f.direction, f.start) for f in findings] == [("developing", "up", N - 3)]


def test_detector_without_the_developing_stage_leaves_a_fresh_excursion_pending() -> None:
    rate = np.full(N, 40.0)
    rate[N - 3 :] = 150.0
    findings = ShiftDetector(developing_periods=None).fit(_series(_poisson(rate, 9))).predict()
    assert not [f for f in findings if f.metric == "volume"]


def test_three_sigma_alert_fires_on_spike() -> None:
    rate = np.full(N, 40.0)
    rate[50] = 200.0
    alerts = ThreeSigmaAlert().fit(_series(_poisson(rate, 8))).predict()
    assert 50 in alerts


def test_segment_batch_recovers_mean_shifts() -> None:
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.normal(0, 1, 60), rng.normal(4, 1, 60), rng.normal(-2, 1, 60)])
    cps = ChangePointDetector(penalty=3.0, min_size=5).fit(x).predict()
    assert len(cps) == 2 and abs(cps[0] - 60) <= 3 and abs(cps[1] - 120) <= 3
    assert segment_batch(np.zeros((2, 30)), 5.0, 1) == [[], []]


def test_synthetic_generate_is_seeded_and_returns_truth() -> None:
    from tests.kit.synthetic import generate

    a, b = generate(3, n_series=40), generate(3, n_series=40)
    assert [t.scenario for t in a.truth] == [t.scenario for t in b.truth]
    assert all(np.array_equal(x.count, y.count) for x, y in zip(a.series, b.series, strict=True))
    assert not np.array_equal(generate(4, n_series=40).series[0].count, a.series[0].count)
    for series, truth in zip(a.series, a.truth, strict=True):
        assert series.key == truth.key and len(series) == 90
        assert (series.authors <= series.count).all() and (series.negative <= series.count).all()
        if truth.kind == "shift":
            assert truth.end == 89 and 40 <= truth.start <= 72
    with pytest.raises(ValueError, match="unknown scenarios"):
        generate(3, scenarios={"meteor": 1.0})


def test_seasonal_factors_quiet_phases_give_ones_without_warnings() -> None:
    """Regression: a phase whose ratios are all NaN (no volume on that weekday) must not warn."""
    import warnings

    import numpy as np

    from trends.detector import seasonal_factors

    counts = np.zeros((2, 35))
    counts[1, ::7] = 0.0
    counts[1, 1::7] = 9.0  # only one weekday ever has volume
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        factors = seasonal_factors(counts, 7)
    assert np.isfinite(factors).all()
    assert (factors[0] == 1.0).all()


# ---- one-bucket spikes (blips the segmentation leaves alone) and sparse series --------------
def _quiet_neighbours(n: int, seed: int, rate: float = 5.0) -> list[CountSeries]:
    return [_series(_poisson(np.full(N, rate), seed + i), key=f"n{i}", seed=seed + i) for i in range(n)]


def test_spike_scan_records_a_one_evening_rant_as_a_single_author_blip() -> None:
    count = _poisson(np.full(N, 5.0), 20)
    neg = np.random.default_rng(20).binomial(count.astype(int), 0.15).astype(float)
    authors = count.copy()
    count[40], neg[40], authors[40] = 9, 8, 2  # one owner posts 8 furious messages in one evening
    series = _series(count, negative=neg, authors=authors, key="fan")
    findings = ShiftDetector().fit([series, *_quiet_neighbours(20, 300)]).predict()
    assert not [f for f in findings if f.kind == "shift"]
    rant = [f for f in findings if f.key == "fan" and f.metric == "negative_share"]
    assert len(rant) == 1 and rant[0].kind == "blip" and rant[0].reason == "single_author"
    assert rant[0].start == rant[0].end == 40 and rant[0].q_value <= 0.05


def test_spike_scan_calls_collapsed_copies_a_bot_burst() -> None:
    series = _series(_poisson(np.full(N, 4.0), 21), key="robovac")
    series.copies[30] += 27  # 28 near-identical deal posts that dedup collapsed into one mention
    findings = ShiftDetector().fit([series, *_quiet_neighbours(20, 400)]).predict()
    burst = [f for f in findings if f.key == "robovac"]
    assert [(f.kind, f.metric, f.reason, f.start) for f in burst] == [("blip", "volume", "bot_burst", 30)]


def test_spike_scan_leaves_recent_and_lasting_rises_to_the_segmentation() -> None:
    count = _poisson(np.full(N, 20.0), 22)
    count[N - 1] += 60  # yesterday's spike: not judged until it has had time to revert
    recent = ShiftDetector().fit([_series(count), *_quiet_neighbours(20, 500, 20.0)]).predict()
    assert not [f for f in recent if f.key == "acme"]
    count = _poisson(np.full(N, 20.0), 23)
    count[40] += 60
    count[41:] += 25  # a spike that opens a lasting rise is the start of a shift, not a blip
    lasting = ShiftDetector().fit([_series(count), *_quiet_neighbours(20, 600, 20.0)]).predict()
    assert not [f for f in lasting if f.key == "acme" and f.kind == "blip" and f.metric == "volume"]
    assert [f for f in lasting if f.key == "acme" and f.kind == "shift" and f.metric == "volume"]


def test_spike_scan_keeps_null_series_quiet() -> None:
    detector = ShiftDetector()
    findings = detector.fit(_quiet_neighbours(200, 700, 8.0)).predict()
    assert detector.spike_tests > 200 * 40  # every bucket with a full baseline was tested
    assert len([f for f in findings if f.kind == "blip"]) <= 1


def test_sparse_series_rise_is_a_shift_and_sparse_noise_is_not() -> None:
    rate = np.full(N, 0.25)  # a watched person: named about twice a week ...
    rate[44:] = 2.5  # ... until a post of theirs draws a crowd that keeps talking about it
    count = _poisson(rate, 24)
    leader = _series(count, authors=count, key="leader")  # every echo from someone new
    sparse = [_series(_poisson(np.full(N, 0.3), 800 + i), key=f"s{i}", seed=i) for i in range(300)]
    findings = ShiftDetector().fit([leader, *sparse]).predict()
    found = _shifts([f for f in findings if f.key == "leader"])
    assert found and found[0].direction == "up" and abs(found[0].start - 44) <= 2
    assert len([f for f in findings if f.kind == "shift" and f.key != "leader"]) <= 1


def test_spike_pvalues_are_calibrated_on_untouched_series() -> None:
    detector = ShiftDetector().fit(_quiet_neighbours(300, 900, 12.0))
    for metric in ("volume", "negative_share"):
        p, valid = detector.spike_pvalues(metric)
        assert valid.sum() > 300 * 40
        assert (p[valid] <= 0.01).mean() <= 0.02  # a calibrated test flags about 1%
    with pytest.raises(ValueError, match="no spike test"):
        detector.spike_pvalues("mean_sentiment")
