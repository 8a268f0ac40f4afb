"""The brief's headline is ordered by what a reader must act on, states no percentage of a handful of
mentions without saying so, and says what "the strongest" shift means; topics are shown with labels."""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from brief.data import (
    CLOUD_FILLER,
    CLOUD_MIN_AUTHORS,
    MIN_SUPPORT,
    TIER_ACT,
    TIER_CHECK,
    TIER_COMPETITORS,
    TIER_CONTEXT,
    BriefData,
    EventRow,
    cloud_tokens,
    collect_brief_data,
    plural,
    share_text,
    shift_effect,
    shift_order,
    shift_strength,
)
from groundswell.records import series_name
from groundswell.store.base import Filters
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import make_event
from tests.kit.sample import make_market, synthetic_config, write_records

WEEK = date(2026, 11, 16)
NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)
WEEK_FILTER = Filters(start=datetime(2026, 11, 16, tzinfo=UTC), end=datetime(2026, 11, 23, tzinfo=UTC))


def _market() -> SqliteStore:
    store = SqliteStore(":memory:")
    make_market(store, week_start=WEEK, seed=7, per_week=100, weeks=3)
    return store


def _brief(store: SqliteStore) -> BriefData:
    return collect_brief_data(synthetic_config(Path(tempfile.mkdtemp())), store, WEEK, now=NOW)


@pytest.fixture(scope="module")
def data() -> BriefData:
    store = SqliteStore(":memory:")
    make_market(store, week_start=WEEK, seed=7, per_week=100, weeks=3)
    return collect_brief_data(synthetic_config(Path(tempfile.mkdtemp())), store, WEEK, now=NOW)


def test_headline_puts_our_products_safety_signal_first_then_competitors_then_context(data) -> None:
    tiers = [c.tier for c in data.claims]
    assert tiers == sorted(tiers)
    first = data.claims[0]
    assert first.tier == TIER_ACT
    assert first.text.startswith("Acme Kettle:") and "product-safety" in first.text
    assert "confirmed shift" in first.text and "ticket" in first.text
    assert any(c.tier == TIER_COMPETITORS and "(competitor)" in c.text for c in data.claims)
    assert data.claims[-1].tier == TIER_CONTEXT


def test_small_counts_are_labelled_instead_of_given_as_percentages() -> None:
    assert share_text(2, 4) == "2 of 4 mention(s) (small sample)"
    assert share_text(19, 38) == "50% of 38 mentions"
    assert share_text(5, MIN_SUPPORT) == f"50% of {MIN_SUPPORT} mentions"


def test_complaint_claim_only_names_areas_with_enough_mentions(data) -> None:
    claims = [c.text for c in data.claims if c.text.startswith("Complaints weighed most")]
    supported = {r.label.lower() for r in data.scorecard if r.count >= MIN_SUPPORT}
    for text in claims:
        area = text.removeprefix("Complaints weighed most on ").split(":")[0]
        assert area in supported


def test_strength_is_effect_times_authors_times_confidence() -> None:
    ev = make_event("acme-kettle", metric="volume", baseline=3.0, level=15.0, authors=10)
    assert shift_effect(ev) == pytest.approx(math.log(16 / 4))
    assert shift_strength(ev) == pytest.approx(shift_effect(ev) * 10 * 0.99)


def test_our_shift_ranks_before_a_stronger_topic_shift() -> None:
    ours = make_event("acme-kettle", baseline=4.0, level=6.0, authors=5)
    topic = make_event("8", group_by="topic", baseline=1.0, level=40.0, authors=60)
    rows = [
        EventRow(
            topic, "topic", "volume", "", None, TIER_CONTEXT, shift_effect(topic), shift_strength(topic)
        ),
        EventRow(ours, "Acme Kettle", "volume", "", None, TIER_ACT, shift_effect(ours), shift_strength(ours)),
    ]
    assert rows[0].strength > rows[1].strength
    assert [r.event.key for r in sorted(rows, key=shift_order)] == ["acme-kettle", "8"]


