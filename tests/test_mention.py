"""The Mention schema: stable ids, canonical URLs, UTC times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from groundswell.mention import Mention, canonical_url


def _mention(**changes: object) -> Mention:
    values: dict[str, object] = {
        "source": "demo-forum",
        "source_kind": "forum",
        "url": "https://Forum.Example.com:443/t/42/?utm_source=x&page=2#reply-3",
        "published": datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        "text": "My kettle died after a week",
    }
    values.update(changes)
    return Mention.model_validate(values)


def test_canonical_url_drops_tracking_fragment_default_port_and_trailing_slash() -> None:
    assert (
        canonical_url("https://Forum.Example.com:443/t/42/?utm_source=x&page=2#reply-3")
        == "https://forum.example.com/t/42?page=2"
    )
    assert canonical_url("http://a.com/x?b=2&a=1") == canonical_url("http://a.com/x?a=1&b=2")
    assert canonical_url("http://127.0.0.1:8765/p") == "http://127.0.0.1:8765/p"


def test_mention_id_is_stable_across_crawls_and_url_variants() -> None:
    first = _mention()
    again = _mention(
        url="https://forum.example.com/t/42?page=2&utm_medium=social", collected=datetime(2030, 1, 1)
    )
    assert first.id == again.id
    assert _mention(source="other").id != first.id


def test_mention_id_prefers_the_sources_own_id() -> None:
    a = _mention(external_id="t3_abc", url="https://reddit.com/r/x/comments/abc/one")
    b = _mention(external_id="t3_abc", url="https://old.reddit.com/r/x/comments/abc/")
    assert a.id == b.id


def test_mention_times_are_utc() -> None:
    m = _mention()
    assert m.published.utcoffset() == timedelta(0)
    assert m.published.hour == 10
    naive = _mention(published=datetime(2026, 3, 1, 12, 0))
    assert naive.published.tzinfo is not None and naive.published.hour == 12


def test_mention_round_trips_through_json() -> None:
    m = _mention(entities=["acme"], sentiment="negative", sentiment_score=-0.7)
    assert Mention.model_validate_json(m.model_dump_json()) == m
