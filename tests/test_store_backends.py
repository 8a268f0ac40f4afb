"""One store test suite, two backends: every test runs against the embedded SQLite store and against
Elasticsearch (osmem-server), and the last tests compare both backends' answers on the same data.

Expected values are computed here from the mentions themselves, independently of either backend.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from groundswell.mention import Mention, TargetSentiment
from groundswell.records import LedgerEntry
from groundswell.store.base import Filters, SeriesPoint, Store, StoreError
from groundswell.store.query import QuerySyntaxError
from groundswell.text import tokens

MONDAY = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
SOURCES = ("forum-a", "reviews-b", "news-c")
AUTHORS = ("ann", "bob", "cyd", "dee", "")
WORDS = ("kettle", "toaster", "blender", "warranty", "delivery", "refund")


def corpus(n: int = 48) -> list[Mention]:
    """A deterministic corpus spread over three weeks with every field the store filters or aggregates on."""
    mentions = []
    for i in range(n):
        sentiment = ("negative", "neutral", "positive")[i % 3]
        entities = ["acme"] if i % 4 else ["acme", "zeta"]
        if i % 7 == 0:
            entities = ["zeta"]
        targets = []
        if "zeta" in entities and "acme" in entities:
            targets = [TargetSentiment(entity="zeta", label="positive", score=0.75)]
        if i % 11 == 0 and "acme" in entities:
            targets.append(TargetSentiment(entity="acme", label="negative", score=-0.5))
        word = WORDS[i % len(WORDS)]
        text = f"My {word} arrived late and the {WORDS[(i + 1) % len(WORDS)]} is fine #{i}"
        if i % 5 == 0:
            text = f"The {word} is overheating: smoke & sparks <b>danger</b> ({i})"
        mentions.append(
            Mention(
                source=SOURCES[i % 3],
                source_kind=("forum", "review", "news")[i % 3],
                url=f"https://example.org/post/{i}",
                author=AUTHORS[i % len(AUTHORS)],
                published=MONDAY + timedelta(hours=11 * i),
                language="en" if i % 6 else "de",
                title=f"About the {word}" if i % 2 else "",
                text=text,
                thread_id=f"thread-{i % 4}",
                entities=entities,
                sentiment=sentiment,
                sentiment_score={"negative": -0.8, "neutral": 0.0, "positive": 0.6}[sentiment],
                target_sentiments=targets,
                voc_kind="complaint" if i % 3 == 0 else ("question" if i % 3 == 1 else None),
                business_area=("product", "delivery")[i % 2],
                topic_id=i % 4 if i % 9 else None,
                topic_label=f"topic {i % 4}" if i % 9 else None,
                safety_hazards=["fire_burn"] if i % 5 == 0 else [],
                safety_severity=2 if i % 5 == 0 else 0,
                enriched=i % 8 != 0,
                duplicate_count=1 + (i % 6 == 0) * (i % 5 + 2),  # collapsed copies, summed by series
            )
        )
    return mentions


@pytest.fixture(name="loaded")
def loaded_fixture(store: Store) -> tuple[Store, list[Mention]]:
    mentions = corpus()
    store.upsert_mentions(mentions)
    return store, mentions


def ids(mentions: list[Mention]) -> list[str]:
    return [m.id for m in mentions]


def matching(mentions: list[Mention], pattern: str) -> set[str]:
    rx = re.compile(pattern, re.I)
    return {m.id for m in mentions if rx.search(f"{m.title} {m.text}")}


# ---- mentions ------------------------------------------------------------------------------
def test_upsert_mentions_is_idempotent(store: Store) -> None:
    mentions = corpus(12)
    first = store.upsert_mentions(mentions)
    second = store.upsert_mentions(mentions)
    assert (first.written, first.failed, second.written, second.failed) == (12, 0, 12, 0)
    assert store.count() == 12
    changed = mentions[3].model_copy(update={"text": "completely rewritten text about a grill"})
    store.upsert_mentions([changed])
    assert store.count() == 12
    assert store.get_mentions([changed.id])[0].text == "completely rewritten text about a grill"
    assert {h.mention.id for h in store.search("grill").hits} == {changed.id}


def test_get_mentions_keeps_order_and_skips_unknown(loaded: tuple[Store, list[Mention]]) -> None:
    store, mentions = loaded
    wanted = [mentions[5].id, "no-such-id", mentions[0].id, mentions[17].id]
    got = store.get_mentions(wanted)
    assert [m.id for m in got] == [mentions[5].id, mentions[0].id, mentions[17].id]
    assert got[0] == mentions[5]  # every field round-trips
    assert store.get_mentions([]) == []


def test_iter_mentions_oldest_first_across_batches(loaded: tuple[Store, list[Mention]]) -> None:
    store, mentions = loaded
    expected = ids(sorted(mentions, key=lambda m: (m.published, m.id)))
    assert [m.id for m in store.iter_mentions(batch_size=5)] == expected
    negative = [m.id for m in store.iter_mentions(Filters(sentiments=("negative",)), batch_size=4)]
    assert negative == [
        i
        for i, m in zip(expected, sorted(mentions, key=lambda m: (m.published, m.id)), strict=True)
        if m.sentiment == "negative"
    ]
    # the ids alone, as the enrichment reads them (SQLite without parsing the documents)
    assert store.mention_ids() == expected
    assert store.mention_ids(Filters(sentiments=("negative",))) == negative


@pytest.mark.parametrize(
    ("filters", "predicate"),
    [
        (Filters(), lambda m: True),
        (
            Filters(start=MONDAY + timedelta(days=7), end=MONDAY + timedelta(days=14)),
            lambda m: MONDAY + timedelta(days=7) <= m.published < MONDAY + timedelta(days=14),
        ),
        (Filters(entities=("zeta",)), lambda m: "zeta" in m.entities),
        (Filters(sources=("forum-a", "news-c")), lambda m: m.source in ("forum-a", "news-c")),
        (Filters(source_kinds=("review",)), lambda m: m.source_kind == "review"),
        (Filters(sentiments=("positive",)), lambda m: m.sentiment == "positive"),
        (Filters(voc_kinds=("complaint",)), lambda m: m.voc_kind == "complaint"),
        (Filters(business_areas=("delivery",)), lambda m: m.business_area == "delivery"),
        (Filters(languages=("de",)), lambda m: m.language == "de"),
        (Filters(authors=("ann", "")), lambda m: m.author in ("ann", "")),
        (Filters(topic_ids=(1, 3)), lambda m: m.topic_id in (1, 3)),
        (Filters(thread_ids=("thread-1", "thread-3")), lambda m: m.thread_id in ("thread-1", "thread-3")),
        (Filters(safety=True), lambda m: m.safety_severity > 0),
        (Filters(safety=False), lambda m: m.safety_severity == 0),
        (Filters(enriched=False), lambda m: not m.enriched),
        (
            Filters(sentiments=("negative",), entities=("acme",), safety=True),
            lambda m: m.sentiment == "negative" and "acme" in m.entities and m.safety_severity > 0,
        ),
    ],
)
def test_count_applies_filters(loaded: tuple[Store, list[Mention]], filters: Filters, predicate) -> None:  # type: ignore[no-untyped-def]
    store, mentions = loaded
    expected = sum(1 for m in mentions if predicate(m))
    assert store.count(filters) == expected
    assert {m.id for m in store.iter_mentions(filters)} == {m.id for m in mentions if predicate(m)}


def test_count_with_ids_filter(loaded: tuple[Store, list[Mention]]) -> None:
    store, mentions = loaded
    assert store.count(Filters(ids=(mentions[1].id, mentions[2].id, "nope"))) == 2


# ---- search --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "pattern"),
    [
        ("kettle", r"\bkettle\b"),
        ("KETTLE", r"\bkettle\b"),
        ('"arrived late"', r"arrived late"),
        ("kettle arrived", r"(?=.*\bkettle\b)(?=.*\barrived\b)"),
        ("kettle AND overheating", r"(?=.*\bkettle\b)(?=.*\boverheating\b)"),
        ("kettle OR toaster", r"\b(kettle|toaster)\b"),
        ("(kettle OR toaster) overheating", r"(?=.*\b(kettle|toaster)\b)(?=.*\boverheating\b)"),
        ("warr*", r"\bwarrant"),
    ],
)
def test_search_finds_expected_mentions(
    loaded: tuple[Store, list[Mention]], query: str, pattern: str
) -> None:
    store, mentions = loaded
    page = store.search(query, limit=100)
    assert {h.mention.id for h in page.hits} == matching(mentions, pattern)
    assert page.total == len(matching(mentions, pattern))


@pytest.mark.parametrize("query", ["kettle -overheating", "kettle NOT overheating"])
def test_search_excludes_negated_words(loaded: tuple[Store, list[Mention]], query: str) -> None:
    store, mentions = loaded
    expected = matching(mentions, r"\bkettle\b") - matching(mentions, r"\boverheating\b")
    assert expected
    assert {h.mention.id for h in store.search(query, limit=100).hits} == expected


def test_search_only_negative_words_matches_the_rest(loaded: tuple[Store, list[Mention]]) -> None:
    store, mentions = loaded
    expected = {m.id for m in mentions} - matching(mentions, r"\bkettle\b")
    assert {h.mention.id for h in store.search("-kettle", limit=100).hits} == expected


@pytest.mark.parametrize(
    "query",
    [
        "AND OR NOT",
        "a:b",
        "kettle^2",
        "~fuzzy",
        "/regex/",
        "[x TO y]",
        "{}",
        "\\",
        "&&||",
        "it's",
        "<script>",
        "-",
        "*",
        "#4",
    ],
)
def test_search_punctuation_never_raises(loaded: tuple[Store, list[Mention]], query: str) -> None:
    store, _ = loaded
    page = store.search(query)
    assert page.total >= 0
    assert all("<script>" not in h.highlight for h in page.hits)


@pytest.mark.parametrize("query", ['"unclosed', "(kettle", "kettle)", '"steam pro overheat'])
def test_search_reports_unbalanced_syntax_instead_of_repairing_it(
    loaded: tuple[Store, list[Mention]], query: str
) -> None:
    store, _ = loaded
    with pytest.raises(QuerySyntaxError, match="unbalanced"):
        store.search(query)


def test_search_highlights_are_marked_and_escaped(loaded: tuple[Store, list[Mention]]) -> None:
    store, _ = loaded
    page = store.search("danger", limit=100)
    assert page.hits
    for hit in page.hits:
        assert "<mark>danger</mark>" in hit.highlight
        assert "<b>" not in hit.highlight and "&lt;b&gt;" in hit.highlight
        assert re.sub(r"</?mark>", "", hit.highlight) == html.escape(
            html.unescape(re.sub(r"</?mark>", "", hit.highlight)), quote=True
        )


def test_search_empty_query_lists_newest_with_plain_text(loaded: tuple[Store, list[Mention]]) -> None:
    store, mentions = loaded
    page = store.search("", limit=5)
    assert page.total == len(mentions)
    newest = sorted(mentions, key=lambda m: (-m.published.timestamp(), m.id))[:5]
    assert [h.mention.id for h in page.hits] == ids(newest)
    assert page.hits[0].highlight == html.escape(newest[0].text[:300], quote=True)


def test_search_filters_sorts_and_pages(loaded: tuple[Store, list[Mention]]) -> None:
    store, mentions = loaded
    f = Filters(sources=("forum-a",))
    expected = sorted(
        (m for m in mentions if m.source == "forum-a" and matching([m], r"\b(kettle|toaster|blender)\b")),
        key=lambda m: (m.published, m.id),
    )
    oldest = store.search("kettle OR toaster OR blender", f, limit=100, sort="oldest")
    assert [h.mention.id for h in oldest.hits] == ids(expected)
    newest = store.search("kettle OR toaster OR blender", f, limit=2, offset=1, sort="newest")
    assert [h.mention.id for h in newest.hits] == ids(list(reversed(expected))[1:3])
    assert newest.total == len(expected)


def test_search_relevance_ranks_title_matches_first(store: Store) -> None:
    base = dict(source="s", source_kind="forum", published=MONDAY, author="a")
    in_title = Mention(url="https://x.org/1", title="Blender", text="it is loud", **base)
    in_text = Mention(
        url="https://x.org/2",
        title="",
        text="we talked about many things and once about the blender too",
        **base,
    )
    other = Mention(url="https://x.org/3", title="", text="nothing relevant", **base)
    store.upsert_mentions([in_text, other, in_title])
    page = store.search("blender")
    assert [h.mention.id for h in page.hits] == [in_title.id, in_text.id]
    assert page.hits[0].score >= page.hits[1].score


# ---- aggregations --------------------------------------------------------------------------
def _floor(ts: datetime, bucket: str) -> datetime:
    if bucket == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def expected_series(mentions: list[Mention], bucket: str, group_by: str) -> list[SeriesPoint]:
    rows: dict[tuple[str, datetime], list[tuple[Mention, str | None, float | None]]] = defaultdict(list)
    for m in mentions:
        b = _floor(m.published, bucket)
        if group_by == "entity":
            targets = {t.entity: t for t in m.target_sentiments}
            for e in dict.fromkeys(m.entities):
                t = targets.get(e)
                rows[(e, b)].append((m, t.label if t else m.sentiment, t.score if t else m.sentiment_score))
        else:
            key = {
                "source": m.source,
                "author": m.author,
                "none": "all",
                "topic": None if m.topic_id is None else str(m.topic_id),
            }[group_by]
            if key is not None:
                rows[(key, b)].append((m, m.sentiment, m.sentiment_score))
    return [
        SeriesPoint(
            key=k,
            bucket=b,
            count=len(r),
            negative=sum(1 for _, s, _ in r if s == "negative"),
            positive=sum(1 for _, s, _ in r if s == "positive"),
            sentiment_sum=sum(x or 0.0 for _, _, x in r),
            complaints=sum(1 for m, _, _ in r if m.voc_kind == "complaint"),
            safety=sum(1 for m, _, _ in r if m.safety_severity > 0),
            authors=len({m.author for m, _, _ in r}),
            sources=len({m.source for m, _, _ in r}),
            copies=sum(m.duplicate_count for m, _, _ in r),
        )
        for (k, b), r in sorted(rows.items())
    ]


def _rounded(points: list[SeriesPoint]) -> list[tuple]:  # type: ignore[type-arg]
    return [
        (
            p.key,
            p.bucket,
            p.count,
            p.negative,
            p.positive,
            round(p.sentiment_sum, 6),
            p.complaints,
            p.safety,
            p.authors,
            p.sources,
            p.copies,
        )
        for p in points
    ]


@pytest.mark.parametrize("bucket", ["hour", "day", "week"])
@pytest.mark.parametrize("group_by", ["entity", "source", "topic", "author", "none"])
def test_series_matches_expected_aggregates(
    loaded: tuple[Store, list[Mention]], bucket: str, group_by: str
) -> None:
    store, mentions = loaded
    assert _rounded(store.series(bucket, group_by)) == _rounded(expected_series(mentions, bucket, group_by))  # type: ignore[arg-type]


def test_series_entity_uses_target_sentiment(loaded: tuple[Store, list[Mention]]) -> None:
    store, mentions = loaded
    points = store.series("week", "entity", Filters(entities=("zeta",)))
    assert {p.key for p in points} == {"zeta"}
    with_target = [
        m for m in mentions if "zeta" in m.entities and "acme" in m.entities
    ]  # zeta target: positive, 0.75
    without = [m for m in mentions if m.entities == ["zeta"]]  # no target: the mention's own sentiment
    assert any(m.sentiment == "negative" for m in with_target)
    assert sum(p.count for p in points) == len(with_target) + len(without)
    assert sum(p.positive for p in points) == len(with_target) + sum(
        m.sentiment == "positive" for m in without
    )
    assert sum(p.negative for p in points) == sum(m.sentiment == "negative" for m in without)
    assert sum(p.sentiment_sum for p in points) == pytest.approx(
        0.75 * len(with_target) + sum(m.sentiment_score or 0 for m in without)
    )
    # the same mentions count with their overall sentiment for acme, except where acme has its own target
    acme = store.series("week", "entity", Filters(entities=("acme",)))
    acme_mentions = [m for m in mentions if "acme" in m.entities]
    overridden = [m for m in acme_mentions if any(t.entity == "acme" for t in m.target_sentiments)]
    assert overridden
    assert sum(p.negative for p in acme) == len(overridden) + sum(
        m.sentiment == "negative" for m in acme_mentions if m not in overridden
    )


def test_series_weeks_start_on_monday(store: Store) -> None:
    sunday = datetime(2024, 3, 10, 23, 30, tzinfo=UTC)
    base = dict(source="s", source_kind="forum", author="a", text="x")
    store.upsert_mentions(
        [
            Mention(url="https://x.org/sun", published=sunday, **base),
            Mention(url="https://x.org/mon", published=sunday + timedelta(hours=1), **base),
        ]
    )
    points = store.series("week", "none")
    assert [(p.bucket, p.count) for p in points] == [
        (datetime(2024, 3, 4, tzinfo=UTC), 1),
        (datetime(2024, 3, 11, tzinfo=UTC), 1),
    ]
    assert all(p.bucket.weekday() == 0 for p in points)


def test_series_counts_distinct_authors(store: Store) -> None:
    base = dict(source="s", source_kind="forum", text="x", published=MONDAY)
    store.upsert_mentions(
        [
            Mention(url=f"https://x.org/{i}", author=("bot", "bot", "bot", "eve")[i % 4], **base)
            for i in range(8)
        ]
    )
    (point,) = store.series("day", "none")
    assert (point.count, point.authors, point.sources) == (8, 2, 1)


def test_series_rejects_unknown_bucket(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown bucket 'month'"):
        store.series("month", "none")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field",
    ["entities", "safety_hazards", "source", "author", "sentiment", "topic_label", "thread_id", "language"],
)
def test_terms_counts_values(loaded: tuple[Store, list[Mention]], field: str) -> None:
    store, mentions = loaded
    counts: dict[str, int] = defaultdict(int)
    for m in mentions:
        value = getattr(m, field)
        for v in dict.fromkeys(value) if isinstance(value, list) else [value]:
            if v is not None:
                counts[str(v)] += 1
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(t.term, t.count) for t in store.terms(field, size=3)] == expected


def test_terms_rejects_unknown_field(store: Store) -> None:
    with pytest.raises(StoreError, match="cannot aggregate on field 'text'"):
        store.terms("text")


def test_top_terms_without_background_are_frequent_words(loaded: tuple[Store, list[Mention]]) -> None:
    store, mentions = loaded
    f = Filters(sources=("forum-a",))
    counts: dict[str, int] = defaultdict(int)
    for m in mentions:
        if m.source == "forum-a":
            for w in set(tokens(f"{m.title} {m.text}")):
                counts[w] += 1
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(t.term, t.count) for t in store.top_terms(f, size=5)] == expected


def test_top_terms_with_background_finds_what_drives_a_shift(store: Store) -> None:
    base = dict(source="s", source_kind="forum", author="a")
    calm = [
        Mention(
            url=f"https://x.org/c{i}",
            published=MONDAY + timedelta(hours=i),
            text=f"the kettle works well {('nicely', 'quietly')[i % 2]}",
            **base,
        )
        for i in range(30)
    ]
    shift = [
        Mention(
            url=f"https://x.org/s{i}",
            published=MONDAY + timedelta(days=5, hours=i),
            text=f"the kettle is overheating and leaking {('badly', 'again')[i % 2]}",
            **base,
        )
        for i in range(10)
    ]
    store.upsert_mentions(calm + shift)
    fg = Filters(start=MONDAY + timedelta(days=5))
    terms = store.top_terms(fg, background=Filters(), size=5)
    assert {t.term for t in terms[:2]} == {"overheating", "leaking"}
    assert all(t.score > 0 for t in terms)
    assert "kettle" not in {t.term for t in terms}  # as common before the shift as during it
    top = {t.term: t for t in terms}
    assert (top["overheating"].count, top["overheating"].background_count) == (10, 10)


# ---- documents -----------------------------------------------------------------------------
def test_documents_crud_and_queries(store: Store) -> None:
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    docs = [
        {
            "id": "t1",
            "state": "open",
            "team": "product",
            "severity": "high",
            "created": t0,
            "score": 3,
            "escalated": False,
        },
        {
            "id": "t2",
            "state": "resolved",
            "team": "product",
            "severity": "low",
            "created": t0 + timedelta(days=2),
            "score": 1.5,
            "escalated": True,
        },
        {
            "id": "t3",
            "state": "open",
            "team": "support",
            "severity": "low",
            "created": t0 + timedelta(days=1),
            "score": 7,
            "escalated": False,
        },
        {
            "id": "t4",
            "state": "open",
            "team": "support",
            "severity": "critical",
            "created": t0 + timedelta(days=3),
            "escalated": False,
        },
    ]
    for d in docs:
        store.put_doc("tickets", d["id"], d)
    assert store.get_doc("tickets", "t2") == {**docs[1], "created": "2024-05-03T00:00:00+00:00"}
    assert store.get_doc("tickets", "missing") is None
    assert [d["id"] for d in store.query_docs("tickets")] == ["t1", "t2", "t3", "t4"]
    assert [d["id"] for d in store.query_docs("tickets", {"state": "open"})] == ["t1", "t3", "t4"]
    assert [d["id"] for d in store.query_docs("tickets", {"state": "open", "team": "support"})] == [
        "t3",
        "t4",
    ]
    assert [d["id"] for d in store.query_docs("tickets", {"severity": ["low", "critical"]})] == [
        "t2",
        "t3",
        "t4",
    ]
    assert store.query_docs("tickets", {"severity": []}) == []
    assert [d["id"] for d in store.query_docs("tickets", {"escalated": True})] == ["t2"]
    assert [d["id"] for d in store.query_docs("tickets", {"score": 7})] == ["t3"]
    assert [d["id"] for d in store.query_docs("tickets", order_by="created", descending=True)] == [
        "t4",
        "t2",
        "t3",
        "t1",
    ]
    assert [d["id"] for d in store.query_docs("tickets", order_by="created", limit=2)] == ["t1", "t3"]
    # a missing value sorts first ascending and last descending, as NULL does in SQL
    assert [d["id"] for d in store.query_docs("tickets", order_by="score")] == ["t4", "t2", "t1", "t3"]
    assert [d["id"] for d in store.query_docs("tickets", order_by="score", descending=True)] == [
        "t3",
        "t1",
        "t2",
        "t4",
    ]
    store.put_doc("tickets", "t1", {**docs[0], "state": "acknowledged"})
    assert store.get_doc("tickets", "t1")["state"] == "acknowledged"  # type: ignore[index]
    assert len(store.query_docs("tickets")) == 4
    store.delete_doc("tickets", "t3")
    store.delete_doc("tickets", "never-existed")
    assert [d["id"] for d in store.query_docs("tickets")] == ["t1", "t2", "t4"]


def test_documents_keep_nested_values_verbatim(store: Store) -> None:
    doc = {
        "id": "e1",
        "evidence": {"mention_ids": ["a", "b"], "safety_hazards": {"fire_burn": 3}},
        "history": [{"at": "2024-01-01T00:00:00+00:00", "who": "x"}],
        "note": None,
    }
    store.put_doc("trends", "e1", doc)
    assert store.get_doc("trends", "e1") == doc
    assert store.query_docs("trends", {"id": "e1"}) == [doc]


def test_documents_collections_are_separate(store: Store) -> None:
    store.put_doc("authors", "ann", {"author": "ann", "score": 0.9, "watched": True})
    store.put_doc("briefs", "ann", {"week_start": "2024-03-04"})
    assert store.get_doc("authors", "ann") == {"author": "ann", "score": 0.9, "watched": True}
    assert store.get_doc("briefs", "ann") == {"week_start": "2024-03-04"}
    assert [d["author"] for d in store.query_docs("authors", {"watched": True})] == ["ann"]


def test_put_docs_writes_what_put_doc_writes_one_at_a_time(store: Store) -> None:
    store.put_doc("authors", "ann", {"author": "ann", "score": 1.0, "rank": 9})
    docs = [
        (name, {"author": name, "score": score, "rank": rank})
        for rank, (name, score) in enumerate([("bob", 80.5), ("ann", 70.25), ("cy", 3.0)], start=1)
    ]
    assert store.put_docs("authors", iter(docs)) == 3  # any iterable, consumed once
    assert store.put_docs("authors", []) == 0
    assert store.query_docs("authors", order_by="rank") == [doc for _, doc in docs]
    assert store.get_doc("authors", "ann") == {"author": "ann", "score": 70.25, "rank": 2}  # replaced
    with pytest.raises(StoreError, match="unknown collection 'users'"):
        store.put_docs("users", [("x", {})])


def test_state_values_of_any_type(store: Store) -> None:
    store.set_state("cursor", {"after": "abc", "pages": 3})
    store.set_state("count", 5)
    store.set_state("names", ["a", "b"])
    store.set_state("count", "five")  # the same key changes type: still fine
    assert store.get_state("cursor") == {"after": "abc", "pages": 3}
    assert store.get_state("count") == "five"
    assert store.get_state("names") == ["a", "b"]
    assert store.get_state("missing", default=42) == 42
    assert [d["key"] for d in store.query_docs("state", {"key": ["count", "names"]})] == ["count", "names"]


def test_collection_ledger_round_trips_and_filters(store: Store) -> None:
    def entry(source: str, run: str, day: int, status: str) -> LedgerEntry:
        finished = MONDAY + timedelta(days=day)
        return LedgerEntry(
            id=LedgerEntry.make_id(source, run),
            source=source,
            kind="forum",
            run_id=run,
            started=finished - timedelta(minutes=5),
            finished=finished,
            status=status,  # type: ignore[arg-type]
            covered_start=None if day == 0 else MONDAY + timedelta(days=day - 1),
            covered_end=None if status == "failed" else finished,
            pages=3,
            items=0 if status == "failed" else 7,
            errors=2 if status != "ok" else 0,
            errors_by_reason={"http_503": 2} if status != "ok" else {},
            message="" if status == "ok" else "503 from the server",
        )

    entries = [
        entry("forum-a", "r1", 0, "ok"),
        entry("forum-a", "r2", 1, "failed"),
        entry("news-c", "r3", 2, "partial"),
    ]
    for e in entries:
        store.record_collection(e)
    store.record_collection(entries[0])  # re-recording a run replaces its entry
    assert store.collection_ledger() == entries
    assert [e.run_id for e in store.collection_ledger(["forum-a"])] == ["r1", "r2"]
    assert store.collection_ledger(["forum-a"])[1].errors_by_reason == {"http_503": 2}
    assert [e.run_id for e in store.collection_ledger(since=MONDAY + timedelta(days=1))] == ["r2", "r3"]
    assert [e.run_id for e in store.collection_ledger(limit=2)] == ["r2", "r3"]  # the newest, oldest first


def test_documents_reject_unknown_collection_and_bad_field(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown collection 'users'"):
        store.put_doc("users", "x", {})
    with pytest.raises(StoreError, match="invalid document field name"):
        store.query_docs("tickets", {"state; DROP": "x"})


# ---- both backends on the same data ---------------------------------------------------------
@pytest.mark.es
def test_backends_agree_on_the_same_data(both_stores: tuple[Store, Store]) -> None:
    sqlite, es = both_stores
    mentions = corpus(60)
    for store in both_stores:
        store.upsert_mentions(mentions)
    for query in [
        "kettle",
        '"arrived late"',
        "warranty OR refund -late",
        "(toaster OR blender) AND fine",
        "deliv*",
        "sparks & smoke",
        "",
    ]:
        for sort in ("newest", "oldest"):
            a, b = sqlite.search(query, limit=100, sort=sort), es.search(query, limit=100, sort=sort)  # type: ignore[arg-type]
            assert (a.total, [h.mention.id for h in a.hits]) == (b.total, [h.mention.id for h in b.hits]), (
                query,
                sort,
            )
        a, b = sqlite.search(query, limit=100), es.search(query, limit=100)
        assert {h.mention.id for h in a.hits} == {h.mention.id for h in b.hits}, query
        marked = {h.mention.id: set(re.findall(r"<mark>(.*?)</mark>", h.highlight.lower())) for h in a.hits}
        for hit in b.hits:  # Elasticsearch marks words one by one, FTS5 marks a phrase as a whole
            assert set(re.findall(r"<mark>(.*?)</mark>", hit.highlight.lower())) <= {
                w for words in marked[hit.mention.id] for w in [words, *words.split()]
            }
    for bucket in ("day", "week"):
        for group_by in ("entity", "source", "topic", "author", "none"):
            for f in (
                Filters(),
                Filters(sentiments=("negative",)),
                Filters(entities=("acme",), start=MONDAY + timedelta(days=3)),
            ):
                assert _rounded(sqlite.series(bucket, group_by, f)) == _rounded(
                    es.series(bucket, group_by, f)
                )  # type: ignore[arg-type]
    for field in ("entities", "source", "voc_kind", "business_area", "safety_hazards", "topic_label"):
        assert sqlite.terms(field, size=20) == es.terms(field, size=20)
    fg = Filters(safety=True)
    assert sqlite.top_terms(fg, size=15) == es.top_terms(fg, size=15)
    a, b = (
        sqlite.top_terms(fg, background=Filters(), size=10),
        es.top_terms(fg, background=Filters(), size=10),
    )
    assert [(t.term, t.count, t.background_count) for t in a] == [
        (t.term, t.count, t.background_count) for t in b
    ]
    assert [t.score for t in a] == pytest.approx([t.score for t in b])


def test_update_topics_writes_the_topic_and_flags_as_an_upsert_would(
    loaded: tuple[Store, list[Mention]],
) -> None:
    """The ordered topics pass writes topics with `update_topics` (SQLite: without re-indexing the text)."""
    store, mentions = loaded
    changed = [
        m.model_copy(
            update={"topic_id": 7, "topic_label": "battery / charger", "flags": ["emerging_topic: 7"]}
        )
        for m in sorted(mentions, key=lambda m: m.id)[:3]
    ]
    store.update_topics(changed)
    assert store.get_mentions([m.id for m in changed]) == changed
    assert sorted(store.mention_ids(Filters(topic_ids=(7,)))) == sorted(m.id for m in changed)
    word = max(changed[0].text.split(), key=len).strip(".,!?")
    assert changed[0].id in [h.mention.id for h in store.search(word, limit=100).hits]  # still indexed
