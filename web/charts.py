"""Server-rendered SVG charts: geometry is computed here, `templates/_charts.html` draws it.

No JavaScript and no inline CSS (the Content-Security-Policy forbids both): colours are SVG
presentation attributes, and markers are plain links to the event pages.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from groundswell.records import TrendEvent
from groundswell.store.base import SeriesPoint

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#4b5563")
BUCKET_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}


@dataclass
class Line:
    name: str
    color: str
    points: str  # "x,y x,y ..." for <polyline>
    dots: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, tooltip


@dataclass
class Marker:
    x: float
    y: float
    kind: str  # shift | blip
    href: str
    title: str
    color: str
    direction: str  # up | down


@dataclass
class LineChart:
    title: str
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    lines: list[Line]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    markers: list[Marker]
    zero_y: float | None = None
    empty: bool = False
    guides: list[tuple[float, str]] = field(default_factory=list)  # y, label: horizontal reference lines


@dataclass
class Bar:
    name: str
    color: str
    y: float
    width: float
    label: str
    href: str


@dataclass
class BarChart:
    title: str
    width: int
    height: int
    left: int
    bar_h: int
    plot_w: int
    bars: list[Bar]


def bucket_range(start: datetime, end: datetime, bucket: str) -> list[datetime]:
    step = BUCKET_STEP[bucket]
    out: list[datetime] = []
    t = start
    while t <= end and len(out) < 5000:
        out.append(t)
        t += step
    return out


def line_chart(
    title: str,
    series: dict[str, dict[datetime, float]],
    buckets: Sequence[datetime],
    colors: dict[str, str],
    *,
    events: Iterable[tuple[TrendEvent, str]] = (),
    y_range: tuple[float, float] | None = None,
    fill_missing: float | None = 0.0,
    value_format: str = "{:.0f}",
    guides_at: Sequence[tuple[float, str]] = (),
    width: int = 760,
    height: int = 260,
) -> LineChart:
    """One line per key over `buckets`; `events` (event, key) become markers on their key's line."""
    left, top, right, bottom = 52, 22, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series.values() for v in s.values()]
    if not buckets or not values:
        return LineChart(title, width, height, left, top, plot_w, plot_h, [], [], [], [], empty=True)
    lo, hi = y_range if y_range else (min(0.0, *values), max(values))
    if hi <= lo:
        hi = lo + 1.0
    step = _nice_step((hi - lo) / 4, integer=value_format == "{:.0f}")
    if y_range is None:
        lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    n = len(buckets)
    index = {b: i for i, b in enumerate(buckets)}

    def x_of(i: int | float) -> float:
        return round(left + (plot_w * i / max(n - 1, 1)), 1)

    def y_of(v: float) -> float:
        return round(top + plot_h - (v - lo) / (hi - lo) * plot_h, 1)

    lines: list[Line] = []
    for key, points in series.items():
        coords, dots = [], []
        for i, b in enumerate(buckets):
            v = points.get(b, fill_missing)
            if v is None:
                continue
            x, y = x_of(i), y_of(v)
            coords.append(f"{x},{y}")
            dots.append((x, y, f"{key} {b:%Y-%m-%d}: {value_format.format(v)}"))
        lines.append(Line(key, colors.get(key, PALETTE[len(lines) % len(PALETTE)]), " ".join(coords), dots))

    markers = []
    for event, key in events:
        nearest = _nearest(index, buckets, event.start)
        if nearest is None:
            continue
        i = nearest
        v = series.get(key, {}).get(buckets[i], fill_missing)
        y = y_of(v) if v is not None else top + plot_h
        markers.append(
            Marker(
                x=x_of(i),
                y=y,
                kind=event.kind,
                href=f"/trends/{event.id}",
                title=f"{event.kind} ({event.reason}): {key} {event.metric} {event.direction} from {event.start:%Y-%m-%d}",
                color=colors.get(key, "#4b5563"),
                direction=event.direction,
            )
        )
    every = max(1, n // (width // 110))
    x_fmt = "%b %d %H:%M" if len(buckets) > 1 and buckets[1] - buckets[0] < timedelta(days=1) else "%b %d"
    x_ticks = [(x_of(i), f"{buckets[i]:{x_fmt}}") for i in range(0, n, every)]
    y_ticks = []
    k = 0
    while lo + k * step <= hi + step / 1000 and k < 50:
        v = lo + k * step
        y_ticks.append((y_of(v), value_format.format(v)))
        k += 1
    zero_y = y_of(0.0) if lo < 0 < hi else None
    guides = [(y_of(v), label) for v, label in guides_at if lo <= v <= hi]
    return LineChart(
        title,
        width,
        height,
        left,
        top,
        plot_w,
        plot_h,
        lines,
        x_ticks,
        y_ticks,
        markers,
        zero_y,
        guides=guides,
    )


def _nice_step(raw: float, *, integer: bool = False) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) close to `raw`; whole when `integer`."""
    if raw <= 0:
        return 1.0
    if integer and raw < 1:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10) if integer and power < 10 else (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def bar_chart(
    title: str, values: dict[str, float], colors: dict[str, str], *, hrefs: dict[str, str], width: int = 760
) -> BarChart:
    """Horizontal bars of shares (0..1), largest first."""
    left, bar_h = 110, 28
    plot_w = width - left - 56
    ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    bars = [
        Bar(
            name=k,
            color=colors.get(k, PALETTE[i % len(PALETTE)]),
            y=8 + i * (bar_h + 8),
            width=round(max(v, 0.0) * plot_w, 1),
            label=f"{v:.0%}",
            href=hrefs.get(k, ""),
        )
        for i, (k, v) in enumerate(ordered)
    ]
    return BarChart(title, width, 16 + len(bars) * (bar_h + 8), left, bar_h, plot_w, bars)


def per_key(points: Iterable[SeriesPoint], metric: str) -> dict[str, dict[datetime, float]]:
    """Series points -> key -> bucket -> value of `metric` ('volume' or 'mean_sentiment')."""
    out: dict[str, dict[datetime, float]] = defaultdict(dict)
    for p in points:
        if metric == "volume":
            out[p.key][p.bucket] = float(p.count)
        elif metric == "mean_sentiment":
            if p.count:
                out[p.key][p.bucket] = p.sentiment_sum / p.count
        elif metric == "negative_share":
            if p.count:
                out[p.key][p.bucket] = p.negative / p.count
        else:
            raise ValueError(
                f"unknown chart metric '{metric}'; allowed: volume, mean_sentiment, negative_share"
            )
    return dict(out)


def _nearest(index: dict[datetime, int], buckets: Sequence[datetime], when: datetime) -> int | None:
    when = when.astimezone(UTC)
    if when in index:
        return index[when]
    if when < buckets[0] or when > buckets[-1] + (
        buckets[-1] - buckets[-2] if len(buckets) > 1 else timedelta(days=1)
    ):
        return None
    best = min(range(len(buckets)), key=lambda i: abs((buckets[i] - when).total_seconds()))
    return best
