"""`groundswell es ...`: Elasticsearch templates and Kibana saved objects.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast. Exit codes
follow groundswell/exitcodes.py: a server that cannot be reached is one line naming its URL and what
to check, exit 2; a configuration error is exit 2; problems found are exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from groundswell import exitcodes
from groundswell.cliutils import DEFAULT_CONFIG, ConfigOption, load_config_or_exit, usage_error

app = typer.Typer(help="Elasticsearch templates and Kibana saved objects.", no_args_is_help=True)
console = Console()


def _server_errors() -> tuple[type[Exception], ...]:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from groundswell.store.base import StoreError

    return (StoreError, TransportError, ApiError)


@app.command()
def install(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Install or upgrade the ILM policy, index templates and aliases (safe to run again)."""
    from index_mappings.store import client_from_settings
    from index_mappings.templates import MAPPING_VERSION
    from index_mappings.templates import install as install_templates

    cfg = load_config_or_exit(config)
    try:
        client = client_from_settings(cfg)
        report = install_templates(client, cfg.store.elasticsearch.index_prefix)
    except _server_errors() as err:
        raise exitcodes.exit_for(err, config_path=config) from None
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(
        f"mapping version {MAPPING_VERSION}: {len(report.templates)} templates, ILM {'on' if report.ilm else 'off'}, "
        f"created {len(report.created)} indices, upgraded {len(report.upgraded)}"
    )


@app.command()
def check(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Check that templates and indices exist at this Groundswell's mapping version (exit 1 if not)."""
    from index_mappings.store import client_from_settings
    from index_mappings.templates import MAPPING_VERSION
    from index_mappings.templates import check as check_templates

    cfg = load_config_or_exit(config)
    try:
        problems = check_templates(client_from_settings(cfg), cfg.store.elasticsearch.index_prefix)
    except _server_errors() as err:
        raise exitcodes.exit_for(err, config_path=config) from None
    if problems:
        for problem in problems:
            console.print(f"[red]-[/red] {problem}")
        console.print("run `groundswell es install` to install or upgrade them")
        raise typer.Exit(exitcodes.FAILED)
    console.print(f"templates and indices are at mapping version {MAPPING_VERSION}")


@app.command("kibana-import")
def kibana_import(
    config: ConfigOption = DEFAULT_CONFIG,
    url: Annotated[
        str | None, typer.Option("--url", help="Kibana URL (default: store.elasticsearch.kibana_url)")
    ] = None,
    space: Annotated[
        str | None, typer.Option("--space", help="Kibana space id (default space when omitted)")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="saved-objects NDJSON (default: generated for store.elasticsearch.index_prefix)",
        ),
    ] = None,
) -> None:
    """Import the data views, saved searches and dashboards into Kibana (replacing them by id).

    Without --file the objects are generated for the configured index prefix, so the data views
    match the indices `groundswell es install` created.
    """
    from groundswell.store.base import StoreError
    from index_mappings.kibana import import_saved_objects
    from index_mappings.store import credentials

    cfg = load_config_or_exit(config)
    settings = cfg.store.elasticsearch
    target = url or settings.kibana_url
    if not target:
        raise usage_error("no Kibana URL: pass --url or set store.elasticsearch.kibana_url")
    try:
        result = import_saved_objects(
            target,
            path=file,
            prefix=settings.index_prefix,
            auth=credentials(cfg),
            verify=settings.ca_certs or settings.verify_certs,
            space=space,
        )
    except StoreError as err:
        raise exitcodes.exit_for(err, config_path=config) from None
    for error in result.errors:
        console.print(f"[red]-[/red] {error}")
    if not result.success:
        console.print(f"[red]Kibana imported {result.count} objects with {len(result.errors)} errors[/red]")
        raise typer.Exit(exitcodes.FAILED)
    source = file or f"generated for index prefix '{settings.index_prefix}'"
    console.print(f"imported {result.count} saved objects ({source}) into {target}")


@app.command("replay-dead-letter")
def replay_dead_letter(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Write the mentions of the dead-letter file again (after fixing what made them fail)."""
    from index_mappings.store import ElasticsearchStore

    cfg = load_config_or_exit(config)
    try:
        store = ElasticsearchStore.from_settings(cfg)
        try:
            result = store.replay_dead_letter()
        finally:
            store.close()
    except _server_errors() as err:
        raise exitcodes.exit_for(err, config_path=config) from None
    console.print(f"replayed: {result.written} written, {result.failed} failed again")
    if result.failed:
        raise typer.Exit(exitcodes.PARTIAL if result.written else exitcodes.FAILED)
