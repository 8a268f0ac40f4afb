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
    allowed_host: list[str] = typer.Option(
        [],
        "--allowed-host",
        envvar="GROUNDSWELL_WEB_ALLOWED_HOSTS",
        help="host name browsers use to reach the UI (repeatable; '*' accepts any, behind a proxy that checks Host); "
        "loopback names are always allowed",
        show_default=False,
    ),
) -> None:
    """Serve the analyst web UI (search, trends, tickets, briefs) over the configured store."""
    import uvicorn

    from groundswell.config import ConfigError, load_config
    from groundswell.store import StoreError, open_store
    from web.app import create_app
    from web.security import WebSecurityError, check_allowed_hosts, check_bind

    allowed = tuple(h.strip() for item in allowed_host for h in item.split(",") if h.strip())
    try:
        check_bind(host, token)
        check_allowed_hosts(host, allowed)
        cfg = load_config(config)
        store = open_store(cfg)
        app = create_app(cfg, store, token=token, bind_host=host, allowed_hosts=allowed)
    except (ConfigError, StoreError) as err:  # groundswell/exitcodes.py: 2, one line naming the URL
        from groundswell.exitcodes import exit_for

        raise exit_for(err, config_path=config) from None
    except WebSecurityError as err:
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
