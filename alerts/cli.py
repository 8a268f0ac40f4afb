"""`groundswell tickets ...`: Triage action tickets: list, show, acknowledge, assign, resolve, dismiss.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="Triage action tickets: list, show, acknowledge, assign, resolve, dismiss.", no_args_is_help=True)
