"""Change-point segmentation: the detector's own method and the ruptures baselines it is compared to.

`ChangePointDetector` is an exact penalised least-squares segmentation (optimal partitioning, the
problem ruptures' PELT solves) vectorised over many series of equal length at once, so thousands
of entity series cost one numpy pass per time step. The penalty is `penalty * scale² * log(n) * d`
where the scale is either the series' standard deviation (real-valued series such as TCPD) or a
robust noise estimate from first differences (variance-stabilised count series, where a shift
must not inflate the noise estimate). Each change point is then kept only if the segments on
either side differ significantly once autocorrelation is accounted for.

All detectors follow `fit(signal) -> Self` / `predict() -> list[int]`; `predict` returns the
0-based indices at which a new segment starts (never 0 and never n), as TCPDBench expects.
"""

from __future__ import annotations

import itertools
import logging
from typing import Literal, Self

import numpy as np
import ruptures as rpt
from scipy.special import stdtr

logger = logging.getLogger(__name__)

Scale = Literal["std", "diff_mad"]


def noise_scale(x: np.ndarray, scale: Scale) -> np.ndarray:
    """Per-series (and per-dimension) noise scale of `x` shaped (S, n, d)."""
    if scale == "std":
        s = x.std(axis=1)
    elif scale == "diff_mad":
        d = np.diff(x, axis=1)
        med = np.median(d, axis=1, keepdims=True)
        s = np.median(np.abs(d - med), axis=1) / 0.6745 / np.sqrt(2.0)
        fallback = d.std(axis=1) / np.sqrt(2.0)
        s = np.where(s > 0, s, fallback)
    else:
        raise ValueError(f"unknown scale {scale!r}; allowed: 'std', 'diff_mad'")
    return np.where(s > 0, s, 1.0)


def segment_batch(signals: np.ndarray, penalty: np.ndarray | float, min_size: int = 1) -> list[list[int]]:
    """Exact penalised l2 segmentation of S series at once.

    `signals` is (S, n) or (S, n, d), already scaled; `penalty` is the cost of one extra segment
    (scalar or one per series). Returns, per series, the start indices of every segment but the first.
    """
    x = np.asarray(signals, dtype=float)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"signals must be shaped (series, n) or (series, n, dims), got {x.shape}")
    n_series, n, _ = x.shape
    if min_size < 1:
        raise ValueError(f"min_size must be at least 1, got {min_size}")
    pen = np.broadcast_to(np.asarray(penalty, dtype=float), (n_series,))
    if n < 2 * min_size:
        return [[] for _ in range(n_series)]
    out: list[list[int]] = []
    # blocks of series small enough for the CPU cache: the same work, about 3x faster at 10,000
    for lo in range(0, n_series, _BLOCK):
        last = _optimal_partition(x[lo : lo + _BLOCK], pen[lo : lo + _BLOCK], min_size)
        for row in last:
            cps: list[int] = []
            t = n
            while t > 0:
                t = int(row[t])
                if t > 0:
                    cps.append(t)
            out.append(sorted(cps))
    return out


_BLOCK = 256  # series per block of segment_batch


def _optimal_partition(x: np.ndarray, pen: np.ndarray, min_size: int) -> np.ndarray:
    """(S, n + 1) start of the last segment of the best segmentation of x[:, :t], for every t."""
    n_series, n, dims = x.shape
    cs2 = np.zeros((n_series, n + 1))
    np.cumsum((x * x).sum(axis=2), axis=1, out=cs2[:, 1:])
    cs = np.zeros((n_series, n + 1, dims))
    np.cumsum(x, axis=1, out=cs[:, 1:, :])
    cs1 = cs[:, :, 0] if dims == 1 else None  # the detector's case: no sum over a length-1 axis
    best = np.full((n_series, n + 1), np.inf)
    best[:, 0] = -pen
    last = np.zeros((n_series, n + 1), dtype=np.int64)
    rows = np.arange(n_series)
    for t in range(min_size, n + 1):
        m = t - min_size + 1  # candidate starts s = 0 .. t - min_size of the last segment
        if cs1 is not None:
            seg1 = cs1[:, t : t + 1] - cs1[:, :m]
            total = seg1 * seg1
        else:
            seg = cs[:, t : t + 1, :] - cs[:, :m, :]
            total = (seg * seg).sum(axis=2)
        # cost of x[s:t] = cs2[t] - cs2[s] - |cs[t] - cs[s]|^2 / (t - s); cs2[t] and the penalty
        # are the same for every s, so they are added after the argmin
        total /= -(t - np.arange(m))
        total += best[:, :m]
        total -= cs2[:, :m]
        j = np.argmin(total, axis=1)
        best[:, t] = total[rows, j] + cs2[:, t] + pen
        last[:, t] = j
    return last


