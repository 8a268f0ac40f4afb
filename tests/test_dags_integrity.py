"""Every DAG imports without errors, with the expected tasks and schedules, and does no I/O at import."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1] / "dags"


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dags_import_without_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"groundswell_ingest", "groundswell_brief", "groundswell_maintenance"}


def test_dags_have_expected_tasks_and_schedules(dagbag) -> None:  # type: ignore[no-untyped-def]
    ingest = dagbag.dags["groundswell_ingest"]
    assert set(ingest.task_ids) == {
        "sources",
        "collect",
        "store_collected",
        "partitions",
        "enrich",
        "finish_enrich",
        "detect",
        "act",
    }
    assert ingest.get_task("collect").upstream_task_ids == {"sources"}
    assert ingest.get_task("enrich").trigger_rule == "all_done"
    assert ingest.get_task("store_collected").upstream_task_ids == {"sources", "collect"}
    assert ingest.get_task("store_collected").trigger_rule == "all_done"
    assert ingest.get_task("enrich").upstream_task_ids == {"store_collected", "partitions"}
    assert ingest.get_task("finish_enrich").upstream_task_ids == {"enrich"}
    assert ingest.get_task("detect").upstream_task_ids == {"finish_enrich"}
    assert ingest.get_task("act").upstream_task_ids == {"detect"}
    brief = dagbag.dags["groundswell_brief"]
    assert set(brief.task_ids) == {"build", "deliver"}
    assert brief.schedule == "0 7 * * 1"
    assert ingest.schedule == "@hourly"
    maint = dagbag.dags["groundswell_maintenance"]
    assert set(maint.task_ids) == {"rollover", "refresh_topics", "backfill"}


def test_dags_are_documented_and_retry_with_backoff(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        assert dag.doc_md and dag.doc_md.strip().startswith("### Groundswell")
        for t in dag.tasks:
            assert t.retries >= 1 and t.retry_exponential_backoff, (
                f"{dag_id}.{t.task_id} must retry with backoff"
            )
            assert t.on_failure_callback, f"{dag_id}.{t.task_id} needs a failure callback"


def test_ingest_and_brief_declare_their_assets(dagbag) -> None:  # type: ignore[no-untyped-def]
    from groundswell.app import tasks

    def uris(items) -> set[str]:  # type: ignore[no-untyped-def]
        return {getattr(a, "uri", None) for a in items}

    ingest = dagbag.dags["groundswell_ingest"]
    assert uris(ingest.get_task("finish_enrich").outlets) == {tasks.MENTIONS_ASSET}
    assert uris(ingest.get_task("detect").outlets) == {tasks.TRENDS_ASSET}
    assert uris(ingest.get_task("act").outlets) == {tasks.TICKETS_ASSET}
    build = dagbag.dags["groundswell_brief"].get_task("build")
    assert uris(build.inlets) == {tasks.MENTIONS_ASSET, tasks.TRENDS_ASSET}
    assert uris(build.outlets) == {tasks.BRIEFS_ASSET}
    # scheduled weekly by time, and the DAG says why not on the ingest's Asset
    assert "not on the ingest's Asset" in dagbag.dags["groundswell_brief"].doc_md


def test_backfill_without_a_range_is_skipped_not_successful(dagbag) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk.exceptions import AirflowSkipException

    backfill = dagbag.dags["groundswell_maintenance"].get_task("backfill")
    for params in ({}, {"backfill_start": "2026-11-01", "backfill_end": None}):
        with pytest.raises(AirflowSkipException, match="backfill_start and backfill_end"):
            backfill.python_callable(params=params)


def test_a_configuration_error_fails_the_task_without_retries(
    dagbag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk.exceptions import AirflowFailException

    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv("GROUNDSWELL_CONFIG", str(missing))
    sources = dagbag.dags["groundswell_ingest"].get_task("sources")
    with pytest.raises(AirflowFailException, match=r"configuration file not found: .*nowhere\.yaml"):
        sources.python_callable()
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("sources:\n  - name: forum\n    kind: fourm\n    url: http://x\n")
    monkeypatch.setenv("GROUNDSWELL_CONFIG", str(invalid))
    with pytest.raises(AirflowFailException, match="fourm"):
        sources.python_callable()


def test_config_path_names_where_a_missing_file_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    from groundswell.app import tasks
    from groundswell.config import ConfigError

    monkeypatch.setenv("GROUNDSWELL_CONFIG", "/nonexistent/groundswell.yaml")
    with pytest.raises(ConfigError, match=r"/nonexistent/groundswell.yaml \(from \$GROUNDSWELL_CONFIG\)"):
        tasks.config_path()
