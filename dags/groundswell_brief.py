"""### Groundswell weekly market brief

Monday morning (configurable with `GROUNDSWELL_BRIEF_SCHEDULE`, default 07:00 UTC): build the
market brief (HTML and PDF) for the week that the data interval covers, then deliver it (it is
always written to `brief.output_dir`; it is emailed when `brief.recipients` is set).

Re-running a week rewrites the same files. Backfill past weeks with Airflow 3's backfill:
`airflow backfill create --dag-id groundswell_brief --from-date 2026-11-02 --to-date 2026-11-30`.

Lineage: `build` reads the Assets the ingest DAG writes (mentions, trend events) and writes the
briefs Asset. The brief is scheduled by time, not on the ingest's Asset: ingest updates the
mentions every hour, so an Asset schedule would rebuild the brief about 168 times a week, while the
brief is for one complete week and readers expect it on Monday morning.

A configuration error (missing file, invalid YAML or keys) fails the task at once with the message,
without retries.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task

from groundswell.app import tasks

DEFAULT_ARGS = {
    "owner": "groundswell",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "on_failure_callback": tasks.on_task_failure,
}

MENTIONS = Asset(tasks.MENTIONS_ASSET)
TRENDS = Asset(tasks.TRENDS_ASSET)
BRIEFS = Asset(tasks.BRIEFS_ASSET)


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
    @task(inlets=[MENTIONS, TRENDS], outlets=[BRIEFS])
    @tasks.config_errors_fail
    def build(data_interval_start: pendulum.DateTime | None = None) -> dict:
        return tasks.build_brief(tasks.config_path(), week_start=tasks.week_of(data_interval_start))

    @task
    @tasks.config_errors_fail
    def deliver(brief: dict) -> dict:
        return tasks.deliver_brief(tasks.config_path(), brief)

    deliver(build())  # type: ignore[arg-type]  # an XComArg: Airflow passes the pulled dict at run time


groundswell_brief()