def observed_rows(x: np.ndarray) -> np.ndarray:
    """Indices of the rows of an (n, dims) signal with no missing value (NaN or infinite)."""
    return np.flatnonzero(np.isfinite(x).all(axis=1))


def drop_trend_steps(x: np.ndarray, cps: list[int]) -> list[int]:
    """Drop change points that only cut a smooth trend into steps (population, GDP).

    For each change point, the two segments around it are fitted once with two means (a step)
    and once with one straight line: the same number of parameters. Where the line fits at
    least as well, the "change" is a trend and the change point goes; the weakest goes first.
    """
    cps = sorted(cps)
    while cps:
        bounds = [0, *cps, len(x)]
        ratios = []
        for k in range(len(cps)):
            a, m, b = bounds[k], bounds[k + 1], bounds[k + 2]
            seg = x[a:b]
            t = np.arange(b - a, dtype=float)
            design = np.column_stack([np.ones_like(t), t])
            coef, *_ = np.linalg.lstsq(design, seg, rcond=None)
            rss_line = float(((seg - design @ coef) ** 2).sum())
            left, right = x[a:m], x[m:b]
            rss_step = float(
                ((left - left.mean(axis=0)) ** 2).sum() + ((right - right.mean(axis=0)) ** 2).sum()
            )
            ratios.append(rss_line / max(rss_step, 1e-12))
        weakest = int(np.argmin(ratios))
        if ratios[weakest] > 1.0:
            break
        del cps[weakest]
    return cps


def prune_insignificant(x: np.ndarray, cps: list[int], alpha: float) -> list[int]:
    """Drop change points whose neighbouring segment means do not differ significantly.

    The test is a t-test on the two segments' means with the residual variance of the whole
    segmentation, its variance and degrees of freedom inflated for lag-1 autocorrelation (real
    series are rarely independent), Bonferroni-corrected over the change points left and over
    the dimensions. The weakest change point goes first; repeat until all are significant.
    """
    cps = sorted(cps)
    n, d = x.shape
    while cps:
        bounds = [0, *cps, n]
        segs = [x[a:b] for a, b in itertools.pairwise(bounds)]
        res = np.concatenate([s - s.mean(axis=0) for s in segs])
        var = res.var(axis=0) + 1e-12
        r = res / np.sqrt(var)
        rho = float(np.clip(np.mean((r[1:] * r[:-1]).sum(axis=0) / (n - 1)), 0.0, 0.95))
        inflate = (1 + rho) / (1 - rho)
        pvals = []
        for left, right in itertools.pairwise(segs):
            t = np.abs(left.mean(axis=0) - right.mean(axis=0)) / np.sqrt(
                var * inflate * (1 / len(left) + 1 / len(right))
            )
            dof = max(2.0, (len(left) + len(right)) / inflate - 2)
            pvals.append(float(2 * stdtr(dof, -t.max())) * d)
        weakest = int(np.argmax(pvals))
        if pvals[weakest] * len(cps) <= alpha:
            break
        del cps[weakest]
    return cps


