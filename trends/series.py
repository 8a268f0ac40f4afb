"""Dense per-key count series built from the store's `SeriesPoint`s, and the metrics derived from them.

A `CountSeries` keeps raw counts per bucket (not ratios), so every test downstream can be
count-aware: a share of 2 out of 3 stays 2 out of 3.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import ArrayLike

from groundswell.store.base import Bucket, SeriesPoint

METRICS = ("volume", "negative_share", "mean_sentiment", "complaint_share", "safety_count")
BUCKET_STEP: dict[str, timedelta] = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
}
# the rhythm each bucket size carries: a week of days, a day of hours; weeks have none we can model
SEASON_PERIOD: dict[str, int] = {"hour": 24, "day": 7, "week": 0}


def floor_bucket(t: datetime, bucket: Bucket) -> datetime:
    """Start of the bucket containing `t` (UTC; weeks start on Monday, as the store buckets them)."""
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    if bucket == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    raise ValueError(f"unknown bucket {bucket!r}; allowed: {', '.join(BUCKET_STEP)}")


def bucket_range(start: datetime, end: datetime, bucket: Bucket) -> list[datetime]:
    """Bucket starts covering [start, end)."""
    step = BUCKET_STEP[bucket]
    t = floor_bucket(start, bucket)
    out = []
    while t < end:
        out.append(t)
        t += step
    return out


@dataclass
class CountSeries:
    """One key's aggregates over a dense, shared time axis (zeros where the store had no bucket)."""

    group_by: str
    key: str
    times: list[datetime]
    count: np.ndarray
    negative: np.ndarray
    positive: np.ndarray
    sentiment_sum: np.ndarray
    complaints: np.ndarray
    safety: np.ndarray
    authors: np.ndarray
    sources: np.ndarray
    copies: np.ndarray  # posts including the near-identical copies dedup collapsed into them
    metrics: tuple[str, ...] = field(default=METRICS)

    def __len__(self) -> int:
        return len(self.times)

    @classmethod
    def empty(
        cls, group_by: str, key: str, times: Sequence[datetime], metrics: tuple[str, ...] = METRICS
    ) -> CountSeries:
        n = len(times)
        return cls(
            group_by,
            key,
            list(times),
            count=np.zeros(n),
            negative=np.zeros(n),
            positive=np.zeros(n),
            sentiment_sum=np.zeros(n),
            complaints=np.zeros(n),
            safety=np.zeros(n),
            authors=np.zeros(n),
            sources=np.zeros(n),
            copies=np.zeros(n),
            metrics=metrics,
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        group_by: str,
        key: str,
        times: Sequence[datetime],
        count: ArrayLike,
        negative: ArrayLike | None = None,
        positive: ArrayLike | None = None,
        sentiment_sum: ArrayLike | None = None,
        complaints: ArrayLike | None = None,
        safety: ArrayLike | None = None,
        authors: ArrayLike | None = None,
        sources: ArrayLike | None = None,
        copies: ArrayLike | None = None,
        metrics: tuple[str, ...] = METRICS,
    ) -> CountSeries:
        n = len(times)
        c = np.asarray(count, dtype=float)
        if len(c) != n:
            raise ValueError(f"count has {len(c)} values for {n} buckets")

        def arr(v: ArrayLike | None, default: np.ndarray) -> np.ndarray:
            a = default.copy() if v is None else np.asarray(v, dtype=float)
            if len(a) != n:
                raise ValueError(f"series {key!r}: an array has {len(a)} values for {n} buckets")
            return a

        zeros = np.zeros(n)
        return cls(
            group_by,
            key,
            list(times),
            c,
            arr(negative, zeros),
            arr(positive, zeros),
            arr(sentiment_sum, zeros),
            arr(complaints, zeros),
            arr(safety, zeros),
            arr(authors, c),
            arr(sources, np.minimum(c, 1.0)),
            arr(copies, c),
            metrics=metrics,
        )

    def numerator(self, metric: str) -> np.ndarray:
        """The count a share metric is made of (negatives, complaints) or the counted events."""
        return {
            "volume": self.count,
            "negative_share": self.negative,
            "complaint_share": self.complaints,
            "safety_count": self.safety,
        }[metric]

    def numerator_total(self, metric: str) -> float:
        """Total of what a metric counts (mentions for mean sentiment)."""
        return float(self.count.sum() if metric == "mean_sentiment" else self.numerator(metric).sum())

    def value(self, metric: str) -> np.ndarray:
        """The metric as shown on a chart (NaN where a ratio has no mentions behind it)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            if metric == "volume":
                return self.count.copy()
            if metric == "safety_count":
                return self.safety.copy()
            if metric == "negative_share":
                return np.where(self.count > 0, self.negative / self.count, np.nan)
            if metric == "complaint_share":
                return np.where(self.count > 0, self.complaints / self.count, np.nan)
            if metric == "mean_sentiment":
                return np.where(self.count > 0, self.sentiment_sum / self.count, np.nan)
        raise ValueError(f"unknown metric {metric!r}; allowed: {', '.join(METRICS)}")

    def truncated(self, n: int) -> CountSeries:
        """The first n buckets (what an earlier online run saw)."""
        return self.sliced(0, n)

    def taken(self, index: np.ndarray) -> CountSeries:
        """Only the buckets at `index` (the observed ones, when collection missed some)."""
        idx = np.asarray(index, dtype=int)
        return CountSeries(
            self.group_by,
            self.key,
            [self.times[i] for i in idx],
            self.count[idx],
            self.negative[idx],
            self.positive[idx],
            self.sentiment_sum[idx],
            self.complaints[idx],
            self.safety[idx],
            self.authors[idx],
            self.sources[idx],
            self.copies[idx],
            metrics=self.metrics,
        )

    def sliced(self, start: int, stop: int) -> CountSeries:
        """Buckets start..stop-1."""
        part = slice(start, stop)
        return CountSeries(
            self.group_by,
            self.key,
            self.times[part],
            self.count[part],
            self.negative[part],
            self.positive[part],
            self.sentiment_sum[part],
            self.complaints[part],
            self.safety[part],
            self.authors[part],
            self.sources[part],
            self.copies[part],
            metrics=self.metrics,
        )


def series_from_points(
    points: Iterable[SeriesPoint],
    *,
    group_by: str,
    times: Sequence[datetime],
    metrics: tuple[str, ...] = METRICS,
) -> dict[str, CountSeries]:
    """Dense `CountSeries` per key from the store's sparse points (points outside `times` are ignored)."""
    index = {t: i for i, t in enumerate(times)}
    out: dict[str, CountSeries] = {}
    for p in points:
        i = index.get(p.bucket.astimezone(UTC))
        if i is None:
            continue
        s = out.get(p.key)
        if s is None:
            s = out[p.key] = CountSeries.empty(group_by, p.key, times, metrics)
        s.count[i] = p.count
        s.negative[i] = p.negative
        s.positive[i] = p.positive
        s.sentiment_sum[i] = p.sentiment_sum
        s.complaints[i] = p.complaints
        s.safety[i] = p.safety
        s.authors[i] = p.authors
        s.sources[i] = p.sources
        s.copies[i] = p.copies
    return out
