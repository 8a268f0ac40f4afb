"""The weekly briefs: the list, and each brief's HTML, PDF and the images its HTML links to."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from web.deps import PagesDep, StoreDep, UiDep
from web.render import with_headers
from web.security import BRIEF_CSP

# what a brief folder may serve besides the brief's own HTML and PDF: the images its HTML links to
BRIEF_ASSET_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp")
_SRC_ATTR = re.compile(r"""\bsrc\s*=\s*["']([^"'#?]+)["']""", re.IGNORECASE)

router = APIRouter(tags=["briefs"])


@router.get("/briefs", response_class=HTMLResponse)
def briefs(request: Request, store: StoreDep, pages: PagesDep) -> Response:
    docs = store.query_docs("briefs", order_by="week_start", descending=True, limit=200)
    return pages.render(request, "briefs.html", {"briefs": [_brief_row(d) for d in docs]})


@router.get("/briefs/{key}/pdf")
def brief_pdf(key: str, ui: UiDep) -> Response:
    path = ui.brief_file(key, "pdf_path")
    return with_headers(FileResponse(path, media_type="application/pdf", filename=path.name), csp=BRIEF_CSP)


@router.get("/briefs/{key}/")
def brief_html(key: str, ui: UiDep) -> Response:
    return with_headers(FileResponse(ui.brief_file(key, "html_path"), media_type="text/html"), csp=BRIEF_CSP)


@router.get("/briefs/{key}/{name:path}")
def brief_asset(key: str, name: str, ui: UiDep) -> Response:
    """Only the images the brief's HTML links to: never the store, configuration or logs that
    may share the brief's folder (`--out`, `brief.output_dir` inside the data folder)."""
    html_file = ui.brief_file(key, "html_path")
    target = _brief_asset(html_file, name)
    if target is None:
        raise HTTPException(status_code=404, detail="no such file in this brief")
    return with_headers(FileResponse(target), csp=BRIEF_CSP)


def _brief_asset(html_file: Path, name: str) -> Path | None:
    """The file `name` of a brief when the brief's HTML links to it and it is an image, else None."""
    if (
        "\x00" in name
        or "\\" in name
        or name.startswith("/")
        or not name.lower().endswith(BRIEF_ASSET_SUFFIXES)
    ):
        return None
    parts = Path(name).parts
    if not parts or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    try:
        linked = {
            src.removeprefix("./")
            for src in _SRC_ATTR.findall(html_file.read_text(encoding="utf-8", errors="replace"))
            if "://" not in src and not src.startswith(("data:", "/"))
        }
        if name not in linked:
            return None
        folder = html_file.parent.resolve()
        target = (folder / name).resolve()
        return target if target.is_relative_to(folder) and target.is_file() else None
    except (OSError, ValueError):
        return None


def _brief_row(doc: dict[str, Any]) -> dict[str, Any]:
    key = str(doc.get("id") or doc.get("week_start") or "")
    return {
        "key": key,
        "week_start": doc.get("week_start", ""),
        "title": doc.get("title") or f"Market brief, week of {doc.get('week_start', '?')}",
        "created": doc.get("created") or doc.get("generated_at") or "",
        "mentions": doc.get("mentions"),
        "shifts": doc.get("shifts"),
        "tickets_opened": doc.get("tickets_opened"),
        "has_html": bool(doc.get("html_path")),
        "has_pdf": bool(doc.get("pdf_path")),
    }
