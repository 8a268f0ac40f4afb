"""`groundswell crawl ...`: Run collectors for configured sources.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

import json

import typer

from groundswell import exitcodes
from groundswell.cliutils import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    load_config_or_exit,
    open_config_and_store,
)

app = typer.Typer(help="Run collectors for configured sources.", no_args_is_help=True)


@app.command("run")
def run(
    config: ConfigOption = DEFAULT_CONFIG,
    source: list[str] | None = typer.Option(
        None, "--source", "-s", help="collect only this source (repeatable)"
    ),
    as_json: JsonOption = False,
) -> None:
    """Collect the enabled sources (or the named ones), dedup, and write the mentions to the store."""
    from rich.console import Console
    from rich.table import Table

    from crawlers.collect import collect_all
    from groundswell.config import ConfigError

    with open_config_and_store(config) as (cfg, store):
        try:
            summaries = collect_all(cfg, store, sources=source or None)
        except ConfigError as err:  # an unknown or disabled source name: nothing was collected
            raise exitcodes.exit_for(err, config_path=config) from None
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
        raise typer.Exit(exitcodes.FAILED)


@app.command("sources")
def sources(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """List the configured sources and whether they are enabled."""
    cfg = load_config_or_exit(config)
    for s in cfg.sources:
        typer.echo(f"{s.name}\t{s.kind}\t{'enabled' if s.enabled else 'disabled'}\t{s.url}")
