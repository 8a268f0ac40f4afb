"""Embedded default store: one SQLite file with FTS5 full-text search.

Tables: `mentions` (the document as JSON plus the columns filters and aggregations need),
`mention_entities` (one row per mention and entity, with the target-level sentiment),
`mention_hazards`, `mentions_fts` (FTS5, porter stemming, diacritics folded) and `docs`
(JSON documents per collection, each with a `version` that every write bumps, for compare-and-set).
Writes are upserts keyed by the stable id.

Concurrency: writes go through one connection; searches on a file store use one read connection
per thread (WAL lets them read while another writes), each with a time budget enforced by a
progress handler, so one slow query never holds up the others. `writer_lock` is a file lock
(`<store>.lock`, `filelock`) with the holder described in `<store>.lock.json`.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self

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
from groundswell.store.query import Term, parse_query
from groundswell.text import significance, tokens

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mentions (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    author TEXT NOT NULL,
    published_ts REAL NOT NULL,
    language TEXT,
    sentiment TEXT,
    sentiment_score REAL,
    emotion TEXT,
    voc_kind TEXT,
    business_area TEXT,
    topic_id INTEGER,
    topic_label TEXT,
    safety_severity INTEGER NOT NULL DEFAULT 0,
    enriched INTEGER NOT NULL DEFAULT 0,
    thread_id TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mentions_published ON mentions(published_ts);
CREATE INDEX IF NOT EXISTS mentions_source ON mentions(source, published_ts);
CREATE INDEX IF NOT EXISTS mentions_thread ON mentions(thread_id, published_ts);
CREATE TABLE IF NOT EXISTS mention_entities (
    mention_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    published_ts REAL NOT NULL,
    sentiment TEXT,
    score REAL,
    PRIMARY KEY (mention_id, entity)
);
CREATE INDEX IF NOT EXISTS mention_entities_entity ON mention_entities(entity, published_ts);
CREATE TABLE IF NOT EXISTS mention_hazards (
    mention_id TEXT NOT NULL,
    hazard TEXT NOT NULL,
    PRIMARY KEY (mention_id, hazard)
);
CREATE VIRTUAL TABLE IF NOT EXISTS mentions_fts USING fts5(
    title, text, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS docs (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (collection, id)
);
"""

_BUCKET_SQL = {
    "hour": "CAST(CAST({ts} / 3600 AS INTEGER) * 3600 AS REAL)",
    "day": "CAST(CAST({ts} / 86400 AS INTEGER) * 86400 AS REAL)",
    # weeks start on Monday; 1970-01-05 (epoch + 4 days) was a Monday
    "week": "CAST(CAST(({ts} - 345600) / 604800 AS INTEGER) * 604800 + 345600 AS REAL)",
}
_HL_OPEN, _HL_CLOSE = "\x02", "\x03"


class _Budget:
    """Interrupts the connection's SQL once `seconds` have passed (a watcher thread), and again every
    `_REPEAT_S` until the block ends.

    A thread rather than a progress handler: one FTS5 step can take milliseconds on a hostile query, so
    a handler called every N steps either fires far too late or slows every ordinary search. Repeated,
    because SQLite's interrupt is a no-op while no statement runs: a deadline that passes between two
    statements, or before the first one starts (a busy machine), would otherwise let the rest run
    unbounded.
    """

    _REPEAT_S = 0.05

    def __init__(self, db: sqlite3.Connection, seconds: float) -> None:
        self._db = db
        self._seconds = seconds
        self._done = threading.Lock()
        self._finished = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="search-budget", daemon=True)

    def _watch(self) -> None:
        wait = self._seconds
        while not self._finished.wait(wait):
            with self._done:
                if self._finished.is_set():
                    return
                self._db.interrupt()
            wait = self._REPEAT_S

    def __enter__(self) -> _Budget:
        self._watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._done:  # an interrupt after this point cannot reach the connection's next user
            self._finished.set()
        self._watcher.join()


