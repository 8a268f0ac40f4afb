"""`groundswell crawl ...`: Run collectors for configured sources.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

app = typer.Typer(help="Run collectors for configured sources.", no_args_is_help=True)

ConfigOption = typer.Option(
    Path("groundswell.yaml"), "--config", "-c", envvar="GROUNDSWELL_CONFIG", help="configuration file"
)


@app.command("run")
def run(
    config: Path = ConfigOption,
    source: list[str] | None = typer.Option(
        None, "--source", "-s", help="collect only this source (repeatable)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the summaries as JSON lines"),
) -> None:
    """Collect the enabled sources (or the named ones), dedup, and write the mentions to the store."""
    from rich.console import Console
    from rich.table import Table

    from crawlers.collect import collect_all
    from groundswell.config import ConfigError, load_config
    from groundswell.store import open_store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(config)
        with open_store(cfg) as store:
            summaries = collect_all(cfg, store, sources=source or None)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        for s in summaries:
            typer.echo(json.dumps(s.as_dict()))
    else:
        table = Table(title="collected")
        from crawlers.collect import ledger_status

        for col in ("source", "kind", "status", "items", "new", "duplicates", "pages", "errors", "seconds"):
            table.add_column(col, justify="left" if col in ("source", "kind", "status") else "right")
        for s in summaries:
            table.add_row(
                s.source,
                s.kind,
                ledger_status(s),
                str(s.items),
                str(s.new),
                str(s.duplicates),
                str(s.pages),
                str(s.errors),
                f"{s.seconds:.1f}",
            )
        Console().print(table)
        for s in summaries:
            for reason in s.error_reasons[:10]:
                typer.echo(f"  {s.source}: {reason}", err=True)
            if s.empty_reason:
                typer.echo(f"  {s.source}: yielded nothing: {s.empty_reason}", err=True)
            for url, why in list(s.empty.items())[:10]:
                typer.echo(f"  {s.source}: {url}: {why}", err=True)
            for pair, n in s.charset.items():
                typer.echo(f"  {s.source}: charset {pair} on {n} page(s)", err=True)
    if summaries and all(s.errors and not s.items for s in summaries):
        raise typer.Exit(1)


@app.command("sources")
def sources(config: Path = ConfigOption) -> None:
    """List the configured sources and whether they are enabled."""
    from groundswell.config import ConfigError, load_config

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for s in cfg.sources:
        typer.echo(f"{s.name}\t{s.kind}\t{'enabled' if s.enabled else 'disabled'}\t{s.url}")
