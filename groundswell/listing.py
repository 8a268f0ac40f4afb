"""How the command line prints a listing (`tickets list`, `trends list`): one renderer for all of them.

- In a terminal: a table fitted to its width. Columns are kept in the order of their priority; the
  least important are dropped (and named under the table) until the rest fit, and the one free-text
  column takes what is left, wrapped at word boundaries, never one letter-group per line.
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
    shown = list(columns)
    dropped: list[str] = []
    while not _fits(shown, widths, console.width):
        optional = [c for c in shown if c.drop_order]
        if not optional:
            break
        victim = max(optional, key=lambda c: c.drop_order)
        shown.remove(victim)
        dropped.append(victim.name)
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    for c in shown:
        if c.free_text:
            table.add_column(c.name, overflow="fold", min_width=MIN_TEXT_WIDTH, ratio=1)
        else:
            table.add_column(c.name, no_wrap=True, justify=c.justify, min_width=widths[c.name])  # type: ignore[arg-type]
    for row in rows:
        cells = []
        for c in shown:
            value = escape(_cell(c.text(row)))
            style = c.style(row) if c.style else None
            cells.append(f"[{style}]{value}[/{style}]" if style else value)
        table.add_row(*cells)
    console.print(table)
    footer = [note] if note else []
    if dropped:
        footer.append(f"narrow terminal: {', '.join(dropped)} not shown (widen it, pipe it, or use --json)")
    for line in footer:
        console.print(f"[dim]{escape(line)}[/dim]")


def record_clock(store: Store, now: datetime, *, by: str) -> None:
    """Record the clock the pipeline ran on (the demo's): listings judge due times and ages on it."""
    store.put_doc("state", CLOCK_DOC, {"key": CLOCK_DOC, "value": {"now": now.isoformat(), "by": by}})


def store_clock(store: Store) -> tuple[datetime, str | None]:
    """(now, note): the clock recorded in the store by the demo, else the wall clock (note None)."""
    doc = store.get_doc("state", CLOCK_DOC)
    value = (doc or {}).get("value") or {}
    if not value.get("now"):
        return datetime.now(UTC), None
    now = datetime.fromisoformat(value["now"])
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return now, f"judged on the {value.get('by', 'recorded')} clock, {now:%Y-%m-%d %H:%M} UTC"
