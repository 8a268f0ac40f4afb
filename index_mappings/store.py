"""Production store: Elasticsearch 8/9 through the official client.

Mentions live in time-based indices behind the alias `<prefix>-mentions` (see `index_mappings/`);
each document collection has its own index behind `<prefix>-<collection>`. Everything is written
with the stable id as `_id`, so re-runs replace documents instead of adding new ones, also after a
rollover (ids already stored in an older index are written back to that index).

Writes are retried with exponential backoff on 429, 5xx and connection errors; documents that fail
for good (mapping conflicts, retries exhausted) go to a dead-letter NDJSON file with the reason and
can be replayed with `replay_dead_letter()`. Results agree with the embedded SQLite store
(`tests/test_store_backends.py` runs one suite against both).

Concurrency: a search carries the server-side `timeout` of `search_timeout_s` (and a client-side
request timeout a little longer); partial results past it raise `SearchTimeout`. Documents are
compared-and-set on `_seq_no`/`_primary_term` (`put_doc_if`). `writer_lock` is a lease document
(`state/writer-lock`) with an expiry that a background thread renews while the lock is held, so a
crashed holder's lease lapses after `lease_s` seconds instead of blocking the store for ever.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from elastic_transport.client_utils import DEFAULT
from elasticsearch import (
    ApiError,
    ConflictError,
    ConnectionError,
    ConnectionTimeout,
    Elasticsearch,
    NotFoundError,
)
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from groundswell.config import Config
from groundswell.mention import Mention
from groundswell.store.base import (
    DEFAULT_LOCK_WAIT_S,
    Bucket,
    DocVersion,
    Filters,
    GroupBy,
    Hit,
    SearchPage,
    SearchTimeout,
    SeriesPoint,
    Store,
    StoreError,
    StoreLocked,
    TermCount,
    WriteResult,
    check_collection,
    check_term_field,
    describe_holder,
    lock_holder,
)
from groundswell.store.query import ParsedQuery, Term, parse_query
from groundswell.text import significance, tokens
from index_mappings.templates import (
    PROJECTED_FIELDS,
    ROLLOVER_CONDITIONS,
    collection_alias,
    ensure_current,
    mentions_alias,
    supports_ilm,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

DERIVED_FIELDS = ("entity_sentiments", "words")  # indexed for aggregations, not part of `Mention`
_BUCKETS = {"hour": "hour", "day": "day", "week": "week"}  # calendar weeks start on Monday
_GROUP_FIELDS = {
    "entity": "entities",
    "source": "source",
    "topic": "topic_id",
    "author": "author",
    "none": None,
}
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MARK_OPEN, _MARK_CLOSE = "<mark>", "</mark>"
_MAX_WINDOW = 10000
LOCK_DOC = "writer-lock"


class ElasticsearchStore(Store):
    """The Elasticsearch backend. Tests build it around an existing client; the pipeline uses `from_settings`."""

    def __init__(
        self,
        client: Elasticsearch,
        *,
        index_prefix: str = "groundswell",
        dead_letter_path: str | Path = "dead-letter.ndjson",
        chunk_size: int = 500,
        max_retries: int = 6,
        retry_base: float = 0.5,
        retry_cap: float = 30.0,
        refresh: bool = True,
        check_mapping: bool = True,
        owns_client: bool = False,
    ) -> None:
        if chunk_size < 1:
            raise StoreError(f"chunk_size ({chunk_size}) must be at least 1")
        if max_retries < 0:
            raise StoreError(f"max_retries ({max_retries}) must be 0 or more")
        # The store does its own retrying (with backoff and dead-lettering), so the transport must not.
        self._es = client.options(max_retries=0, retry_on_timeout=False)
        self._client = client
        self._owns_client = owns_client
        self._settings: dict[str, Any] | None = None  # the settings `from_settings` opened it with
        self.prefix = index_prefix
        self.dead_letter_path = Path(dead_letter_path)
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.refresh = refresh
        self._dead_letter_lock = threading.Lock()
        self.lease_s = 300.0
        self._lease_depth = 0
        self.mentions = mentions_alias(index_prefix)
        if check_mapping:
            self._retrying("checking the index mappings", lambda: ensure_current(self._es, index_prefix))

    @classmethod
    def from_settings(cls, config: Config) -> Self:
        settings = config.store.elasticsearch
        store = cls(
            client_from_settings(config),
            index_prefix=settings.index_prefix,
            dead_letter_path=config.path(settings.dead_letter_path),
            owns_client=True,
        )
        store._settings = settings.model_dump(mode="json")
        return store

    def opened_from(self, config: Config) -> bool:
        return (
            self._settings is not None
            and config.store.backend == "elasticsearch"
            and config.store.elasticsearch.model_dump(mode="json") == self._settings
        )

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # ---- concurrency ----------------------------------------------------------------------
    @contextlib.contextmanager
    def writer_lock(self, what: str, *, wait_s: float | None = None) -> Iterator[None]:
        if self._lease_depth:  # this store already holds it (a task inside a run)
            self._lease_depth += 1
            try:
                yield
            finally:
                self._lease_depth -= 1
            return
        wait = DEFAULT_LOCK_WAIT_S if wait_s is None else wait_s
        token = secrets.token_hex(8)
        deadline = time.monotonic() + wait
        version = self._take_lease(what, token)
        while version is None:
            if time.monotonic() >= deadline:
                current = self.get_doc("state", LOCK_DOC)
                holder = (current or {}).get("value")
                raise StoreLocked(
                    f"Elasticsearch store '{self.prefix}' is being written by {describe_holder(holder)} "
                    f"(lease until {(holder or {}).get('expires', '?')}); '{what}' waited {wait:.0f} s and gave up. "
                    "Let that run finish (or set GROUNDSWELL_LOCK_WAIT_S to wait longer)"
                )
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
            version = self._take_lease(what, token)
        held = {"version": version}
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease_s / 3):
                renewed = self._write_lease(what, token, held["version"])
                if renewed is None:
                    logger.error(
                        "the writer lease of '%s' was lost (expired and taken by another writer)", what
                    )
                    return
                held["version"] = renewed

        renewer = threading.Thread(target=renew, name="groundswell-lease", daemon=True)
        renewer.start()
        self._lease_depth = 1
        try:
            yield
        finally:
            self._lease_depth = 0
            stop.set()
            renewer.join(timeout=10)
            lease = self.get_doc_versioned("state", LOCK_DOC)
            if lease is not None and (lease[0].get("value") or {}).get("token") == token:
                with contextlib.suppress(ConflictError, NotFoundError):
                    self._es.delete(
                        index=collection_alias(self.prefix, "state"),
                        id=LOCK_DOC,
                        if_seq_no=lease[1][0],
                        if_primary_term=lease[1][1],
                        refresh=self.refresh,
                    )

    def _take_lease(self, what: str, token: str) -> DocVersion | None:
        current = self.get_doc_versioned("state", LOCK_DOC)
        if current is None:
            return self._write_lease(what, token, None)
        expires = (current[0].get("value") or {}).get("expires")
        try:
            lapsed = expires is None or datetime.fromisoformat(expires) <= datetime.now(UTC)
        except ValueError:
            lapsed = True
        if not lapsed:
            return None
        logger.warning("taking over an expired writer lease: %s", describe_holder(current[0].get("value")))
        return self._write_lease(what, token, current[1])

    def _write_lease(self, what: str, token: str, version: DocVersion | None) -> DocVersion | None:
        value = {
            **lock_holder(what),
            "token": token,
            "expires": (datetime.now(UTC) + timedelta(seconds=self.lease_s)).isoformat(),
        }
        if not self.put_doc_if("state", LOCK_DOC, {"key": LOCK_DOC, "value": value}, version):
            return None
        current = self.get_doc_versioned("state", LOCK_DOC)
        return current[1] if current is not None and current[0]["value"].get("token") == token else None

    # ---- mentions ------------------------------------------------------------------------
    def upsert_mentions(self, mentions: Iterable[Mention]) -> WriteResult:
        result = WriteResult()
        batch: list[Mention] = []
        indices: dict[str, Any] | None = None
        for mention in mentions:
            batch.append(mention)
            if len(batch) >= self.chunk_size:
                indices = self._alias_indices() if indices is None else indices
                self._write_batch(batch, result, indices)
                batch = []
        if batch:
            self._write_batch(batch, result, self._alias_indices() if indices is None else indices)
        if self.refresh and result.written:
            self._retrying("refreshing mentions", lambda: self._es.indices.refresh(index=self.mentions))
        if result.failed:
            logger.error(
                "%d of %d mentions could not be written; they are in the dead-letter file %s",
                result.failed,
                result.written + result.failed,
                self.dead_letter_path,
            )
        return result

    def _write_batch(self, batch: list[Mention], result: WriteResult, indices: dict[str, Any]) -> None:
        by_id = {m.id: m for m in batch}  # the last copy of an id wins, as in the embedded store
        duplicates = len(batch) - len(by_id)
        locations = self._locate(list(by_id), indices)
        pending = {i: (locations.get(i), _to_source(m)) for i, m in by_id.items()}
        attempt = 0
        while pending:
            operations: list[dict[str, Any]] = []
            for doc_id, (index, source) in pending.items():
                action = (
                    {"_index": index, "_id": doc_id}
                    if index
                    else {"_index": self.mentions, "_id": doc_id, "require_alias": True}
                )
                operations.extend(({"index": action}, source))
            retry_reason = ""
            try:
                response = self._es.bulk(operations=operations)
            except (ConnectionError, ConnectionTimeout) as err:
                retry_reason = f"connection failed: {err}"
            except ApiError as err:
                if not _retryable_status(err.status_code):
                    for doc_id in list(pending):
                        self._dead_letter(
                            by_id[doc_id], f"bulk request rejected: {_reason(err)}", err.status_code
                        )
                    result.failed += len(pending)
                    result.errors.append(f"bulk request rejected: {_reason(err)}")
                    return
                retry_reason = f"bulk request answered {err.status_code}: {_reason(err)}"
            else:
                retry_reason = self._apply_items(response, pending, by_id, result)
            if not pending:
                break
            attempt += 1
            if attempt > self.max_retries:
                reason = f"gave up after {self.max_retries} retries: {retry_reason}"
                for doc_id in list(pending):
                    self._dead_letter(by_id[doc_id], reason, None)
                result.failed += len(pending)
                result.errors.append(reason)
                return
            delay = self._delay(attempt)
            logger.warning(
                "bulk write of %d mentions incomplete (%s); retry %d/%d in %.2f s",
                len(pending),
                retry_reason,
                attempt,
                self.max_retries,
                delay,
            )
            time.sleep(delay)
        result.written += duplicates

    def _apply_items(
        self,
        response: Any,
        pending: dict[str, tuple[str | None, dict[str, Any]]],
        by_id: dict[str, Mention],
        result: WriteResult,
    ) -> str:
        """Settle the items of a bulk response; return why some must be retried ('' when none)."""
        retry_reasons: list[str] = []
        for item in response["items"]:
            outcome = next(iter(item.values()))
            doc_id = outcome.get("_id")
            if doc_id not in pending:
                continue
            status = int(outcome.get("status", 500))
            if status < 300:
                pending.pop(doc_id)
                result.written += 1
                continue
            error = outcome.get("error") or {}
            reason = f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict) else str(error)
            if _retryable_status(status) or error.get("type") == "index_not_found_exception":
                retry_reasons.append(f"{status} {reason}")
                continue
            pending.pop(doc_id)
            result.failed += 1
            result.errors.append(f"{doc_id}: {reason}")
            self._dead_letter(by_id[doc_id], reason, status)
        if not retry_reasons:
            return ""
        return f"{len(retry_reasons)} items failed, first: {retry_reasons[0]}"

    def _locate(self, ids: list[str], indices: dict[str, Any]) -> dict[str, str]:
        """Concrete index of ids already stored in a non-write index (after a rollover), so that updates replace them."""
        if len(indices) <= 1:
            return {}
        write = [
            name for name, body in indices.items() if body["aliases"][self.mentions].get("is_write_index")
        ]
        response = self._retrying(
            "locating mentions",
            lambda: self._es.search(
                index=self.mentions, query={"ids": {"values": ids}}, size=len(ids), source=False
            ),
        )
        return {h["_id"]: h["_index"] for h in response["hits"]["hits"] if h["_index"] not in write}

    def _alias_indices(self) -> dict[str, Any]:
        """The indices behind the mentions alias (read once per `upsert_mentions` call)."""
        try:
            return dict(
                self._retrying(
                    "reading the mentions alias", lambda: self._es.indices.get_alias(name=self.mentions)
                )
            )
        except NotFoundError:
            return {}  # the bulk request will wait (retrying) for the alias to come back

    def _dead_letter(self, mention: Mention, reason: str, status: int | None) -> None:
        record = {
            "id": mention.id,
            "index": self.mentions,
            "status": status,
            "reason": reason,
            "failed_at": datetime.now(UTC).isoformat(),
            "mention": mention.model_dump(mode="json"),
        }
        with self._dead_letter_lock:
            self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
            with self.dead_letter_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        logger.warning("mention %s dead-lettered to %s: %s", mention.id, self.dead_letter_path, reason)

    def replay_dead_letter(self) -> WriteResult:
        """Write the dead-lettered mentions again; the ones that still fail go back to the file."""
        if not self.dead_letter_path.exists():
            return WriteResult()
        replaying = self.dead_letter_path.with_name(self.dead_letter_path.name + ".replaying")
        with self._dead_letter_lock:
            self.dead_letter_path.replace(replaying)
        mentions = {}
        with replaying.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    mention = Mention.model_validate(record["mention"])
                except (ValueError, KeyError) as err:
                    raise StoreError(f"{replaying}:{number} is not a dead-letter record: {err}") from err
                mentions[mention.id] = mention
        result = self.upsert_mentions(mentions.values())
        replaying.unlink()
        logger.info(
            "replayed %d dead-lettered mentions: %d written, %d failed again",
            len(mentions),
            result.written,
            result.failed,
        )
        return result

    def get_mentions(self, ids: Sequence[str]) -> list[Mention]:
        if not ids:
            return []
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Mention] = {}
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            response = self._search(query={"ids": {"values": chunk}}, size=len(chunk))
            for hit in response["hits"]["hits"]:
                found[hit["_id"]] = _from_source(hit["_source"])
        return [found[i] for i in ids if i in found]

    def iter_mentions(self, filters: Filters = Filters(), batch_size: int = 500) -> Iterator[Mention]:
        query = _filters_query(filters)
        after: list[Any] | None = None
        while True:
            response = self._search(
                query=query,
                size=batch_size,
                sort=[{"published": "asc"}, {"id": "asc"}],
                search_after=after,
            )
            hits = response["hits"]["hits"]
            if not hits:
                return
            for hit in hits:
                yield _from_source(hit["_source"])
            after = hits[-1]["sort"]

    def count(self, filters: Filters = Filters()) -> int:
        response = self._retrying(
            "counting mentions", lambda: self._es.count(index=self.mentions, query=_filters_query(filters))
        )
        return int(response["count"])

    def search(
        self,
        query: str,
        filters: Filters = Filters(),
        limit: int = 20,
        offset: int = 0,
        sort: Literal["relevance", "newest", "oldest"] = "relevance",
    ) -> SearchPage:
        if sort not in ("relevance", "newest", "oldest"):
            raise StoreError(f"unknown sort '{sort}'; allowed: relevance, newest, oldest")
        parsed = parse_query(query)
        positive = _positive_query(parsed)
        bool_query: dict[str, Any] = {"filter": _filter_clauses(filters)}
        if positive is not None:
            bool_query["must"] = [positive]
        if parsed.negative:
            bool_query["must_not"] = [_term_query(t) for t in parsed.negative]
        if sort == "newest" or (sort == "relevance" and positive is None):
            order: list[Any] = [{"published": "desc"}, {"id": "asc"}]
        elif sort == "oldest":
            order = [{"published": "asc"}, {"id": "asc"}]
        else:
            order = [{"_score": "desc"}, {"id": "asc"}]
        highlight = None
        if positive is not None:
            highlight = {
                "encoder": "html",
                "pre_tags": [_MARK_OPEN],
                "post_tags": [_MARK_CLOSE],
                "highlight_query": positive,
                "fields": {"text": {"fragment_size": 240, "number_of_fragments": 1, "no_match_size": 300}},
            }
        response = self._search(
            query={"bool": bool_query},
            size=limit,
            from_=offset,
            sort=order,
            highlight=highlight,
            track_total_hits=True,
            track_scores=True,
            what=f"searching for {query[:80]!r}",
            timeout_s=self.search_timeout_s,
        )
        if response.get("timed_out"):
            raise SearchTimeout(
                f"the search for {query[:80]!r} took longer than its {self.search_timeout_s:g} s budget "
                "and was stopped; narrow it (fewer OR'ed words, no short prefixes, a date range)"
            )
        hits = []
        for hit in response["hits"]["hits"]:
            mention = _from_source(hit["_source"])
            fragments = (hit.get("highlight") or {}).get("text")
            text = (
                _normalise_highlight(fragments[0])
                if fragments
                else html.escape(mention.text[:300], quote=True)
            )
            hits.append(Hit(mention=mention, score=float(hit.get("_score") or 0.0), highlight=text))
        return SearchPage(total=int(response["hits"]["total"]["value"]), hits=hits)

    # ---- aggregations --------------------------------------------------------------------
    def series(
        self, bucket: Bucket = "day", group_by: GroupBy = "entity", filters: Filters = Filters()
    ) -> list[SeriesPoint]:
        if bucket not in _BUCKETS:
            raise StoreError(f"unknown bucket '{bucket}'; allowed: {', '.join(_BUCKETS)}")
        if group_by not in _GROUP_FIELDS:
            raise StoreError(f"unknown group_by '{group_by}'; allowed: {', '.join(_GROUP_FIELDS)}")
        key_field = _GROUP_FIELDS[group_by]
        sources: list[dict[str, Any]] = []
        if key_field:
            sources.append({"k": {"terms": {"field": key_field}}})
        sources.append(
            {
                "b": {
                    "date_histogram": {
                        "field": "published",
                        "calendar_interval": _BUCKETS[bucket],
                        "time_zone": "UTC",
                    }
                }
            }
        )
        subs: dict[str, Any] = {
            "neg": {"filter": {"term": {"sentiment": "negative"}}},
            "pos": {"filter": {"term": {"sentiment": "positive"}}},
            "ssum": {"sum": {"field": "sentiment_score"}},
            "compl": {"filter": {"term": {"voc_kind": "complaint"}}},
            "safety": {"filter": {"range": {"safety_severity": {"gt": 0}}}},
            "authors": {"cardinality": {"field": "author", "precision_threshold": 40000}},
            "sources": {"cardinality": {"field": "source", "precision_threshold": 40000}},
            "copies": {"sum": {"field": "duplicate_count"}},
        }
        if group_by == "entity":
            subs["targets"] = {
                "nested": {"path": "entity_sentiments"},
                "aggs": {
                    "by": {
                        "terms": {"field": "entity_sentiments.entity", "size": 1000},
                        "aggs": {
                            "ssum": {"sum": {"field": "entity_sentiments.score"}},
                            "neg": {"filter": {"term": {"entity_sentiments.label": "negative"}}},
                            "pos": {"filter": {"term": {"entity_sentiments.label": "positive"}}},
                        },
                    }
                },
            }
        wanted_entities = set(filters.entities) if group_by == "entity" else set()
        points: list[SeriesPoint] = []
        for b in self._composite(sources, subs, _filters_query(filters), what="series"):
            key = "all" if key_field is None else str(b["key"]["k"])
            if wanted_entities and key not in wanted_entities:
                continue
            negative, positive, ssum = b["neg"]["doc_count"], b["pos"]["doc_count"], b["ssum"]["value"] or 0.0
            if group_by == "entity":
                target = next((t for t in b["targets"]["by"]["buckets"] if t["key"] == key), None)
                if target is None:
                    negative = positive = 0
                    ssum = 0.0
                else:
                    negative, positive = target["neg"]["doc_count"], target["pos"]["doc_count"]
                    ssum = target["ssum"]["value"] or 0.0
            points.append(
                SeriesPoint(
                    key=key,
                    bucket=datetime.fromtimestamp(b["key"]["b"] / 1000, UTC),
                    count=int(b["doc_count"]),
                    negative=int(negative),
                    positive=int(positive),
                    sentiment_sum=float(ssum),
                    complaints=int(b["compl"]["doc_count"]),
                    safety=int(b["safety"]["doc_count"]),
                    authors=int(b["authors"]["value"]),
                    sources=int(b["sources"]["value"]),
                    copies=int(b["copies"]["value"] or b["doc_count"]),
                )
            )
        points.sort(key=lambda p: (p.key, p.bucket))
        return points

    def _composite(
        self,
        sources: list[dict[str, Any]],
        subs: dict[str, Any],
        query: dict[str, Any],
        what: str,
        page: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {"size": page, "sources": sources}
            if after is not None:
                composite["after"] = after
            response = self._search(
                query=query, size=0, aggs={"c": {"composite": composite, "aggs": subs}}, what=what
            )
            agg = response["aggregations"]["c"]
            yield from agg["buckets"]
            after = agg.get("after_key")
            if after is None or len(agg["buckets"]) < page:
                return

    def terms(self, field: str, filters: Filters = Filters(), size: int = 10) -> list[TermCount]:
        check_term_field(field)
        response = self._search(
            query=_filters_query(filters),
            size=0,
            aggs={
                "t": {"terms": {"field": field, "size": size, "order": [{"_count": "desc"}, {"_key": "asc"}]}}
            },
            what=f"terms of {field}",
        )
        buckets = response["aggregations"]["t"]["buckets"]
        return [TermCount(term=str(b["key"]), count=int(b["doc_count"])) for b in buckets]

    def top_terms(
        self, filters: Filters, background: Filters | None = None, size: int = 10
    ) -> list[TermCount]:
        if background is None:
            response = self._search(
                query=_filters_query(filters),
                size=0,
                aggs={
                    "t": {
                        "terms": {
                            "field": "words",
                            "size": size,
                            "order": [{"_count": "desc"}, {"_key": "asc"}],
                        }
                    }
                },
                what="top terms",
            )
            return [
                TermCount(term=str(b["key"]), count=int(b["doc_count"]))
                for b in response["aggregations"]["t"]["buckets"]
            ]
        # significant_terms with JLH against a background filter: the same score as `groundswell.text.significance`.
        response = self._search(
            query=_filters_query(filters),
            size=0,
            aggs={
                "t": {
                    "significant_terms": {
                        "field": "words",
                        "size": size * 3 + 20,
                        "shard_size": max(size * 20, 500),
                        "min_doc_count": 2,
                        "background_filter": _filters_query(background),
                        "jlh": {},
                    }
                }
            },
            what="significant terms",
        )
        agg = response["aggregations"]["t"]
        fg_total = max(int(agg.get("doc_count", 0)), 1)
        bg_total = max(int(agg.get("bg_count", 0)), 1)
        scored = []
        for b in agg["buckets"]:
            count, bg_count = int(b["doc_count"]), int(b.get("bg_count", 0))
            score = significance(count, fg_total, bg_count, bg_total)
            if score > 0:
                scored.append(
                    TermCount(term=str(b["key"]), count=count, score=score, background_count=bg_count)
                )
        scored.sort(key=lambda t: (-t.score, t.term))
        return scored[:size]

    # ---- documents ---------------------------------------------------------------------------
    def put_doc(self, collection: str, doc_id: str, doc: dict[str, Any]) -> None:
        check_collection(collection)
        body = _envelope(collection, doc_id, doc)
        alias = collection_alias(self.prefix, collection)
        self._retrying(
            f"writing {collection}/{doc_id}",
            lambda: self._es.index(
                index=alias, id=doc_id, document=body, refresh=self.refresh, require_alias=True
            ),
        )

    def get_doc_versioned(self, collection: str, doc_id: str) -> tuple[dict[str, Any], DocVersion] | None:
        check_collection(collection)
        alias = collection_alias(self.prefix, collection)
        try:
            response = self._retrying(
                f"reading {collection}/{doc_id}", lambda: self._es.get(index=alias, id=doc_id)
            )
        except NotFoundError:
            return None
        return dict(response["_source"]["original"]), (
            int(response["_seq_no"]),
            int(response["_primary_term"]),
        )

    def put_doc_if(
        self, collection: str, doc_id: str, doc: dict[str, Any], version: DocVersion | None
    ) -> bool:
        check_collection(collection)
        body = _envelope(collection, doc_id, doc)
        alias = collection_alias(self.prefix, collection)
        condition: dict[str, Any] = (
            {"op_type": "create"}
            if version is None
            else {"if_seq_no": version[0], "if_primary_term": version[1]}
        )
        try:
            self._retrying(
                f"writing {collection}/{doc_id} (compare-and-set)",
                lambda: self._es.index(
                    index=alias,
                    id=doc_id,
                    document=body,
                    refresh=self.refresh,
                    require_alias=True,
                    **condition,
                ),
            )
        except ConflictError:
            return False
        except StoreError as err:
            if isinstance(err.__cause__, ConflictError):
                return False
            raise
        return True

    def get_doc(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        found = self.get_doc_versioned(collection, doc_id)
        return None if found is None else found[0]

    def query_docs(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        check_collection(collection)
        clauses: list[dict[str, Any]] = []
        for name, value in (where or {}).items():
            _check_field_name(name)
            if isinstance(value, list | tuple | set):
                values = [_doc_value(v) for v in value]
                if not values or all(v is None for v in values):
                    return []
                clauses.append({"terms": {f"doc.{name}": [v for v in values if v is not None]}})
            else:
                if value is None:  # as in SQL, nothing equals NULL
                    return []
                clauses.append({"term": {f"doc.{name}": _doc_value(value)}})
        sort: list[Any] = []
        if order_by:
            _check_field_name(order_by)
            direction = "desc" if descending else "asc"
            sort.append(
                {
                    f"doc.{order_by}": {
                        "order": direction,
                        "missing": "_last" if descending else "_first",
                        "unmapped_type": "keyword",
                    }
                }
            )
        sort.append({"doc_id": "asc"})
        alias = collection_alias(self.prefix, collection)
        docs: list[dict[str, Any]] = []
        after: list[Any] | None = None
        while len(docs) < limit:
            page = min(limit - len(docs), 1000)
            response = self._search(
                index=alias,
                query={"bool": {"filter": clauses}},
                size=page,
                sort=sort,
                search_after=after,
                what=f"querying {collection}",
            )
            hits = response["hits"]["hits"]
            docs.extend(dict(h["_source"]["original"]) for h in hits)
            if len(hits) < page:
                break
            after = hits[-1]["sort"]
        return docs

    def delete_doc(self, collection: str, doc_id: str) -> None:
        check_collection(collection)
        alias = collection_alias(self.prefix, collection)
        try:
            self._retrying(
                f"deleting {collection}/{doc_id}",
                lambda: self._es.delete(index=alias, id=doc_id, refresh=self.refresh),
            )
        except NotFoundError:
            return

    # ---- housekeeping -------------------------------------------------------------------------
    def maintain(self) -> dict[str, Any]:
        """Roll the mentions alias over when it is due and the server has no ILM to do it; report what was done.

        On real Elasticsearch the ILM policy installed by `groundswell es install` rolls indices over by
        itself; servers without ILM (OpenSearch, osmem-server) get an explicit conditional rollover where
        the `_rollover` API exists, and a logged warning where it does not.
        """
        report: dict[str, Any] = {
            "alias": self.mentions,
            "ilm": self._retrying("checking ILM", lambda: supports_ilm(self._es)),
            "rolled_over": False,
        }
        if not report["ilm"]:
            try:
                response = self._es.indices.rollover(
                    alias=self.mentions, conditions=dict(ROLLOVER_CONDITIONS)
                )
            except ApiError as err:
                if err.status_code not in (400, 404, 405):
                    raise StoreError(
                        f"rolling over {self.mentions} failed: {err.status_code} {_reason(err)}"
                    ) from err
                logger.warning(
                    "%s cannot be rolled over: the server has neither ILM nor _rollover (%s)",
                    self.mentions,
                    _reason(err),
                )
                report["rollover_error"] = _reason(err)
            else:
                report["rolled_over"] = bool(response.get("rolled_over"))
        indices = self._retrying(
            "reading the mentions alias", lambda: self._es.indices.get_alias(name=self.mentions)
        )
        report["indices"] = sorted(indices)
        report["dead_letters"] = _count_lines(self.dead_letter_path)
        if report["dead_letters"]:
            logger.warning(
                "%d mentions wait in the dead-letter file %s; run `groundswell es replay-dead-letter`",
                report["dead_letters"],
                self.dead_letter_path,
            )
        return report

    # ---- helpers ----------------------------------------------------------------------------
    def _search(
        self,
        *,
        query: dict[str, Any],
        size: int,
        index: str | None = None,
        what: str = "searching mentions",
        from_: int | None = None,
        sort: list[Any] | None = None,
        search_after: list[Any] | None = None,
        aggs: dict[str, Any] | None = None,
        highlight: dict[str, Any] | None = None,
        track_total_hits: bool | None = None,
        track_scores: bool | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        if from_ is not None and from_ + size > _MAX_WINDOW:
            raise StoreError(
                f"cannot page to offset {from_} + limit {size}: at most {_MAX_WINDOW} hits can be paged"
            )
        request: dict[str, Any] = {
            "index": index or self.mentions,
            "query": query,
            "size": size,
            "from_": from_,
            "sort": sort,
            "search_after": search_after,
            "aggs": aggs,
            "highlight": highlight,
            "track_total_hits": track_total_hits,
            "track_scores": track_scores,
        }
        if timeout_s is None:
            return self._retrying(what, lambda: self._es.search(**request))
        try:  # a search with a time budget is tried once: a retry would spend the budget again
            return self._es.options(request_timeout=timeout_s + 5).search(
                **request, timeout=f"{int(timeout_s * 1000)}ms"
            )
        except ConnectionTimeout:
            raise SearchTimeout(f"{what}: no answer within {timeout_s + 5:g} s") from None
        except ApiError as err:
            raise StoreError(f"{what} failed: {err.status_code} {_reason(err)}") from err

    def _delay(self, attempt: int) -> float:
        return float(min(self.retry_base * 2 ** (attempt - 1), self.retry_cap))

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        """Run a request, retrying 429/5xx and connection failures with exponential backoff."""

        def attempt() -> T:
            try:
                return call()
            except NotFoundError:
                raise
            except (ConnectionError, ConnectionTimeout) as err:
                raise _Transient(f"connection failed: {err}") from err
            except ApiError as err:
                if not _retryable_status(err.status_code):
                    raise StoreError(f"{what} failed: {err.status_code} {_reason(err)}") from err
                raise _Transient(f"{err.status_code} {_reason(err)}") from err

        def log_retry(state: RetryCallState) -> None:
            reason = state.outcome.exception() if state.outcome is not None else None
            retry, delay = state.attempt_number, self._delay(state.attempt_number)
            logger.warning(
                "%s failed (%s); retry %d/%d in %.2f s", what, reason, retry, self.max_retries, delay
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=lambda state: self._delay(state.attempt_number),
            retry=retry_if_exception_type(_Transient),
            before_sleep=log_retry,
            sleep=lambda seconds: time.sleep(seconds),  # looked up per call: tests patch time.sleep
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Transient as err:
            raise StoreError(f"{what} failed after {self.max_retries} retries: {err}") from None


class _Transient(Exception):
    """A request failed in a way a retry may fix (connection lost, 429, 5xx); the message says how."""


def credentials(config: Config) -> tuple[str, str] | None:
    """(username, password) from the environment variables the configuration names, or None for no auth."""
    settings = config.store.elasticsearch
    username = _env(settings.username_env)
    password = _env(settings.password_env)
    if (username is None) != (password is None):
        missing = settings.password_env if password is None else settings.username_env
        raise StoreError(
            f"Elasticsearch credentials are incomplete: environment variable {missing} is not set "
            f"(store.elasticsearch.username_env={settings.username_env}, password_env={settings.password_env}); "
            "set both or neither"
        )
    return (username, password) if username is not None and password is not None else None


def client_from_settings(config: Config) -> Elasticsearch:
    """An `Elasticsearch` client for `config.store.elasticsearch` (hosts, credentials from env, TLS)."""
    settings = config.store.elasticsearch
    if not settings.hosts:
        raise StoreError(
            "store.elasticsearch.hosts is empty; give at least one URL such as http://localhost:9200"
        )
    return Elasticsearch(
        hosts=settings.hosts,
        basic_auth=credentials(config),
        ca_certs=settings.ca_certs or DEFAULT,
        verify_certs=settings.verify_certs,
        request_timeout=60,
        max_retries=0,
        retry_on_timeout=False,
    )


# ---- query translation -------------------------------------------------------------------------
def _positive_query(parsed: ParsedQuery) -> dict[str, Any] | None:
    """The positive part of a parsed query as an Elasticsearch bool query (None: match everything)."""
    if not parsed.positive:
        return None
    tokens_ = list(parsed.positive)
    position = 0

    def parse_or() -> dict[str, Any]:
        nonlocal position
        parts = [parse_and()]
        while position < len(tokens_) and tokens_[position] == "OR":
            position += 1
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else {"bool": {"should": parts, "minimum_should_match": 1}}

    def parse_and() -> dict[str, Any]:
        nonlocal position
        parts = [parse_atom()]
        while position < len(tokens_) and tokens_[position] not in ("OR", ")"):
            if tokens_[position] == "AND":
                position += 1
            parts.append(parse_atom())
        return parts[0] if len(parts) == 1 else {"bool": {"must": parts}}

    def parse_atom() -> dict[str, Any]:
        nonlocal position
        token = tokens_[position]
        position += 1
        if token == "(":
            inner = parse_or()
            if position < len(tokens_) and tokens_[position] == ")":
                position += 1
            return inner
        if not isinstance(token, Term):
            raise StoreError(f"unexpected {token!r} in the query")
        return _term_query(token)

    return parse_or()


def _term_query(term: Term) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": " ".join(term.words),
            "type": "phrase_prefix" if term.prefix else "phrase",
            "fields": ["title^2", "text"],
        }
    }


# ---- filters, documents -----------------------------------------------------------------------
def _filter_clauses(f: Filters) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    published: dict[str, str] = {}
    if f.start is not None:
        published["gte"] = _iso(f.start)
    if f.end is not None:
        published["lt"] = _iso(f.end)
    if published:
        clauses.append({"range": {"published": published}})
    for field_name, values in (
        ("source", f.sources),
        ("source_kind", f.source_kinds),
        ("sentiment", f.sentiments),
        ("voc_kind", f.voc_kinds),
        ("business_area", f.business_areas),
        ("language", f.languages),
        ("author", f.authors),
        ("topic_id", f.topic_ids),
        ("id", f.ids),
        ("thread_id", f.thread_ids),
        ("entities", f.entities),
    ):
        if values:
            clauses.append({"terms": {field_name: [str(v) for v in values]}})
    if f.safety is not None:
        clauses.append(
            {"range": {"safety_severity": {"gt": 0}}} if f.safety else {"term": {"safety_severity": 0}}
        )
    if f.enriched is not None:
        clauses.append({"term": {"enriched": f.enriched}})
    return clauses


def _filters_query(f: Filters) -> dict[str, Any]:
    clauses = _filter_clauses(f)
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


def _to_source(m: Mention) -> dict[str, Any]:
    """The indexed document: the mention without None values, plus per-entity sentiment and its words."""
    doc = {k: v for k, v in m.model_dump(mode="json").items() if v is not None}
    targets = {t.entity: t for t in m.target_sentiments}
    entity_sentiments = []
    for entity in dict.fromkeys(m.entities):
        t = targets.get(entity)
        row: dict[str, Any] = {"entity": entity}
        label = t.label if t else m.sentiment
        score = t.score if t else m.sentiment_score
        if label is not None:
            row["label"] = label
        if score is not None:
            row["score"] = score
        entity_sentiments.append(row)
    doc["entity_sentiments"] = entity_sentiments
    doc["words"] = sorted(set(tokens(f"{m.title or ''} {m.text or ''}")))
    return doc


def _from_source(source: dict[str, Any]) -> Mention:
    return Mention.model_validate({k: v for k, v in source.items() if k not in DERIVED_FIELDS})


def _envelope(collection: str, doc_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a collection document: the original verbatim plus its indexed projection."""
    original = json.loads(json.dumps(doc, default=_json_default, sort_keys=True))
    return {
        "doc_id": doc_id,
        "collection": collection,
        "stored": datetime.now(UTC).isoformat(),
        "original": original,
        "doc": _project(collection, original),
    }


