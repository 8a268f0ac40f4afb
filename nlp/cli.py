"""`groundswell nlp ...`: Train and evaluate the NLP models.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="Train and evaluate the NLP models.", no_args_is_help=True)
