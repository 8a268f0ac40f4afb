"""An outage is not a collapse: coverage from the collection ledger, source health, honest exit codes.

Cheap versions of the issue's scenario on an in-memory store (the full `groundswell demo` then a
failing run a week later is in `tests/test_end_to_end.py`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from groundswell.config import Config, parse_config
from groundswell.mention import Mention, SourceKind
from groundswell.records import LedgerEntry
from groundswell.store.sqlite import SqliteStore
from tests.kit.trends import DAY0, planted_mentions
from trends.coverage import coverage, covered_buckets, source_health
from trends.detect import detect

SOURCES = ("demo-forum", "demo-reviews")
OUTAGE_DAY = 54  # collection fails from this day on (the planted shift of day 45 is confirmed by then)
END_DAY = 64  # the detector runs on this day: ten days into the outage
NOW = DAY0 + timedelta(days=END_DAY, hours=6)


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(
        {
            "sources": [
                {"name": "demo-forum", "kind": "forum", "url": "http://127.0.0.1:9/forum/"},
                {"name": "demo-reviews", "kind": "review", "url": "http://127.0.0.1:9/reviews/"},
            ],
            "brands": [
                {"id": "acme", "name": "Acme", "products": [{"id": "acme-phone", "name": "Acme Phone"}]}
            ],
            "competitors": [{"id": "globex", "name": "Globex"}],
        }
    )


def _entry(source: str, run: int, status: str, covered_end: datetime | None, items: int = 0) -> LedgerEntry:
    finished = DAY0 + timedelta(days=run, hours=1)
    return LedgerEntry(
        id=LedgerEntry.make_id(source, f"run-{run}"),
        source=source,
        run_id=f"run-{run}",
        started=finished - timedelta(minutes=10),
        finished=finished,
        status=status,  # type: ignore[arg-type]
        covered_start=None,
        covered_end=covered_end,
        items=items,
        errors=0 if status == "ok" else 3,
        errors_by_reason={} if status == "ok" else {"connection_refused": 3},
    )


def _outage_store() -> SqliteStore:
    """Mentions up to the outage (nothing collected after it), one ok run, then a failed run a day."""
    store = SqliteStore(":memory:")
    store.upsert_mentions([m for m in planted_mentions() if m.published < DAY0 + timedelta(days=OUTAGE_DAY)])
    for source in SOURCES:
        store.record_collection(_entry(source, OUTAGE_DAY, "ok", DAY0 + timedelta(days=OUTAGE_DAY), 500))
        for day in range(OUTAGE_DAY + 1, END_DAY + 1):
            store.record_collection(_entry(source, day, "failed", None))
    return store


def test_uncovered_buckets_are_missing_not_a_collapse(config: Config) -> None:
    summary = detect(config, _outage_store(), now=NOW)
    falls = [e for e in summary.events if e.direction == "down" and e.metric == "volume"]
    assert not falls, [(e.kind, e.key, e.start) for e in falls]
    assert all(e.start < DAY0 + timedelta(days=OUTAGE_DAY) for e in summary.events)
    assert summary.missing == END_DAY - OUTAGE_DAY
    # the planted negative shift before the outage is still found
    assert [e for e in summary.events if e.kind == "shift" and e.key == "acme-phone"]


def test_without_the_ledger_the_same_silence_reads_as_a_collapse(config: Config) -> None:
    """The control: the ledger, not some other rule, is what keeps the outage out."""
    store = SqliteStore(":memory:")
    store.upsert_mentions([m for m in planted_mentions() if m.published < DAY0 + timedelta(days=OUTAGE_DAY)])
    summary = detect(config, store, now=NOW)
    assert summary.missing == 0
    assert [e for e in summary.events if e.direction == "down" and e.metric == "volume"]


def test_failing_sources_raise_one_health_event_each_and_no_ticket(config: Config) -> None:
    import alerts

    store = _outage_store()
    summary = detect(config, store, now=NOW)
    health = summary.health
    assert sorted(e.key for e in health) == sorted(SOURCES)
    for e in health:
        assert (e.kind, e.reason, e.group_by, e.team) == ("health", "failing", "source", "operations")
        assert e.periods_confirmed == END_DAY - OUTAGE_DAY
        assert any("connection_refused" in d for d in e.drivers)
    stored = store.query_docs("trends", where={"kind": "health"})
    assert sorted(d["key"] for d in stored) == sorted(SOURCES)
    tickets = alerts.process_events(config, store, health, now=NOW)
    assert tickets.opened == 0 and not store.query_docs("tickets")
    # a re-run keeps one event per source (stable ids)
    detect(config, store, now=NOW + timedelta(days=1))
    assert len(store.query_docs("trends", where={"kind": "health"})) == len(SOURCES)


def test_a_source_that_answers_with_nothing_has_stopped_delivering(config: Config) -> None:
    store = SqliteStore(":memory:")
    for day in range(10):
        store.record_collection(_entry("demo-forum", day, "ok", DAY0 + timedelta(days=day), 40))
    for day in range(10, 14):
        store.record_collection(_entry("demo-forum", day, "ok", DAY0 + timedelta(days=day), 0))
    events = source_health(config, store, now=DAY0 + timedelta(days=14))
    assert [(e.key, e.reason) for e in events] == [("demo-forum", "stopped_delivering")]
    assert events[0].baseline == 40


def test_one_empty_run_is_not_an_outage(config: Config) -> None:
    store = SqliteStore(":memory:")
    for day in range(10):
        store.record_collection(_entry("demo-forum", day, "ok", DAY0 + timedelta(days=day), 40))
    store.record_collection(_entry("demo-forum", 10, "ok", DAY0 + timedelta(days=10), 0))
    assert source_health(config, store, now=DAY0 + timedelta(days=11)) == []


def test_the_last_bucket_counts_only_when_complete() -> None:
    times = [DAY0 + timedelta(days=d) for d in range(3)]
    runs = [_entry("demo-forum", 2, "ok", DAY0 + timedelta(days=2, hours=9))]
    assert covered_buckets(runs, times, timedelta(days=1)).tolist() == [True, True, False]


def test_no_ledger_means_everything_is_covered() -> None:
    times = [DAY0 + timedelta(days=d) for d in range(3)]
    cov = coverage(SqliteStore(":memory:"), times, timedelta(days=1))
    assert not cov.known and cov.overall.all()


def test_a_source_that_never_delivered_does_not_blank_the_others() -> None:
    store = SqliteStore(":memory:")
    times = [DAY0 + timedelta(days=d) for d in range(3)]
    store.record_collection(_entry("demo-forum", 3, "ok", DAY0 + timedelta(days=3), 10))
    store.record_collection(_entry("demo-reviews", 3, "failed", None))
    assert coverage(store, times, timedelta(days=1)).overall.all()


def test_a_fall_made_by_fewer_than_min_authors_is_no_shift(config: Config) -> None:
    """Three regulars stop posting about globex: a real, covered fall, but too few people for a shift."""
    rng = np.random.default_rng(3)
    store = SqliteStore(":memory:")
    mentions = []
    for day in range(50):
        for j in range(int(rng.poisson(12))):
            mentions.append(
                Mention(
                    source="demo-forum",
                    source_kind=SourceKind.forum,
                    url=f"https://demo.example/g/{day}/{j}",
                    author=f"regular{j % 3}",
                    published=DAY0 + timedelta(days=day, hours=int(rng.integers(24))),
                    text=f"globex post {day} {j}",
                    enriched=True,
                    entities=["globex"],
                    sentiment="neutral",
                    sentiment_score=0.0,
                )
            )
    store.upsert_mentions(mentions)
    summary = detect(config, store, now=NOW)
    falls = [e for e in summary.events if e.key == "globex" and e.direction == "down" and e.kind == "shift"]
    assert not falls
    for e in summary.events:
        if e.kind == "shift":
            assert e.authors >= config.trends.min_authors, e


# ---- the pipeline's exit code -----------------------------------------------------------------
def _collect_summaries(items: int, errors: int) -> Any:
    from crawlers.collect import CollectSummary

    return lambda *a, **k: [
        CollectSummary(source=s, items=items, errors=errors, error_reasons=["connection refused"] * errors)
        for s in SOURCES
    ]


def test_a_run_in_which_every_source_failed_exits_non_zero(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groundswell.app import pipeline

    store = _outage_store()
    monkeypatch.setattr(pipeline, "collect", _collect_summaries(0, 3))
    summary = pipeline.run_pipeline(config, store, now=NOW)
    assert summary.exit_code != 0
    assert summary.failed_sources == list(SOURCES)
    assert "every source failed" in summary.problems[0]
    assert summary.detected.shifts == 0 and summary.tickets is None and summary.brief is None
    assert sorted(e.key for e in summary.detected.health) == sorted(SOURCES)
    assert not store.query_docs("tickets")


def test_the_run_command_exits_non_zero_and_says_why(
    config: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import yaml
    from typer.testing import CliRunner

    from groundswell.app import pipeline
    from groundswell.app.cli import app

    raw = config.model_dump(mode="json", exclude_defaults=True)
    raw["data_dir"] = str(tmp_path)
    cfg_path = tmp_path / "groundswell.yaml"
    cfg_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setattr(pipeline, "collect", _collect_summaries(0, 2))
    result = CliRunner().invoke(app, ["run", "-c", str(cfg_path), "--now", NOW.isoformat()])
    assert result.exit_code == 1, result.output
    assert "every source failed" in result.output
    assert "failed" in result.output


def test_a_partial_failure_is_reported_per_source() -> None:
    from crawlers.collect import CollectSummary
    from groundswell.app.pipeline import source_outcomes

    failed, partial = source_outcomes(
        [
            CollectSummary(source="a", items=10),
            CollectSummary(source="b", items=4, errors=1),
            CollectSummary(source="c", errors=2),
        ]
    )
    assert (failed, partial) == (["c"], ["b"])


def test_trends_list_shows_health_events(config: Config, tmp_path: Any) -> None:
    import yaml
    from typer.testing import CliRunner

    from groundswell.config import load_config
    from groundswell.store import open_store
    from trends.cli import app

    raw = config.model_dump(mode="json", exclude_defaults=True)
    raw["data_dir"] = str(tmp_path)
    cfg_path = tmp_path / "groundswell.yaml"
    cfg_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with open_store(load_config(cfg_path)) as store:
        store.record_collection(_entry("demo-forum", 1, "ok", DAY0 + timedelta(days=1), 30))
        store.record_collection(_entry("demo-forum", 2, "failed", None))
        source_health(load_config(cfg_path), store, now=DAY0 + timedelta(days=3))
    result = CliRunner().invoke(
        app, ["list", "-c", str(cfg_path), "--kind", "health"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "health" in result.output and "demo-forum" in result.output
    assert "1 trend events" in result.output
    developing = CliRunner().invoke(app, ["list", "-c", str(cfg_path), "--kind", "developing"])
    assert developing.exit_code == 0 and "0 trend events" in developing.output


def test_undelivered_notifications_make_a_partial_run() -> None:
    from groundswell.app.pipeline import RunSummary

    summary = RunSummary(problems=["2 notifications could not be delivered (retried on the next run)"])
    assert summary.exit_code == 3  # groundswell.exitcodes.PARTIAL: the rest of the run was done
    assert RunSummary().exit_code == 0


def test_a_small_failing_source_loses_only_its_own_series() -> None:
    """One feed with a few percent of the volume keeps failing: the other series are still judged
    on every bucket, and the feed's own silence is not a collapse."""
    cfg = parse_config(
        {
            "sources": [
                {"name": "demo-forum", "kind": "forum", "url": "http://127.0.0.1:9/forum/"},
                {"name": "demo-reviews", "kind": "review", "url": "http://127.0.0.1:9/reviews/"},
                {"name": "tiny-feed", "kind": "rss", "url": "http://127.0.0.1:9/feed.xml"},
            ],
            "brands": [
                {"id": "acme", "name": "Acme", "products": [{"id": "acme-phone", "name": "Acme Phone"}]}
            ],
            "competitors": [{"id": "globex", "name": "Globex"}],
        }
    )
    store = SqliteStore(":memory:")
    store.upsert_mentions(planted_mentions())
    tiny = [
        Mention(
            source="tiny-feed",
            source_kind=SourceKind.news,
            url=f"https://feed.example/{day}",
            author=f"reporter{day % 7}",
            published=DAY0 + timedelta(days=day, hours=9),
            text="globex quarterly news",
            enriched=True,
            entities=["globex"],
            sentiment="neutral",
            sentiment_score=0.0,
        )
        for day in range(OUTAGE_DAY)
    ]
    store.upsert_mentions(tiny)
    for source in SOURCES:
        store.record_collection(_entry(source, END_DAY, "ok", DAY0 + timedelta(days=END_DAY), 500))
    store.record_collection(_entry("tiny-feed", OUTAGE_DAY, "ok", DAY0 + timedelta(days=OUTAGE_DAY), 50))
    for day in range(OUTAGE_DAY + 1, END_DAY + 1):
        store.record_collection(_entry("tiny-feed", day, "failed", None))
    summary = detect(cfg, store, now=NOW)
    assert summary.missing == 0
    assert not [e for e in summary.events if e.key == "tiny-feed" and e.kind != "health"]
    assert [(e.key, e.reason) for e in summary.health] == [("tiny-feed", "failing")]
    assert [e for e in summary.events if e.kind == "shift" and e.key == "acme-phone"]


def test_a_web_source_served_from_the_crawl_cache_is_unreachable_not_unchanged() -> None:
    """Scrapy's RFC 2616 cache answers for a site that is down ('errorrecovery'): that is an outage."""
    from crawlers.web.run import summarize
    from groundswell.config import SourceConfig

    source = SourceConfig(name="demo-forum", kind="forum", url="http://127.0.0.1:9/forum/")
    stats = {
        "response_received_count": 17,
        "httpcache/errorrecovery": 17,
        "groundswell/threads_unchanged": 302,
        "finish_reason": "finished",
    }
    summary = summarize(source, "forum", stats, 1.0)
    assert summary["errors"] == 17 and summary["error_reasons"] == {"unreachable_served_from_cache": 17}
    assert summarize(source, "forum", {"response_received_count": 17}, 1.0)["errors"] == 0