def _ts(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class SqliteStore(Store):
    """The embedded store. `path=":memory:"` gives a throw-away store for tests."""

    @classmethod
    def from_settings(cls, config: Config) -> Self:
        return cls(config.path(config.store.path))

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open SQLite store at {self.path}: {err}") from err
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._readers: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._file_lock: Any = None
        self._db.executescript(_SCHEMA)
        if "version" not in {r[1] for r in self._db.execute("PRAGMA table_info(docs)")}:
            self._db.execute("ALTER TABLE docs ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {row[0]}, this Groundswell expects {SCHEMA_VERSION}; "
                "re-create the store (groundswell run --reindex) or use a matching release"
            )

    def opened_from(self, config: Config) -> bool:
        if self.path == ":memory:" or config.store.backend != "sqlite":
            return False
        return Path(self.path).resolve() == config.path(config.store.path).resolve()

    def close(self) -> None:
        with self._lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._db.close()

    # ---- concurrency ----------------------------------------------------------------------
    @contextlib.contextmanager
    def writer_lock(self, what: str, *, wait_s: float | None = None) -> Iterator[None]:
        if self.path == ":memory:":  # nobody else can open it
            yield
            return
        from filelock import FileLock, Timeout

        if self._file_lock is None:
            self._file_lock = FileLock(self.path + ".lock")
        owner = Path(self.path + ".lock.json")
        wait = DEFAULT_LOCK_WAIT_S if wait_s is None else wait_s
        try:
            self._file_lock.acquire(timeout=wait, poll_interval=0.2)
        except Timeout:
            try:
                holder = json.loads(owner.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                holder = None
            raise StoreLocked(
                f"{self.path} is being written by {describe_holder(holder)}; '{what}' waited {wait:.0f} s "
                "and gave up. Let that run finish (or set GROUNDSWELL_LOCK_WAIT_S to wait longer)"
            ) from None
        reentered = self._file_lock.lock_counter > 1
        if not reentered:
            owner.write_text(json.dumps(lock_holder(what)), encoding="utf-8")
        try:
            yield
        finally:
            if not reentered:
                owner.unlink(missing_ok=True)
            self._file_lock.release()

    def _reader(self) -> tuple[sqlite3.Connection, threading.RLock | contextlib.nullcontext[None]]:
        """This thread's read connection (file stores) or the shared one with its lock (`:memory:`)."""
        if self.path == ":memory:":
            return self._db, self._lock
        reader = getattr(self._local, "db", None)
        if reader is None:
            reader = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            reader.row_factory = sqlite3.Row
            reader.execute("PRAGMA query_only=1")
            self._local.db = reader
            with self._lock:
                self._readers.append(reader)
        return reader, contextlib.nullcontext()

    # ---- mentions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """The block's writes in one transaction (one disk sync on a file store), rolled back on error."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield
                self._db.execute("COMMIT")
            except Exception:
                self._db.execute("ROLLBACK")
                raise

    def upsert_mentions(self, mentions: Iterable[Mention]) -> WriteResult:
        result = WriteResult()
        with self._transaction():
            for m in mentions:
                self._upsert_one(m)
                result.written += 1
        return result

    def update_topics(self, mentions: Sequence[Mention]) -> None:
        rows = [(m.topic_id, m.topic_label, m.model_dump_json(), m.id) for m in mentions]
        with self._transaction():
            self._db.executemany("UPDATE mentions SET topic_id=?, topic_label=?, doc=? WHERE id=?", rows)

    def _upsert_one(self, m: Mention) -> None:
        ts = _ts(m.published)
        doc = m.model_dump_json()
        self._db.execute(
            """INSERT INTO mentions (id, source, source_kind, author, published_ts, language, sentiment,
                   sentiment_score, emotion, voc_kind, business_area, topic_id, topic_label,
                   safety_severity, enriched, thread_id, doc)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET source=excluded.source, source_kind=excluded.source_kind,
                   author=excluded.author, published_ts=excluded.published_ts, language=excluded.language,
                   sentiment=excluded.sentiment, sentiment_score=excluded.sentiment_score,
                   emotion=excluded.emotion, voc_kind=excluded.voc_kind, business_area=excluded.business_area,
                   topic_id=excluded.topic_id, topic_label=excluded.topic_label,
                   safety_severity=excluded.safety_severity, enriched=excluded.enriched,
                   thread_id=excluded.thread_id, doc=excluded.doc""",
            (
                m.id,
                m.source,
                str(m.source_kind),
                m.author,
                ts,
                m.language,
                m.sentiment,
                m.sentiment_score,
                m.emotion,
                m.voc_kind,
                m.business_area,
                m.topic_id,
                m.topic_label,
                m.safety_severity,
                int(m.enriched),
                m.thread_id,
                doc,
            ),
        )
        rowid = self._db.execute("SELECT rowid FROM mentions WHERE id=?", (m.id,)).fetchone()[0]
        self._db.execute("DELETE FROM mentions_fts WHERE rowid=?", (rowid,))
        self._db.execute(
            "INSERT INTO mentions_fts (rowid, title, text) VALUES (?,?,?)", (rowid, m.title, m.text)
        )
        self._db.execute("DELETE FROM mention_entities WHERE mention_id=?", (m.id,))
        targets = {t.entity: t for t in m.target_sentiments}
        for entity in dict.fromkeys(m.entities):
            t = targets.get(entity)
            self._db.execute(
                "INSERT INTO mention_entities VALUES (?,?,?,?,?)",
                (m.id, entity, ts, t.label if t else m.sentiment, t.score if t else m.sentiment_score),
            )
        self._db.execute("DELETE FROM mention_hazards WHERE mention_id=?", (m.id,))
        for hazard in dict.fromkeys(m.safety_hazards):
            self._db.execute("INSERT INTO mention_hazards VALUES (?,?)", (m.id, hazard))

    def get_mentions(self, ids: Sequence[str]) -> list[Mention]:
        if not ids:
            return []
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, doc FROM mentions WHERE id IN ({','.join('?' * len(ids))})", tuple(ids)
            ).fetchall()
        by_id = {r["id"]: r["doc"] for r in rows}
        return [Mention.model_validate_json(by_id[i]) for i in ids if i in by_id]

    def iter_mentions(self, filters: Filters = Filters(), batch_size: int = 500) -> Iterator[Mention]:
        where, params = self._where(filters)
        last_ts, last_id = float("-inf"), ""
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT m.id, m.published_ts, m.doc FROM mentions m WHERE {where} "
                    "AND (m.published_ts > ? OR (m.published_ts = ? AND m.id > ?)) "
                    "ORDER BY m.published_ts, m.id LIMIT ?",
                    (*params, last_ts, last_ts, last_id, batch_size),
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield Mention.model_validate_json(r["doc"])
            last_ts, last_id = rows[-1]["published_ts"], rows[-1]["id"]

    def mention_ids(self, filters: Filters = Filters()) -> list[str]:
        where, params = self._where(filters)
        with self._lock:
            rows = self._db.execute(
                f"SELECT m.id FROM mentions m WHERE {where} ORDER BY m.published_ts, m.id", params
            ).fetchall()
        return [r[0] for r in rows]

    def count(self, filters: Filters = Filters()) -> int:
        where, params = self._where(filters)
        with self._lock:
            return int(
                self._db.execute(f"SELECT COUNT(*) FROM mentions m WHERE {where}", params).fetchone()[0]
            )

    def search(
        self,
        query: str,
        filters: Filters = Filters(),
        limit: int = 20,
        offset: int = 0,
        sort: Literal["relevance", "newest", "oldest"] = "relevance",
    ) -> SearchPage:
        where, params = self._where(filters)
        positive, negative = fts_expression(query)
        clauses, args = [where], list(params)
        if negative:
            clauses.append("m.rowid NOT IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?)")
            args.append(negative)
        order = {"newest": "m.published_ts DESC, m.id", "oldest": "m.published_ts, m.id"}.get(sort)
        db, lock = self._reader()
        try:
            with lock, _Budget(db, self.search_timeout_s):
                if positive:
                    sql_from = "mentions_fts f JOIN mentions m ON m.rowid = f.rowid"
                    cond = " AND ".join(["mentions_fts MATCH ?", *clauses])
                    cargs = [positive, *args]
                    total = db.execute(f"SELECT COUNT(*) FROM {sql_from} WHERE {cond}", cargs).fetchone()[0]
                    rows = db.execute(
                        f"SELECT m.doc, bm25(mentions_fts, 2.0, 1.0) AS rank, "
                        f"snippet(mentions_fts, 1, '{_HL_OPEN}', '{_HL_CLOSE}', '…', 40) AS hl "
                        f"FROM {sql_from} WHERE {cond} ORDER BY {order or 'rank, m.id'} LIMIT ? OFFSET ?",
                        (*cargs, limit, offset),
                    ).fetchall()
                else:
                    cond = " AND ".join(clauses)
                    total = db.execute(f"SELECT COUNT(*) FROM mentions m WHERE {cond}", args).fetchone()[0]
                    rows = db.execute(
                        f"SELECT m.doc, 0.0 AS rank, NULL AS hl FROM mentions m WHERE {cond} "
                        f"ORDER BY {order or 'm.published_ts DESC, m.id'} LIMIT ? OFFSET ?",
                        (*args, limit, offset),
                    ).fetchall()
        except sqlite3.OperationalError as err:
            if "interrupt" in str(err).lower():
                raise SearchTimeout(
                    f"the search for {query[:80]!r} took longer than its {self.search_timeout_s:g} s budget "
                    "and was stopped; narrow it (fewer OR'ed words, no short prefixes, a date range)"
                ) from None
            raise StoreError(f"cannot search for {query!r}: {err}") from err
        hits = []
        for r in rows:
            m = Mention.model_validate_json(r["doc"])
            hl = r["hl"] if r["hl"] is not None else m.text[:300]
            hits.append(Hit(mention=m, score=-float(r["rank"]), highlight=_escape_highlight(hl)))
        return SearchPage(total=int(total), hits=hits)

    # ---- aggregations --------------------------------------------------------------------
    def series(
        self, bucket: Bucket = "day", group_by: GroupBy = "entity", filters: Filters = Filters()
    ) -> list[SeriesPoint]:
        if bucket not in _BUCKET_SQL:
            raise StoreError(f"unknown bucket '{bucket}'; allowed: {', '.join(_BUCKET_SQL)}")
        where, params = self._where(filters)
        if group_by == "entity":
            sql_from = "mentions m JOIN mention_entities e ON e.mention_id = m.id"
            key, sent, score = "e.entity", "e.sentiment", "e.score"
            if filters.entities:  # restrict the entity rows too, not only the mentions
                where += f" AND e.entity IN ({','.join('?' * len(filters.entities))})"
                params = (*params, *filters.entities)
        else:
            sql_from = "mentions m"
            key = {
                "source": "m.source",
                "topic": "CAST(m.topic_id AS TEXT)",
                "author": "m.author",
                "none": "'all'",
            }.get(group_by, "")
            if not key:
                raise StoreError(
                    f"unknown group_by '{group_by}'; allowed: entity, source, topic, author, none"
                )
            sent, score = "m.sentiment", "m.sentiment_score"
            if group_by == "topic":
                where += " AND m.topic_id IS NOT NULL"
        b = _BUCKET_SQL[bucket].format(ts="m.published_ts")
        sql = f"""SELECT {key} AS k, {b} AS b, COUNT(*) AS n,
                    SUM({sent} = 'negative') AS neg, SUM({sent} = 'positive') AS pos,
                    TOTAL({score}) AS ssum, SUM(m.voc_kind = 'complaint') AS compl,
                    SUM(m.safety_severity > 0) AS safety,
                    COUNT(DISTINCT m.author) AS authors, COUNT(DISTINCT m.source) AS sources,
                    TOTAL(COALESCE(json_extract(m.doc, '$.duplicate_count'), 1)) AS copies
                  FROM {sql_from} WHERE {where} GROUP BY k, b ORDER BY k, b"""
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [
            SeriesPoint(
                key=str(r["k"]),
                bucket=datetime.fromtimestamp(r["b"], UTC),
                count=int(r["n"]),
                negative=int(r["neg"] or 0),
                positive=int(r["pos"] or 0),
                sentiment_sum=float(r["ssum"] or 0.0),
                complaints=int(r["compl"] or 0),
                safety=int(r["safety"] or 0),
                authors=int(r["authors"]),
                sources=int(r["sources"]),
                copies=int(r["copies"]),
            )
            for r in rows
        ]

    def terms(self, field: str, filters: Filters = Filters(), size: int = 10) -> list[TermCount]:
        check_term_field(field)
        where, params = self._where(filters)
        if field == "entities":
            sql = f"SELECT e.entity AS v, COUNT(*) AS n FROM mentions m JOIN mention_entities e ON e.mention_id = m.id WHERE {where} GROUP BY v"
        elif field == "safety_hazards":
            sql = f"SELECT h.hazard AS v, COUNT(*) AS n FROM mentions m JOIN mention_hazards h ON h.mention_id = m.id WHERE {where} GROUP BY v"
        else:
            sql = f"SELECT m.{field} AS v, COUNT(*) AS n FROM mentions m WHERE {where} AND m.{field} IS NOT NULL GROUP BY v"
        with self._lock:
            rows = self._db.execute(f"{sql} ORDER BY n DESC, v LIMIT ?", (*params, size)).fetchall()
        return [TermCount(term=str(r["v"]), count=int(r["n"])) for r in rows]

    def top_terms(
        self, filters: Filters, background: Filters | None = None, size: int = 10
    ) -> list[TermCount]:
        fg = self._doc_frequencies(filters)
        fg_total = max(self.count(filters), 1)
        if background is None:
            ranked = sorted(fg.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
            return [TermCount(term=t, count=c) for t, c in ranked]
        bg = self._doc_frequencies(background)
        bg_total = max(self.count(background), 1)
        scored = []
        for term, count in fg.items():
            if count < 2:
                continue
            s = significance(count, fg_total, bg.get(term, 0), bg_total)
            if s > 0:
                scored.append(TermCount(term=term, count=count, score=s, background_count=bg.get(term, 0)))
        scored.sort(key=lambda t: (-t.score, t.term))
        return scored[:size]

    def _doc_frequencies(self, filters: Filters, cap: int = 50000) -> Counter[str]:
        where, params = self._where(filters)
        counts: Counter[str] = Counter()
        with self._lock:
            rows = self._db.execute(
                f"SELECT json_extract(m.doc, '$.title') AS t, json_extract(m.doc, '$.text') AS x FROM mentions m "
                f"WHERE {where} ORDER BY m.published_ts DESC LIMIT ?",
                (*params, cap),
            ).fetchall()
        for r in rows:
            counts.update(set(tokens(f"{r['t'] or ''} {r['x'] or ''}")))
        return counts

    # ---- documents ---------------------------------------------------------------------------
    def put_doc(self, collection: str, doc_id: str, doc: dict[str, Any]) -> None:
        self.put_docs(collection, [(doc_id, doc)])

    def put_docs(self, collection: str, docs: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """One transaction for all of them: on a file store each commit is a disk sync, so writing the
        demo's ~760 author scores one by one took seconds, in one transaction milliseconds."""
        check_collection(collection)
        rows = [
            (collection, doc_id, json.dumps(doc, default=_json_default, sort_keys=True))
            for doc_id, doc in docs
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT INTO docs (collection, id, doc) VALUES (?,?,?) "
                "ON CONFLICT(collection, id) DO UPDATE SET doc=excluded.doc, version=docs.version+1",
                rows,
            )
        return len(rows)

    def get_doc_versioned(self, collection: str, doc_id: str) -> tuple[dict[str, Any], DocVersion] | None:
        check_collection(collection)
        with self._lock:
            row = self._db.execute(
                "SELECT doc, version FROM docs WHERE collection=? AND id=?", (collection, doc_id)
            ).fetchone()
        return None if row is None else (json.loads(row[0]), (int(row[1]), 0))

    def put_doc_if(
        self, collection: str, doc_id: str, doc: dict[str, Any], version: DocVersion | None
    ) -> bool:
        check_collection(collection)
        payload = json.dumps(doc, default=_json_default, sort_keys=True)
        with self._lock:
            if version is None:
                cursor = self._db.execute(
                    "INSERT INTO docs (collection, id, doc) VALUES (?,?,?) ON CONFLICT(collection, id) DO NOTHING",
                    (collection, doc_id, payload),
                )
            else:
                cursor = self._db.execute(
                    "UPDATE docs SET doc=?, version=version+1 WHERE collection=? AND id=? AND version=?",
                    (payload, collection, doc_id, version[0]),
                )
        return cursor.rowcount == 1

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
        clauses, params = ["collection = ?"], [collection]
        for name, value in (where or {}).items():
            _check_field_name(name)
            if isinstance(value, list | tuple | set):
                values = list(value)
                if not values:
                    return []
                clauses.append(f"json_extract(doc, '$.{name}') IN ({','.join('?' * len(values))})")
                params.extend(values)
            else:
                clauses.append(f"json_extract(doc, '$.{name}') = ?")
                params.append(value)
        order = "id"
        if order_by:
            _check_field_name(order_by)
            order = f"json_extract(doc, '$.{order_by}') {'DESC' if descending else 'ASC'}, id"
        with self._lock:
            rows = self._db.execute(
                f"SELECT doc FROM docs WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def delete_doc(self, collection: str, doc_id: str) -> None:
        check_collection(collection)
        with self._lock:
            self._db.execute("DELETE FROM docs WHERE collection=? AND id=?", (collection, doc_id))

    def maintain(self) -> dict[str, Any]:
        with self._lock:
            self._db.execute("INSERT INTO mentions_fts(mentions_fts) VALUES ('optimize')")
            self._db.execute("PRAGMA optimize")
        return {"fts_optimized": True}

    # ---- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _where(f: Filters) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = ["1=1"]
        params: list[Any] = []

        def any_of(column: str, values: Sequence[Any]) -> None:
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)

        if f.start is not None:
            clauses.append("m.published_ts >= ?")
            params.append(_ts(f.start))
        if f.end is not None:
            clauses.append("m.published_ts < ?")
            params.append(_ts(f.end))
        any_of("m.source", f.sources)
        any_of("m.source_kind", f.source_kinds)
        any_of("m.sentiment", f.sentiments)
        any_of("m.voc_kind", f.voc_kinds)
        any_of("m.business_area", f.business_areas)
        any_of("m.language", f.languages)
        any_of("m.author", f.authors)
        any_of("m.topic_id", f.topic_ids)
        any_of("m.id", f.ids)
        any_of("m.thread_id", f.thread_ids)
        if f.entities:
            clauses.append(
                f"m.id IN (SELECT mention_id FROM mention_entities WHERE entity IN ({','.join('?' * len(f.entities))}))"
            )
            params.extend(f.entities)
        if f.safety is not None:
            clauses.append("m.safety_severity > 0" if f.safety else "m.safety_severity = 0")
        if f.enriched is not None:
            clauses.append("m.enriched = ?")
            params.append(int(f.enriched))
        return " AND ".join(clauses), tuple(params)


def _check_field_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise StoreError(f"invalid document field name {name!r}; use letters, digits and '_'")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a JSON document")


def _escape_highlight(fragment: str) -> str:
    escaped = html.escape(fragment, quote=True)
    return escaped.replace(_HL_OPEN, "<mark>").replace(_HL_CLOSE, "</mark>")


def fts_expression(query: str) -> tuple[str, str]:
    """Render the user's query (`groundswell.store.query`) as FTS5: (positive expression, negative expression).

    Terms become quoted phrases (a prefix keeps its `*`); FTS5 joins two phrases implicitly but not
    a phrase and a group, so adjacent operands get an explicit AND.
    """
    parsed = parse_query(query)
    parts: list[str] = []
    for token in parsed.positive:
        if isinstance(token, Term) or token == "(":
            if parts and parts[-1] not in ("AND", "OR", "("):
                parts.append("AND")
            parts.append(_fts_term(token) if isinstance(token, Term) else "(")
        else:
            parts.append(token)
    return " ".join(parts), " OR ".join(_fts_term(t) for t in parsed.negative)


def _fts_term(term: Term) -> str:
    phrase = '"' + " ".join(term.words) + '"'
    return phrase + "*" if term.prefix else phrase
