"""How the command line prints a listing (`tickets list`, `trends list`): one renderer for all of them.

- In a terminal wide enough for every column: a table; the one free-text column takes what is left,
  wrapped at word boundaries. In a narrower one (80 columns): one line of short fields per record
  (the least important give way, and are named under the listing), the free text wrapped below it,
  indented; never one letter-group per line.
- Piped or redirected: one record per line, tab-separated, under a header line; nothing cut, no
  colours. The title goes to stderr, so stdout is only the records.
- `--json`: one JSON object per line (JSON Lines), every field, for scripts.

The clock a listing judges "overdue" and ages on is the store's: the demo records its clock
(`record_clock`), so the demo's tickets are judged on the demo's time, not today's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

if TYPE_CHECKING:
    from groundswell.store.base import Store

logger = logging.getLogger(__name__)

R = TypeVar("R")

CLOCK_DOC = "clock"
MIN_TEXT_WIDTH = 24  # the free-text column never gets narrower than this in a table


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column: its header, the plain text of a record, and how it may be shown."""

    name: str
    text: Callable[[R], str]
    style: Callable[[R], str | None] | None = None  # rich style of the cell (terminal only)
    drop_order: int = (
        0  # 0: always shown; otherwise dropped first when the terminal is narrow (highest first)
    )
    free_text: bool = False  # the one column that takes the remaining width, wrapped
    justify: str = "left"


def _cell(value: str) -> str:
    return " ".join(str(value).split())  # one line per record when piped: no tabs or newlines inside


def _fits(columns: Sequence[Column[R]], widths: dict[str, int], width: int) -> bool:
    fixed = sum(widths[c.name] for c in columns if not c.free_text)
    text = MIN_TEXT_WIDTH if any(c.free_text for c in columns) else 0
    return fixed + text + 3 * len(columns) + 1 <= width  # rich's box: "| " + " | " between + " |"


def print_listing(
    rows: Sequence[R],
    columns: Sequence[Column[R]],
    *,
    title: str,
    as_json: bool,
    to_json: Callable[[R], dict[str, Any]],
    console: Console,
    empty: str,
    note: str | None = None,
) -> None:
    """Print `rows` as JSON Lines (`as_json`), as a fitted table (terminal) or one record per line (piped)."""
    if as_json:
        for row in rows:
            typer.echo(json.dumps(to_json(row), ensure_ascii=False, default=str))
        return
    if not rows:
        (typer.echo(empty, err=True) if not console.is_terminal else console.print(empty))
        return
    if not console.is_terminal:
        typer.echo(title + (f" ({note})" if note else ""), err=True)
        typer.echo("\t".join(c.name for c in columns))
        for row in rows:
            typer.echo("\t".join(_cell(c.text(row)) for c in columns))
        return
    widths = {c.name: max([len(c.name), *(len(_cell(c.text(r))) for r in rows)]) for c in columns}
    if _fits(columns, widths, console.width):
        _print_table(rows, columns, widths, title=title, console=console)
        dropped: list[str] = []
    else:
        dropped = _print_cards(rows, columns, widths, title=title, console=console)
    footer = [note] if note else []
    if dropped:
        footer.append(f"narrow terminal: {', '.join(dropped)} not shown (widen it, pipe it, or use --json)")
    for line in footer:
        console.print(f"[dim]{escape(line)}[/dim]", highlight=False)


def _styled(c: Column[R], row: R) -> str:
    value = escape(_cell(c.text(row)))
    style = c.style(row) if c.style else None
    return f"[{style}]{value}[/{style}]" if style else value


def _print_table(
    rows: Sequence[R], columns: Sequence[Column[R]], widths: dict[str, int], *, title: str, console: Console
) -> None:
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    for c in columns:
        if c.free_text:
            table.add_column(c.name, overflow="fold", min_width=MIN_TEXT_WIDTH, ratio=1)
        else:
            table.add_column(c.name, no_wrap=True, justify=c.justify, min_width=widths[c.name])  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(_styled(c, row) for c in columns))
    console.print(table)


def _print_cards(
    rows: Sequence[R], columns: Sequence[Column[R]], widths: dict[str, int], *, title: str, console: Console
) -> list[str]:
    """The narrow layout: per record, one line of the short fields (as many as fit, most important
    first, in a fixed order), then the free text wrapped below it, indented. Returns the dropped names."""
    short = [c for c in columns if not c.free_text]
    kept: list[Column[R]] = []
    used = 0
    for c in sorted(short, key=lambda c: (c.drop_order != 0, c.drop_order)):
        if not kept or used + 2 + widths[c.name] <= console.width:
            kept.append(c)
            used += widths[c.name] + (2 if used else 0)
    kept.sort(key=short.index)
    text = [c for c in columns if c.free_text]
    console.print(f"[italic]{escape(title)}[/italic]")
    header = "  ".join(c.name.ljust(widths[c.name]) for c in kept).rstrip()
    console.print(f"[dim]{escape(header)}[/dim]", highlight=False)
    for c in text:
        console.print(f"[dim]    {escape(c.name)}[/dim]", highlight=False)
    for row in rows:
        line = "  ".join(
            _styled(c, row) + " " * (widths[c.name] - len(_cell(c.text(row)))) for c in kept
        ).rstrip()
        console.print(line, highlight=False, overflow="fold")
        for c in text:
            if _cell(c.text(row)):  # an empty free text takes no line
                console.print(Padding(_styled(c, row), (0, 0, 0, 4)), highlight=False)
    return [c.name for c in short if c not in kept]


def record_clock(store: Store, now: datetime, *, by: str) -> None:
    """Record the clock the pipeline ran on (the demo's): listings judge due times and ages on it."""
    store.set_state(CLOCK_DOC, {"now": now.isoformat(), "by": by})


def store_clock(store: Store) -> tuple[datetime, str | None]:
    """(now, note): the clock recorded in the store by the demo, else the wall clock (note None)."""
    value = store.get_state(CLOCK_DOC) or {}
    if not value.get("now"):
        return datetime.now(UTC), None
    now = datetime.fromisoformat(value["now"])
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return now, f"judged on the {value.get('by', 'recorded')} clock, {now:%Y-%m-%d %H:%M} UTC"
