"""Source health from the collection ledger: last success, gaps, errors by reason, health events; web page and brief."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from groundswell.health import source_health
from groundswell.records import LedgerEntry
from groundswell.store.sqlite import SqliteStore
from tests.kit.sample import sample_config
from web.app import create_app

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _entry(
    source: str, hours_ago: float, status: str, previous_end: datetime | None, **extra: object
) -> LedgerEntry:
    started = NOW - timedelta(hours=hours_ago)
    run = f"run-{hours_ago}"
    return LedgerEntry(
        id=LedgerEntry.make_id(source, run), source=source, kind="forum", run_id=run, started=started,
        finished=started + timedelta(minutes=2), status=status, covered_start=previous_end,  # type: ignore[arg-type]
        covered_end=None if status == "failed" else started, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def _store() -> SqliteStore:
    store = SqliteStore(":memory:")
    a1 = _entry("forum-a", 30, "ok", None, items=5, pages=3)
    store.record_collection(a1)
    store.record_collection(_entry("forum-a", 20, "failed", None, errors=2, errors_by_reason={"http_503": 2}))
    store.record_collection(
        _entry("forum-a", 10, "failed", None, errors=1, errors_by_reason={"timeout": 1}, message="timeout")
    )
    b1 = _entry("feed-b", 30, "ok", None, items=4)
    store.record_collection(b1)
    store.record_collection(
        _entry(
            "feed-b",
            10,
            "partial",
            b1.covered_end,
            pages=1,
            errors=1,
            errors_by_reason={"empty body": 1},
            empty_reason="1 response(s) yielded nothing, e.g. http://b/feed.xml: empty body",
        )
    )
    store.put_doc("trends", "h1", {"id": "h1", "kind": "health", "reason": "failing", "group_by": "source",
                                   "key": "forum-a", "start": (NOW - timedelta(hours=20)).isoformat()})  # fmt: skip
    return store


def test_source_health_reports_last_success_gaps_errors_and_events() -> None:
    rows = {r.source: r for r in source_health(_store(), ["forum-a", "feed-b", "never-run"], now=NOW)}
    a, b, never = rows["forum-a"], rows["feed-b"], rows["never-run"]
    assert a.status == "failed" and a.last_success == NOW - timedelta(hours=30) + timedelta(minutes=2)
    assert a.gaps == [(NOW - timedelta(hours=30), NOW)] and a.errors_by_reason == {
        "http_503": 2,
        "timeout": 1,
    }
    assert [e["reason"] for e in a.events] == ["failing"]
    assert b.status == "partial" and b.gaps == [] and "empty body" in (b.empty_reason or "")
    assert never.status == "never" and never.runs == 0
    order = [r.source for r in source_health(_store(), ["feed-b", "never-run", "forum-a"], now=NOW)]
    assert order == ["forum-a", "never-run", "feed-b"]  # worst first: failed, never collected, partial


def test_sources_page_shows_each_source_with_its_gaps_and_reasons() -> None:
    config = sample_config()
    store = _store()
    names = [s.name for s in config.sources if s.enabled][:1]
    store.record_collection(_entry(names[0], 5, "ok", None, items=9))
    client = TestClient(create_app(config, store), base_url="http://127.0.0.1")
    page = client.get("/sources?days=3650")
    assert page.status_code == 200, page.text[:500]
    assert names[0] in page.text and 'href="/sources"' in page.text


def test_brief_appendix_lists_source_health_for_the_week(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from brief.build import build_brief
    from tests.kit.sample import make_market, synthetic_config

    week = date(2026, 11, 16)
    store = SqliteStore(":memory:")
    make_market(store, week_start=week, seed=7, per_week=40, weeks=1)
    config = synthetic_config(tmp_path)
    name = "forum-x"  # the synthetic config declares no source: the ledger alone names it
    store.record_collection(_entry(name, 80, "ok", None, items=3))  # NOW is 2026-11-20 12:00
    store.record_collection(_entry(name, 40, "failed", None, errors=4, errors_by_reason={"http_503": 4}))
    store.put_doc("trends", "h2", {"id": "h2", "kind": "health", "reason": "stopped_delivering",
                                   "group_by": "source", "key": name, "start": "2026-11-18T00:00:00+00:00"})  # fmt: skip
    result = build_brief(config, store, week_start=week, out_dir=tmp_path / "out", pdf=False, now=NOW)
    html = result.html_path.read_text(encoding="utf-8")
    section = html[html.index('id="source-health"') :]
    assert name in section and "failed" in section and "http_503: 4" in section
    assert "stopped_delivering since 2026-11-18" in section
    assert "80.0 h" in section  # from the last covered end (80 h before NOW) to NOW: missing, not zero
