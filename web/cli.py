"""`groundswell serve`: the analyst web UI."""

from __future__ import annotations
