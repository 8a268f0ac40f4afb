"""What every feed/API client shares: construction from settings, budgets, run results, state.

A client's `collect(state)` pages through its source (cursor-paged APIs through `page_through`, which
keeps the budget and stops a pagination loop) and returns a `ClientRun`: the mentions, the new
cursor state, and the counts (pages, errors with their reasons). It never raises for source faults:
an HTTP error, a body that is not JSON, a pagination loop is logged with the URL and reason, counted,
and what was collected before it is kept.

Cursor state is a small JSON dict that `crawlers.collect` keeps in the store under
`store.get_state("feeds:<source name>")` and passes back on the next run. A client only advances its
high-water mark (newest id / time seen) when the run reached the previous mark or the end of the
listing without an error, so a run cut short by a fault is re-covered next time, never skipped.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from crawlers.http import ApiHttp, FetchError, Secret, load_credentials
from groundswell.config import Config, SourceConfig
from groundswell.mention import Mention

logger = logging.getLogger(__name__)

RAW_LIMIT = 2000  # characters kept per raw metadata string


@dataclass
class ClientRun:
    """The result of one client run over one source."""

    source: str
    mentions: list[Mention] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    pages: int = 0
    errors: int = 0
    error_reasons: list[str] = field(default_factory=list)
    warnings: int = 0
    stopped: str = (
        ""  # why paging ended: "end", "known", "budget:pages", "budget:items", "budget:seconds", "error"
    )
    errors_by_reason: dict[str, int] = field(default_factory=dict)
    empty: dict[str, str] = field(default_factory=dict)  # URL of a response that yielded nothing -> why

    def error(self, url: str, reason: str) -> None:
        self.errors += 1
        self.error_reasons.append(f"{url}: {reason}")
        key = reason_key(reason)
        self.errors_by_reason[key] = self.errors_by_reason.get(key, 0) + 1
        logger.error("source %s: %s: %s", self.source, url, reason)

    def nothing_from(self, url: str, reason: str) -> None:
        """Record why a response from `url` yielded no item."""
        self.empty.setdefault(url, reason)
        logger.warning("source %s: %s yielded nothing: %s", self.source, url, reason)


def reason_key(reason: str) -> str:
    """A short countable key for a free-text error reason ("HTTP 404: Not Found" -> "HTTP 404")."""
    head = reason.split(":", 1)[0].split("(", 1)[0].strip()
    return (head or reason)[:60]


class Budget:
    """Pages, items and seconds left for one run (from `source.budget`)."""

    def __init__(self, source: SourceConfig) -> None:
        self.max_pages = source.budget.max_pages
        self.max_items = source.budget.max_items
        self.deadline = time.monotonic() + source.budget.max_seconds

    def exhausted(self, run: ClientRun) -> str:
        """The reason the budget is used up ("" while it is not)."""
        if run.pages >= self.max_pages:
            return "budget:pages"
        if len(run.mentions) >= self.max_items:
            return "budget:items"
        if time.monotonic() >= self.deadline:
            return "budget:seconds"
        return ""


@dataclass
class Page:
    """What one fetched page tells `FeedClient.page_through`."""

    url: str  # where it came from (named in a pagination-loop error)
    next: str | None = None  # the cursor (token, URL) of the next page; None or "": the listing ended
    # end paging here: "known" (reached the saved mark) or "error" (already recorded in the run)
    stop: str = ""


class FeedClient(abc.ABC):
    """Base of the RSS/Atom, Reddit, Hacker News, Mastodon, YouTube and X clients."""

    kind: ClassVar[str]
    required_credentials: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, source: SourceConfig, http: ApiHttp, credentials: dict[str, Secret]) -> None:
        if source.kind != self.kind:
            raise ValueError(
                f"{type(self).__name__} collects kind '{self.kind}', source '{source.name}' is '{source.kind}'"
            )
        self.source = source
        self.http = http
        self.credentials = credentials
        self.base_url = source.url.rstrip("/")

    @classmethod
    def from_settings(cls, config: Config, source: SourceConfig, *, http: ApiHttp | None = None) -> Self:
        """Build the client; raises CredentialError when a required credential is not available."""
        credentials = load_credentials(source, required=cls.required_credentials)
        return cls(source=source, http=http or ApiHttp.from_settings(config), credentials=credentials)

    def param(self, name: str, default: Any = None) -> Any:
        return self.source.params.get(name, default)

    def collect(self, state: dict[str, Any] | None = None) -> ClientRun:
        """Page through the source from the saved cursor state; never raises for source faults."""
        run = ClientRun(source=self.source.name, state=dict(state or {}))
        budget = Budget(self.source)
        try:
            self._collect(run, budget)
        except FetchError as exc:
            run.error(exc.url, f"HTTP {exc.status}: {exc.reason}" if exc.status else exc.reason)
            run.stopped = "error"
        except Exception as exc:  # a bug or a response shape we did not foresee: keep what was collected
            logger.exception("source %s: collection stopped by an unexpected error", self.source.name)
            run.error(self.source.url, f"unexpected {type(exc).__name__}: {exc}")
            run.stopped = "error"
        logger.info(
            "source %s: %d items from %d pages (%s), %d errors",
            self.source.name, len(run.mentions), run.pages, run.stopped or "end", run.errors,
        )  # fmt: skip
        return run

    @abc.abstractmethod
    def _collect(self, run: ClientRun, budget: Budget) -> None:
        """Fetch pages into `run` (raising FetchError ends the run with what was collected so far)."""

    def build(self, run: ClientRun, where: str, factory: Callable[[], Mention | None]) -> Mention | None:
        """Map one item; an item the mapping cannot read is skipped and counted as a warning, not fatal."""
        try:
            return factory()
        except (
            KeyError,
            ValueError,
            TypeError,
            AttributeError,
        ) as exc:  # pydantic's ValidationError is a ValueError
            run.warnings += 1
            logger.warning(
                "source %s: skipped an item from %s: %s: %s",
                self.source.name,
                where,
                type(exc).__name__,
                str(exc)[:200],
            )
            return None

    def page_through(
        self,
        run: ClientRun,
        budget: Budget,
        fetch: Callable[[str | None], Page],
        *,
        loop_error: Callable[[str], str],
    ) -> None:
        """Fetch pages, `fetch(None)` first and then `fetch(cursor)` with each page's next cursor, until
        the listing ends ("end"), a page says stop, the budget is used up ("budget:..."), or a cursor
        comes back (a pagination loop: recorded as an error with `loop_error(cursor)`). Sets `run.stopped`."""
        followed: set[str] = set()
        cursor: str | None = None
        while True:
            stop = budget.exhausted(run)
            if stop:
                run.stopped = stop
                return
            page = fetch(cursor)
            if page.stop:
                run.stopped = page.stop
                return
            if not page.next:
                run.stopped = "end"
                return
            if page.next in followed:
                run.error(page.url, loop_error(page.next))
                run.stopped = "error"
                return
            followed.add(page.next)
            cursor = page.next

    def get_json(self, run: ClientRun, url: str, *, params: dict[str, Any] | None = None,
                 headers: dict[str, str | Secret] | None = None) -> Any:  # fmt: skip
        response = self.http.get(url, params=params, headers=headers)
        run.pages += 1
        return response.json()


def raw_subset(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The listed keys of an API item, long strings cut, so `Mention.raw` stays small."""
    out: dict[str, Any] = {}
    for key in keys:
        value = data.get(key)
        if value is None or value == "" or value == [] or value == {}:
            continue
        if isinstance(value, str) and len(value) > RAW_LIMIT:
            value = value[:RAW_LIMIT]
        out[key] = value
    return out


def as_int(value: Any) -> int:
    """A non-negative count from an API field that may be missing, null, a float or a string."""
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError):
        return 0


def now_utc() -> datetime:
    return datetime.now(UTC)