def _project(collection: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Top-level scalar fields (and lists of scalars) to index for queries and Kibana."""
    only = PROJECTED_FIELDS.get(collection)
    projected: dict[str, Any] = {}
    for name, value in doc.items():
        if only is not None and name not in only:
            continue
        if not _FIELD_NAME.fullmatch(name) or value is None:
            continue
        if isinstance(value, str | int | float | bool):
            projected[name] = value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            projected[name] = value
    return projected


def _doc_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _json_default(value)
    return value


def _check_field_name(name: str) -> None:
    if not _FIELD_NAME.fullmatch(name):
        raise StoreError(f"invalid document field name {name!r}; use letters, digits and '_'")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a JSON document")


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _normalise_highlight(fragment: str) -> str:
    """Re-escape a highlight fragment like the embedded store: <mark> tags kept, everything else `html.escape`d."""
    out = []
    for i, part in enumerate(re.split(r"(</?mark>)", fragment)):
        if i % 2:
            out.append(part)
        else:
            out.append(html.escape(html.unescape(part), quote=True))
    return "".join(out)


def _retryable_status(status: int | None) -> bool:
    return status is not None and (status == 429 or status >= 500)


def _reason(err: ApiError) -> str:
    info = err.info if isinstance(err.info, dict) else {}
    error = info.get("error")
    if isinstance(error, dict):
        cause = (error.get("root_cause") or [{}])[0]
        return f"{error.get('type')}: {error.get('reason')}" + (
            f" ({cause.get('type')}: {cause.get('reason')})"
            if cause and cause.get("reason") != error.get("reason")
            else ""
        )
    return str(err.message if hasattr(err, "message") else err)


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as lines:
        return sum(1 for line in lines if line.strip())


def _env(name: str | None) -> str | None:
    return os.environ.get(name) if name else None
