"""`groundswell serve`: the analyst web UI.

Top-level imports stay light so that `groundswell --help` is fast; FastAPI and uvicorn load inside
the command.
"""

from __future__ import annotations

from pathlib import Path

import typer


def serve(
    config: Path = typer.Option(
        Path("groundswell.yaml"),
        "--config",
        "-c",
        envvar="GROUNDSWELL_CONFIG",
        help="configuration file (YAML)",
    ),
    host: str = typer.Option("127.0.0.1", help="address to bind; anything but loopback needs --token"),
    port: int = typer.Option(8000, help="TCP port (0 picks a free one)"),
    token: str | None = typer.Option(
        None,
        envvar="GROUNDSWELL_WEB_TOKEN",
        help="access token, or named tokens 'alice=SECRET,bob=SECRET' (names are recorded in ticket history)",
        show_default=False,
    ),
) -> None:
    """Serve the analyst web UI (search, trends, tickets, briefs) over the configured store."""
    import uvicorn

    from groundswell.config import ConfigError, load_config
    from groundswell.store import StoreError, open_store
    from web.app import create_app
    from web.security import WebSecurityError, check_bind

    try:
        check_bind(host, token)
        cfg = load_config(config)
        store = open_store(cfg)
        app = create_app(cfg, store, token=token)
    except (WebSecurityError, ConfigError, StoreError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    where = f"http://{host}:{port}/" if port else f"http://{host}:<free port>/"
    typer.echo(
        f"Groundswell web UI for '{cfg.name}' on {where} ({'token required' if token else 'no login: loopback only'})"
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, proxy_headers=False)
    finally:
        store.close()
