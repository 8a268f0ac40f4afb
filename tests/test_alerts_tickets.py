"""From shifts to tickets: routing per type, severity, SLA, dedup across re-runs, evidence, reopen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts import NotActionable, classify, list_tickets, load_ticket, process_events, transition
from groundswell.config import parse_config
from groundswell.store.sqlite import SqliteStore
from tests.kit.alerts import T0, make_config, make_event, make_mention

NOW = T0 + timedelta(days=4)


@pytest.fixture
def store() -> SqliteStore:
    return SqliteStore(":memory:")


def _stored(store: SqliteStore, mentions: list) -> list:  # type: ignore[type-arg]
    store.upsert_mentions(mentions)
    return mentions


@pytest.mark.parametrize(
    ("key", "group_by", "metric", "direction", "expected_type", "expected_team", "subject"),
    [
        ("acme-kettle", "entity", "negative_share", "up", "product", "product-safety", "acme-kettle"),
        ("acme", "entity", "mean_sentiment", "down", "product", "product-safety", "acme"),
        (
            "zephyr-airchef",
            "entity",
            "volume",
            "up",
            "competitor",
            "competitive-intelligence",
            "zephyr-airchef",
        ),
        ("zephyr", "entity", "mean_sentiment", "down", "competitor", "competitive-intelligence", "zephyr"),
        ("danareyes", "author", "negative_share", "up", "opinion_leader", "communications", "dana-reyes"),
        ("dana-reyes", "entity", "volume", "up", "opinion_leader", "communications", "dana-reyes"),
        ("someblogger", "author", "volume", "up", "opinion_leader", "communications", "someblogger"),
    ],
)
def test_process_events_routes_each_type_to_its_team(
    store: SqliteStore,
    key: str,
    group_by: str,
    metric: str,
    direction: str,
    expected_type: str,
    expected_team: str,
    subject: str,
) -> None:
    event = make_event(key, group_by=group_by, metric=metric, direction=direction, baseline=0.2, level=0.5)
    summary = process_events(make_config(), store, [event], now=NOW)
    assert summary.opened == 1
    (ticket,) = list_tickets(store)
    assert (ticket.type, ticket.team, ticket.subject, ticket.state) == (
        expected_type,
        expected_team,
        subject,
        "open",
    )
    assert ticket.evidence.trend_ids == [event.id]
    assert [h.action for h in ticket.history] == ["open"]


def test_process_events_routing_follows_configuration(store: SqliteStore) -> None:
    config = parse_config(
        {
            "brands": [{"id": "acme", "name": "Acme"}],
            "teams": [{"id": "qa", "name": "QA"}, {"id": "ci", "name": "CI"}, {"id": "pr", "name": "PR"}],
            "alerts": {"routing": {"product": "qa", "competitor": "ci", "opinion_leader": "pr"}},
        }
    )
    process_events(
        config, store, [make_event("acme", metric="complaint_share", baseline=0.1, level=0.3)], now=NOW
    )
    assert list_tickets(store)[0].team == "qa"


def test_process_events_blips_never_open_tickets(store: SqliteStore) -> None:
    blip = make_event(
        "acme-kettle", metric="safety_count", kind="blip", baseline=0, level=9, hazards={"fire_burn": 9}
    )
    summary = process_events(make_config(), store, [blip], now=NOW)
    assert (summary.opened, summary.skipped, summary.tickets) == (0, 1, [])
    assert list_tickets(store) == []


@pytest.mark.parametrize(
    ("key", "metric", "direction", "why"),
    [
        ("acme-kettle", "volume", "up", "no safety, defect or negative signal"),  # praise wave
        ("acme-kettle", "negative_share", "down", "no safety, defect or negative signal"),
        ("zephyr", "volume", "down", "competitor volume fell"),
        ("unknown-thing", "volume", "up", "unknown entity 'unknown-thing'"),
    ],
)
def test_classify_not_actionable_says_why(
    store: SqliteStore, key: str, metric: str, direction: str, why: str
) -> None:
    mentions = _stored(store, [make_mention(i, sentiment="positive") for i in range(6)])
    event = make_event(key, metric=metric, direction=direction, mentions=mentions)
    with pytest.raises(NotActionable, match=why):
        classify(make_config(), event, mentions)
    assert process_events(make_config(), store, [event], now=NOW).skipped == 1


def test_classify_product_one_stray_hazard_does_not_make_a_safety_case() -> None:
    mentions = [make_mention(i) for i in range(9)] + [make_mention(9, hazards=("fire_burn",), severity=3)]
    event = make_event("acme-kettle", metric="negative_share", baseline=0.2, level=0.3, mentions=mentions)
    decision = classify(make_config(), event, mentions)
    assert (decision.signal, decision.severity) == ("negative sentiment", "medium")
    mentions += [make_mention(10 + i, hazards=("fire_burn",), severity=3) for i in range(2)]
    assert classify(make_config(), event, mentions).signal == "safety"
    # the detector's own hazard counts: material when they reach a fifth of the shift's authors
    counted = make_event(
        "acme-kettle", metric="negative_share", baseline=0.2, level=0.3, authors=40, hazards={"defect": 3}
    )
    assert classify(make_config(), counted, []).signal == "negative sentiment"
    counted = make_event(
        "acme-kettle", metric="negative_share", baseline=0.2, level=0.3, authors=40, hazards={"defect": 8}
    )
    assert classify(make_config(), counted, []).signal == "defect"


def test_classify_product_volume_with_negative_evidence_is_actionable(store: SqliteStore) -> None:
    mentions = _stored(store, [make_mention(i) for i in range(6)])  # negative, complaint-free
    decision = classify(
        make_config(), make_event("acme-kettle", mentions=mentions, baseline=4, level=5), mentions
    )
    assert (decision.type, decision.signal, decision.severity) == ("product", "negative sentiment", "low")


@pytest.mark.parametrize(
    ("hazards", "mention_severity", "level", "authors", "expected"),
    [
        ((), 0, 0.3, 6, "medium"),  # negative share up a little, no safety signal
        (("defect",), 1, 0.3, 6, "medium"),  # a defect is quality, not danger
        (("fire_burn",), 2, 0.3, 6, "high"),  # a harm hazard
        (("fire_burn",), 3, 0.3, 6, "high"),
        (("fire_burn",), 3, 0.6, 6, "critical"),  # harm hazard and strong growth
        (("injury",), 2, 0.3, 40, "critical"),  # harm hazard carried by many authors
    ],
)
def test_classify_product_severity_from_safety_signal_and_growth(
    store: SqliteStore,
    hazards: tuple[str, ...],
    mention_severity: int,
    level: float,
    authors: int,
    expected: str,
) -> None:
    mentions = [make_mention(i, hazards=hazards, severity=mention_severity) for i in range(6)]
    event = make_event(
        "acme-kettle", metric="negative_share", baseline=0.2, level=level, authors=authors, mentions=mentions
    )
    assert classify(make_config(), event, mentions).severity == expected


@pytest.mark.parametrize(
    ("metric", "direction", "drivers", "signal"),
    [
        ("volume", "up", ("airchef", "new", "launch"), "launch"),
        ("volume", "up", ("price", "cut"), "price move"),
        ("volume", "up", ("new", "price"), "price move"),
        ("volume", "up", ("servers", "app", "offline"), "outage"),
        ("mean_sentiment", "down", (), "sentiment collapse"),
        ("negative_share", "down", (), "sentiment surge"),
    ],
)
def test_classify_competitor_signal_kinds(
    metric: str, direction: str, drivers: tuple[str, ...], signal: str
) -> None:
    baseline, level = (5.0, 7.0) if metric == "volume" else (0.3, 0.35)  # an established product
    event = make_event(
        "zephyr-airchef", metric=metric, direction=direction, drivers=drivers, baseline=baseline, level=level
    )
    decision = classify(make_config(), event, [])
    assert (decision.type, decision.signal) == ("competitor", signal)
    assert signal in decision.title


def test_classify_competitor_new_product_volume_is_a_launch_even_with_price_talk() -> None:
    event = make_event(
        "zephyr-airchef", metric="volume", baseline=0.2, level=6, drivers=("worth", "$199", "price")
    )
    assert classify(make_config(), event, []).signal == "launch"
    established = make_event(
        "zephyr-airchef", metric="volume", baseline=6, level=12, drivers=("worth", "$199", "price")
    )
    assert classify(make_config(), established, []).signal == "price move"


def test_classify_competitor_launch_and_collapse_are_separate_tickets() -> None:
    config = make_config()
    launch = classify(config, make_event("zephyr", metric="volume"), [])
    collapse = classify(
        config, make_event("zephyr", metric="mean_sentiment", direction="down", baseline=0.2, level=-0.1), []
    )
    surge_later = classify(
        config, make_event("zephyr", metric="negative_share", direction="down", baseline=0.5, level=0.1), []
    )
    assert launch.ticket_id != collapse.ticket_id
    assert collapse.ticket_id == surge_later.ticket_id  # one sentiment story per competitor


def test_classify_opinion_leader_severity_watched_and_high_reach(store: SqliteStore) -> None:
    config = make_config()
    watched = classify(config, make_event("danareyes", group_by="author", baseline=2, level=3), [])
    nobody = classify(config, make_event("someone", group_by="author", baseline=2, level=3), [])
    loud = [make_mention(1, author="loudvoice", reach=50_000)]
    high_reach = classify(
        config, make_event("loudvoice", group_by="author", baseline=2, level=3, mentions=loud), loud
    )
    turning = classify(
        config,
        make_event("danareyes", group_by="author", metric="negative_share", baseline=0.1, level=0.2),
        [],
    )
    assert (nobody.severity, watched.severity, high_reach.severity, turning.severity) == (
        "low",
        "medium",
        "medium",
        "high",
    )


def test_classify_opinion_shift_echoing_a_watched_leader_is_the_leaders_ticket(store: SqliteStore) -> None:
    config = make_config()
    root = make_mention(
        0, author="danareyes", reach=184_000, text="The kettle app now needs a subscription. Avoid."
    )
    echoes = [make_mention(i, text="Dana Reyes is right about the paywall") for i in range(1, 5)]
    for m in echoes[:2]:
        m.entities.append("dana-reyes")
    others = [make_mention(i) for i in range(5, 8)]
    mentions = _stored(store, [root, *echoes, *others])
    product_shift = make_event(
        "acme-kettle", metric="negative_share", baseline=0.1, level=0.4, mentions=mentions
    )
    leader_shift = make_event("dana-reyes", metric="volume", baseline=1, level=8, mentions=[root, *echoes])
    summary = process_events(config, store, [product_shift, leader_shift], now=NOW)
    assert summary.opened == 1
    (ticket,) = list_tickets(store)
    assert (ticket.type, ticket.subject, ticket.team) == ("opinion_leader", "dana-reyes", "communications")
    assert ticket.title.startswith("Dana Reyes: opinion leader") and ticket.severity == "high"
    assert ticket.evidence.trend_ids == [leader_shift.id, product_shift.id]  # the leader's own series first
    alone = classify(config, product_shift, mentions)
    assert (alone.subject, alone.type) == (
        "dana-reyes",
        "opinion_leader",
    ) and "on Acme SteamPro kettle" in alone.title
    # a safety signal in the same conversation stays product-safety work
    burns = _stored(
        store,
        [make_mention(i, text="Dana Reyes: it burned me", hazards=("fire_burn",)) for i in range(10, 16)],
    )
    for m in burns:
        m.entities.append("dana-reyes")
    safety = make_event("acme-kettle", metric="negative_share", baseline=0.1, level=0.4, mentions=burns)
    assert classify(config, safety, burns).type == "product"


def test_process_events_brand_shift_about_one_product_joins_the_product_ticket(store: SqliteStore) -> None:
    mentions = _stored(store, [make_mention(i, hazards=("fire_burn",), severity=2) for i in range(6)])
    for m in mentions[:2]:
        m.entities = ["acme"]  # some posts only name the brand
    store.upsert_mentions(mentions)
    product = make_event("acme-kettle", metric="safety_count", baseline=2, level=3, mentions=mentions[2:])
    brand = make_event("acme", metric="safety_count", baseline=2, level=3, mentions=mentions)
    summary = process_events(make_config(), store, [product, brand], now=NOW)
    assert (summary.opened, len(summary.tickets)) == (1, 1)
    (ticket,) = list_tickets(store)
    assert ticket.subject == "acme-kettle" and ticket.evidence.trend_ids == [product.id, brand.id]
    # a brand shift spread over no single product stays the brand's
    spread = [make_mention(i, entity="acme") for i in range(20, 26)]
    decision = classify(make_config(), make_event("acme", metric="negative_share", mentions=spread), spread)
    assert decision.subject == "acme"


def test_classify_topic_shift_goes_to_its_dominant_entity(store: SqliteStore) -> None:
    mentions = [make_mention(i, hazards=("fire_burn",), severity=2) for i in range(4)]
    mentions.append(make_mention(9, entity="zephyr"))
    event = make_event("7", group_by="topic", metric="safety_count", baseline=0, level=4, mentions=mentions)
    decision = classify(make_config(), event, mentions)
    assert (decision.type, decision.subject) == ("product", "acme-kettle")


@pytest.mark.parametrize("severity", ["low", "medium", "high", "critical"])
def test_process_events_due_time_from_sla(store: SqliteStore, severity: str) -> None:
    config = make_config()
    config.alerts.sla_hours = {"low": 100.0, "medium": 50.0, "high": 10.0, "critical": 2.0}
    hazards = {"low": (), "medium": ("defect",), "high": ("fire_burn",), "critical": ("fire_burn",)}[severity]
    metric, level = (
        ("volume", 5.0) if severity == "low" else ("negative_share", 0.3 if severity != "critical" else 0.9)
    )
    mentions = _stored(store, [make_mention(i, hazards=hazards) for i in range(6)])
    event = make_event(
        "acme-kettle",
        metric=metric,
        baseline=4.0 if metric == "volume" else 0.2,
        level=level,
        mentions=mentions,
    )
    process_events(config, store, [event], now=NOW)
    (ticket,) = list_tickets(store)
    assert ticket.severity == severity
    assert ticket.due == NOW + timedelta(hours=config.alerts.sla_hours[severity])  # type: ignore[index]


def test_process_events_rerun_changes_nothing(store: SqliteStore) -> None:
    config = make_config()
    mentions = _stored(
        store,
        [make_mention(i, hazards=("defect",), thread=f"https://forum.example/t/{i % 2}") for i in range(6)],
    )
    events = [
        make_event("acme-kettle", metric="negative_share", baseline=0.1, level=0.4, mentions=mentions),
        make_event("zephyr", metric="volume"),
        make_event("acme-kettle", metric="volume", kind="blip"),
    ]
    first = process_events(config, store, events, now=NOW)
    before = [t.model_dump() for t in list_tickets(store)]
    ledger = store.query_docs("notifications")
    second = process_events(config, store, events, now=NOW + timedelta(hours=5))
    assert (first.opened, first.skipped) == (2, 1)
    assert (second.opened, second.updated, second.reopened, second.unchanged) == (0, 0, 0, 2)
    assert sorted(second.tickets) == sorted(first.tickets)
    assert [t.model_dump() for t in list_tickets(store)] == before
    assert store.query_docs("notifications") == ledger


def test_process_events_rerun_of_many_events_per_ticket_changes_nothing(store: SqliteStore) -> None:
    """Regression: series of different metrics for one ticket overlapped in time and the last
    one merged won, so a re-run 'updated' the ticket (seen on the demo market)."""
    config = make_config()
    mentions = _stored(store, [make_mention(i, hazards=("fire_burn",), severity=2) for i in range(6)])
    events = [
        make_event("acme-kettle", metric="safety_count", baseline=1, level=6, mentions=mentions),
        make_event("acme-kettle", metric="negative_share", baseline=0.2, level=0.6, mentions=mentions),
        make_event("acme", metric="safety_count", baseline=1.5, level=7, mentions=mentions),
        make_event(
            "9",
            group_by="topic",
            metric="volume",
            start=T0 - timedelta(days=3),
            baseline=3,
            level=9,
            mentions=mentions,
        ),
    ]
    assert process_events(config, store, events, now=NOW).opened == 1
    (before,) = list_tickets(store)
    (first,) = [e for e in events if e.id == before.evidence.trend_ids[0]]
    assert before.evidence.series == first.series  # the first trend's chart, not a mix
    for order in (events, events[::-1]):
        again = process_events(config, store, order, now=NOW + timedelta(hours=1))
        assert (again.unchanged, again.updated) == (1, 0)
        assert list_tickets(store) == [before]


def test_process_events_evidence_closes_the_loop(store: SqliteStore) -> None:
    mentions = _stored(
        store,
        [
            make_mention(i, hazards=("defect",), thread=f"https://forum.example/thread/{i % 2}")
            for i in range(4)
        ]
        + [make_mention(9, hazards=("defect",))],
    )
    event = make_event(
        "acme-kettle", metric="safety_count", baseline=0, level=5, mentions=mentions, hazards={"defect": 5}
    )
    process_events(make_config(), store, [event], now=NOW)
    evidence = list_tickets(store)[0].evidence
    assert evidence.authors == ["user0", "user1", "user2", "user3", "user9"]
    assert evidence.threads == [
        "https://forum.example/thread/0",
        "https://forum.example/thread/1",
        "https://forum.example/t/acme-kettle/9",  # no thread URL: the post itself
    ]
    assert evidence.mention_ids == [m.id for m in mentions]
    assert evidence.safety_hazards == {"defect": 5}
    assert len(evidence.series) == 3


def test_process_events_one_ongoing_shift_keeps_one_ticket(store: SqliteStore) -> None:
    config = make_config()
    first = _stored(store, [make_mention(i, hazards=("defect",)) for i in range(5)])
    more = _stored(store, [make_mention(i, hazards=("fire_burn",), severity=2) for i in range(5, 9)])
    shift = make_event("acme-kettle", metric="negative_share", baseline=0.1, level=0.3, mentions=first)
    process_events(config, store, [shift], now=NOW)
    (opened,) = list_tickets(store)
    assert opened.severity == "medium"

    # the detector re-emits the same shift with more evidence, and a second metric moves too
    grown = make_event("acme-kettle", metric="negative_share", baseline=0.1, level=0.3, mentions=first + more)
    safety = make_event(
        "acme-kettle", metric="safety_count", baseline=3, level=4, mentions=more, hazards={"fire_burn": 4}
    )
    later = NOW + timedelta(hours=6)
    summary = process_events(config, store, [grown, safety], now=later)
    assert (summary.opened, summary.updated) == (0, 1)
    (ticket,) = list_tickets(store)
    assert ticket.id == opened.id
    assert ticket.evidence.trend_ids == [shift.id, safety.id]
    assert ticket.evidence.mention_ids == [m.id for m in first + more]
    assert ticket.severity == "high"  # raised by the fire hazard, never lowered
    assert ticket.due == min(opened.due, later + timedelta(hours=config.alerts.sla_hours["high"]))
    # the safety shift comes first (it heads a product ticket) and brings the new mentions too
    assert [h.action for h in ticket.history] == ["open", "evidence", "severity"]


@pytest.mark.parametrize("close", [("acknowledge", "resolve"), ("dismiss",)])
def test_process_events_returning_shift_reopens_closed_ticket(
    store: SqliteStore, close: tuple[str, ...]
) -> None:
    config = make_config()
    mentions = _stored(store, [make_mention(i, hazards=("defect",)) for i in range(5)])
    first = make_event("acme-kettle", metric="negative_share", baseline=0.1, level=0.3, mentions=mentions)
    process_events(config, store, [first], now=NOW)
    (ticket,) = list_tickets(store)
    for action in close:
        transition(
            store, ticket.id, action, who="ana", note="fixed in firmware 1.2", now=NOW + timedelta(hours=1)
        )

    # the same shift seen again (a re-run) does not reopen
    assert process_events(config, store, [first], now=NOW + timedelta(days=1)).reopened == 0
    assert load_ticket(store, ticket.id).state in ("resolved", "dismissed")

    back = make_event(
        "acme-kettle",
        metric="negative_share",
        start=T0 + timedelta(days=20),
        baseline=0.1,
        level=0.3,
        mentions=mentions,
    )
    later = NOW + timedelta(days=20)
    summary = process_events(config, store, [back], now=later)
    assert (summary.reopened, summary.opened) == (1, 0)
    reopened = load_ticket(store, ticket.id)
    assert reopened.state == "open" and reopened.dismiss_reason is None
    assert reopened.due == later + timedelta(hours=config.alerts.sla_hours[reopened.severity])
    assert reopened.history[-1].action == "reopen" and reopened.history[-1].who == "groundswell"
    assert back.id in reopened.history[-1].note
    assert reopened.evidence.trend_ids == [first.id, back.id]
    # and re-running the returning shift changes nothing more
    assert process_events(config, store, [back], now=later + timedelta(hours=1)).unchanged == 1
    assert load_ticket(store, ticket.id) == reopened


def test_process_events_title_comes_from_the_subjects_own_series(store: SqliteStore) -> None:
    mentions = _stored(store, [make_mention(i, hazards=("fire_burn",), severity=2) for i in range(6)])
    topic = make_event(
        "9", group_by="topic", metric="volume", start=T0 - timedelta(days=5), mentions=mentions
    )
    own = make_event("acme-kettle", metric="safety_count", baseline=1, level=6, mentions=mentions)
    for events in ([topic, own], [own, topic]):
        fresh = SqliteStore(":memory:")
        fresh.upsert_mentions(mentions)
        process_events(make_config(), fresh, events, now=NOW)
        (ticket,) = list_tickets(fresh)
        assert "safety reports up from 1 to 6 a day (6.0x)" in ticket.title
        assert ticket.evidence.trend_ids == [own.id, topic.id]


def test_process_events_topic_shift_supports_but_never_opens_or_reopens(store: SqliteStore) -> None:
    config = make_config()
    mentions = _stored(store, [make_mention(i, hazards=("fire_burn",), severity=2) for i in range(6)])
    topic = make_event("9", group_by="topic", metric="volume", baseline=3, level=9, mentions=mentions)
    alone = process_events(config, store, [topic], now=NOW)
    assert (alone.opened, alone.skipped, list_tickets(store)) == (0, 1, [])
    own = make_event("acme-kettle", metric="safety_count", baseline=1, level=6, mentions=mentions)
    assert process_events(config, store, [own], now=NOW).opened == 1
    joined = process_events(config, store, [topic], now=NOW + timedelta(hours=1))
    (ticket,) = list_tickets(store)
    assert joined.updated == 1 and ticket.evidence.trend_ids == [own.id, topic.id]
    transition(
        store, ticket.id, "dismiss", who="ana", note="known batch, recalled", now=NOW + timedelta(hours=2)
    )
    later = make_event(
        "9", group_by="topic", metric="volume", start=T0 + timedelta(days=9), mentions=mentions
    )
    assert process_events(config, store, [later], now=NOW + timedelta(days=9)).reopened == 0
    assert load_ticket(store, ticket.id).state == "dismissed"


def test_process_events_two_events_for_one_ticket_in_one_run_count_once(store: SqliteStore) -> None:
    events = [
        make_event("acme", metric="negative_share", baseline=0.1, level=0.3),
        make_event("acme", metric="complaint_share", baseline=0.1, level=0.3),
    ]
    summary = process_events(make_config(), store, events, now=NOW)
    assert (summary.opened, summary.updated, len(summary.tickets)) == (1, 0, 1)
    (ticket,) = list_tickets(store)
    assert len(ticket.evidence.trend_ids) == 2
    assert [h.action for h in ticket.history] == ["open"]  # the second shift folds into the opening


@pytest.mark.parametrize(
    ("metric", "direction", "baseline", "level", "expected"),
    [
        ("volume", "up", 4, 12, "mentions up from 4 to 12 a day (3.0x)"),
        ("volume", "up", 0.238, 2, "mentions up from 0.24 to 2 a day"),
        ("volume", "up", 0, 6.29, "mentions up from 0 to 6.3 a day"),
        ("volume", "down", 20, 15, "mentions down from 20 to 15 a day (-25%)"),
        ("safety_count", "up", 0.0476, 5.74, "safety reports up from under 0.1 to 5.7 a day"),
        ("safety_count", "up", 1.2, 30, "safety reports up from 1.2 to 30 a day (25x)"),
        ("negative_share", "up", 0.1, 0.45, "negative share up from 10% to 45%"),
        ("mean_sentiment", "down", 0.2, -0.35, "mean sentiment down from +0.20 to -0.35"),
    ],
)
def test_ticket_titles_say_the_change_in_a_readers_words(
    metric: str, direction: str, baseline: float, level: float, expected: str
) -> None:
    """No raw metric ids ('safety_count') and no '+11959%' from a near-zero baseline in a title."""
    from alerts.rules import describe_change

    event = make_event("acme-kettle", metric=metric, direction=direction, baseline=baseline, level=level)
    assert describe_change(event) == expected


def test_hourly_series_are_described_per_hour() -> None:
    from alerts.rules import describe_change
    from groundswell.records import SeriesValue

    event = make_event("acme-kettle", baseline=2, level=9)
    event.series = [SeriesValue(t=T0 + timedelta(hours=h), value=2.0, count=2) for h in range(3)]
    assert describe_change(event) == "mentions up from 2 to 9 an hour (4.5x)"
