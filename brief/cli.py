"""`groundswell brief`: build the weekly market brief.

Top-level imports stay light (no matplotlib, no WeasyPrint) so that `groundswell --help` is fast.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from groundswell.cliutils import DEFAULT_CONFIG, ConfigOption, open_config_and_store

_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$", re.IGNORECASE)


def parse_week(value: str | None, today: date | None = None) -> date:
    """The Monday of the week named by `value`: an ISO date of any day in it, or `YYYY-Www`.

    None means the last complete week (the Monday a week before this week's Monday).
    """
    if value is None or not value.strip():
        today = today or datetime.now(UTC).date()
        return today - timedelta(days=today.weekday() + 7)
    text = value.strip()
    m = _ISO_WEEK.match(text)
    try:
        if m:
            return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        day = date.fromisoformat(text)
    except ValueError as err:
        raise typer.BadParameter(
            f"{value!r} is not a week: use an ISO date of any day in the week (2026-11-18) or an ISO week (2026-W47) ({err})"
        ) from None
    return day - timedelta(days=day.weekday())


def brief(
    week: str = typer.Option(
        None, "--week", help="ISO date of any day in the week, or YYYY-Www; default: the last complete week"
    ),
    config: ConfigOption = DEFAULT_CONFIG,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="output folder; default: brief.output_dir under data_dir"
    ),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="also print the brief to PDF"),
) -> None:
    """Build the weekly market brief (HTML and PDF) from the store."""
    week_start = parse_week(week)
    from brief.build import build_brief

    with open_config_and_store(config) as (cfg, store):
        result = build_brief(cfg, store, week_start=week_start, out_dir=out, pdf=pdf)
    typer.echo(f"brief for the week of {result.week_start.isoformat()}: {result.mentions} mentions")
    typer.echo(f"  html: {result.html_path}")
    if result.pdf_path:
        typer.echo(f"  pdf:  {result.pdf_path} ({result.pages} pages)")
    typer.echo(f"  built in {result.seconds:.1f}s")
