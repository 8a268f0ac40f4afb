"""The store interface: one query surface, two backends (embedded SQLite, Elasticsearch).

Every stage reads and writes through `Store`. Mentions are upserted by their stable id, so a
re-run writes the same documents again instead of adding new ones. Other records (tickets, trend
events, author scores, notification ledger, crawler state) are JSON documents kept in named
collections, also upserted by id.

The aggregations are the ones the trend detector, the brief and the web UI need:
`series` (counts and sentiment sums per time bucket per key), `terms` (top values of a keyword
field), `top_terms` (frequent or significant words against a background).

Concurrency: `writer_lock` makes a pipeline run the only writer of a store (a file lock next to
the SQLite file; a lease document with an expiry on Elasticsearch), so overlapping runs wait or
exit with `StoreLocked`. `get_doc_versioned` / `put_doc_if` compare-and-set one document on its
version, for records that several writers change (tickets, the notification outbox). A search
has a time budget (`search_timeout_s`); one over it raises `SearchTimeout`.

Typed records: tickets, trend events, the collection ledger and saved searches have accessors that
take and return their `groundswell.records` models (`get_ticket`, `put_ticket_if`, `trend_events`,
`record_collection`, `saved_queries`, ...). They are written once here on top of the generic
document methods, so every backend has them; stages use them instead of raw dicts under
collection names.
"""

from __future__ import annotations

import abc
import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import ValidationError

from groundswell.mention import Mention
from groundswell.records import LedgerEntry, Record, SavedQuery, Ticket, TrendEvent

if TYPE_CHECKING:
    from groundswell.config import Config

Bucket = Literal["hour", "day", "week"]
GroupBy = Literal["entity", "source", "topic", "author", "none"]
COLLECTIONS = ("tickets", "trends", "authors", "notifications", "state", "queries", "briefs", "ledger")
TERM_FIELDS = (
    "source",
    "source_kind",
    "author",
    "language",
    "sentiment",
    "emotion",
    "voc_kind",
    "business_area",
    "topic_label",
    "entities",
    "safety_hazards",
    "thread_id",
)


class StoreError(RuntimeError):
    """A store operation failed; the message says which and why."""


class StoreLocked(StoreError):
    """Another process holds the store's writer lock; the message names the holder and how long it was waited for."""


class SearchTimeout(StoreError):
    """A search ran past its time budget and was stopped."""


DocVersion = tuple[int, int]  # opaque: (counter, 0) on SQLite, (seq_no, primary_term) on Elasticsearch

R = TypeVar("R", bound=Record)
# the collection each typed record lives in
RECORD_COLLECTIONS: dict[type[Record], str] = {
    Ticket: "tickets",
    TrendEvent: "trends",
    LedgerEntry: "ledger",
    SavedQuery: "queries",
}
# called with a stored document that is not a valid record and the validation error; the document is skipped
OnInvalid = Callable[[dict[str, Any], ValidationError], None]

DEFAULT_LOCK_WAIT_S = float(os.environ.get("GROUNDSWELL_LOCK_WAIT_S", "0"))


