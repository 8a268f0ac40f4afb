"""collect writes one ledger entry per source per run, explains empty sources, and stays idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawlers import collect
from crawlers.collect import collect_all, collect_source
from crawlers.feeds.replay import ReplayServer
from groundswell.config import parse_config
from groundswell.store.sqlite import SqliteStore
from tests.test_collect_sources import fake_runner  # noqa: F401  (fixture)


def _rss(items: str, encoding: str = "utf-8") -> str:
    return f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def _item(n: int, title: str, date: str) -> str:
    return f"<item><title>{title}</title><link>http://feed.example/{n}</link><description>{title} text {n}</description><pubDate>{date}</pubDate></item>"


GOOD = _rss("".join(_item(n, f"Kettle report {n}", f"Mon, 0{n} Nov 2026 10:00:00 GMT") for n in range(1, 4)))
BIG5 = _rss(
    "".join(_item(n, f"電熱水壺 投訴 {n}", f"Mon, 0{n} Nov 2026 10:00:00 GMT") for n in range(1, 3)), "big5"
)
HIGH_BIT_DATES = _rss(
    "".join(_item(n, f"Bouilloire {n}", f"Lun, 0{n} D\u00e9c 2026 10:00 +0100") for n in range(1, 3))
)
NO_ITEMS = _rss("")


def _config(tmp_path: Path, sources: list[dict[str, Any]]) -> Any:
    return parse_config({"data_dir": str(tmp_path / "data"), "sources": sources}, base_dir=tmp_path)


@pytest.fixture
def feeds() -> Any:
    with ReplayServer() as server:
        server.add("/good.xml", body=GOOD.encode(), headers={"Content-Type": "application/rss+xml"})
        server.add("/big5.xml", body=BIG5.encode("big5"), headers={"Content-Type": "application/rss+xml"})
        server.add("/dates.xml", body=HIGH_BIT_DATES.encode("latin-1"), headers={"Content-Type": "text/xml"})
        server.add("/zero.xml", body=b"", headers={"Content-Type": "application/rss+xml"})
        server.add("/none.xml", body=NO_ITEMS.encode(), headers={"Content-Type": "application/rss+xml"})
        yield server


def test_collect_all_writes_one_ledger_entry_per_source_with_one_run_id(tmp_path: Path, feeds: Any) -> None:
    config = _config(tmp_path, [
        {"name": "good", "kind": "rss", "url": f"{feeds.url}/good.xml"},
        {"name": "gone", "kind": "rss", "url": f"{feeds.url}/missing.xml"},
    ])  # fmt: skip
    store = SqliteStore(":memory:")
    collect_all(config, store)
    entries = {e.source: e for e in store.collection_ledger()}
    assert set(entries) == {"good", "gone"} and len({e.run_id for e in entries.values()}) == 1
    good, gone = entries["good"], entries["gone"]
    assert (good.status, good.items, good.new, good.pages, good.errors) == ("ok", 3, 3, 1, 0)
    assert good.covered_start is None and good.covered_end == good.started
    assert gone.status == "failed" and gone.covered_end is None and gone.errors_by_reason == {"HTTP 404": 1}


def test_a_second_run_covers_from_the_previous_end_and_writes_nothing_new(tmp_path: Path, feeds: Any) -> None:
    config = _config(tmp_path, [{"name": "good", "kind": "rss", "url": f"{feeds.url}/good.xml"}])
    store = SqliteStore(":memory:")
    collect_all(config, store)
    count = store.count()
    (second,) = collect_all(config, store)
    first_entry, second_entry = store.collection_ledger(sources=["good"])
    assert second_entry.covered_start == first_entry.covered_end
    assert second.new == 0 and store.count() == count  # idempotent re-run
    assert first_entry.run_id != second_entry.run_id


@pytest.mark.parametrize(
    ("path", "items", "status", "why"),
    [
        ("/big5.xml", 2, "ok", None),  # read with its declared charset
        ("/dates.xml", 2, "ok", None),  # high-bit bytes in the dates: kept, dated or flagged
        ("/zero.xml", 0, "failed", "empty body"),  # the one response was unusable: nothing covered
        ("/none.xml", 0, "ok", "no entries in the feed"),
    ],
)
def test_feeds_that_used_to_yield_nothing_are_read_or_explained(
    tmp_path: Path, feeds: Any, path: str, items: int, status: str, why: str | None
) -> None:
    config = _config(tmp_path, [{"name": "f", "kind": "rss", "url": f"{feeds.url}{path}"}])
    store = SqliteStore(":memory:")
    (summary,) = collect_all(config, store)
    (entry,) = store.collection_ledger()
    assert (summary.items, entry.status) == (items, status), summary
    if why is None:
        assert entry.empty_reason is None and not summary.empty
    else:
        assert why in (entry.empty_reason or "") and why in summary.empty[f"{feeds.url}{path}"]
    if path == "/big5.xml":
        assert all("電熱水壺" in m.title for m in store.iter_mentions())
    if path == "/dates.xml":
        assert all(m.raw.get("published_missing") or m.published.year == 2026 for m in store.iter_mentions())


def test_a_source_that_raises_is_recorded_as_failed(
    tmp_path: Path, feeds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, [{"name": "good", "kind": "rss", "url": f"{feeds.url}/good.xml"}])
    store = SqliteStore(":memory:")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "upsert_mentions", boom)
    collect_all(config, store)
    (entry,) = store.collection_ledger()
    assert entry.status == "failed" and entry.errors_by_reason == {"exception:RuntimeError": 1}
    assert "disk full" in entry.message and entry.covered_end is None


def test_a_crawler_that_dies_is_recorded_as_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "dying"
    pkg.mkdir()
    (pkg / "gs_dying_runner.py").write_text("import sys\nsys.exit(9)\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(pkg))
    monkeypatch.setattr(collect, "RUNNER_MODULE", "gs_dying_runner")
    config = _config(tmp_path, [{"name": "forum", "kind": "forum", "url": "http://forum.example"}])
    store = SqliteStore(":memory:")
    collect_source(config, "forum", store, state_dir=tmp_path / "state")
    (entry,) = store.collection_ledger()
    assert entry.status == "failed" and entry.errors_by_reason.get("crawler_died") == 1


def test_a_crawler_with_errors_and_items_is_partial(tmp_path: Path, fake_runner: Path) -> None:  # noqa: F811
    config = _config(tmp_path, [{"name": "forum", "kind": "forum", "url": "http://forum.example"}])
    store = SqliteStore(":memory:")
    collect_source(config, "forum", store, state_dir=tmp_path / "state")
    (entry,) = store.collection_ledger()
    assert entry.status == "partial" and entry.items == 3 and entry.pages == 4
    assert entry.covered_end is not None and datetime.now(UTC) - entry.covered_end < timedelta(minutes=5)


def test_a_retried_run_with_the_same_run_id_replaces_its_entry(tmp_path: Path, feeds: Any) -> None:
    config = _config(tmp_path, [{"name": "good", "kind": "rss", "url": f"{feeds.url}/good.xml"}])
    store = SqliteStore(":memory:")
    collect_all(config, store, run_id="dag-run-1")
    collect_all(config, store, run_id="dag-run-1")  # an Airflow retry of the same run
    (entry,) = store.collection_ledger()
    assert entry.run_id == "dag-run-1" and entry.covered_start is None
