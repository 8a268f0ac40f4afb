"""Dedup: canonical URL and MinHash near-duplicates collapse with a count, deterministically, across runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.dedup import Deduplicator, normalise_for_dedup, opinion_differs
from groundswell.mention import Mention
from groundswell.store.sqlite import SqliteStore

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
ARTICLE = (
    "Acme recalls the X200 blender after reports that the jar can crack under pressure and spray hot liquid. "
    "Owners are asked to stop using the appliance and contact the company for a free replacement jar. "
    "The recall covers units sold between March and September in the United States and Canada."
)


def _m(
    key: str, text: str, *, source: str = "news", hours: float = 0, url: str | None = None, **extra: object
) -> Mention:
    return Mention(source=source, source_kind="news", url=url or f"https://{source}.example/{key}", text=text,
                   published=T0 + timedelta(hours=hours), **extra)  # type: ignore[arg-type]  # fmt: skip


def test_dedup_collapses_syndicated_copies_into_the_earliest_with_a_count() -> None:
    copies = [
        _m("orig", ARTICLE, source="wire", hours=0),
        _m("a", "Breaking: " + ARTICLE + " Subscribe to our newsletter for more.", source="site-a", hours=2),
        _m("b", ARTICLE.upper().replace(".", "!") + " (c) Site B 2026", source="site-b", hours=1),
    ]
    result = Deduplicator().dedup(copies)
    assert result.duplicates == 2 and result.by_text == 2 and result.new == 1
    (rep,) = result.mentions
    assert rep.id == copies[0].id and rep.duplicate_count == 3
    assert sorted(rep.raw["duplicate_ids"]) == sorted(c.id for c in copies[1:])


def test_dedup_representative_does_not_depend_on_input_order() -> None:
    copies = [
        _m(str(i), f"{ARTICLE} Shared via https://s{i}.example/a{i} by @reader{i}.", source=f"s{i}", hours=5)
        for i in range(6)
    ]  # same time
    chosen = set()
    for seed in range(4):
        shuffled = copies[:]
        random.Random(seed).shuffle(shuffled)
        (rep,) = Deduplicator().dedup(shuffled).mentions
        chosen.add(rep.id)
        assert rep.duplicate_count == 6
    assert chosen == {min(c.id for c in copies)}


def test_dedup_collapses_bot_spam_with_varied_links_handles_hashtags_and_emoji() -> None:
    emoji = ["🔥", "👉", "!!!", "", "💥💥", "😍", "✅", "🚀"]
    spam = [
        _m(
            f"bot{i}",
            f"@user{i} WOW get the Acme X200 blender for only $19.99 today{emoji[i]} limited offer https://deals{i}.example/x?id={i} #ad{i}",
            source="x",
            hours=i,
        )
        for i in range(8)
    ]
    result = Deduplicator().dedup(spam)
    assert len(result.mentions) == 1 and result.mentions[0].duplicate_count == 8 and result.duplicates == 7


def test_dedup_keeps_spam_with_a_different_price_apart() -> None:
    offer = "WOW get the Acme X200 blender for only ${} today!!! limited offer, free shipping to your door"
    result = Deduplicator().dedup([_m("a", offer.format("19.99")), _m("b", offer.format("24.99"), hours=1)])
    assert result.duplicates == 0 and len(result.mentions) == 2


def test_dedup_keeps_distinct_but_similar_texts_apart() -> None:
    texts = [
        "The battery on my Acme vacuum lasts about forty minutes which is great for a small flat.",
        "The battery on my Acme vacuum lasts about ten minutes which is useless for a small flat.",
        "The suction on my Acme vacuum is strong but the bin is tiny and fills up after one room.",
        "Customer service at Acme replaced my broken vacuum within a week, very happy with them.",
    ]
    result = Deduplicator().dedup([_m(str(i), t, hours=i) for i, t in enumerate(texts)])
    assert result.duplicates == 0 and len(result.mentions) == 4


def test_dedup_never_merges_short_texts_on_text() -> None:
    result = Deduplicator().dedup([_m(str(i), "Love it!", source=f"s{i}") for i in range(5)])
    assert result.duplicates == 0 and len(result.mentions) == 5


def test_dedup_merges_the_same_canonical_url_from_different_sources() -> None:
    a = _m("1", "first text of the page", source="rss", url="https://blog.example/post/1?utm_source=rss")
    b = _m(
        "2", "other extraction of it", source="crawler", url="https://BLOG.example/post/1/#comments", hours=1
    )
    result = Deduplicator().dedup([b, a])
    assert (
        result.by_url == 1
        and [m.id for m in result.mentions] == [a.id]
        and result.mentions[0].duplicate_count == 2
    )


def test_dedup_treats_the_same_item_twice_in_a_batch_as_one() -> None:
    a = _m("1", ARTICLE)
    result = Deduplicator().dedup([a, a.model_copy(update={"likes": 5})])
    assert result.duplicates == 0 and len(result.mentions) == 1 and result.mentions[0].likes == 5


def test_dedup_absorbs_tomorrows_copy_into_the_stored_mention() -> None:
    store = SqliteStore(":memory:")
    today = _m("orig", ARTICLE, source="wire", hours=0)
    store.upsert_mentions(Deduplicator().dedup([today], store).mentions)
    # next run, a fresh deduplicator (new process): an earlier-dated syndicated copy arrives
    late = _m("late", ARTICLE + " Read more on Site C.", source="site-c", hours=-2)
    result = Deduplicator().dedup([late], store)
    assert result.duplicates == 1 and result.new == 0
    (rep,) = result.mentions
    assert rep.id == today.id and rep.duplicate_count == 2  # stored ids never disappear
    store.upsert_mentions(result.mentions)
    assert store.count() == 1 and store.get_mentions([today.id])[0].duplicate_count == 2


def test_dedup_refreshes_engagement_of_recollected_items_and_keeps_enrichment() -> None:
    store = SqliteStore(":memory:")
    stored = _m("1", ARTICLE, likes=1).model_copy(
        update={"enriched": True, "sentiment": "negative", "duplicate_count": 3}
    )
    store.upsert_mentions([stored])
    fresh = _m("1", ARTICLE, likes=9)
    result = Deduplicator().dedup([fresh], store)
    assert result.refreshed == 1 and result.duplicates == 0 and result.new == 0
    (updated,) = result.mentions
    assert (updated.likes, updated.enriched, updated.sentiment, updated.duplicate_count) == (
        9,
        True,
        "negative",
        3,
    )
    unchanged = Deduplicator().dedup([_m("1", ARTICLE, likes=1)], SqliteStore(":memory:"))
    assert unchanged.new == 1


def test_dedup_leaves_unchanged_recollected_items_out_of_the_write() -> None:
    store = SqliteStore(":memory:")
    item = _m("1", ARTICLE)
    store.upsert_mentions([item])
    assert Deduplicator().dedup([item], store).mentions == []


def test_normalise_for_dedup_masks_urls_handles_and_numbers() -> None:
    assert normalise_for_dedup("@Bob: 50% OFF!! https://x.example/a?b=1 #Deal 2026") == "0 off 0"


@pytest.mark.parametrize("threshold", [0.0, 1.5])
def test_deduplicator_rejects_thresholds_outside_zero_one(threshold: float) -> None:
    with pytest.raises(ValueError, match="dedup threshold must be in"):
        Deduplicator(threshold=threshold)


def test_dedup_keeps_opinion_flipped_copies_apart() -> None:
    base = (
        "I bought the Acme X200 blender for my mother last month and the motor is {} for smoothies and soups."
    )
    texts = [base.format("great"), base.format("terrible"), base.format("not great")]
    result = Deduplicator().dedup([_m(str(i), t, hours=i) for i, t in enumerate(texts)])
    assert result.duplicates == 0 and len(result.mentions) == 3


def test_opinion_differs_ignores_synonyms_typos_and_one_sided_boilerplate() -> None:
    assert opinion_differs("the motor is great", "the motor is awful")
    assert opinion_differs("it works", "it does not work")
    assert not opinion_differs("the motor is great", "the motor is awesome")
    assert not opinion_differs("the motor is terrible", "the motor is terrilbe")
    assert not opinion_differs("the motor broke", "the motor broke share this story with your friends")


def test_dedup_maps_a_match_on_an_absorbed_copy_to_its_representative(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # regression: with one Deduplicator across sources, a later copy that matched a copy absorbed earlier
    # in the run (never written) was kept as a separate mention with a "not in the store" warning
    store = SqliteStore(":memory:")
    dedup = Deduplicator()
    original = _m("orig", ARTICLE, source="wire")
    tail = " Refunds are also offered to buyers of the older X100 model through the same hotline."
    copy = _m("copy", ARTICLE + tail, source="site-a", hours=1)
    # a chain: copy2 is close to copy (an extended rewrite of it) but no longer close to the original
    copy2 = _m(
        "copy2",
        " ".join(ARTICLE.split()[6:]) + tail + " More details on the hotline page.",
        source="site-b",
        hours=2,
    )
    assert dedup.signature(copy2).jaccard(dedup.signature(original)) < dedup.threshold  # type: ignore[union-attr]
    first = dedup.dedup([original, copy], store)
    assert [(m.id, m.duplicate_count) for m in first.mentions] == [(original.id, 2)]
    store.upsert_mentions(first.mentions)
    second = dedup.dedup([copy2], store)
    assert "not in the store" not in caplog.text
    assert [(m.id, m.duplicate_count) for m in second.mentions] == [(original.id, 3)]


def test_dedup_handles_batches_larger_than_sqlite_parameter_limits() -> None:
    store = SqliteStore(":memory:")
    batch = [_m(str(i), f"mention number {i}") for i in range(40000)]
    result = Deduplicator().dedup(batch, store)
    assert result.new == 40000 and result.duplicates == 0


def test_copies_collected_again_on_later_runs_are_not_counted_again() -> None:
    # a re-crawl reads the same syndicated copies again: the representative's count must stay 3
    store = SqliteStore(":memory:")
    copies = [
        _m("orig", ARTICLE, source="wire", hours=0),
        _m("a", "Breaking: " + ARTICLE + " Subscribe to our newsletter for more.", source="site-a", hours=2),
        _m("b", ARTICLE.upper().replace(".", "!") + " (c) Site B 2026", source="site-b", hours=1),
    ]
    counts = []
    for _run in range(3):
        result = Deduplicator().dedup(copies, store)  # a fresh index per run, as collect_all makes
        store.upsert_mentions(result.mentions)
        counts.append(store.get_mentions([copies[0].id])[0].duplicate_count)
    assert counts == [3, 3, 3] and store.count() == 1
    assert result.recollected == 2 and result.refreshed == 1 and result.duplicates == 0
    # a new copy on a later run is still absorbed and counted once
    late = _m("c", "Via wire: " + ARTICLE, source="site-c", hours=30)
    store.upsert_mentions(Deduplicator().dedup([late, copies[1]], store).mentions)
    assert store.get_mentions([copies[0].id])[0].duplicate_count == 4 and store.count() == 1


def test_a_copy_seen_twice_in_one_run_is_counted_once() -> None:
    store = SqliteStore(":memory:")
    dedup = Deduplicator()
    copy = _m("a", "Breaking: " + ARTICLE, source="site-a", hours=2)
    first = dedup.dedup([_m("orig", ARTICLE, source="wire"), copy], store)
    store.upsert_mentions(first.mentions)
    again = dedup.dedup([copy], store)  # e.g. the same post on a second page, or in a second source's feed
    store.upsert_mentions(again.mentions)
    assert again.recollected == 1 and store.get_mentions([first.mentions[0].id])[0].duplicate_count == 2
