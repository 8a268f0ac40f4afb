"""The data behind the web UI's pages, kept apart from routing so it reads top-down.

One `Ui` per application (`app.state.ui`): it holds the configuration and the store, and caches the
search form's options and the trend charts' series briefly.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import HTTPException
from pydantic import ValidationError

from groundswell.config import Config
from groundswell.listing import store_clock
from groundswell.mention import BUSINESS_AREAS, SENTIMENTS, VOC_KINDS, Mention
from groundswell.records import Ticket, TrendEvent
from groundswell.store.base import Filters, SeriesPoint, Store
from web import charts
from web.tickets import available_actions, load_ticket

logger = logging.getLogger(__name__)

OPTIONS_TTL_S = 60.0
SERIES_TTL_S = 300.0


class Ui:
    """The data behind the pages (kept apart from routing so it reads top-down)."""

    def __init__(self, *, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self._names = {e.id: e.name for e in config.entities()}
        self._options: tuple[float, dict[str, Any]] | None = None
        self._series_cache: dict[tuple[Any, ...], tuple[float, list[SeriesPoint]]] = {}

    def entity_name(self, entity_id: str) -> str:
        return self._names.get(entity_id, entity_id)

    def options(self) -> dict[str, Any]:
        """Values for the search form's controls (cached briefly: these are aggregations)."""
        now = time.monotonic()
        if self._options is None or now - self._options[0] > OPTIONS_TTL_S:
            brands = [(b.id, b.name) for b in [*self.config.brands, *self.config.competitors]]
            if not brands:
                brands = [(t.term, self.entity_name(t.term)) for t in self.store.terms("entities", size=30)]
            sources = list(
                dict.fromkeys(
                    [
                        *(s.name for s in self.config.sources),
                        *(t.term for t in self.store.terms("source", size=50)),
                    ]
                )
            )
            languages = [t.term for t in self.store.terms("language", size=20)]
            self._options = (
                now,
                {
                    "brand": brands,
                    "source": sources,
                    "sentiment": list(SENTIMENTS),
                    "kind": list(VOC_KINDS),
                    "area": list(BUSINESS_AREAS),
                    "lang": languages,
                },
            )
        return self._options[1]

    def thread(self, m: Mention, limit: int = 50) -> list[Mention]:
        """Other mentions of the same thread, oldest first (the root first when it is stored)."""
        if not m.thread_id:
            return []
        root = [
            r for r in self.store.get_mentions([m.thread_id]) if r.id != m.id and r.thread_id != m.thread_id
        ]
        found: list[Mention] = []
        for other in self.store.iter_mentions(Filters(thread_ids=(m.thread_id,)), batch_size=limit + 1):
            if other.thread_id == m.thread_id and other.id != m.id:
                found.append(other)
            if len(root) + len(found) >= limit:
                logger.info("thread %s: showing its first %s posts", m.thread_id, limit)
                break
        return [*root, *found]

    def events(self) -> list[TrendEvent]:
        def skip(doc: dict[str, Any], err: ValidationError) -> None:
            logger.warning(
                "trend document %s is not a TrendEvent, skipped: %s", doc.get("id"), err.errors()[0]["msg"]
            )

        return self.store.trend_events(order_by="start", descending=True, limit=1000, on_invalid=skip)

    def trends(self, bucket: str, days: int, kind: str) -> dict[str, Any]:
        keys = [b.id for b in [*self.config.brands, *self.config.competitors]]
        if not keys:
            keys = [t.term for t in self.store.terms("entities", size=6)]
        newest = self.store.search("", limit=1, sort="newest").hits
        end = newest[0].mention.published if newest else datetime.now(UTC)
        start = end - timedelta(days=days)
        points = [p for p in self._series(bucket, start, end) if p.key in keys]
        colors = {k: charts.PALETTE[i % len(charts.PALETTE)] for i, k in enumerate(keys)}
        buckets = sorted({p.bucket for p in points})
        if buckets:
            buckets = charts.bucket_range(buckets[0], buckets[-1], bucket)
        events = [e for e in self.events() if kind == "all" or e.kind == kind]
        on_chart = [
            e
            for e in events
            if e.group_by == "entity" and e.key in keys and start <= e.start <= end + timedelta(days=1)
        ]
        names = {k: self.entity_name(k) for k in keys}
        volume = charts.per_key(points, "volume")
        sentiment = charts.per_key(points, "mean_sentiment")
        named_colors = {names[k]: c for k, c in colors.items()}

        def by_name(series: dict[str, dict[datetime, float]]) -> dict[str, dict[datetime, float]]:
            return {names[k]: series.get(k, {}) for k in keys}

        volume_chart = charts.line_chart(
            "Mentions per " + bucket,
            by_name(volume),
            buckets,
            named_colors,
            events=[
                (e, names[e.key]) for e in on_chart if e.metric not in ("mean_sentiment", "negative_share")
            ],
            width=1240,
            height=300,
        )
        sentiment_chart = charts.line_chart(
            "Mean sentiment (-1 to 1)",
            by_name(sentiment),
            buckets,
            named_colors,
            events=[(e, names[e.key]) for e in on_chart if e.metric in ("mean_sentiment", "negative_share")],
            y_range=(-1.0, 1.0),
            fill_missing=None,
            value_format="{:+.2f}",
        )
        totals = {names[k]: sum(volume.get(k, {}).values()) for k in keys}
        grand = sum(totals.values()) or 1.0
        sov = charts.bar_chart(
            "Share of voice",
            {k: v / grand for k, v in totals.items()},
            named_colors,
            hrefs={names[k]: "/search?" + urlencode({"brand": k}) for k in keys},
            width=440,
        )
        return {
            "volume_chart": volume_chart,
            "sentiment_chart": sentiment_chart,
            "sov_chart": sov,
            "events": events,
            "start": start,
            "end": end,
            "keys": keys,
            "counts": totals,
        }

    def _series(self, bucket: str, start: datetime, end: datetime) -> list[SeriesPoint]:
        """Per-entity series of the window, cached until the number of stored mentions changes.

        Entities are not passed as a filter: on SQLite the unfiltered per-entity aggregation is
        about twice as fast, and the page keeps only the keys it draws.
        """
        key = (bucket, start, end, self.store.count())
        cached = self._series_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < SERIES_TTL_S:
            return cached[1]
        points = self.store.series(bucket, "entity", Filters(start=start, end=end + timedelta(seconds=1)))  # type: ignore[arg-type]
        self._series_cache = {key: (time.monotonic(), points)}
        return points

    def trend_detail(self, event: TrendEvent) -> dict[str, Any]:
        buckets = [p.t for p in event.series]
        chart = charts.line_chart(
            f"{event.metric} of {self.entity_name(event.key)}",
            {event.metric: {p.t: p.value for p in event.series}},
            buckets,
            {event.metric: "#2563eb"},
            events=[(event, event.metric)],
            fill_missing=None,
            value_format="{:.0f}" if event.metric in ("volume", "safety_count") else "{:.2f}",
            guides_at=[
                (event.baseline, f"baseline {event.baseline:.3g}"),
                (event.level, f"level {event.level:.3g}"),
            ],
            width=1240,
            height=280,
        )
        field = {"entity": "entity", "source": "source", "author": "author", "topic": "topic"}[event.group_by]
        key = f'"{event.key}"' if " " in event.key else event.key
        window_q = (
            f"{field}:{key} after:{event.start:%Y-%m-%d} before:{(event.end + timedelta(days=1)):%Y-%m-%d}"
        )
        tickets = [t for t in self.load_tickets({}) if event.id in t.evidence.trend_ids]
        return {
            "e": event,
            "chart": chart,
            "mentions": self.store.get_mentions(event.mention_ids[:25]),
            "window_q": window_q,
            "tickets": tickets,
        }

    def load_tickets(self, where: dict[str, Any]) -> list[Ticket]:
        def skip(doc: dict[str, Any], err: ValidationError) -> None:
            logger.warning(
                "ticket document %s is not a Ticket, skipped: %s", doc.get("id"), err.errors()[0]["msg"]
            )

        return self.store.tickets(
            where=where or None, order_by="updated", descending=True, limit=1000, on_invalid=skip
        )

    def ticket_detail(self, ticket_id: str, *, error: str | None) -> dict[str, Any]:
        try:
            t = load_ticket(self.store, ticket_id)
        except KeyError as err:
            raise HTTPException(status_code=404, detail=f"no ticket with id '{ticket_id}'") from err
        members: list[str] = []
        for team in self.config.teams:
            if team.id == t.team:
                members = list(team.members)
        trends = []
        for trend_id in t.evidence.trend_ids:
            event = self.store.get_trend_event(trend_id)
            if event is not None:
                trends.append(event)
        return {
            "t": t,
            "error": error,
            "actions": available_actions(t.state),
            "members": members,
            "mentions": self.store.get_mentions(t.evidence.mention_ids[:25]),
            "trends": trends,
            "now": store_clock(self.store)[0],  # the demo's tickets are judged on the demo's clock
        }

    def brief_file(self, key: str, field: Literal["html_path", "pdf_path"]) -> Path:
        doc = self.store.get_doc("briefs", key)
        if doc is None:
            found = self.store.query_docs("briefs", where={"week_start": key}, limit=1)
            doc = found[0] if found else None
        if doc is None:
            raise HTTPException(status_code=404, detail=f"no brief '{key}'")
        raw = doc.get(field)
        kind = field.split("_")[0]
        if not raw or not isinstance(raw, str) or "\x00" in raw or not raw.lower().endswith(f".{kind}"):
            raise HTTPException(status_code=404, detail=f"brief '{key}' has no {kind.upper()} file")
        for candidate in (Path(raw), self.config.path(raw), self.config.base_dir / raw):
            if candidate.is_file():
                return candidate
        raise HTTPException(status_code=404, detail=f"brief '{key}': file {raw} is missing")
