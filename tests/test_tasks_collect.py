"""The Airflow collect tasks stage, the store task stores: one ledger run per DAG run, failures visible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from crawlers.feeds.replay import ReplayServer
from groundswell.app import tasks
from groundswell.config import ConfigError, load_config
from groundswell.store import open_store
from tests.test_collect_ledger import GOOD


@pytest.fixture
def config_path(tmp_path: Path) -> Any:
    with ReplayServer() as server:
        server.add("/good.xml", body=GOOD.encode(), headers={"Content-Type": "application/rss+xml"})
        path = tmp_path / "groundswell.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "data_dir": str(tmp_path / "data"),
                    "sources": [
                        {"name": "good", "kind": "rss", "url": f"{server.url}/good.xml"},
                        {"name": "gone", "kind": "rss", "url": f"{server.url}/missing.xml"},
                    ],
                }
            ),
            encoding="utf-8",
        )
        yield str(path)


def test_collect_task_fails_visibly_when_its_source_failed_and_the_store_task_records_it(
    config_path: str,
) -> None:
    good = tasks.collect_source(config_path, "good", run_id="scheduled__1")
    assert good["items"] == 3 and "new" not in good  # only storing knows what is new
    with pytest.raises(tasks.SourceFailed, match=r"source 'gone' failed: .*404"):
        tasks.collect_source(config_path, "gone", run_id="scheduled__1")
    with open_store(load_config(config_path)) as store:
        assert store.count() == 0 and store.collection_ledger() == []  # staged, not stored yet
    stored = tasks.store_collected(config_path, ["good", "gone"], run_id="scheduled__1")
    assert stored["good"] == {"status": "ok", "items": 3, "new": 3, "duplicates": 0, "written": 3}
    assert stored["gone"]["status"] == "failed"
    with open_store(load_config(config_path)) as store:
        entries = {e.source: e for e in store.collection_ledger()}
        assert store.count() == 3
    assert {e.run_id for e in entries.values()} == {"scheduled__1"}  # one ledger run per DAG run
    assert (entries["good"].status, entries["gone"].status) == ("ok", "failed")


def test_collect_task_retry_and_store_task_retry_leave_one_ledger_entry(config_path: str) -> None:
    for _ in range(2):
        with pytest.raises(tasks.SourceFailed):
            tasks.collect_source(config_path, "gone", run_id="scheduled__2")
    for _ in range(2):
        tasks.store_collected(config_path, ["gone"], run_id="scheduled__2")
    with open_store(load_config(config_path)) as store:
        assert [(e.run_id, e.status) for e in store.collection_ledger(["gone"])] == [
            ("scheduled__2", "failed")
        ]


def test_collection_tasks_need_the_dag_runs_id(config_path: str) -> None:
    with pytest.raises(ConfigError, match="run_id"):
        tasks.collect_source(config_path, "good", run_id=None)
    with pytest.raises(ConfigError, match="run_id"):
        tasks.store_collected(config_path, ["good"], run_id=None)
