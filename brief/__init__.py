"""Report: the weekly market brief (HTML and PDF).

`build_brief(config, store, week_start=...)` gathers the week's numbers from the store (any
backend), draws the charts, writes a self-contained HTML file and its PDF, and records the brief in
the store's `briefs` collection. Heavy imports (matplotlib, WeasyPrint) happen on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from brief.build import BriefBuilder, BriefResult, build_brief
    from brief.data import BriefData, collect_brief_data

__all__ = ["BriefBuilder", "BriefData", "BriefResult", "build_brief", "collect_brief_data"]


def __getattr__(name: str) -> Any:
    if name in ("BriefBuilder", "BriefResult", "build_brief"):
        from brief import build

        return getattr(build, name)
    if name in ("BriefData", "collect_brief_data"):
        from brief import data

        return getattr(data, name)
    raise AttributeError(f"module 'brief' has no attribute {name!r}")
