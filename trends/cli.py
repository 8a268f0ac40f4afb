"""`groundswell trends ...`: Trend series, detected shifts and blips.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, get_args

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
from groundswell.records import EventKind, series_name

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
        docs = store.query_docs("trends", where=where, order_by="start", descending=True, limit=limit)
        now, clock_note = store_clock(store)
    arrows = {"up": "↑", "down": "↓"}

    def age(d: dict[str, Any]) -> str:
        start = datetime.fromisoformat(d["start"])
        days = (now - (start if start.tzinfo else start.replace(tzinfo=UTC))).days
        return f"{days}d" if days >= 0 else "-"

    columns: list[Column[dict[str, Any]]] = [
        Column("event", lambda d: f"{d['kind']} ({d['reason'].replace('_', ' ')})"),
        Column("series", lambda d: series_name(d["group_by"], d["key"], d.get("topics") or ())),
        Column("metric", lambda d: f"{d['metric']} {arrows.get(d['direction'], d['direction'])}"),
        Column("start", lambda d: d["start"][:10], drop_order=2),
        Column("age", age, justify="right", drop_order=6),
        Column("change", lambda d: f"{d['baseline']:.3g} -> {d['level']:.3g}", drop_order=3),
        Column("conf", lambda d: f"{d['confidence']:.2f}", drop_order=4),
        Column("authors", lambda d: str(d["authors"]), justify="right", drop_order=5),
        Column("drivers", lambda d: ", ".join(d.get("drivers", [])[:3]), free_text=True, drop_order=1),
    ]
    print_listing(
        docs,
        columns,
        title=f"{len(docs)} trend events, newest first",
        as_json=as_json,
        to_json=lambda d: d,
        console=console,
        empty=f"{len(docs)} trend events",
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
