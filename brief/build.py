"""Build the weekly market brief: gather the data, draw the charts, render HTML, print the PDF.

`build_brief(config, store, week_start=...)` is what the pipeline and the weekly DAG call. It
writes `brief-YYYY-MM-DD.html` (one self-contained file: charts are embedded as data URIs, the
stylesheet is inline, a Content-Security-Policy forbids scripts and any external load) and, with
`pdf=True`, `brief-YYYY-MM-DD.pdf` printed from the same HTML by WeasyPrint with the print
stylesheet. A record of the brief goes into the store's `briefs` collection (id = the week's
Monday) so the web UI can list past briefs.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Self

import jinja2
from markupsafe import Markup

from brief import charts
from brief.data import (
    BLIP_REASONS,
    HAZARD_LABELS,
    MIN_SUPPORT,
    SAFETY_ACT_MIN_AUTHORS,
    SENTIMENT_WEEKS,
    STRENGTH_DEFINITION,
    BriefData,
    SentimentPoint,
    SentimentSeries,
    collect_brief_data,
    week_bounds,
)
from brief.health import health_appendix
from groundswell.config import Config
from groundswell.health import SourceHealth
from groundswell.store.base import Store

logger = logging.getLogger(__name__)

SEVERITY_NAMES = ("none", "low", "medium", "high")


@dataclass
class BriefResult:
    """What `build_brief` produced."""

    html_path: Path
    pdf_path: Path | None
    pages: int  # PDF page count; 0 when no PDF was written
    week_start: date
    mentions: int  # mentions published in the week
    sections: list[str] = field(default_factory=list)  # ids of the sections in the brief, in order
    seconds: float = 0.0


@dataclass(frozen=True)
class Change:
    """A week-on-week change as the brief shows it: arrow, signed value, and the colour class."""

    symbol: str
    label: str
    css: str
    text: str


def _change(diff: float | None, higher_is_good: bool | None, label: str) -> Change:
    if diff is None:
        return Change("", "–", "flat", "no comparison: no data in one of the weeks")
    if abs(diff) < 1e-9:
        return Change("●", label, "flat", "unchanged")
    direction = "up" if diff > 0 else "down"
    if higher_is_good is None:
        css = "flat"
    else:
        css = f"{direction}-{'good' if (diff > 0) == higher_is_good else 'bad'}"
    return Change("▲" if diff > 0 else "▼", label, css, f"{direction} {label} on the previous week")


def signed(value: float, digits: int = 2) -> str:
    """A signed number that never reads '-0.00'."""
    return f"{round(value, digits) + 0.0:+.{digits}f}"


def delta(
    cur: float | None, prev: float | None, higher_is_good: bool | None = None, fmt: str = "%+.2f"
) -> Change:
    if cur is None or prev is None:
        return _change(None, higher_is_good, "")
    diff = cur - prev
    if abs(diff) < 0.005 and "f" in fmt:  # below the shown precision: unchanged
        diff = 0.0
    return _change(diff, higher_is_good, fmt % diff if diff else "0")


def pts(cur: float | None, prev: float | None, higher_is_good: bool | None = None) -> Change:
    """A change of a share, in percentage points."""
    if cur is None or prev is None:
        return _change(None, higher_is_good, "")
    diff = 100.0 * (cur - prev)
    return _change(diff if abs(diff) >= 0.05 else 0.0, higher_is_good, f"{diff:+.1f} pts")


def _week_point(series: SentimentSeries, week: date) -> SentimentPoint | None:
    return next((p for p in series.points if p.week == week), None)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("brief", "templates"),
        autoescape=True,  # everywhere, whatever the template's extension: post text is untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["signed"] = signed
    env.globals.update(
        delta=delta,
        pts=pts,
        week_point=_week_point,
        blip_reason=lambda r: BLIP_REASONS.get(r, str(r).replace("_", " ")),
        hazard_label=lambda h: HAZARD_LABELS.get(h, h),
        severity_name=lambda s: SEVERITY_NAMES[max(0, min(int(s), 3))],
        one_day=timedelta(days=1),
        min_support=MIN_SUPPORT,
        safety_min=SAFETY_ACT_MIN_AUTHORS,
        strength_definition=STRENGTH_DEFINITION,
    )
    return env


def sections_of(data: BriefData) -> list[str]:
    if data.empty:
        return ["summary", "tickets", *(["evidence"] if data.evidence else [])]
    return [
        "summary",
        "share-of-voice",
        "sentiment",
        "voice-of-customer",
        "emerging-topics",
        "shifts",
        "safety",
        "opinion-leaders",
        "scorecard",
        "tickets",
        *(["evidence"] if data.evidence else []),
    ]


class BriefBuilder:
    """Renders briefs for one deployment; `from_settings(config)` reads `config.brief`."""

    def __init__(self, config: Config, output_dir: Path, pdf: bool = True) -> None:
        self.config = config
        self.output_dir = output_dir
        self.pdf = pdf
        self.env = _environment()

    @classmethod
    def from_settings(cls, config: Config) -> Self:
        return cls(config, output_dir=config.path(config.brief.output_dir), pdf=config.brief.pdf)

    def draw_charts(self, data: BriefData) -> dict[str, str]:
        out: dict[str, str] = {}
        if data.empty:
            return out
        if data.share_of_voice:
            out["share_of_voice"] = charts.share_of_voice_chart(data.share_of_voice)
        weeks = self.weeks(data)
        if any(s.points for s in data.sentiment):
            out["sentiment"] = charts.sentiment_chart(data.sentiment, weeks)
        if data.topics:
            out["topics"] = charts.topics_chart(data.topics)
        if data.safety:
            out["safety"] = charts.safety_chart(data.safety)
        if any(r.count for r in data.scorecard):
            out["scorecard"] = charts.scorecard_chart(data.scorecard)
        if any(r.event.series for r in data.shifts):
            out["shifts"] = charts.shifts_chart(data.shifts)
        return out

    @staticmethod
    def weeks(data: BriefData) -> list[date]:
        return [data.week_start - timedelta(days=7 * i) for i in range(SENTIMENT_WEEKS - 1, -1, -1)]

    def render_html(
        self, data: BriefData, chart_uris: dict[str, str], health: list[SourceHealth] | None = None
    ) -> str:
        css = resources.files("brief").joinpath("templates/brief.css").read_text(encoding="utf-8")
        template = self.env.get_template("brief.html.j2")
        return template.render(
            d=data,
            charts=_Charts(chart_uris),
            ev={e.anchor: e for e in data.evidence},
            css=Markup(css),  # our own stylesheet, shipped with the package: not user data
            kibana=any(e.kibana_url for e in data.evidence),
            weeks=self.weeks(data),
            prev_week=data.week_start - timedelta(days=7),
            week_start_dt=week_bounds(data.week_start)[0],
            health=health or [],
        )

    def build(
        self,
        store: Store,
        *,
        week_start: date,
        out_dir: Path | None = None,
        pdf: bool | None = None,
        now: datetime | None = None,
    ) -> BriefResult:
        t0 = time.perf_counter()
        week_bounds(week_start)  # validates: a Monday
        out = out_dir if out_dir is not None else self.output_dir
        want_pdf = self.pdf if pdf is None else pdf
        out.mkdir(parents=True, exist_ok=True)
        data = collect_brief_data(self.config, store, week_start, now=now)
        t_data = time.perf_counter()
        health = health_appendix(self.config, store, week_start, now=now)
        html = self.render_html(data, self.draw_charts(data), health)
        t_html = time.perf_counter()
        stem = f"brief-{week_start.isoformat()}"
        html_path = out / f"{stem}.html"
        html_path.write_text(html, encoding="utf-8")
        pdf_path, pages = None, 0
        if want_pdf:
            pdf_path = out / f"{stem}.pdf"
            pages = write_pdf(html, pdf_path)
        elapsed = time.perf_counter() - t0
        logger.info(
            "brief for week %s: %s mentions, %s evidence items, %s PDF pages; data %.1fs, charts+html %.1fs, total %.1fs -> %s",
            week_start,
            data.mentions,
            len(data.evidence),
            pages,
            t_data - t0,
            t_html - t_data,
            elapsed,
            html_path,
        )
        result = BriefResult(
            html_path=html_path,
            pdf_path=pdf_path,
            pages=pages,
            week_start=week_start,
            mentions=data.mentions,
            sections=sections_of(data),
            seconds=elapsed,
        )
        store.put_doc(
            "briefs",
            week_start.isoformat(),
            {
                "id": week_start.isoformat(),
                "title": f"{data.title}, week of {week_start.isoformat()}",
                "week_start": week_start.isoformat(),
                "week_end": data.week_end.isoformat(),
                "html_path": str(html_path),
                "pdf_path": str(pdf_path) if pdf_path else None,
                "pages": pages,
                "mentions": data.mentions,
                "prev_mentions": data.prev_mentions,
                "shifts": len(data.shifts),
                "blips": len(data.blips),
                "tickets_opened": len(data.tickets.opened) if data.tickets else 0,
                "sections": result.sections,
                "generated_at": data.generated.isoformat(),
            },
        )
        return result


class _Charts(dict[str, str]):
    """Chart URIs by name; a missing chart reads as empty (the template then skips the figure)."""

    def __getattr__(self, name: str) -> str:
        return self.get(name, "")


@functools.cache
def _printable_codepoints() -> frozenset[int]:
    """Code points the PDF's font (DejaVu Sans, shipped with matplotlib and on the system) can draw."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=True)
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


