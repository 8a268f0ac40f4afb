"""`groundswell crawl ...`: Run collectors for configured sources.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="Run collectors for configured sources.", no_args_is_help=True)
