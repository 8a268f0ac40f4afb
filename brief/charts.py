"""The brief's charts: matplotlib figures rendered to base64 PNG data URIs.

Figures are built with the object-oriented API (`matplotlib.figure.Figure`, Agg canvas), so no
global pyplot state and no display are involved. Colours are the Okabe-Ito palette (safe for the
common colour-vision deficiencies) and every series is also told apart by marker, line style or
hatching, never by colour alone. Sizes are chosen for an A4 page (about 17 cm of text width).
"""

from __future__ import annotations

import base64
import io
import logging
from datetime import date

from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from brief.data import HAZARD_LABELS, EventRow, SafetyRow, ScoreRow, SentimentSeries, SovRow, TopicRow

logger = logging.getLogger(__name__)

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
OURS, THEIRS, PREVIOUS = "#0072B2", "#E69F00", "#BBBBBB"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES = ("", "//", "..", "xx", "\\\\", "--", "++", "oo")
WIDTH_IN = 6.7  # A4 text width
DPI = 170


def _figure(height_in: float, ncols: int = 1, nrows: int = 1) -> tuple[Figure, list]:
    # Styling goes on the axes, not into the global rcParams, so other users of matplotlib are unaffected.
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(True, color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(labelsize=8)
    return fig, flat


def to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def share_of_voice_chart(rows: list[SovRow]) -> str:
    """Horizontal bars: share of voice this week (ours blue, competitors orange) next to last week's (grey)."""
    fig, (ax,) = _figure(0.45 * max(len(rows), 2) + 0.9)
    labels = [f"{r.name}{' (us)' if r.ours else ''}" for r in rows][::-1]
    this = [100 * r.share for r in rows][::-1]
    prev = [100 * r.prev_share for r in rows][::-1]
    colors = [OURS if r.ours else THEIRS for r in rows][::-1]
    y = range(len(rows))
    ax.barh([i - 0.2 for i in y], this, height=0.38, color=colors, label="this week")
    ax.barh(
        [i + 0.2 for i in y],
        prev,
        height=0.38,
        color=PREVIOUS,
        hatch="//",
        edgecolor="white",
        label="previous week",
    )
    for i, v in zip(y, this, strict=True):
        ax.text(v + 0.8, i - 0.2, f"{v:.0f}%", va="center", fontsize=8)
    ax.set_yticks(list(y), [_short(label) for label in labels])
    ax.set_xlabel("share of voice (% of brand and competitor mentions)")
    ax.set_xlim(0, max([*this, *prev, 1]) * 1.18)
    ax.grid(axis="y", visible=False)
    handles = [
        Patch(facecolor=OURS, label="us, this week"),
        Patch(facecolor=THEIRS, label="competitors, this week"),
        Patch(facecolor=PREVIOUS, hatch="//", edgecolor="white", label="previous week"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=7.5)
    return to_data_uri(fig)


def sentiment_chart(series: list[SentimentSeries], weeks: list[date]) -> str:
    """Two panels over the last weeks: mean sentiment and negative share, one line per brand."""
    fig, (ax1, ax2) = _figure(3.0, ncols=2)
    for i, s in enumerate(series):
        if not s.points:
            continue
        color = OKABE_ITO[i % len(OKABE_ITO)]
        style = "-" if s.ours else "--"
        xs = [p.week for p in s.points]
        label = f"{s.name}{' (us)' if s.ours else ''}"
        kw = {
            "color": color,
            "linestyle": style,
            "marker": MARKERS[i % len(MARKERS)],
            "markersize": 4,
            "linewidth": 1.6,
        }
        ax1.plot(xs, [p.mean for p in s.points], label=_short(label, 22), **kw)
        ax2.plot(xs, [100 * p.negative_share for p in s.points], **kw)
    ax1.axhline(0, color="#888888", linewidth=0.8)
    extent = max((abs(p.mean) for s in series for p in s.points), default=0.0)
    limit = min(1.0, max(0.25, 1.3 * extent))  # symmetric around 0 so that up is better and 0 is neutral
    ax1.set_ylim(-limit, limit)
    ax1.set_title("mean sentiment (−1 … +1)", fontsize=9)
    ax2.set_title("negative share (%)", fontsize=9)
    ax2.set_ylim(bottom=0)
    for ax in (ax1, ax2):
        ax.set_xticks(weeks, [w.strftime("%d %b") for w in weeks], rotation=45, ha="right")
    fig.legend(loc="outside lower center", ncols=min(4, max(len(series), 1)), fontsize=7.5)
    return to_data_uri(fig)


def topics_chart(rows: list[TopicRow]) -> str:
    """Emerging topics: this week's mentions against the previous week's."""
    fig, (ax,) = _figure(0.4 * max(len(rows), 2) + 0.9)
    y = list(range(len(rows)))[::-1]
    ax.barh([i - 0.2 for i in y], [r.count for r in rows], height=0.38, color=OKABE_ITO[2], label="this week")
    ax.barh(
        [i + 0.2 for i in y],
        [r.prev_count for r in rows],
        height=0.38,
        color=PREVIOUS,
        hatch="//",
        edgecolor="white",
        label="previous week",
    )
    for i, r in zip(y, rows, strict=True):
        ax.text(r.count + 0.3, i - 0.2, f"+{r.change}", va="center", fontsize=8)
    ax.set_yticks(y, [_short(r.label, 34) for r in rows])
    ax.set_xlabel("mentions")
    ax.grid(axis="y", visible=False)
    fig.legend(loc="outside lower center", ncols=2, fontsize=7.5)
    return to_data_uri(fig)


def safety_chart(rows: list[SafetyRow]) -> str:
    """Hazards per product: stacked bars, each hazard with its own colour and hatching."""
    hazards = [h for h in HAZARD_LABELS if any(h in r.hazards for r in rows)]
    hazards += sorted({h for r in rows for h in r.hazards} - set(hazards))
    fig, (ax,) = _figure(0.4 * max(len(rows), 2) + 1.0)
    y = list(range(len(rows)))[::-1]
    left = [0] * len(rows)
    for j, h in enumerate(hazards):
        vals = [r.hazards.get(h, 0) for r in rows]
        ax.barh(
            y,
            vals,
            left=left,
            height=0.6,
            color=OKABE_ITO[(j + 3) % len(OKABE_ITO)],
            hatch=HATCHES[j % len(HATCHES)],
            edgecolor="white",
            label=HAZARD_LABELS.get(h, h),
        )
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_yticks(y, [_short(f"{r.name}{' (us)' if r.ours else ''}") for r in rows])
    ax.set_xlabel("mentions with the hazard (a mention can name several)")
    ax.grid(axis="y", visible=False)
    fig.legend(loc="outside lower center", ncols=min(6, max(len(hazards), 1)), fontsize=7.5)
    return to_data_uri(fig)


def shifts_chart(rows: list[EventRow], max_panels: int = 6) -> str:
    """Small multiples: the series around each detected shift, its start marked."""
    rows = [r for r in rows if r.event.series][:max_panels]
    ncols = min(3, len(rows))
    nrows = (len(rows) + ncols - 1) // ncols
    fig, axes = _figure(2.1 * nrows + 0.2, ncols=ncols, nrows=nrows)
    for ax, r in zip(axes, rows, strict=False):
        ev = r.event
        xs = [p.t for p in ev.series]
        ax.plot(
            xs, [p.value for p in ev.series], color=OKABE_ITO[0], marker="o", markersize=2.5, linewidth=1.3
        )
        ax.axvline(ev.start, color=OKABE_ITO[3], linestyle="--", linewidth=1)
        ax.axhline(ev.baseline, color="#888888", linestyle=":", linewidth=1)
        arrow = "▲" if ev.direction == "up" else "▼"
        ax.set_title(f"{_short(r.subject, 24)}\n{r.metric} {arrow}", fontsize=7.5)
        ax.tick_params(axis="x", labelrotation=45, labelsize=6.5)
        ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
    for ax in axes[len(rows) :]:
        ax.set_visible(False)
    return to_data_uri(fig)


def scorecard_chart(rows: list[ScoreRow]) -> str:
    """The CRRM scorecard at a glance: mean sentiment and complaint share per business area, this
    week as bars, the previous week as a black diamond."""
    fig, (ax1, ax2) = _figure(0.32 * max(len(rows), 2) + 1.1, ncols=2)
    y = list(range(len(rows)))[::-1]
    means = [r.mean or 0.0 for r in rows]
    ax1.barh(
        y,
        means,
        height=0.6,
        color=[OURS if m >= 0 else OKABE_ITO[3] for m in means],
        hatch=["" if m >= 0 else "//" for m in means],
        edgecolor="white",
    )
    prev_y = [i for i, r in zip(y, rows, strict=True) if r.prev_mean is not None]
    ax1.plot(
        [r.prev_mean for r in rows if r.prev_mean is not None],
        prev_y,
        "D",
        color="black",
        markersize=4,
        linestyle="none",
    )
    ax1.axvline(0, color="#888888", linewidth=0.8)
    extent = max(
        [abs(m) for m in means] + [abs(r.prev_mean) for r in rows if r.prev_mean is not None] + [0.1]
    )
    ax1.set_xlim(-1.2 * extent, 1.2 * extent)
    ax1.set_yticks(y, [r.label for r in rows])
    ax1.set_title("mean sentiment (higher is better)", fontsize=9)
    shares = [100 * (r.complaint_share or 0.0) for r in rows]
    ax2.barh(y, shares, height=0.6, color=OKABE_ITO[1])
    prev_y = [i for i, r in zip(y, rows, strict=True) if r.prev_complaint_share is not None]
    ax2.plot(
        [100 * r.prev_complaint_share for r in rows if r.prev_complaint_share is not None],
        prev_y,
        "D",
        color="black",
        markersize=4,
        linestyle="none",
    )
    ax2.set_yticks(y, [""] * len(rows))
    ax2.set_xlim(0, max([*shares, 10]) * 1.15)
    ax2.set_title("complaint share % (lower is better)", fontsize=9)
    for ax in (ax1, ax2):
        ax.grid(axis="y", visible=False)
    handles = [
        Patch(facecolor=OURS, label="this week: positive"),
        Patch(facecolor=OKABE_ITO[3], hatch="//", edgecolor="white", label="this week: negative"),
        Patch(facecolor=OKABE_ITO[1], label="this week: complaint share"),
        Line2D([], [], marker="D", color="black", linestyle="none", markersize=4, label="previous week"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=7.5)
    return to_data_uri(fig)