_BEYOND_BASIC = re.compile("[\u2000-\U0010ffff]")


def printable(html: str) -> str:
    """The HTML without characters the PDF font has no glyph for (emoji in posts), which WeasyPrint
    would otherwise print as empty boxes. The HTML file itself keeps them: browsers draw them."""
    cmap = _printable_codepoints()
    dropped: list[str] = []

    def keep(m: re.Match[str]) -> str:
        if ord(m.group(0)) in cmap:
            return m.group(0)
        dropped.append(m.group(0))
        return ""

    out = _BEYOND_BASIC.sub(keep, html)
    if dropped:
        logger.info(
            "PDF: %s character(s) without a glyph left out (%s)",
            len(dropped),
            "".join(sorted(set(dropped)))[:40],
        )
    return out


def write_pdf(html: str, path: Path) -> int:
    """Print the HTML to PDF with WeasyPrint (print media); returns the page count."""
    import weasyprint

    document = weasyprint.HTML(string=printable(html), base_url=None, media_type="print").render()
    document.write_pdf(path)
    return len(document.pages)


def build_brief(
    config: Config,
    store: Store,
    *,
    week_start: date,
    out_dir: Path | None = None,
    pdf: bool = True,
    now: datetime | None = None,
) -> BriefResult:
    """Write the brief for the week starting `week_start` (a Monday, UTC) and record it in `briefs`.

    `out_dir` defaults to `config.path(config.brief.output_dir)`. `now` fixes the clock for the
    "overdue" ticket check and the generated time (tests); default: the current time.
    """
    return BriefBuilder.from_settings(config).build(
        store, week_start=week_start, out_dir=out_dir, pdf=pdf, now=now
    )
