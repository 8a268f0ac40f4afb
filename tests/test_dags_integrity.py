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
    assert set(ingest.task_ids) == {"sources", "collect", "enrich", "detect", "act"}
    assert ingest.get_task("collect").upstream_task_ids == {"sources"}
    assert ingest.get_task("enrich").trigger_rule == "all_done"
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
