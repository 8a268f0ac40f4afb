"""`groundswell trends ...`: Trend series, detected shifts and blips.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, get_args

import typer
from rich.console import Console
from rich.markup import escape

from groundswell.cliutils import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    fail,
    open_config_and_store,
    usage_error,
)
from groundswell.listing import Column, print_listing, store_clock
from groundswell.records import EventKind, TrendEvent

app = typer.Typer(help="Trend series, detected shifts and blips.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_events(
    config: ConfigOption = DEFAULT_CONFIG,
    kind: Annotated[
        str | None, typer.Option("--kind", help="only 'shift', 'blip', 'developing' or 'health' (sources)")
    ] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="only events of this series key (entity id, source, ...)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="most events shown")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Print the detected events, newest first."""
    kinds = get_args(EventKind)
    if kind is not None and kind not in kinds:
        raise usage_error(f"--kind {kind!r} is not allowed; use one of {', '.join(kinds)}")
    with open_config_and_store(config) as (_, store):
        where: dict[str, object] = {}
        if kind:
            where["kind"] = kind
        if entity:
            where["key"] = entity
        events = store.trend_events(where=where, order_by="start", descending=True, limit=limit)
        now, clock_note = store_clock(store)
    arrows = {"up": "↑", "down": "↓"}

    def age(e: TrendEvent) -> str:
        days = (now - e.start).days
        return f"{days}d" if days >= 0 else "-"

    columns: list[Column[TrendEvent]] = [
        Column("event", lambda e: f"{e.kind} ({e.reason.replace('_', ' ')})"),
        Column("series", lambda e: e.series_name),
        Column("metric", lambda e: f"{e.metric} {arrows.get(e.direction, e.direction)}"),
        Column("start", lambda e: e.start.strftime("%Y-%m-%d"), drop_order=2),
        Column("age", age, justify="right", drop_order=6),
        Column("change", lambda e: f"{e.baseline:.3g} -> {e.level:.3g}", drop_order=3),
        Column("conf", lambda e: f"{e.confidence:.2f}", drop_order=4),
        Column("authors", lambda e: str(e.authors), justify="right", drop_order=5),
        Column("drivers", lambda e: ", ".join(e.drivers[:3]), free_text=True, drop_order=1),
    ]
    print_listing(
        events,
        columns,
        title=f"{len(events)} trend events, newest first",
        as_json=as_json,
        to_json=lambda e: e.model_dump(mode="json"),
        console=console,
        empty=f"{len(events)} trend events",
        note=clock_note,
    )


@app.command("detect")
def detect_command(
    config: ConfigOption = DEFAULT_CONFIG,
    start: Annotated[datetime | None, typer.Option("--start", help="backfill from this time (UTC)")] = None,
    end: Annotated[
        datetime | None, typer.Option("--end", help="backfill up to this time (UTC, exclusive)")
    ] = None,
    now: Annotated[
        datetime | None, typer.Option("--now", help="the detector's clock for an online run (UTC)")
    ] = None,
) -> None:
    """Run the detector over the store (online, or a backfill with --start/--end) and write the events."""
    from trends.detect import detect

    with open_config_and_store(config) as (cfg, store):
        try:
            summary = detect(cfg, store, now=now, start=start, end=end)
        except ValueError as err:
            raise fail(str(err)) from None
    console.print(
        f"{summary.series_tested} series tested from {summary.start} to {summary.end}: "
        f"{summary.shifts} shifts, {summary.blips} blips, {summary.developing} developing"
        + (f", {summary.missing} uncovered buckets left out" if summary.missing else "")
    )
    for e in summary.health:
        console.print(
            escape(f"  source health: {e.key} {e.reason.replace('_', ' ')} since {e.start:%Y-%m-%d %H:%M}")
        )
    for e in summary.events:
        if e.kind in ("shift", "developing"):
            console.print(
                escape(
                    f"  {e.kind if e.kind == 'developing' else 'shift ' + e.reason} {e.series_name} {e.metric} {e.direction} since {e.start:%Y-%m-%d} "
                    f"({e.baseline:.3g} -> {e.level:.3g}, confidence {e.confidence:.2f}, {e.authors} authors)"
                )
            )
