"""### Groundswell maintenance

Daily (configurable with `GROUNDSWELL_MAINTENANCE_SCHEDULE`): roll over and expire time-based
indices (Elasticsearch; a no-op on the embedded store), refresh the topic model on recent mentions,
and, when triggered with the `backfill_start` / `backfill_end` parameters, recompute trend events
and tickets deterministically over that date range. A run without both parameters shows `backfill`
as skipped, not as a success.

This `backfill` recomputes Groundswell's own trend events over a range in one task; to re-run
whole DAG runs over past intervals use Airflow 3's
`airflow backfill create --dag-id groundswell_ingest --from-date 2026-11-01 --to-date 2026-11-08`.

A configuration error (missing file, invalid YAML or keys) fails the task at once with the message,
without retries.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from groundswell.app import tasks

DEFAULT_ARGS = {
    "owner": "groundswell",
    "retries": 1,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "on_failure_callback": tasks.on_task_failure,
}


def _moment(text: str) -> pendulum.DateTime:
    """A backfill bound: an ISO date or date-time, UTC when it names no zone."""
    value = pendulum.parse(text, tz="UTC")
    if isinstance(value, pendulum.DateTime):
        return value.in_timezone("UTC")
    if isinstance(value, pendulum.Date):
        return pendulum.datetime(value.year, value.month, value.day, tz="UTC")
    raise ValueError(
        f"backfill bound {text!r} is not a date or date-time (allowed: 2026-11-01, 2026-11-01T06:00)"
    )


@dag(
    dag_id="groundswell_maintenance",
    schedule=os.environ.get("GROUNDSWELL_MAINTENANCE_SCHEDULE", "30 3 * * *"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["groundswell"],
    params={
        "backfill_start": Param(
            None, type=["null", "string"], format="date", description="first day to recompute"
        ),
        "backfill_end": Param(
            None, type=["null", "string"], format="date", description="day after the last one"
        ),
    },
)
def groundswell_maintenance() -> None:
    @task
    @tasks.config_errors_fail
    def rollover() -> dict:
        return tasks.rollover(tasks.config_path())

    @task
    @tasks.config_errors_fail
    def refresh_topics() -> dict:
        return tasks.refresh_topics(tasks.config_path())

    @task
    @tasks.config_errors_fail
    def backfill(params: dict | None = None) -> dict:
        params = params or {}
        if not params.get("backfill_start") or not params.get("backfill_end"):
            raise AirflowSkipException("no backfill: trigger with both backfill_start and backfill_end")
        start = _moment(params["backfill_start"])
        end = _moment(params["backfill_end"])
        return tasks.backfill(tasks.config_path(), start=start, end=end)

    rollover() >> refresh_topics() >> backfill()


groundswell_maintenance()
