"""### Groundswell weekly market brief

Monday morning (configurable with `GROUNDSWELL_BRIEF_SCHEDULE`, default 07:00 UTC): build the
market brief (HTML and PDF) for the week that the data interval covers, then deliver it (it is
always written to `brief.output_dir`; it is emailed when `brief.recipients` is set).

Re-running a week rewrites the same files. Backfill with `airflow dags backfill` over past weeks.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from groundswell import tasks

DEFAULT_ARGS = {
    "owner": "groundswell",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "on_failure_callback": tasks.on_task_failure,
}


@dag(
    dag_id="groundswell_brief",
    schedule=os.environ.get("GROUNDSWELL_BRIEF_SCHEDULE", "0 7 * * 1"),
    start_date=pendulum.datetime(2026, 1, 5, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["groundswell"],
)
def groundswell_brief() -> None:
    @task
    def build(data_interval_start: pendulum.DateTime | None = None) -> dict:
        return tasks.build_brief(tasks.config_path(), week_start=tasks.week_of(data_interval_start))

    @task
    def deliver(brief: dict) -> dict:
        return tasks.deliver_brief(tasks.config_path(), brief)

    deliver(build())


groundswell_brief()
