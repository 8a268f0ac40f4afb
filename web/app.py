"""The analyst web UI: search, trends, tickets and briefs over any `Store` backend.

`create_app(config, store, token=...)` builds a FastAPI application with server-rendered jinja2
templates (autoescaped: untrusted post text is always escaped; the only markup inserted as-is is
the store's search highlight, whose contract is `<mark>` tags around HTML-escaped text).
There is no JavaScript: charts are SVG drawn on the server, actions are plain forms.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from groundswell.config import Config
from groundswell.links import served
from groundswell.listing import store_clock
from groundswell.mention import BUSINESS_AREAS, SENTIMENTS, VOC_KINDS, Mention
from groundswell.records import SEVERITY_ORDER, SavedQuery, Ticket, TrendEvent
from groundswell.store.base import Filters, SearchTimeout, SeriesPoint, Store, StoreError
from groundswell.store.query import MAX_QUERY_CHARS, QuerySyntaxError, check_query
from web import charts
from web.query import FORM_FIELDS, QueryError, filters_summary, parse_query
from web.security import (
    BRIEF_CSP,
    CSP,
    LOCAL_USER,
    SECURITY_HEADERS,
    HostGuard,
    LoginThrottle,
    bearer,
    csrf_guard,
    csrf_token,
    match_token,
    parse_tokens,
)
from web.tickets import ACTIONS, TicketActionError, apply_action, available_actions, load_ticket

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
PAGE_SIZE = 20
MAX_PAGE = 500
TICKET_STATES = ("open", "acknowledged", "in_progress", "resolved", "dismissed")
PUBLIC_PATHS = ("/login", "/healthz", "/static/")
OPTIONS_TTL_S = 60.0
SERIES_TTL_S = 300.0
# what a brief folder may serve besides the brief's own HTML and PDF: the images its HTML links to
BRIEF_ASSET_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp")
_SRC_ATTR = re.compile(r"""\bsrc\s*=\s*["']([^"'#?]+)["']""", re.IGNORECASE)


def create_app(
    config: Config,
    store: Store,
    *,
    token: str | None = None,
    secret_key: str | None = None,
    bind_host: str = "127.0.0.1",
    allowed_hosts: tuple[str, ...] = (),
    login_throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The web application over `store`. With `token` set every page needs a login or a bearer token.

    `token`: one secret, or `name=secret` pairs separated by commas (the name is recorded in ticket
    history); a blank setting raises `WebSecurityError`. `secret_key` signs the session cookie; a
    random one is made when not given (sessions then end when the server restarts).
    `bind_host`/`allowed_hosts`: the names the `Host` and `Origin` headers may carry (loopback names
    only by default). `login_throttle` limits failed logins per client address.
    """
    tokens = parse_tokens(token)
    hosts = HostGuard(bind_host, allowed_hosts)
    throttle = login_throttle or LoginThrottle()
    app = FastAPI(
        title=f"Groundswell: {config.name}",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    ui = _Ui(config=config, store=store, tokens=tokens)
    env.filters.update(dt=_fmt_dt, day=_fmt_day, safe_url=safe_url, pretty=_pretty, label=_label)
    env.filters["served"] = served  # links to a demo that has ended fall back to the stored copy
    env.globals.update(entity_name=ui.entity_name, ACTIONS=ACTIONS)
    templates = Jinja2Templates(env=env)
    app.state.ui = ui

    def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        context = {
            "user": getattr(request.state, "user", None),
            "auth": bool(tokens),
            "csrf_token": csrf_token(request),
            "app_name": config.name,
            "nav": name.split(".")[0],
            **context,
        }
        return templates.TemplateResponse(request, name, context, status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.via_bearer = False
        request.state.user = LOCAL_USER if not tokens else None
        path = request.url.path
        if not hosts.allows_host(request.headers.get("host")):
            logger.warning("refused a request for host %r (DNS rebinding?)", request.headers.get("host"))
            return _headers(
                PlainTextResponse(
                    "this server does not answer to that host name (see `groundswell serve --allowed-host`)",
                    status_code=421,
                )
            )
        if not hosts.allows_origin(request.headers.get("origin")):
            return _headers(PlainTextResponse("cross-origin request refused", status_code=403))
        if tokens:
            presented = bearer(request)
            if presented is not None:
                client = _client(request)
                wait = throttle.retry_after(client)
                if wait > 0:
                    return _headers(_too_many(wait))
                user = match_token(tokens, presented)
                if user is None:
                    throttle.failed(client)
                    return _headers(
                        PlainTextResponse(
                            "invalid bearer token", status_code=401, headers={"WWW-Authenticate": "Bearer"}
                        )
                    )
                request.state.user, request.state.via_bearer = user, True
            else:
                user = request.session.get("user")
                request.state.user = user if user in tokens.values() else None
            if request.state.user is None and not path.startswith(PUBLIC_PATHS):
                if request.method == "GET":
                    target = path + (f"?{request.url.query}" if request.url.query else "")
                    return _headers(
                        RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
                    )
                return _headers(PlainTextResponse("authentication required", status_code=401))
        return _headers(await call_next(request))

    # outermost: the session must be decoded before `guard` reads it
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key or secrets.token_urlsafe(32),
        session_cookie="groundswell_session",
        max_age=12 * 3600,
        same_site="lax",
        https_only=False,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # ---- auth ---------------------------------------------------------------------------------
    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/search") -> Response:
        if not tokens:
            return RedirectResponse("/search", status_code=303)
        return render(request, "login.html", {"next": _safe_next(next), "error": None})

    @app.post("/login", response_class=HTMLResponse)
    def login(request: Request, token: str = Form(""), next: str = Form("/search")) -> Response:
        client = _client(request)
        wait = throttle.retry_after(client)
        if wait > 0:
            logger.warning("web login from %s throttled for %.0f s after failed attempts", client, wait)
            return _too_many(wait)
        user = match_token(tokens, token.strip()) if tokens else LOCAL_USER
        if user is None:
            throttle.failed(client)
            logger.warning("web login refused from %s", client)
            return render(
                request, "login.html", {"next": _safe_next(next), "error": "That token is not valid."}, 401
            )
        throttle.succeeded(client)
        request.session.clear()  # a fresh session (and CSRF token) after login
        request.session["user"] = user
        return RedirectResponse(_safe_next(next), status_code=303)

    @app.post("/logout")
    def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login" if tokens else "/search", status_code=303)

    @app.get("/")
    def home() -> Response:
        return RedirectResponse("/search", status_code=303)

    # ---- search -------------------------------------------------------------------------------
    @app.get("/search", response_class=HTMLResponse)
    def search(
        request: Request,
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
        pages = 0 if result is None else min((result.total + PAGE_SIZE - 1) // PAGE_SIZE, MAX_PAGE)
        context = {
            "q": q,
            "form": form,
            "sort": sort,
            "error": error,
            "result": result,
            "active": filters_summary(parsed.filters) if parsed else [],
            "page": page,
            "pages": pages,
            "page_url": lambda n: "/search?" + urlencode({**params, "page": n}),
            "save_params": params,
            "options": ui.options(),
            "saved": store.saved_queries(limit=200),
            "query_url": _saved_query_url,
        }
        return render(request, "search.html", context, status)

    @app.post("/queries")
    def save_query(
        request: Request,
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
            who=request.state.user,
            created=datetime.now(UTC),
        )
        store.put_saved_query(saved)
        return RedirectResponse(_saved_query_url(saved), status_code=303)

    @app.post("/queries/{query_id}/delete")
    def delete_query(query_id: str) -> Response:
        store.delete_saved_query(query_id)
        return RedirectResponse("/search", status_code=303)

    @app.get("/mentions/{mention_id}", response_class=HTMLResponse)
    def mention(request: Request, mention_id: str) -> Response:
        found = store.get_mentions([mention_id])
        if not found:
            raise HTTPException(status_code=404, detail=f"no mention with id '{mention_id}'")
        m = found[0]
        fields = {k: v for k, v in m.model_dump(mode="json").items() if k not in ("title", "text")}
        return render(request, "mention.html", {"m": m, "fields": fields, "thread": ui.thread(m)})

    # ---- trends -------------------------------------------------------------------------------
    @app.get("/trends", response_class=HTMLResponse)
    def trends(
        request: Request,
        bucket: Literal["hour", "day", "week"] = "day",
        days: int = 90,
        kind: Literal["all", "shift", "developing", "blip", "health"] = "all",
    ) -> Response:
        days = min(max(days, 1), 3650)
        return render(
            request,
            "trends.html",
            {**ui.trends(bucket, days, kind), "bucket": bucket, "days": days, "kind": kind},
        )

    @app.get("/trends/{event_id}", response_class=HTMLResponse)
    def trend(request: Request, event_id: str) -> Response:
        try:
            event = store.get_trend_event(event_id)
        except ValidationError as err:
            raise HTTPException(
                status_code=500,
                detail=f"trend document '{event_id}' is not a valid TrendEvent: {err.errors()[0]['msg']}",
            ) from err
        if event is None:
            raise HTTPException(status_code=404, detail=f"no trend event with id '{event_id}'")
        return render(request, "trend.html", ui.trend_detail(event))

    # ---- tickets ------------------------------------------------------------------------------
    @app.get("/tickets", response_class=HTMLResponse)
    def tickets(request: Request, team: str = "", type: str = "") -> Response:
        where: dict[str, Any] = {}
        if team:
            where["team"] = team
        if type:
            where["type"] = type
        loaded = ui.load_tickets(where)
        columns = {s: sorted((t for t in loaded if t.state == s), key=_ticket_order) for s in TICKET_STATES}
        every = loaded if not where else ui.load_tickets({})
        teams = sorted({*(t.id for t in config.teams), *(t.team for t in every)})
        by_team = {name: dict.fromkeys(TICKET_STATES, 0) for name in teams}
        for t in every:
            by_team[t.team][t.state] += 1
        return render(
            request,
            "tickets.html",
            {
                "columns": columns,
                "teams": teams,
                "by_team": by_team,
                "states": TICKET_STATES,
                "team": team,
                "type": type,
                "now": store_clock(ui.store)[0],  # the demo's tickets are judged on the demo's clock
                "total": len(loaded),
            },
        )

    @app.get("/tickets/{ticket_id}", response_class=HTMLResponse)
    def ticket(request: Request, ticket_id: str) -> Response:
        return render(request, "ticket.html", ui.ticket_detail(ticket_id, error=None))

    @app.post("/tickets/{ticket_id}/actions")
    def ticket_action(
        request: Request,
        ticket_id: str,
        action: str = Form(...),
        note: str = Form(""),
        assignee: str = Form(""),
    ) -> Response:
        try:
            apply_action(
                store,
                ticket_id,
                action,
                who=request.state.user,
                note=note,
                assignee=assignee or None,
                config=config,
            )
        except KeyError as err:
            raise HTTPException(status_code=404, detail=str(err).strip("'\"")) from err
        except TicketActionError as err:
            return render(request, "ticket.html", ui.ticket_detail(ticket_id, error=str(err)), 409)
        return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)

    # ---- source health (collection ledger + detector health events) -----------------------------
    @app.get("/sources", response_class=HTMLResponse)
    def sources_health(request: Request, days: int = 30) -> Response:
        from crawlers.health import source_health

        days = min(max(days, 1), 3650)
        now = datetime.now(UTC)
        kinds = {s.name: s.kind for s in config.sources}
        rows = source_health(store, [s.name for s in config.sources if s.enabled], since=now - timedelta(days=days), now=now, kinds=kinds)  # fmt: skip
        return render(request, "sources.html", {"rows": rows, "days": days, "now": now})

    # ---- briefs -------------------------------------------------------------------------------
    @app.get("/briefs", response_class=HTMLResponse)
    def briefs(request: Request) -> Response:
        docs = store.query_docs("briefs", order_by="week_start", descending=True, limit=200)
        return render(request, "briefs.html", {"briefs": [_brief_row(d) for d in docs]})

    @app.get("/briefs/{key}/pdf")
    def brief_pdf(key: str) -> Response:
        path = ui.brief_file(key, "pdf_path")
        return _headers(FileResponse(path, media_type="application/pdf", filename=path.name), csp=BRIEF_CSP)

    @app.get("/briefs/{key}/")
    def brief_html(key: str) -> Response:
        return _headers(FileResponse(ui.brief_file(key, "html_path"), media_type="text/html"), csp=BRIEF_CSP)

    @app.get("/briefs/{key}/{name:path}")
    def brief_asset(key: str, name: str) -> Response:
        """Only the images the brief's HTML links to: never the store, configuration or logs that
        may share the brief's folder (`--out`, `brief.output_dir` inside the data folder)."""
        html_file = ui.brief_file(key, "html_path")
        target = _brief_asset(html_file, name)
        if target is None:
            raise HTTPException(status_code=404, detail="no such file in this brief")
        return _headers(FileResponse(target), csp=BRIEF_CSP)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/static/") or getattr(request.state, "via_bearer", False):
            return _headers(PlainTextResponse(str(exc.detail), status_code=exc.status_code))
        if "session" not in request.scope:
            return _headers(PlainTextResponse(str(exc.detail), status_code=exc.status_code))
        return _headers(
            render(request, "error.html", {"status": exc.status_code, "message": exc.detail}, exc.status_code)
        )

    return app


class _Ui:
    """The data behind the pages (kept apart from routing so it reads top-down)."""

    def __init__(self, *, config: Config, store: Store, tokens: dict[str, str]) -> None:
        self.config = config
        self.store = store
        self.tokens = tokens
        self._names = {e.id: e.name for e in config.entities()}
        self._options: tuple[float, dict[str, Any]] | None = None
        self._series_cache: dict[tuple[Any, ...], tuple[float, list[SeriesPoint]]] = {}

    def entity_name(self, entity_id: str) -> str:
        return self._names.get(entity_id, entity_id)

    def options(self) -> dict[str, Any]:
        """Values for the search form's controls (cached briefly: these are aggregations)."""
        now = time.monotonic()
        if self._options is None or now - self._options[0] > OPTIONS_TTL_S:
            brands = [(b.id, b.name) for b in [*self.config.brands, *self.config.competitors]]
            if not brands:
                brands = [(t.term, self.entity_name(t.term)) for t in self.store.terms("entities", size=30)]
            sources = list(
                dict.fromkeys(
                    [
                        *(s.name for s in self.config.sources),
                        *(t.term for t in self.store.terms("source", size=50)),
                    ]
                )
            )
            languages = [t.term for t in self.store.terms("language", size=20)]
            self._options = (
                now,
                {
                    "brand": brands,
                    "source": sources,
                    "sentiment": list(SENTIMENTS),
                    "kind": list(VOC_KINDS),
                    "area": list(BUSINESS_AREAS),
                    "lang": languages,
                },
            )
        return self._options[1]

    def thread(self, m: Mention, limit: int = 50) -> list[Mention]:
        """Other mentions of the same thread, oldest first (the root first when it is stored)."""
        if not m.thread_id:
            return []
        root = [
            r for r in self.store.get_mentions([m.thread_id]) if r.id != m.id and r.thread_id != m.thread_id
        ]
        found: list[Mention] = []
        for other in self.store.iter_mentions(Filters(thread_ids=(m.thread_id,)), batch_size=limit + 1):
            if other.thread_id == m.thread_id and other.id != m.id:
                found.append(other)
            if len(root) + len(found) >= limit:
                logger.info("thread %s: showing its first %s posts", m.thread_id, limit)
                break
        return [*root, *found]

    def events(self) -> list[TrendEvent]:
        def skip(doc: dict[str, Any], err: ValidationError) -> None:
            logger.warning(
                "trend document %s is not a TrendEvent, skipped: %s", doc.get("id"), err.errors()[0]["msg"]
            )

        return self.store.trend_events(order_by="start", descending=True, limit=1000, on_invalid=skip)

    def trends(self, bucket: str, days: int, kind: str) -> dict[str, Any]:
        keys = [b.id for b in [*self.config.brands, *self.config.competitors]]
        if not keys:
            keys = [t.term for t in self.store.terms("entities", size=6)]
        newest = self.store.search("", limit=1, sort="newest").hits
        end = newest[0].mention.published if newest else datetime.now(UTC)
        start = end - timedelta(days=days)
        points = [p for p in self._series(bucket, start, end) if p.key in keys]
        colors = {k: charts.PALETTE[i % len(charts.PALETTE)] for i, k in enumerate(keys)}
        buckets = sorted({p.bucket for p in points})
        if buckets:
            buckets = charts.bucket_range(buckets[0], buckets[-1], bucket)
        events = [e for e in self.events() if kind == "all" or e.kind == kind]
        on_chart = [
            e
            for e in events
            if e.group_by == "entity" and e.key in keys and start <= e.start <= end + timedelta(days=1)
        ]
        names = {k: self.entity_name(k) for k in keys}
        volume = charts.per_key(points, "volume")
        sentiment = charts.per_key(points, "mean_sentiment")
        named_colors = {names[k]: c for k, c in colors.items()}

        def by_name(series: dict[str, dict[datetime, float]]) -> dict[str, dict[datetime, float]]:
            return {names[k]: series.get(k, {}) for k in keys}

        volume_chart = charts.line_chart(
            "Mentions per " + bucket,
            by_name(volume),
            buckets,
            named_colors,
            events=[
                (e, names[e.key]) for e in on_chart if e.metric not in ("mean_sentiment", "negative_share")
            ],
            width=1240,
            height=300,
        )
        sentiment_chart = charts.line_chart(
            "Mean sentiment (-1 to 1)",
            by_name(sentiment),
            buckets,
            named_colors,
            events=[(e, names[e.key]) for e in on_chart if e.metric in ("mean_sentiment", "negative_share")],
            y_range=(-1.0, 1.0),
            fill_missing=None,
            value_format="{:+.2f}",
        )
        totals = {names[k]: sum(volume.get(k, {}).values()) for k in keys}
        grand = sum(totals.values()) or 1.0
        sov = charts.bar_chart(
            "Share of voice",
            {k: v / grand for k, v in totals.items()},
            named_colors,
            hrefs={names[k]: "/search?" + urlencode({"brand": k}) for k in keys},
            width=440,
        )
        return {
            "volume_chart": volume_chart,
            "sentiment_chart": sentiment_chart,
            "sov_chart": sov,
            "events": events,
            "start": start,
            "end": end,
            "keys": keys,
            "counts": totals,
        }

    def _series(self, bucket: str, start: datetime, end: datetime) -> list[SeriesPoint]:
        """Per-entity series of the window, cached until the number of stored mentions changes.

        Entities are not passed as a filter: on SQLite the unfiltered per-entity aggregation is
        about twice as fast, and the page keeps only the keys it draws.
        """
        key = (bucket, start, end, self.store.count())
        cached = self._series_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < SERIES_TTL_S:
            return cached[1]
        points = self.store.series(bucket, "entity", Filters(start=start, end=end + timedelta(seconds=1)))  # type: ignore[arg-type]
        self._series_cache = {key: (time.monotonic(), points)}
        return points

    def trend_detail(self, event: TrendEvent) -> dict[str, Any]:
        buckets = [p.t for p in event.series]
        chart = charts.line_chart(
            f"{event.metric} of {self.entity_name(event.key)}",
            {event.metric: {p.t: p.value for p in event.series}},
            buckets,
            {event.metric: "#2563eb"},
            events=[(event, event.metric)],
            fill_missing=None,
            value_format="{:.0f}" if event.metric in ("volume", "safety_count") else "{:.2f}",
            guides_at=[
                (event.baseline, f"baseline {event.baseline:.3g}"),
                (event.level, f"level {event.level:.3g}"),
            ],
            width=1240,
            height=280,
        )
        field = {"entity": "entity", "source": "source", "author": "author", "topic": "topic"}[event.group_by]
        key = f'"{event.key}"' if " " in event.key else event.key
        window_q = (
            f"{field}:{key} after:{event.start:%Y-%m-%d} before:{(event.end + timedelta(days=1)):%Y-%m-%d}"
        )
        tickets = [t for t in self.load_tickets({}) if event.id in t.evidence.trend_ids]
        return {
            "e": event,
            "chart": chart,
            "mentions": self.store.get_mentions(event.mention_ids[:25]),
            "window_q": window_q,
            "tickets": tickets,
        }

    def load_tickets(self, where: dict[str, Any]) -> list[Ticket]:
        def skip(doc: dict[str, Any], err: ValidationError) -> None:
            logger.warning(
                "ticket document %s is not a Ticket, skipped: %s", doc.get("id"), err.errors()[0]["msg"]
            )

        return self.store.tickets(
            where=where or None, order_by="updated", descending=True, limit=1000, on_invalid=skip
        )

    def ticket_detail(self, ticket_id: str, *, error: str | None) -> dict[str, Any]:
        try:
            t = load_ticket(self.store, ticket_id)
        except KeyError as err:
            raise HTTPException(status_code=404, detail=f"no ticket with id '{ticket_id}'") from err
        members: list[str] = []
        for team in self.config.teams:
            if team.id == t.team:
                members = list(team.members)
        trends = []
        for trend_id in t.evidence.trend_ids:
            event = self.store.get_trend_event(trend_id)
            if event is not None:
                trends.append(event)
        return {
            "t": t,
            "error": error,
            "actions": available_actions(t.state),
            "members": members,
            "mentions": self.store.get_mentions(t.evidence.mention_ids[:25]),
            "trends": trends,
            "now": store_clock(self.store)[0],  # the demo's tickets are judged on the demo's clock
        }

    def brief_file(self, key: str, field: Literal["html_path", "pdf_path"]) -> Path:
        doc = self.store.get_doc("briefs", key)
        if doc is None:
            found = self.store.query_docs("briefs", where={"week_start": key}, limit=1)
            doc = found[0] if found else None
        if doc is None:
            raise HTTPException(status_code=404, detail=f"no brief '{key}'")
        raw = doc.get(field)
        kind = field.split("_")[0]
        if not raw or not isinstance(raw, str) or "\x00" in raw or not raw.lower().endswith(f".{kind}"):
            raise HTTPException(status_code=404, detail=f"brief '{key}' has no {kind.upper()} file")
        for candidate in (Path(raw), self.config.path(raw), self.config.base_dir / raw):
            if candidate.is_file():
                return candidate
        raise HTTPException(status_code=404, detail=f"brief '{key}': file {raw} is missing")


# ---- helpers ------------------------------------------------------------------------------------
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


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _too_many(wait: float) -> Response:
    seconds = max(1, int(wait + 0.999))
    return PlainTextResponse(
        f"too many failed logins from this address; try again in {seconds} s",
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def _headers(response: Response, csp: str = CSP) -> Response:
    response.headers.setdefault("Content-Security-Policy", csp)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.headers.get("content-type", "").startswith("text/html"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _safe_next(target: str) -> str:
    """Only same-site paths after login (no open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/search"
    return target


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s), else None (a `javascript:` link from a post never becomes a link)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _saved_query_url(query: SavedQuery) -> str:
    return "/search?" + urlencode({"q": query.q, **query.form})


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


def _ticket_order(t: Ticket) -> tuple[int, datetime]:
    return (-SEVERITY_ORDER.get(t.severity, 0), t.due)


def _fmt_dt(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            return _fmt_dt(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _fmt_day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d")


def _pretty(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else "—"
    if value is None or value == "":
        return "—"
    return str(value)


_LABEL = re.compile(r"_")


def _label(value: str) -> str:
    return _LABEL.sub(" ", value)
