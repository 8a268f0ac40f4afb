"""`groundswell trends ...`: Trend series, detected shifts and blips.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="Trend series, detected shifts and blips.", no_args_is_help=True)
