"""`groundswell es ...`: Elasticsearch templates and Kibana saved objects.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="Elasticsearch templates and Kibana saved objects.", no_args_is_help=True)
