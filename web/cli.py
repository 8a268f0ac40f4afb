"""`groundswell serve`: the analyst web UI.

Top-level imports stay light so that `groundswell --help` is fast; FastAPI and uvicorn load inside
the command.
"""

from __future__ import annotations

import typer

from groundswell.cliutils import DEFAULT_CONFIG, ConfigOption, fail, open_config_and_store


def serve(
    config: ConfigOption = DEFAULT_CONFIG,
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

    from web.app import create_app
    from web.security import WebSecurityError, check_allowed_hosts, check_bind, parse_tokens

    allowed = tuple(h.strip() for item in allowed_host for h in item.split(",") if h.strip())
    try:  # before anything is opened: an unsafe bind or a blank token never starts a server
        parse_tokens(token)
        check_bind(host, token)
        check_allowed_hosts(host, allowed)
    except WebSecurityError as err:
        raise fail(str(err)) from None
    with open_config_and_store(config) as (
        cfg,
        store,
    ):  # 2, one line naming the URL (groundswell/exitcodes.py)
        app = create_app(cfg, store, token=token, bind_host=host, allowed_hosts=allowed)
        where = f"http://{host}:{port}/" if port else f"http://{host}:<free port>/"
        typer.echo(
            f"Groundswell web UI for '{cfg.name}' on {where} ({'token required' if token else 'no login: loopback only'})"
        )
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, proxy_headers=False)