def lock_holder(what: str) -> dict[str, Any]:
    """Who takes a writer lock: shown to the run that finds it taken."""
    from datetime import UTC

    return {
        "what": what,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def describe_holder(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another process"
    return (
        f"'{holder.get('what', '?')}' (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"since {holder.get('since', '?')})"
    )


@dataclass(frozen=True)
class Filters:
    """Conjunctive filters shared by search, counts and aggregations. Empty means 'any'."""

    start: datetime | None = None  # inclusive, on `published`
    end: datetime | None = None  # exclusive
    entities: tuple[str, ...] = ()  # any of these entity ids
    sources: tuple[str, ...] = ()
    source_kinds: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    voc_kinds: tuple[str, ...] = ()
    business_areas: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    topic_ids: tuple[int, ...] = ()
    ids: tuple[str, ...] = ()
    thread_ids: tuple[str, ...] = ()  # mentions of these threads (the web UI's thread view)
    safety: bool | None = None  # True: only mentions with a safety hazard
    enriched: bool | None = None

    def replace(self, **changes: Any) -> Filters:
        values = {f: getattr(self, f) for f in self.__dataclass_fields__}
        values.update(changes)
        return Filters(**values)


@dataclass
class WriteResult:
    written: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Hit:
    mention: Mention
    score: float
    highlight: str  # text fragment with matches wrapped in <mark>...</mark>; the rest is HTML-escaped


@dataclass
class SearchPage:
    total: int
    hits: list[Hit]


@dataclass(frozen=True)
class SeriesPoint:
    """Aggregates of one (key, bucket): what the trend detector and the brief consume."""

    key: str  # entity id, source name, topic id, author; "all" when group_by="none"
    bucket: datetime  # start of the bucket, UTC
    count: int
    negative: int
    positive: int
    sentiment_sum: float  # sum of sentiment scores in [-1, 1]
    complaints: int
    safety: int
    authors: int  # distinct authors in the bucket
    sources: int  # distinct sources in the bucket
    copies: int  # posts including the near-identical copies dedup collapsed (sum of duplicate_count)


@dataclass(frozen=True)
class TermCount:
    term: str
    count: int
    score: float = 0.0  # significance against the background (0 when no background given)
    background_count: int = 0


class Store(abc.ABC):
    """What every backend provides. Implementations must agree on results (tests/test_store.py)."""

    # ---- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    search_timeout_s: float = 10.0  # the time budget of one `search`

    def opened_from(self, config: Config) -> bool:
        """True when `open_store(config)`, in another process, opens this very store (so that worker
        processes can write to it: `groundswell.app.processes`). False unless a backend knows."""
        return False

    @contextlib.contextmanager
    def writer_lock(self, what: str, *, wait_s: float | None = None) -> Iterator[None]:
        """Be the only writer of this store inside the block (a pipeline run, a task that writes).

        Waits up to `wait_s` seconds (default `$GROUNDSWELL_LOCK_WAIT_S`, else 0) for another holder
        to finish, then raises `StoreLocked` naming the holder. Backends override this; the default
        (a store only this process uses) needs no lock.
        """
        yield

    # ---- mentions ------------------------------------------------------------------------
    @abc.abstractmethod
    def upsert_mentions(self, mentions: Iterable[Mention]) -> WriteResult:
        """Insert or replace mentions by id. Writing the same mention twice leaves one document."""

    def update_topics(self, mentions: Sequence[Mention]) -> None:
        """Write the topic (`topic_id`, `topic_label`) and the flags of stored mentions whose other
        fields are as stored (the ordered topics pass after enrichment partitions). Backends may do it
        without re-indexing the text; the default writes the whole mentions."""
        self.upsert_mentions(mentions)

    @abc.abstractmethod
    def get_mentions(self, ids: Sequence[str]) -> list[Mention]:
        """The mentions with these ids, in the order given; unknown ids are skipped."""

    @abc.abstractmethod
    def iter_mentions(self, filters: Filters = Filters(), batch_size: int = 500) -> Iterator[Mention]:
        """All mentions matching the filters, oldest first."""

    def mention_ids(self, filters: Filters = Filters()) -> list[str]:
        """The ids of the mentions matching the filters, oldest first (`iter_mentions`' order), without
        reading the documents where the backend can."""
        return [m.id for m in self.iter_mentions(filters)]

    @abc.abstractmethod
    def count(self, filters: Filters = Filters()) -> int: ...

    @abc.abstractmethod
    def search(
        self,
        query: str,
        filters: Filters = Filters(),
        limit: int = 20,
        offset: int = 0,
        sort: Literal["relevance", "newest", "oldest"] = "relevance",
    ) -> SearchPage:
        """Full-text search over title and text.

        `query` uses the common syntax: words (all must match), "quoted phrases", OR, NOT/-word,
        parentheses, trailing * for prefixes. An empty query matches everything.
        """

    # ---- aggregations --------------------------------------------------------------------
    @abc.abstractmethod
    def series(
        self, bucket: Bucket = "day", group_by: GroupBy = "entity", filters: Filters = Filters()
    ) -> list[SeriesPoint]:
        """Per-key, per-bucket aggregates, sorted by key then bucket. Empty buckets are omitted.

        With group_by="entity" a mention counts once for each entity it names, and the sentiment
        used is the target-level sentiment towards that entity where the NLP stage found one.
        """

    @abc.abstractmethod
    def terms(self, field: str, filters: Filters = Filters(), size: int = 10) -> list[TermCount]:
        """Top values of a keyword field (one of TERM_FIELDS) with their counts."""

    @abc.abstractmethod
    def top_terms(
        self, filters: Filters, background: Filters | None = None, size: int = 10
    ) -> list[TermCount]:
        """Most frequent words of the matching mentions (stop words removed).

        With a background, words are ranked by how much more often they occur in the foreground
        than in the background (significant terms), for "what drives this shift".
        """

    # ---- documents (tickets, trends, authors, notifications, state, ...) -------------------
    @abc.abstractmethod
    def put_doc(self, collection: str, doc_id: str, doc: dict[str, Any]) -> None:
        """Insert or replace a JSON document by id."""

    def put_docs(self, collection: str, docs: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Insert or replace many JSON documents by id, as `put_doc` does one at a time; returns how
        many. A backend may write them together (one transaction, one bulk request), so a caller
        writing hundreds of documents pays for one write, not hundreds."""
        count = 0
        for doc_id, doc in docs:
            self.put_doc(collection, doc_id, doc)
            count += 1
        return count

    @abc.abstractmethod
    def get_doc(self, collection: str, doc_id: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def query_docs(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Documents whose top-level fields equal the given values (a list value means 'any of')."""

    @abc.abstractmethod
    def delete_doc(self, collection: str, doc_id: str) -> None: ...

    def get_doc_versioned(self, collection: str, doc_id: str) -> tuple[dict[str, Any], DocVersion] | None:
        """The document and its version (changes on every write), or None."""
        raise NotImplementedError(f"{type(self).__name__} does not support versioned documents")

    def put_doc_if(
        self, collection: str, doc_id: str, doc: dict[str, Any], version: DocVersion | None
    ) -> bool:
        """Compare-and-set: write `doc` only if the stored version is still `version` (None: only if
        no such document exists). Returns False, writing nothing, when another writer got there first."""
        raise NotImplementedError(f"{type(self).__name__} does not support versioned documents")

    def maintain(self) -> dict[str, Any]:
        """Housekeeping (rollover/retention on Elasticsearch, optimisation on SQLite); returns what was done."""
        return {}

    # ---- conveniences built on the above ----------------------------------------------------
    def get_state(self, key: str, default: Any = None) -> Any:
        doc = self.get_doc("state", key)
        return default if doc is None else doc.get("value", default)

    def set_state(self, key: str, value: Any) -> None:
        self.put_doc("state", key, {"key": key, "value": value})

    # ---- typed records (see `groundswell.records`), on top of the generic documents --------------
    def get_record(self, model: type[R], doc_id: str) -> R | None:
        """The stored record of this type with this id, or None. An invalid document raises
        pydantic's `ValidationError` (naming the field)."""
        doc = self.get_doc(collection_of(model), doc_id)
        return None if doc is None else model.model_validate(doc)

    def put_record(self, record: Record) -> None:
        """Insert or replace a record by its id."""
        self.put_doc(collection_of(type(record)), _record_id(record), record.model_dump(mode="json"))

    def query_records(
        self,
        model: type[R],
        where: dict[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 1000,
        *,
        on_invalid: OnInvalid | None = None,
    ) -> list[R]:
        """Records whose top-level fields equal the given values (as `query_docs`). An invalid document
        raises `ValidationError`, or, with `on_invalid`, is handed to it and skipped."""
        out: list[R] = []
        for doc in self.query_docs(collection_of(model), where, order_by, descending, limit):
            try:
                out.append(model.model_validate(doc))
            except ValidationError as err:
                if on_invalid is None:
                    raise
                on_invalid(doc, err)
        return out

    # tickets: several writers change them, so changes are compare-and-set on the stored version
    def get_ticket(self, ticket_id: str) -> Ticket | None:
        return self.get_record(Ticket, ticket_id)

    def get_ticket_versioned(self, ticket_id: str) -> tuple[Ticket, DocVersion] | None:
        """The ticket and its store version (for `put_ticket_if`), or None."""
        found = self.get_doc_versioned(collection_of(Ticket), ticket_id)
        return None if found is None else (Ticket.model_validate(found[0]), found[1])

    def put_ticket(self, ticket: Ticket) -> None:
        """Write a ticket unconditionally (a new ticket, fixtures); changes use `put_ticket_if`."""
        self.put_record(ticket)

    def put_ticket_if(self, ticket: Ticket, version: DocVersion | None) -> bool:
        """Compare-and-set: store `ticket` only if the stored one is still at `version` (None: only if
        it is not stored yet). False, writing nothing, when another writer got there first."""
        return self.put_doc_if(collection_of(Ticket), ticket.id, ticket.model_dump(mode="json"), version)

    def tickets(
        self,
        where: dict[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 1000,
        *,
        on_invalid: OnInvalid | None = None,
    ) -> list[Ticket]:
        return self.query_records(Ticket, where, order_by, descending, limit, on_invalid=on_invalid)

    # trend events
    def get_trend_event(self, event_id: str) -> TrendEvent | None:
        return self.get_record(TrendEvent, event_id)

    def put_trend_event(self, event: TrendEvent) -> None:
        self.put_record(event)

    def trend_events(
        self,
        where: dict[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 1000,
        *,
        on_invalid: OnInvalid | None = None,
    ) -> list[TrendEvent]:
        return self.query_records(TrendEvent, where, order_by, descending, limit, on_invalid=on_invalid)

    # the collection ledger
    def record_collection(self, entry: LedgerEntry) -> None:
        """Write one collection-ledger entry (upsert by its id: re-recording a run replaces it)."""
        self.put_record(entry)

    def collection_ledger(
        self, sources: Sequence[str] = (), since: datetime | None = None, limit: int = 10_000
    ) -> list[LedgerEntry]:
        """The newest `limit` ledger entries, oldest run first; only these sources when given, only runs
        finished at or after `since`. (The ledger grows with every run: the newest entries are kept.)"""
        where: dict[str, Any] | None = {"source": list(sources)} if sources else None
        entries = self.query_records(LedgerEntry, where, order_by="finished", descending=True, limit=limit)
        entries.reverse()
        if since is not None:
            entries = [e for e in entries if e.finished >= since]
        return entries

    # saved searches (the web UI)
    def saved_queries(self, limit: int = 200) -> list[SavedQuery]:
        """Saved searches by name."""
        return self.query_records(SavedQuery, order_by="name", limit=limit)

    def put_saved_query(self, query: SavedQuery) -> None:
        self.put_record(query)

    def delete_saved_query(self, query_id: str) -> None:
        self.delete_doc(collection_of(SavedQuery), query_id)


def collection_of(model: type[Record]) -> str:
    """The collection a record type is stored in."""
    try:
        return RECORD_COLLECTIONS[model]
    except KeyError:
        allowed = ", ".join(m.__name__ for m in RECORD_COLLECTIONS)
        raise StoreError(f"no collection holds {model.__name__} records; typed records: {allowed}") from None


def _record_id(record: Record) -> str:
    doc_id = getattr(record, "id", None)
    if not isinstance(doc_id, str) or not doc_id:
        raise StoreError(
            f"a {type(record).__name__} record needs a non-empty string id to be stored, got {doc_id!r}"
        )
    return doc_id


def check_collection(collection: str) -> None:
    if collection not in COLLECTIONS:
        raise StoreError(f"unknown collection '{collection}'; allowed: {', '.join(COLLECTIONS)}")


def check_term_field(name: str) -> None:
    if name not in TERM_FIELDS:
        raise StoreError(f"cannot aggregate on field '{name}'; allowed: {', '.join(TERM_FIELDS)}")