class ChangePointDetector:
    """Penalised least-squares change points (mean shifts), then a significance check on each.

    One global setting for every series. penalty: multiplier of `scale² * log(n) * dims` (3 is
    the MBIC of R's changepoint package, TCPDBench's default); min_size: shortest segment; scale:
    how the noise level is estimated; alpha: family-wise level of the autocorrelation-aware
    check that keeps only change points whose segments really differ (None: keep all); trend:
    drop change points that only cut a smooth trend into steps (`drop_trend_steps`).

    The defaults (penalty 5, alpha 0.01, trend on) are what leave-one-out cross-validation on the
    16 TCPD series of ../shared chose in 13 of 16 folds (`benchmarks/bench_tcpd.py`); its
    held-out-fold scores are the figures to quote, not these defaults' scores on those 16.
    """

    name = "groundswell-pelt"

    def __init__(
        self,
        *,
        penalty: float = 5.0,
        min_size: int = 5,
        scale: Scale = "std",
        alpha: float | None = 0.01,
        trend: bool = True,
    ) -> None:
        if penalty <= 0:
            raise ValueError(f"penalty must be positive, got {penalty}")
        if alpha is not None and not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1] or None, got {alpha}")
        self.penalty = penalty
        self.min_size = min_size
        self.scale: Scale = scale
        self.alpha = alpha
        self.trend = trend
        self._signal: np.ndarray | None = None
        self._rows: np.ndarray | None = None

    def fit(self, signal: np.ndarray) -> Self:
        """Missing values (NaN rows, a gap) are left out: the observed rows are segmented and the
        change points mapped back to the original positions."""
        x = np.asarray(signal, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f"signal must be a non-empty 1-D or (n, dims) array, got shape {x.shape}")
        self._rows = observed_rows(x)
        self._signal = x[self._rows]
        return self

    def predict(self) -> list[int]:
        if self._signal is None or self._rows is None:
            raise RuntimeError("call fit(signal) before predict()")
        if len(self._signal) < 2:
            return []
        x = self._signal[None, :, :]
        centred = x - x.mean(axis=1, keepdims=True)
        z = centred / noise_scale(x, self.scale)[:, None, :]
        n, d = x.shape[1], x.shape[2]
        cps = segment_batch(z, self.penalty * np.log(n) * d, self.min_size)[0]
        if self.trend:
            cps = drop_trend_steps(z[0], cps)
        if self.alpha is not None:
            cps = prune_insignificant(z[0], cps, self.alpha)
        return [int(self._rows[c]) for c in cps]


class RupturesDetector:
    """ruptures' Binseg or Pelt with its default cost, min_size and jump, on the z-scored signal.

    ruptures has no default penalty; like TCPDBench's default experiment (R changepoint's MBIC for
    a change in mean) the penalty is `3 * log(n) * dims`.
    """

    def __init__(self, *, algorithm: Literal["binseg", "pelt"], penalty: float = 3.0) -> None:
        if algorithm not in ("binseg", "pelt"):
            raise ValueError(f"unknown algorithm {algorithm!r}; allowed: 'binseg', 'pelt'")
        self.algorithm = algorithm
        self.name = f"ruptures-{algorithm}"
        self.penalty = penalty
        self._signal: np.ndarray | None = None
        self._rows: np.ndarray = np.zeros(0, dtype=int)

    def fit(self, signal: np.ndarray) -> Self:
        x = np.asarray(signal, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        self._rows = observed_rows(x)  # missing values are left out, as for ChangePointDetector
        x = x[self._rows]
        self._signal = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        return self

    def predict(self) -> list[int]:
        if self._signal is None:
            raise RuntimeError("call fit(signal) before predict()")
        n, d = self._signal.shape
        if n < 2:
            return []
        algo = rpt.Binseg() if self.algorithm == "binseg" else rpt.Pelt()
        bkps = algo.fit(self._signal).predict(pen=self.penalty * np.log(n) * d)
        return [int(self._rows[b]) for b in bkps if b < n]


class NoChange:
    """The 'no change point' baseline."""

    name = "zero"

    def fit(self, signal: np.ndarray) -> Self:
        return self

    def predict(self) -> list[int]:
        return []
