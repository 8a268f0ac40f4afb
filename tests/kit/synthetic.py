"""Seeded generator of social-media-like series with planted blips and shifts, returned with the truth.

Each series is one key's daily aggregates: overdispersed (gamma-Poisson) volumes with a weekly
rhythm of random strength, low and high volumes (3 to 400 mentions a day), beta-binomial negative
and complaint shares, mean sentiment, safety mentions, distinct authors and sources per bucket.
One scenario is planted per series:

- blips: `spike` (1-2 periods, 3-8x, many authors, sometimes a short decay), `single_author`
  (one account posting dozens of times), `bot_burst` (3-8 accounts flooding);
- shifts: `level_volume` (up or down), `slope_volume` (a ramp to 2-4x), `level_negative` and
  `slope_negative` (negative share up by 12-35 points, volume about the same);
- `none`: nothing planted (false-alarm control);
- `growth`: smooth exponential growth or decline over the whole series (population, GDP, a
  market growing 0.2-1% a day), nothing else: a trend, not a shift. Weight 0 by default (so
  the default draws stay what they were); benchmarks ask for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from trends.series import CountSeries

SCENARIOS: dict[str, float] = {
    "none": 0.16,
    "spike": 0.14,
    "single_author": 0.12,
    "bot_burst": 0.12,
    "level_volume": 0.14,
    "slope_volume": 0.10,
    "level_negative": 0.12,
    "slope_negative": 0.10,
    "growth": 0.0,  # last, weight 0: the default draws of every seed are unchanged
}
BLIP_SCENARIOS = ("spike", "single_author", "bot_burst")
SHIFT_SCENARIOS = ("level_volume", "slope_volume", "level_negative", "slope_negative")
_WEEKLY = np.array([0.25, 0.3, 0.2, 0.1, 0.0, -0.45, -0.4])


@dataclass(frozen=True)
class Truth:
    key: str
    scenario: str
    kind: str  # "shift", "blip" or "none"
    metric: str  # the metric the plant moves ("" for none)
    direction: str  # "up" / "down" ("" for none)
    start: int  # first affected bucket (-1 for none)
    end: int  # last bucket of a blip; last bucket of the series for a shift
    base_volume: float


@dataclass
class SyntheticSet:
    series: list[CountSeries]
    truth: list[Truth]
    start: datetime


def generate(
    seed: int,
    *,
    n_series: int = 500,
    n_periods: int = 90,
    scenarios: dict[str, float] | None = None,
    min_volume: float = 3.0,
    max_volume: float = 400.0,
    event_window: tuple[int, int] = (40, 72),
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC),
) -> SyntheticSet:
    """`n_series` daily series of `n_periods` buckets, one planted scenario each (drawn by weight)."""
    weights = dict(scenarios or SCENARIOS)
    unknown = set(weights) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenarios {sorted(unknown)}; allowed: {', '.join(SCENARIOS)}")
    if event_window[1] >= n_periods:
        raise ValueError(f"event_window {event_window} must end before n_periods={n_periods}")
    rng = np.random.default_rng(seed)
    names = list(weights)
    probs = np.array([weights[k] for k in names], dtype=float)
    probs /= probs.sum()
    times = [start + timedelta(days=i) for i in range(n_periods)]
    out_series, out_truth = [], []
    for idx in range(n_series):
        scenario = str(rng.choice(names, p=probs))
        s, t = _one(
            rng, f"s{idx:05d}-{scenario}", scenario, n_periods, times, min_volume, max_volume, event_window
        )
        out_series.append(s)
        out_truth.append(t)
    return SyntheticSet(series=out_series, truth=out_truth, start=start)


def _one(
    rng: np.random.Generator,
    key: str,
    scenario: str,
    n: int,
    times: list[datetime],
    min_volume: float,
    max_volume: float,
    event_window: tuple[int, int],
) -> tuple[CountSeries, Truth]:
    mu0 = float(np.exp(rng.uniform(np.log(min_volume), np.log(max_volume))))
    size = rng.uniform(5, 30)  # negative-binomial size: smaller = more overdispersed
    amp = rng.uniform(0.0, 1.0)
    weekly = 1.0 + amp * _WEEKLY[np.arange(n) % 7]
    rate = np.full(n, mu0) * weekly
    p_neg = np.full(n, rng.uniform(0.08, 0.3))
    p_compl = np.full(n, rng.uniform(0.05, 0.2))
    t0 = int(rng.integers(event_window[0], event_window[1] + 1))
    extra = np.zeros(n)  # mentions added by a few accounts
    extra_accounts = np.zeros(n)
    extra_neg_share = 0.0
    kind, metric, direction, end = "none", "", "", -1
    if scenario == "spike":
        dur = int(rng.integers(1, 3))
        rate[t0 : t0 + dur] *= rng.uniform(3, 8)
        if rng.random() < 0.5:
            rate[t0 + dur : t0 + dur + 2] *= np.array([1.8, 1.3])[: len(rate[t0 + dur : t0 + dur + 2])]
            dur += 2
        p_neg[t0 : t0 + dur] += rng.uniform(0.0, 0.3)
        kind, metric, direction, end = "blip", "volume", "up", t0 + dur - 1
    elif scenario in ("single_author", "bot_burst"):
        dur = int(rng.integers(1, 4 if scenario == "single_author" else 5))
        accounts = 1 if scenario == "single_author" else int(rng.integers(3, 9))
        extra[t0 : t0 + dur] = np.maximum(15.0, rng.uniform(2, 6) * mu0)
        extra_accounts[t0 : t0 + dur] = accounts
        extra_neg_share = rng.uniform(0.6, 0.95)
        kind, metric, direction, end = "blip", "volume", "up", t0 + dur - 1
    elif scenario == "level_volume":
        up = rng.random() < 0.7
        factor = rng.uniform(1.6, 3.0) if up else 1.0 / rng.uniform(1.6, 2.5)
        rate[t0:] *= factor
        kind, metric, direction, end = "shift", "volume", "up" if up else "down", n - 1
    elif scenario == "slope_volume":
        ramp = int(rng.integers(12, 25))
        top = rng.uniform(2.0, 4.0)
        steps = np.minimum(np.arange(n - t0) + 1, ramp) / ramp
        rate[t0:] *= 1.0 + (top - 1.0) * steps
        kind, metric, direction, end = "shift", "volume", "up", n - 1
    elif scenario == "level_negative":
        p_neg[t0:] += rng.uniform(0.12, 0.3)
        rate[t0:] *= rng.uniform(1.0, 1.3)
        kind, metric, direction, end = "shift", "negative_share", "up", n - 1
    elif scenario == "slope_negative":
        ramp = int(rng.integers(12, 25))
        steps = np.minimum(np.arange(n - t0) + 1, ramp) / ramp
        p_neg[t0:] += rng.uniform(0.15, 0.35) * steps
        kind, metric, direction, end = "shift", "negative_share", "up", n - 1
    elif scenario == "growth":
        g = rng.uniform(0.002, 0.01) * (1 if rng.random() < 0.7 else -1)
        rate *= np.exp(g * (np.arange(n) - n / 2))
        direction = "up" if g > 0 else "down"
    elif scenario != "none":
        raise ValueError(f"unknown scenario {scenario!r}")
    p_neg = np.clip(p_neg, 0.01, 0.95)
    lam = rng.gamma(size, rate / size)
    organic = rng.poisson(lam).astype(float)
    conc = 150.0
    neg = rng.binomial(organic.astype(int), rng.beta(p_neg * conc, (1 - p_neg) * conc)).astype(float)
    pos = rng.binomial((organic - neg).astype(int), 0.45).astype(float)
    compl = rng.binomial(organic.astype(int), p_compl).astype(float)
    authors = np.where(organic > 0, np.maximum(1, rng.binomial(organic.astype(int), 0.9)), 0).astype(float)
    bursts = rng.poisson(extra).astype(float) * (extra > 0)
    burst_neg = rng.binomial(bursts.astype(int), extra_neg_share).astype(float)
    count = organic + bursts
    neg_all = neg + burst_neg
    authors = authors + np.where(bursts > 0, extra_accounts, 0)
    sentiment = (pos - neg_all) * 0.8 + rng.normal(0, 0.05, n) * np.sqrt(count)
    safety = rng.poisson(organic * 0.01).astype(float)
    sources = np.where(count > 0, np.minimum(count, 1 + rng.binomial(4, 0.5, n)), 0).astype(float)
    series = CountSeries.from_arrays(
        group_by="entity",
        key=key,
        times=times,
        count=count,
        negative=neg_all,
        positive=pos,
        sentiment_sum=sentiment,
        complaints=compl,
        safety=safety,
        authors=authors,
        sources=sources,
    )
    truth = Truth(
        key=key,
        scenario=scenario,
        kind=kind,
        metric=metric,
        direction=direction,
        start=t0 if kind != "none" else -1,  # growth: kind "none", a trend is not an event
        end=end,
        base_volume=mu0,
    )
    return series, truth


def nb_series(key: str, rate: np.ndarray, rng: np.random.Generator) -> CountSeries:
    """A daily series from 2026-01-05, one bucket per value of `rate`: negative-binomial counts (size 20:
    a CV of about 0.25 a day), a fifth of them negative, many authors, no weekly rhythm; metrics
    volume and negative share."""
    times = [datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=i) for i in range(len(rate))]
    count = rng.poisson(rng.gamma(20.0, rate / 20.0)).astype(float)
    negative = rng.binomial(count.astype(int), 0.2).astype(float)
    return CountSeries.from_arrays(
        group_by="entity",
        key=key,
        times=times,
        count=count,
        negative=negative,
        positive=count - negative,
        sentiment_sum=0.6 * (count - 2 * negative),
        authors=np.round(0.9 * count),
        sources=np.minimum(count, 3),
        metrics=("volume", "negative_share"),
    )
