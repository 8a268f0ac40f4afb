"""collect_source / collect_all / `groundswell crawl run`: feeds in process, web kinds via the runner subprocess."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from crawlers import collect
from crawlers.cli import app
from crawlers.collect import collect_all, collect_source, state_key
from crawlers.feeds.replay import ReplayServer
from crawlers.http import ApiHttp
from groundswell.config import ConfigError, parse_config
from groundswell.paths import shared_data_dir
from groundswell.store.sqlite import SqliteStore

REAL = shared_data_dir() / "real_sources"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"shared recorded API responses not found at {REAL}"
)


def _config(tmp_path: Path, sources: list[dict[str, Any]]) -> Any:
    return parse_config({"data_dir": str(tmp_path / "data"), "sources": sources}, base_dir=tmp_path)


@needs_real
def test_collect_all_runs_feed_sources_saves_cursors_and_reports_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GS_MISSING_KEY", raising=False)
    with ReplayServer() as server:
        server.add(
            "/feed.xml",
            body=(REAL / "feeds" / "feedjira__a10.xml").read_bytes(),
            headers={"Content-Type": "application/rss+xml"},
        )
        server.add_recorded("/r/AskReddit/new.json", REAL / "reddit" / "subreddit_new_askreddit.json")
        server.add_recorded("/api/v1/timelines/public", REAL / "mastodon" / "error_401_home_anonymous.json")
        config = _config(tmp_path, [
            {"name": "blog", "kind": "rss", "url": f"{server.url}/feed.xml"},
            {"name": "askreddit", "kind": "reddit", "url": server.url, "params": {"subreddit": "AskReddit"}, "budget": {"max_pages": 1}},
            {"name": "toots", "kind": "mastodon", "url": server.url},
            {"name": "yt", "kind": "youtube", "url": server.url, "params": {"video_id": "v"}, "credentials_env": {"api_key": "GS_MISSING_KEY"}},
            {"name": "off", "kind": "rss", "url": f"{server.url}/nothing.xml", "enabled": False},
        ])  # fmt: skip
        store = SqliteStore(":memory:")
        first = {s.source: s for s in collect_all(config, store)}
        second = {s.source: s for s in collect_all(config, store)}
    assert set(first) == {"blog", "askreddit", "toots", "yt"}
    assert (first["blog"].items, first["blog"].new, first["blog"].errors) == (5, 5, 0)
    assert (first["askreddit"].items, first["askreddit"].pages) == (100, 1)
    assert first["askreddit"].new + first["askreddit"].duplicates == 100
    assert first["toots"].errors == 1 and "The access token is invalid" in first["toots"].error_reasons[0]
    assert first["yt"].errors == 1 and "GS_MISSING_KEY" in first["yt"].error_reasons[0]
    assert store.count() == first["blog"].new + first["askreddit"].new
    assert store.get_state(state_key(config.source("askreddit")))["newest_name"] == "t3_48fbm9"
    assert store.get_state(state_key(config.source("toots"))) == {}
    # second run: the reddit cursor stops at known posts; the feed is re-read but nothing is new
    assert second["askreddit"].items == 0 and second["askreddit"].new == 0
    assert second["blog"].items == 5 and second["blog"].new == 0 and second["blog"].duplicates == 0
    assert store.count() == first["blog"].new + first["askreddit"].new


def test_collect_source_raises_config_error_for_unknown_sources(tmp_path: Path) -> None:
    config = _config(tmp_path, [{"name": "a", "kind": "rss", "url": "http://127.0.0.1:9/feed"}])
    with pytest.raises(ConfigError, match="unknown source 'nope'"):
        collect_source(config, "nope", SqliteStore(":memory:"))
    with pytest.raises(ConfigError, match="unknown source"):
        collect_all(config, SqliteStore(":memory:"), sources=["a", "nope"])


def test_collect_source_counts_an_unreachable_source_without_raising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(
        ApiHttp, "from_settings", classmethod(lambda cls, config: cls(user_agent="t", sleep=sleeps.append))
    )
    config = _config(tmp_path, [{"name": "a", "kind": "rss", "url": "http://127.0.0.1:9/feed"}])
    summary = collect_source(config, "a", SqliteStore(":memory:"))
    assert summary.errors == 1 and summary.items == 0 and "127.0.0.1:9/feed" in summary.error_reasons[0]
    assert sleeps == [1.0, 2.0, 4.0]  # connection errors are retried with exponential backoff first


FAKE_RUNNER = textwrap.dedent(
    '''
    """Stand-in for crawlers.web.run: the same command line and output contract."""
    import argparse, json, sys
    from datetime import datetime, timezone
    from groundswell.config import load_config
    from groundswell.mention import Mention

    p = argparse.ArgumentParser()
    for flag in ("--config", "--source", "--out", "--state-dir"):
        p.add_argument(flag, required=True)
    a = p.parse_args()
    config = load_config(a.config)  # the config handed over must be a loadable file
    source = config.source(a.source)
    text = "The Acme X200 blender cracked and sprayed hot soup across my kitchen, do not buy this model."
    rows = [
        Mention(source=source.name, source_kind="forum", url=source.url + "/t/1", text=text, author="ann",
                published=datetime(2026, 11, 1, tzinfo=timezone.utc)),
        Mention(source=source.name, source_kind="forum", url=source.url + "/t/2", text=text + " #fail", author="bot",
                published=datetime(2026, 11, 2, tzinfo=timezone.utc)),
        Mention(source=source.name, source_kind="forum", url=source.url + "/t/3", text="Mine works fine after a year of smoothies.",
                author="bo", published=datetime(2026, 11, 3, tzinfo=timezone.utc)),
    ]
    with open(a.out, "w", encoding="utf-8") as fh:
        for m in rows:
            fh.write(m.model_dump_json() + "\\n")
        fh.write("{not json}\\n")
    with open(a.state_dir + "/seen.txt", "w") as fh:
        fh.write(config.data_dir)
    print("crawl finished")
    print(json.dumps({"source": source.name, "items": 3, "pages": 4, "errors": 1,
                      "error_reasons": {"http://x/500": "HTTP 500"}, "seconds": 0.1}))
    sys.exit(int(source.params.get("exit_code", 0)))
    '''
)


@pytest.fixture
def fake_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "fakerunner"
    pkg.mkdir()
    (pkg / "gs_fake_web_runner.py").write_text(FAKE_RUNNER, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(pkg))
    monkeypatch.setattr(collect, "RUNNER_MODULE", "gs_fake_web_runner")
    return pkg


def test_collect_source_runs_web_kinds_in_a_subprocess_and_reads_jsonl_and_stats(
    tmp_path: Path, fake_runner: Path
) -> None:
    config = _config(tmp_path, [{"name": "forum", "kind": "forum", "url": "http://forum.example"}])
    store = SqliteStore(":memory:")
    state_dir = tmp_path / "state"
    summary = collect_source(config, "forum", store, state_dir=state_dir)
    assert (summary.items, summary.new, summary.duplicates, summary.pages) == (3, 2, 1, 4)
    assert summary.errors == 2  # the crawler's own error plus the line that is not a Mention
    assert any("HTTP 500" in r for r in summary.error_reasons) and any(
        "not a Mention" in r for r in summary.error_reasons
    )
    assert store.count() == 2
    rep = next(m for m in store.iter_mentions() if m.author == "ann")
    assert rep.duplicate_count == 2
    assert Path((state_dir / "seen.txt").read_text()).is_absolute()  # data_dir handed over absolute


def test_collect_source_keeps_items_when_the_crawler_fails(tmp_path: Path, fake_runner: Path) -> None:
    config = _config(
        tmp_path,
        [{"name": "forum", "kind": "forum", "url": "http://forum.example", "params": {"exit_code": 3}}],
    )
    store = SqliteStore(":memory:")
    summary = collect_source(config, "forum", store, state_dir=tmp_path / "state")
    assert summary.items == 3 and store.count() == 2
    assert any("exited with code 3" in r for r in summary.error_reasons)
    assert (tmp_path / "state" / "forum.crawl.log").is_file()


@needs_real
def test_crawl_run_cli_collects_and_prints_json_summaries(tmp_path: Path) -> None:
    with ReplayServer() as server:
        server.add(
            "/feed.xml",
            body=(REAL / "feeds" / "feedjira__a10.xml").read_bytes(),
            headers={"Content-Type": "application/rss+xml"},
        )
        config_file = tmp_path / "groundswell.yaml"
        config_file.write_text(
            yaml.safe_dump(
                {
                    "data_dir": "data",
                    "sources": [{"name": "blog", "kind": "rss", "url": f"{server.url}/feed.xml"}],
                }
            )
        )
        result = CliRunner().invoke(app, ["run", "--config", str(config_file), "--json"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert (line["source"], line["items"], line["new"], line["errors"]) == ("blog", 5, 5, 0)
    assert (tmp_path / "data" / "groundswell.sqlite").is_file()


def test_crawl_run_cli_exits_2_on_an_invalid_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [{name: x, kind: telegraph, url: 'http://x'}]\n")
    result = CliRunner().invoke(app, ["run", "-c", str(bad)])
    assert result.exit_code == 2 and "telegraph" in result.output
