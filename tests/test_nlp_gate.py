"""The quality gate's floors: a --quick run scores some sets on random samples."""

from __future__ import annotations

import pytest

from nlp.evaluation import FLOORS, QUICK_SAMPLES, effective_floor, sampling_margin


def test_sampling_margin_is_two_standard_errors() -> None:
    assert sampling_margin(0.75, 900) == pytest.approx(2 * (0.75 * 0.25 / 900) ** 0.5)
    assert sampling_margin(0.75, 900) > sampling_margin(0.75, 9000)


def test_quick_runs_check_sampled_scores_against_the_floor_less_its_margin() -> None:
    # the review sample of 900 sentences once scored 0.7478 while the whole set reached 0.7617
    floor = effective_floor("review_accuracy", FLOORS["review_accuracy"], quick=True)
    assert floor == pytest.approx(
        FLOORS["review_accuracy"] - sampling_margin(FLOORS["review_accuracy"], 900), abs=1e-4
    )
    assert floor < 0.7478 < FLOORS["review_accuracy"]


def test_full_runs_and_unsampled_scores_keep_their_floors() -> None:
    for key in QUICK_SAMPLES:
        assert effective_floor(key, FLOORS[key], quick=False) == FLOORS[key]
    assert (
        effective_floor("safety_loco_recall", FLOORS["safety_loco_recall"], quick=True)
        == FLOORS["safety_loco_recall"]
    )
    assert (
        effective_floor("safety_fpr_tweets", FLOORS["safety_fpr_tweets"], quick=True)
        == FLOORS["safety_fpr_tweets"]
    )
