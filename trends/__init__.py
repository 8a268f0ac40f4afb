"""Detect: time series per entity and the detector that tells real shifts from blips.

The pipeline calls `detect(config, store)`; the detectors (`ShiftDetector`,
`ChangePointDetector`, `ThreeSigmaAlert`) follow `fit(series) -> Self` / `predict()`.
"""

from __future__ import annotations

from trends.changepoint import ChangePointDetector, NoChange, RupturesDetector
from trends.detect import DetectSummary, detect
from trends.detector import Finding, ShiftDetector, ThreeSigmaAlert
from trends.series import CountSeries

__all__ = [
    "ChangePointDetector",
    "CountSeries",
    "DetectSummary",
    "Finding",
    "NoChange",
    "RupturesDetector",
    "ShiftDetector",
    "ThreeSigmaAlert",
    "detect",
]