def test_shift_table_and_headline_show_the_strength(data) -> None:
    assert all(" authors × " in r.strength_text for r in data.shifts)
    assert any("strength" in c.text for c in data.claims)


def test_topic_series_are_named_with_their_label() -> None:
    assert series_name("topic", "8", ["battery / charger / overheating"]) == (
        "topic:8 (battery / charger / overheating)"
    )
    assert series_name("entity", "acme-kettle", ["x"]) == "entity:acme-kettle"
    ev = make_event("8", group_by="topic")
    ev.topics = ["lid / leak / kettle"]
    assert ev.series_name == "topic:8 (lid / leak / kettle)"


def test_voc_cloud_drops_filler_hashtags_and_handles() -> None:
    words = cloud_tokens("Honestly the #SteamPro app actually let me down, @bob_99 says the lid leaks 24/7")
    assert not set(words) & {"honestly", "steampro", "app", "actually", "let", "bob_99", "bob"}
    assert {"lid", "leaks"} <= set(words)


def test_voc_cloud_counts_distinct_authors(data) -> None:
    assert data.cloud
    assert all(w.count >= CLOUD_MIN_AUTHORS for w in data.cloud)
    assert not {w.word for w in data.cloud} & CLOUD_FILLER


def test_single_safety_mention_is_labelled_and_ranked_after_confirmed_shifts_and_competitors() -> None:
    store = _market()
    toaster = list(store.iter_mentions(WEEK_FILTER.replace(entities=("acme-toaster",), safety=True)))
    assert len(toaster) >= 2  # the market has a few; keep one injury report
    toaster[0].safety_hazards, toaster[0].safety_severity = ["injury"], 2
    for m in toaster[1:]:
        m.safety_hazards, m.safety_severity = [], 0
    store.upsert_mentions(toaster)
    data = _brief(store)
    claim = next(c for c in data.claims if c.text.startswith("Acme Toaster:"))
    assert claim.tier == TIER_CHECK and claim.tier_label == "check"
    assert "1 mention from 1 author carried" in claim.text and "a single mention" in claim.text
    position = data.claims.index(claim)
    assert all(c.tier != TIER_CHECK for c in data.claims[:position])
    assert data.claims[0].text.startswith("Acme Kettle:") and data.claims[0].tier == TIER_ACT
    assert all(c.tier in (TIER_ACT, TIER_COMPETITORS) for c in data.claims[:position])


def test_well_supported_safety_signal_stays_first_and_is_not_labelled(data) -> None:
    first = data.claims[0]
    assert first.tier == TIER_ACT and first.text.startswith("Acme Kettle:")
    assert "check the evidence" not in first.text and "mention(s)" not in first.text
    # the ticket is named by urgency and team, not by its title full of the detector's raw figures
    assert "ticket for the product-safety team" in first.text and "safety_count" not in first.text


def test_brand_safety_shift_is_told_once_with_its_products_statement() -> None:
    store = _market()
    week = datetime(2026, 11, 17, tzinfo=UTC)
    kettle = list(store.iter_mentions(WEEK_FILTER.replace(entities=("acme-kettle",), safety=True)))
    brand = make_event(
        "acme", metric="safety_count", start=week, baseline=0.2, level=5.0, authors=9, mentions=kettle
    )
    write_records(store, [brand], [])
    data = _brief(store)
    kettle_claim = next(c for c in data.claims if c.text.startswith("Acme Kettle:"))
    assert "Acme's safety signals as a whole went up too (0.20 → 5.00)" in kettle_claim.text
    assert not any("safety signals of Acme went up" in c.text for c in data.claims)
    assert any(r.event.id == brand.id for r in data.shifts)  # still in the shifts table


def test_plural_says_one_mention_and_many_mentions() -> None:
    assert plural(1, "mention") == "1 mention"
    assert plural(38, "mention") == "38 mentions"
    assert plural(0, "ticket") == "0 tickets"
