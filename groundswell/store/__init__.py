"""Store backends behind one interface; `open_store(config)` picks the configured one."""

from __future__ import annotations

from groundswell.config import Config
from groundswell.store.base import (
    Filters,
    Hit,
    SearchPage,
    SeriesPoint,
    Store,
    StoreError,
    TermCount,
    WriteResult,
)

__all__ = [
    "Filters",
    "Hit",
    "SearchPage",
    "SeriesPoint",
    "Store",
    "StoreError",
    "TermCount",
    "WriteResult",
    "open_store",
]


def open_store(config: Config) -> Store:
    """Open the store the configuration names (embedded SQLite by default)."""
    if config.store.backend == "sqlite":
        from groundswell.store.sqlite import SqliteStore

        return SqliteStore(config.path(config.store.path))
    if config.store.backend == "elasticsearch":
        from groundswell.store.elasticsearch import ElasticsearchStore

        return ElasticsearchStore.from_settings(config)
    raise StoreError(f"unknown store backend '{config.store.backend}'; allowed: sqlite, elasticsearch")
