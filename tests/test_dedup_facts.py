"""Dedup counts facts: templated documents that differ in numbers or names stay apart, true copies collapse."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.dedup import Deduplicator, fact_tokens, facts_differ, own_text
from crawlers.dedup_cases import COPY_FAMILIES, DISTINCT_FAMILIES, build_cases
from groundswell.mention import Mention

T0 = datetime(2026, 11, 2, tzinfo=UTC)
NOTICE = (
    "Acme is recalling about 40,000 kettles, model {}, because the base can overheat and melt. The recall "
    "covers units sold between March and June in stores and online. Owners should stop using the kettle."
)


def _m(key: str, text: str, hours: float = 0, source: str = "news") -> Mention:
    return Mention(source=source, source_kind="news", url=f"https://{source}.example/{key}", text=text,
                   published=T0 + timedelta(hours=hours))  # fmt: skip


def test_recall_notices_for_two_model_numbers_are_two_mentions() -> None:
    result = Deduplicator().dedup([_m("3", NOTICE.format("3")), _m("7", NOTICE.format("7"), 1)])
    assert result.duplicates == 0 and len(result.mentions) == 2


def test_the_same_notice_with_another_footer_and_byline_is_one_mention() -> None:
    copies = [
        _m("a", NOTICE.format("K300"), source="wire"),
        _m(
            "b",
            "Breaking: " + NOTICE.format("K300") + " (c) 2026 Daily Bulletin. All rights reserved.",
            1,
            "b",
        ),
        _m("c", NOTICE.format("K300").upper() + " Copyright 2025 Metro Wire Service.", 2, "c"),
    ]
    (rep,) = Deduplicator().dedup(copies).mentions
    assert rep.id == copies[0].id and rep.duplicate_count == 3


def test_match_reports_with_other_teams_are_kept_apart() -> None:
    report = "{} beat {} 2-1 on Saturday in front of a big crowd, and the manager praised the whole squad after the game."
    result = Deduplicator().dedup([_m("a", report.format("Arlington", "Dunmore")),
                                   _m("b", report.format("Castleton", "Dunmore"), 1)])  # fmt: skip
    assert result.duplicates == 0


def test_a_reply_quoting_a_post_is_not_a_copy_of_it() -> None:
    post = "My Acme kettle clicks and shuts off after about ten minutes of use. Has anyone else seen this?"
    reply = f"alice wrote:\n> {post}\nSame here, mine does it too."
    result = Deduplicator().dedup([_m("p", post), _m("r", reply, 1)])
    assert result.duplicates == 0 and len(result.mentions) == 2


def test_own_text_drops_quoted_lines_and_headers() -> None:
    assert own_text("bob wrote:\n> quoted line\n> more\nmy answer").split() == ["my", "answer"]
    assert own_text("Quote\n> quoted\nfine").split() == ["fine"]  # a header never eats the next line
    assert own_text("Quote me on this: the kettle overheated") == "Quote me on this: the kettle overheated"


def test_facts_differ_reads_substitutions_not_boilerplate_or_typos() -> None:
    def differ(a: str, b: str) -> bool:
        return facts_differ(fact_tokens(a), fact_tokens(b))

    assert differ("the model 3 overheats in use", "the model 7 overheats in use")
    assert differ("price today $19.99 only", "price today $24.99 only")
    assert differ("the game where Arsenal won at home", "the game where Chelsea won at home")
    assert not differ("price today $19.99 only", "price today $19!99 only")  # punctuation, same price
    assert not differ("where Acme won at home", "where Acem won at home")  # a typo in a name
    assert not differ("the model 3 overheats", "the model 3 overheats. Read more at (c) 2026 Daily Bulletin.")
    assert not differ("THE MODEL 3 OVERHEATS", "the model 3 overheats")


@pytest.mark.parametrize("seed", [11, 12])
def test_seeded_case_set_keeps_every_distinct_document_and_collapses_every_copy(seed: int) -> None:
    cases = build_cases(seed, groups_per_family=8)
    assert {c.family for c in cases} == set(DISTINCT_FAMILIES) | set(COPY_FAMILIES)
    result = Deduplicator().dedup([c.mention for c in cases])
    rep_of = {m.id: m.id for m in result.mentions}
    for m in result.mentions:
        rep_of.update({d: m.id for d in m.raw.get("duplicate_ids", [])})
    clusters_per_rep: dict[str, set[int]] = defaultdict(set)
    for c in cases:
        clusters_per_rep[rep_of[c.mention.id]].add(c.cluster)
    assert all(len(found) == 1 for found in clusters_per_rep.values())  # nothing distinct merged
    copy_clusters = {c.cluster for c in cases if c.copy_group}
    reps_per_cluster: dict[int, set[str]] = defaultdict(set)
    for c in cases:
        if c.copy_group:
            reps_per_cluster[c.cluster].add(rep_of[c.mention.id])
    assert all(len(reps_per_cluster[k]) == 1 for k in copy_clusters)  # every copy group collapsed


def test_earlier_setting_merges_templated_documents() -> None:
    # the regression the fact guard fixes: with digits masked, notices per model number collapsed
    mentions = [_m(str(n), NOTICE.format(n), n) for n in (3, 7, 12)]
    assert Deduplicator(facts_count=False).dedup(mentions).duplicates == 2
    assert Deduplicator().dedup(mentions).duplicates == 0
