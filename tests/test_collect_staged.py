"""Collect tasks in parallel, then one ordered store step: the store `collect_all` writes in one process.

Two feeds carry copies of the same syndicated story (the blog's copy published earlier than the
wire's), so which copy a run keeps depends on the order the sources are stored in: `collect_all`
stores them in configuration order and keeps the wire's. Staging each source (`stage_source`, one
Airflow task per source, finishing in any order) and then `store_staged` must give the same mentions
(ids, duplicate counts, absorbed ids), ledger counts and cursors, on both store backends, also when a
task is retried or the store step is cut short and run again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from crawlers.collect import collect_all, stage_source, staged_key, state_key, store_staged
from crawlers.feeds.replay import ReplayServer
from groundswell.config import Config, parse_config
from groundswell.records import LedgerEntry
from groundswell.store.base import Store
from groundswell.store.sqlite import SqliteStore

STORY = (
    "The Kestrel K2 kettle recall covers units sold since March after reports that the lid latch "
    "fails under steam pressure; owners should stop using it and ask for a free replacement lid."
)
SOURCES = ("wire", "blog", "forum")  # configuration order


def _item(link: str, title: str, text: str, published: datetime) -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link><description>{text}</description>"
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate></item>"
    )


def _rss(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


@pytest.fixture
def feeds() -> Any:
    # recent dates: a later run's dedup indexes the stored mentions of the last 30 days
    now = datetime.now(UTC).replace(microsecond=0)
    wire = [
        _item("http://wire.example/recall", "Kettle recall", STORY, now - timedelta(hours=5)),
        _item("http://wire.example/prices", "Prices", "Kettle prices rise again across the region this week.", now - timedelta(hours=9)),
    ]  # fmt: skip
    blog = [
        _item("http://blog.example/recall", "Kettle recall", STORY + " (via the wire)", now - timedelta(hours=7)),
        _item("http://blog.example/review", "Review", "My own review of the Kestrel K2: boils fast, loud lid.", now - timedelta(hours=8)),
    ]  # fmt: skip
    forum = [
        _item("http://forum.example/t/1", "Recall?", "Reposting: " + STORY, now - timedelta(hours=6)),
    ]
    with ReplayServer() as server:
        for name, items in (("wire", wire), ("blog", blog), ("forum", forum)):
            server.add(f"/{name}.xml", body=_rss(items), headers={"Content-Type": "application/rss+xml"})
        yield server


def _config(tmp_path: Path, feeds: Any, extra: list[dict[str, Any]] = ()) -> Config:  # type: ignore[assignment]
    sources = [{"name": n, "kind": "rss", "url": f"{feeds.url}/{n}.xml"} for n in SOURCES]
    return parse_config(
        {"data_dir": str(tmp_path / "data"), "sources": [*sources, *extra]}, base_dir=tmp_path
    )


def _snapshot(store: Store, config: Config) -> dict[str, Any]:
    """Everything collection writes, without what depends on the clock or the run id."""
    return {
        "mentions": {m.id: m.model_dump(mode="json", exclude={"collected"}) for m in store.iter_mentions()},
        "ledger": sorted(
            (e.source, e.status, e.items, e.new, e.pages, e.errors) for e in store.collection_ledger()
        ),
        "cursors": {s.name: store.get_state(state_key(s)) for s in config.sources},
    }


def _reference(config: Config) -> dict[str, Any]:
    store = SqliteStore(":memory:")
    collect_all(config, store)
    return _snapshot(store, config)


def _story_copies(snapshot: dict[str, Any]) -> list[tuple[str, int, list[str]]]:
    return [
        (m["source"], m["duplicate_count"], m["raw"].get("duplicate_ids", []))
        for m in snapshot["mentions"].values()
        if "Kestrel K2 kettle recall" in m["text"]
    ]


def _no_staged_documents(store: Store, run_id: str) -> bool:
    return all(
        store.get_state(key) is None
        for name in SOURCES
        for key in (staged_key(run_id, name), staged_key(run_id, name, 0))
    )


def test_the_fixture_is_order_sensitive_and_collect_all_keeps_the_first_sources_copy(
    tmp_path: Path, feeds: Any
) -> None:
    config = _config(tmp_path, feeds)
    reference = _reference(config)
    [(source, count, absorbed)] = _story_copies(reference)
    assert (source, count, len(absorbed)) == ("wire", 3, 2)
    # what the DAG did before: each task deduplicated against whatever was stored when it finished
    raced = SqliteStore(":memory:")
    for name in reversed(SOURCES):
        collect_all(config, raced, sources=[name])
    # the blog's copy, stored before the wire's, absorbed it; the forum's repost, stored first, matched
    # neither of the others alone (the story's copies are alike two by two, not all three)
    assert sorted((source, count) for source, count, _ in _story_copies(_snapshot(raced, config))) == [
        ("blog", 2),
        ("forum", 1),
    ]


@pytest.mark.parametrize("order", [SOURCES, tuple(reversed(SOURCES)), ("blog", "forum", "wire")])
def test_staged_sources_stored_in_order_give_what_collect_all_gives(
    store: Store, tmp_path: Path, feeds: Any, order: tuple[str, ...]
) -> None:
    config = _config(tmp_path, feeds)
    reference = _reference(config)
    for name in order:  # the collect tasks finish in this order
        staged = stage_source(config, name, store, run_id="scheduled__1")
        assert (staged.items, staged.new, staged.duplicates) == (
            {"wire": 2, "blog": 2, "forum": 1}[name],
            0,
            0,
        )
    assert store.count() == 0  # staging stores no mention, no ledger entry and no cursor
    assert store.collection_ledger() == []
    summaries = store_staged(config, store, run_id="scheduled__1")
    assert [s.source for s in summaries] == list(SOURCES)
    assert [(s.new, s.duplicates) for s in summaries] == [(2, 0), (1, 1), (0, 1)]
    assert _snapshot(store, config) == reference
    assert {e.run_id for e in store.collection_ledger()} == {"scheduled__1"}
    assert _no_staged_documents(store, "scheduled__1")


def test_a_retried_collect_task_and_a_store_step_cut_short_then_rerun_change_nothing(
    store: Store, tmp_path: Path, feeds: Any
) -> None:
    config = _config(tmp_path, feeds)
    reference = _reference(config)
    for name in ("forum", "blog", "blog", "wire"):  # blog's task retried: its staging is replaced
        stage_source(config, name, store, run_id="scheduled__2")
    # the store step dies after its first source, then its retry stores them all
    first = store_staged(config, store, run_id="scheduled__2", sources=["wire"])
    assert [(s.source, s.new) for s in first] == [("wire", 2)]
    retried = store_staged(config, store, run_id="scheduled__2")
    assert [(s.source, s.items, s.new) for s in retried] == [("wire", 2, 2), ("blog", 2, 1), ("forum", 1, 0)]
    assert _snapshot(store, config) == reference
    # cleared once more after success: nothing staged is left, so nothing is written twice
    again = store_staged(config, store, run_id="scheduled__2")
    assert [(s.source, s.items, s.new, s.failed) for s in again] == [
        ("wire", 2, 2, False),
        ("blog", 2, 1, False),
        ("forum", 1, 0, False),
    ]
    assert _snapshot(store, config) == reference


def test_the_next_run_keeps_the_stored_representative(store: Store, tmp_path: Path, feeds: Any) -> None:
    config = _config(tmp_path, feeds)
    reference = SqliteStore(":memory:")
    for run in ("scheduled__3", "scheduled__4"):
        collect_all(config, reference)
        for name in reversed(SOURCES):
            stage_source(config, name, store, run_id=run)
        store_staged(config, store, run_id=run)
    assert _snapshot(store, config) == _snapshot(reference, config)
    assert len(store.collection_ledger()) == 2 * len(SOURCES)
    [(source, _, absorbed)] = _story_copies(_snapshot(store, config))
    assert (source, len(absorbed)) == ("wire", 2)  # ids stay stable across runs


def test_a_source_whose_task_staged_nothing_is_recorded_as_failed_and_the_others_stored(
    store: Store, tmp_path: Path, feeds: Any
) -> None:
    config = _config(tmp_path, feeds)
    for name in ("wire", "forum"):  # blog's task died before it staged anything
        stage_source(config, name, store, run_id="scheduled__5")
    store.set_state(staged_key("scheduled__5", "blog", 0), [])  # a part left by a staging cut short
    summaries = {s.source: s for s in store_staged(config, store, run_id="scheduled__5")}
    assert summaries["blog"].failed and "staged nothing" in summaries["blog"].error_reasons[0]
    entry = store.get_record(LedgerEntry, LedgerEntry.make_id("blog", "scheduled__5"))
    assert entry is not None and (entry.status, entry.covered_end) == ("failed", None)
    assert (summaries["wire"].new, summaries["forum"].new, summaries["forum"].duplicates) == (2, 0, 1)
    assert _no_staged_documents(store, "scheduled__5")


def test_a_failed_source_is_staged_and_recorded_by_the_store_step(
    store: Store, tmp_path: Path, feeds: Any
) -> None:
    gone = {"name": "gone", "kind": "rss", "url": f"{feeds.url}/missing.xml"}
    config = _config(tmp_path, feeds, [gone])
    staged = stage_source(config, "gone", store, run_id="scheduled__6")
    assert staged.errors and store.collection_ledger() == []
    [summary] = store_staged(config, store, run_id="scheduled__6", sources=["gone"])
    [entry] = store.collection_ledger()
    assert (entry.source, entry.status, entry.run_id, summary.errors) == ("gone", "failed", "scheduled__6", 1)


def test_housekeeping_drops_the_staging_of_runs_never_stored_once_two_days_old(
    store: Store, tmp_path: Path, feeds: Any
) -> None:
    from crawlers.collect import drop_stale_staging

    config = _config(tmp_path, feeds)
    for name in SOURCES:  # a run whose store step never ran, then a run under way
        stage_source(config, name, store, run_id="scheduled__old")
    stage_source(config, "wire", store, run_id="scheduled__new")
    store.set_state("cursor-like", {"parts": 1})  # not staging: kept whatever its value
    later = datetime.now(UTC) + timedelta(days=1)
    assert drop_stale_staging(store, now=later) == 0  # a day old: its store step may still come
    assert drop_stale_staging(store, now=later + timedelta(days=2)) == 4
    assert _no_staged_documents(store, "scheduled__old") and _no_staged_documents(store, "scheduled__new")
    assert store.get_state("cursor-like") == {"parts": 1} and store.collection_ledger() == []
    assert store.count() == 0  # staging is never stored as mentions by housekeeping


def test_the_maintenance_task_drops_stale_staging(tmp_path: Path, feeds: Any) -> None:
    import yaml

    from groundswell.app import tasks
    from groundswell.config import load_config
    from groundswell.store import open_store

    path = tmp_path / "groundswell.yaml"
    source = {"name": "wire", "kind": "rss", "url": f"{feeds.url}/wire.xml"}
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "sources": [source]}))
    config = load_config(path)
    with open_store(config) as store:
        stage_source(config, "wire", store, run_id="scheduled__lost")
    assert tasks.rollover(str(path))["stale_staging_dropped"] == 0  # staged just now
    old = datetime.now(UTC) - timedelta(days=3)
    with open_store(config) as store:  # the same staging, three days old
        head = store.get_state(staged_key("scheduled__lost", "wire"))
        store.set_state(staged_key("scheduled__lost", "wire"), {**head, "started_at": old.isoformat()})
    assert tasks.rollover(str(path))["stale_staging_dropped"] == 1
    with open_store(config) as store:
        assert store.get_state(staged_key("scheduled__lost", "wire", 0)) is None and store.count() == 0
