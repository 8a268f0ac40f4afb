"""What every `groundswell` command shares: the options, loading the configuration and opening its
store, the exit codes (`groundswell.exitcodes`) and the logging setup.

As Scrapy's `ScrapyCommand` gives every command the same options and exit codes, each stage's
`cli.py` takes its `--config` as `config: ConfigOption = DEFAULT_CONFIG`, opens what it needs with
`open_config_and_store(config)` (or `load_config_or_exit(config)` when it needs no store), and stops
with `fail(...)` (1) or `usage_error(...)` (2). Logging is configured once, by the root app's
callback (`setup_logging`); a stage's command never calls `logging.basicConfig`.

Top-level imports stay light (typer, the configuration and the store interface) so that
`groundswell --help` is fast.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from groundswell import exitcodes
from groundswell.config import Config, ConfigError, load_config
from groundswell.store import Store, StoreError, open_store

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("groundswell.yaml")

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config", "-c", envvar="GROUNDSWELL_CONFIG", help="configuration file (YAML)", show_default=True
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="one JSON object per line (for scripts)")]

# libraries whose INFO lines are noise on a terminal
_QUIET_LOGGERS = (
    "scrapy",
    "twisted",
    "urllib3",
    "httpx",
    "elastic_transport",
    "filelock",
    "matplotlib",
    "fontTools",
    "weasyprint",
    "mail.log",
    "sentence_transformers",
    "transformers",
    "huggingface_hub",
)


def setup_logging(verbose: bool = False) -> None:
    """The command line's logging: INFO (DEBUG with `verbose`) to stderr, noisy libraries at WARNING.

    Called once, by the root app's callback (`groundswell -v ...`).
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in _QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # a node that cannot be reached is answered once, by the command (groundswell/exitcodes.py)
    logging.getLogger("elastic_transport.node_pool").setLevel(logging.ERROR)
    # peft calls a deprecated transformers API when it wraps the offline models: not the user's concern
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    # transformers prints model load reports and progress bars unless told to be quiet
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_config_or_exit(path: Path) -> Config:
    """The configuration at `path`; a configuration error is its message on stderr and exit 2."""
    try:
        return load_config(path)
    except ConfigError as err:
        raise exitcodes.exit_for(err, config_path=path) from None


@contextmanager
def open_config_and_store(path: Path) -> Iterator[tuple[Config, Store]]:
    """Load the configuration at `path` and open its store for the `with` block; close it after.

    A configuration error, or a store that cannot be opened, is one message on stderr and the exit
    code of `groundswell.exitcodes` (2 for a configuration error or an unreachable server, 1 else);
    nothing has been changed then.
    """
    config = load_config_or_exit(path)
    try:
        store = open_store(config)
    except StoreError as err:
        raise exitcodes.exit_for(err, config_path=path) from None
    try:
        yield config, store
    finally:
        store.close()


def fail(message: str) -> typer.Exit:
    """`error: message` on stderr; the Exit to raise for a command that ran and failed (1)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(exitcodes.FAILED)


def usage_error(message: str) -> typer.Exit:
    """`error: message` on stderr; the Exit to raise for an option value that is not allowed (2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(exitcodes.USAGE_ERROR)
