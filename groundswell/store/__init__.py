"""Store backends behind one interface; `open_store(config)` picks the configured one.

The embedded SQLite store is part of this package. Other backends are plugins: a distribution names
them under the entry-point group `groundswell.stores` (Groundswell's own Elasticsearch store,
`index_mappings.store:ElasticsearchStore`, is declared in pyproject.toml), so this package imports
no stage. A backend is a `Store` subclass with `from_settings(config) -> Store`.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

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
    "store_backends",
]

ENTRY_POINT_GROUP = "groundswell.stores"


@cache
def store_backends() -> dict[str, EntryPoint]:
    """The installed store backends by name (entry points of the group `groundswell.stores`)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def open_store(config: Config) -> Store:
    """Open the store the configuration names (embedded SQLite by default)."""
    backend = config.store.backend
    if backend == "sqlite":
        from groundswell.store.sqlite import SqliteStore

        return SqliteStore.from_settings(config)
    plugins = store_backends()
    if backend not in plugins:
        installed = ", ".join(["sqlite", *sorted(plugins)])
        raise StoreError(
            f"unknown store backend '{backend}'; installed: {installed} (backends are entry points of the "
            f"group '{ENTRY_POINT_GROUP}': reinstall Groundswell, `pip install -e .`, if one is missing)"
        )
    store_class = plugins[backend].load()
    store: Store = store_class.from_settings(config)
    return store
