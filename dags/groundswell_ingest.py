"""### Groundswell ingest

Hourly (configurable with `GROUNDSWELL_INGEST_SCHEDULE`): collect every enabled source in its own
mapped task (web sources crawl in a separate Scrapy process), which stages what it found in the
store; `store_collected` then dedups and stores every source's items in configuration order, as one
process would (the copy of a syndicated story that is kept does not depend on which task finished
first); then enrich and index what was collected, then run the trend detector with its clock at the
data interval's end and turn real shifts into tickets.

Enrichment is split into `$GROUNDSWELL_ENRICH_PARTITIONS` mapped tasks (default 1) by a hash of the
mention id, so several workers share it; `finish_enrich` then assigns the incremental topics in one
ordered pass and scores authors, so any number of partitions writes what one process would
(`groundswell.app.partitions`).

Idempotent: clearing a task or a whole run writes the same mentions (stable ids), the same trend
events (stable ids) and never a duplicate ticket. A source that fails does not stop the others:
its collect task stages the failure, then fails (red, retried); `store_collected` records it in the
collection ledger once every collect task is done, whatever its state, and enrichment runs after
it; the detector treats the buckets that source did not cover as missing and raises a source-health
event.

Configuration: the Airflow Variable `groundswell_config` (path of the YAML file), else
`$GROUNDSWELL_CONFIG`, else `groundswell.yaml`; a missing or invalid file fails the task at once
(no retries) with the message. Lineage: enrich, detect and act update the mentions, trends and tickets Assets.
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
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "on_failure_callback": tasks.on_task_failure,
}


@dag(
    dag_id="groundswell_ingest",
    schedule=os.environ.get("GROUNDSWELL_INGEST_SCHEDULE", "@hourly"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["groundswell"],
)
def groundswell_ingest() -> None:
    @task
    @tasks.config_errors_fail
    def sources() -> list[str]:
        return tasks.enabled_sources(tasks.config_path())

    @task(max_active_tis_per_dag=4)
    @tasks.config_errors_fail
    def collect(source: str, run_id: str | None = None) -> dict:
        # run_id comes from the task context: it keys what the task stages; a failed source fails here
        return tasks.collect_source(tasks.config_path(), source, run_id=run_id)

    @task(trigger_rule="all_done")
    @tasks.config_errors_fail
    def store_collected(names: list[str], run_id: str | None = None) -> dict:
        # every source in configuration order, one dedup index: the store does not depend on which
        # collect task finished first; one ledger run per DAG run
        return tasks.store_collected(tasks.config_path(), names, run_id=run_id)

    @task
    @tasks.config_errors_fail
    def partitions() -> list[dict]:
        count = tasks.enrich_partitions()
        return [{"partition": i, "partitions": count} for i in range(count)]

    @task(trigger_rule="all_done")
    @tasks.config_errors_fail
    def enrich(partition: int, partitions: int) -> dict:
        return tasks.enrich(tasks.config_path(), partition, partitions)

    @task(outlets=[Asset(tasks.MENTIONS_ASSET)])
    @tasks.config_errors_fail
    def finish_enrich() -> dict:
        return tasks.finish_enrich(tasks.config_path())

    @task(outlets=[Asset(tasks.TRENDS_ASSET)])
    @tasks.config_errors_fail
    def detect(data_interval_end: pendulum.DateTime | None = None) -> list[str]:
        return tasks.detect(tasks.config_path(), now=data_interval_end)

    @task(outlets=[Asset(tasks.TICKETS_ASSET)])
    @tasks.config_errors_fail
    def act(event_ids: list[str], data_interval_end: pendulum.DateTime | None = None) -> dict:
        return tasks.act(tasks.config_path(), event_ids, now=data_interval_end)

    names = sources()
    collected = collect.expand(source=names)
    stored = store_collected(names)  # type: ignore[arg-type]  # an XComArg, pulled at run time
    collected >> stored
    enriched = enrich.expand_kwargs(partitions())
    stored >> enriched
    finished = finish_enrich()
    enriched >> finished
    event_ids = detect()
    finished >> event_ids
    act(event_ids)  # type: ignore[arg-type]  # an XComArg: Airflow passes the pulled list at run time


groundswell_ingest()
