"""Full-text search with filters, saved queries, and one mention with its thread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from groundswell.records import SavedQuery
from groundswell.store.base import SearchTimeout, StoreError
from groundswell.store.query import MAX_QUERY_CHARS, QuerySyntaxError, check_query
from web.deps import ConfigDep, PagesDep, StoreDep, UiDep, UserDep
from web.query import FORM_FIELDS, QueryError, filters_summary, parse_query
from web.render import saved_query_url

PAGE_SIZE = 20
MAX_PAGE = 500

router = APIRouter(tags=["search"])


@router.get("/")
def home() -> Response:
    return RedirectResponse("/search", status_code=303)


@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request,
    config: ConfigDep,
    store: StoreDep,
    ui: UiDep,
    pages: PagesDep,
    q: str = "",
    page: int = 1,
    sort: Literal["relevance", "newest", "oldest"] = "relevance",
) -> Response:
    form = {f: request.query_params.get(f, "") for f in FORM_FIELDS}
    page = min(max(page, 1), MAX_PAGE)
    error, result, parsed, status = None, None, None, 200
    try:
        if len(q) > MAX_QUERY_CHARS:  # field filters count too: bound the whole box, not only the text
            raise QuerySyntaxError(
                f"the search query is {len(q):,} characters long; at most {MAX_QUERY_CHARS:,} are allowed"
            )
        parsed = parse_query(q, config, form=form)
        result = store.search(
            parsed.text, parsed.filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, sort=sort
        )
    except (QueryError, QuerySyntaxError) as err:
        error, status = str(err), 400
    except SearchTimeout as err:
        error, status = str(err), 503
    except StoreError as err:
        error, status = str(err), 400
    params = {"q": q, **{k: v for k, v in form.items() if v}, "sort": sort}
    pages_total = 0 if result is None else min((result.total + PAGE_SIZE - 1) // PAGE_SIZE, MAX_PAGE)
    context = {
        "q": q,
        "form": form,
        "sort": sort,
        "error": error,
        "result": result,
        "active": filters_summary(parsed.filters) if parsed else [],
        "page": page,
        "pages": pages_total,
        "page_url": lambda n: "/search?" + urlencode({**params, "page": n}),
        "save_params": params,
        "options": ui.options(),
        "saved": store.saved_queries(limit=200),
        "query_url": saved_query_url,
    }
    return pages.render(request, "search.html", context, status)


@router.post("/queries")
def save_query(
    config: ConfigDep,
    store: StoreDep,
    user: UserDep,
    name: str = Form(...),
    q: str = Form(""),
    brand: str = Form(""),
    source: str = Form(""),
    sentiment: str = Form(""),
    kind: str = Form(""),
    area: str = Form(""),
    lang: str = Form(""),
    after: str = Form(""),
    before: str = Form(""),
) -> Response:
    name = name.strip()[:120]
    if not name:
        raise HTTPException(status_code=400, detail="a saved query needs a name")
    typed = {
        "brand": brand,
        "source": source,
        "sentiment": sentiment,
        "kind": kind,
        "area": area,
        "lang": lang,
        "after": after,
        "before": before,
    }
    form_values = {f: v.strip() for f, v in typed.items() if v.strip()}
    try:
        parse_query(q, config, form=form_values)
        check_query(q)
    except (QueryError, QuerySyntaxError) as err:
        raise HTTPException(status_code=400, detail=f"not saved: {err}") from err
    saved = SavedQuery(
        id=SavedQuery.make_id(name),
        name=name,
        q=q,
        form=form_values,
        who=user,
        created=datetime.now(UTC),
    )
    store.put_saved_query(saved)
    return RedirectResponse(saved_query_url(saved), status_code=303)


@router.post("/queries/{query_id}/delete")
def delete_query(query_id: str, store: StoreDep) -> Response:
    store.delete_saved_query(query_id)
    return RedirectResponse("/search", status_code=303)


@router.get("/mentions/{mention_id}", response_class=HTMLResponse)
def mention(request: Request, mention_id: str, store: StoreDep, ui: UiDep, pages: PagesDep) -> Response:
    found = store.get_mentions([mention_id])
    if not found:
        raise HTTPException(status_code=404, detail=f"no mention with id '{mention_id}'")
    m = found[0]
    fields = {k: v for k, v in m.model_dump(mode="json").items() if k not in ("title", "text")}
    return pages.render(request, "mention.html", {"m": m, "fields": fields, "thread": ui.thread(m)})
