"""TCPDBench metrics (checked against TCPDBench's own documented examples) and the TCPD data."""

from __future__ import annotations

from pathlib import Path

import pytest

from trends.changepoint import ChangePointDetector, NoChange, RupturesDetector
from trends.evaluation import covering, f_measure, load_tcpd, partition_from_cps


def test_f_measure_matches_tcpdbench_examples() -> None:
    assert f_measure({"1": [10, 20], "2": [11, 20], "3": [10], "4": [0, 5]}, [10, 20])[0] == pytest.approx(
        1.0
    )
    assert f_measure({"1": [], "2": [10], "3": [50]}, [10])[0] == pytest.approx(0.9090909090909091)
    assert f_measure({"1": [], "2": [10], "3": [50]}, [])[0] == pytest.approx(0.8)


def test_covering_matches_tcpdbench_examples() -> None:
    assert covering({"1": [10, 20], "2": [10], "3": [0, 5]}, [10, 20], 45) == pytest.approx(
        0.7962962962962963
    )
    assert covering({"1": [], "2": [10], "3": [40]}, [10], 45) == pytest.approx(0.7954144620811286)
    assert covering({"1": [], "2": [10], "3": [40]}, [], 45) == pytest.approx(0.8189300411522634)


def test_partition_from_cps_cuts_at_change_points() -> None:
    assert partition_from_cps([0, 3], 5) == [{0, 1, 2}, {3, 4}]


def test_changepoint_detector_beats_baselines_on_tcpd(shared_data: Path) -> None:
    series = load_tcpd(shared_data / "tcpd")
    assert len(series) >= 10

    def score(method) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        cps = [method.fit(s.values).predict() for s in series]
        f1 = [f_measure(s.annotations, c)[0] for s, c in zip(series, cps, strict=True)]
        cov = [covering(s.annotations, c, s.n_obs) for s, c in zip(series, cps, strict=True)]
        return sum(f1) / len(f1), sum(cov) / len(cov)

    ours = score(ChangePointDetector())
    for baseline in (NoChange(), RupturesDetector(algorithm="binseg")):
        theirs = score(baseline)
        assert ours[0] > theirs[0] and ours[1] > theirs[1], (baseline.name, ours, theirs)
