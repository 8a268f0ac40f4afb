"""Package attributes imported on first use, so that the command line starts at once.

A stage package (`alerts`, `nlp`, `trends`) names where each public attribute lives; importing the
package then costs nothing, and `alerts.process_events` imports `alerts.tickets` (and its heavy
dependencies) only when it is first used::

    __getattr__ = lazy_attributes(__name__, {"process_events": "alerts.tickets"})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` that imports `where[name]` on first use and returns its `name`."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
