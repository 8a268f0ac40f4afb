"""Detect: time series per entity and the detector that tells real shifts from blips.

The pipeline calls `trends.detect.detect(config, store)` (the submodule `trends.detect` shares the
function's name, so the package does not re-export the function); the detectors (`ShiftDetector`,
`ChangePointDetector`, `ThreeSigmaAlert`) follow `fit(series) -> Self` / `predict()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from groundswell.lazy import lazy_attributes

if TYPE_CHECKING:
    from trends.changepoint import ChangePointDetector, NoChange, RupturesDetector
    from trends.detect import DetectSummary
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
]

# imported on first use: ruptures, SciPy and statsmodels are slow to import
_LAZY = {
    "ChangePointDetector": "trends.changepoint",
    "CountSeries": "trends.series",
    "DetectSummary": "trends.detect",
    "Finding": "trends.detector",
    "NoChange": "trends.changepoint",
    "RupturesDetector": "trends.changepoint",
    "ShiftDetector": "trends.detector",
    "ThreeSigmaAlert": "trends.detector",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
