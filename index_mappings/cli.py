"""`groundswell es ...`: Elasticsearch templates and Kibana saved objects.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Elasticsearch templates and Kibana saved objects.", no_args_is_help=True)
console = Console()

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="GROUNDSWELL_CONFIG", help="configuration file", show_default=True),
]


def _config(path: Path):  # type: ignore[no-untyped-def]
    from groundswell.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err


@app.command()
def install(config: ConfigOption = Path("groundswell.yaml")) -> None:
    """Install or upgrade the ILM policy, index templates and aliases (safe to run again)."""
    from groundswell.store.base import StoreError
    from groundswell.store.elasticsearch import client_from_settings
    from index_mappings.templates import MAPPING_VERSION
    from index_mappings.templates import install as install_templates

    cfg = _config(config)
    try:
        client = client_from_settings(cfg)
        report = install_templates(client, cfg.store.elasticsearch.index_prefix)
    except StoreError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(
        f"mapping version {MAPPING_VERSION}: {len(report.templates)} templates, ILM {'on' if report.ilm else 'off'}, "
        f"created {len(report.created)} indices, upgraded {len(report.upgraded)}"
    )


@app.command()
def check(config: ConfigOption = Path("groundswell.yaml")) -> None:
    """Check that templates and indices exist at this Groundswell's mapping version (exit 1 if not)."""
    from groundswell.store.base import StoreError
    from groundswell.store.elasticsearch import client_from_settings
    from index_mappings.templates import MAPPING_VERSION
    from index_mappings.templates import check as check_templates

    cfg = _config(config)
    try:
        problems = check_templates(client_from_settings(cfg), cfg.store.elasticsearch.index_prefix)
    except StoreError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    if problems:
        for problem in problems:
            console.print(f"[red]-[/red] {problem}")
        console.print("run `groundswell es install` to install or upgrade them")
        raise typer.Exit(1)
    console.print(f"templates and indices are at mapping version {MAPPING_VERSION}")


@app.command("kibana-import")
def kibana_import(
    config: ConfigOption = Path("groundswell.yaml"),
    url: Annotated[
        str | None, typer.Option("--url", help="Kibana URL (default: store.elasticsearch.kibana_url)")
    ] = None,
    space: Annotated[
        str | None, typer.Option("--space", help="Kibana space id (default space when omitted)")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="saved-objects NDJSON (default: the one shipped with Groundswell)"),
    ] = None,
) -> None:
    """Import the data views, saved searches and dashboards into Kibana (replacing them by id)."""
    from groundswell.store.base import StoreError
    from groundswell.store.elasticsearch import credentials
    from index_mappings.kibana import SAVED_OBJECTS_PATH, import_saved_objects

    cfg = _config(config)
    settings = cfg.store.elasticsearch
    target = url or settings.kibana_url
    if not target:
        console.print("[red]no Kibana URL: pass --url or set store.elasticsearch.kibana_url[/red]")
        raise typer.Exit(2)
    try:
        result = import_saved_objects(
            target,
            path=file or SAVED_OBJECTS_PATH,
            auth=credentials(cfg),
            verify=settings.ca_certs or settings.verify_certs,
            space=space,
        )
    except StoreError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    for error in result.errors:
        console.print(f"[red]-[/red] {error}")
    if not result.success:
        console.print(f"[red]Kibana imported {result.count} objects with {len(result.errors)} errors[/red]")
        raise typer.Exit(1)
    console.print(f"imported {result.count} saved objects into {target}")


@app.command("replay-dead-letter")
def replay_dead_letter(config: ConfigOption = Path("groundswell.yaml")) -> None:
    """Write the mentions of the dead-letter file again (after fixing what made them fail)."""
    from groundswell.store.base import StoreError
    from groundswell.store.elasticsearch import ElasticsearchStore

    cfg = _config(config)
    try:
        store = ElasticsearchStore.from_settings(cfg)
        try:
            result = store.replay_dead_letter()
        finally:
            store.close()
    except StoreError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    console.print(f"replayed: {result.written} written, {result.failed} failed again")
    if result.failed:
        raise typer.Exit(1)
