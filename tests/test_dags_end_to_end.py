"""End to end under Airflow: `dag.test()` of the ingest and brief DAGs on the demo market.

The demo market is served on loopback, the embedded store is the backend. The ingest DAG collects
every source in mapped tasks, enriches, detects and tickets; the brief DAG writes the week's brief.
A second ingest run of the same interval must not duplicate a mention, an event or a ticket.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from groundswell.config import load_config
from groundswell.demo import build_market, demo_config, serve_market
from groundswell.store import Filters, open_store

pytestmark = pytest.mark.slow

DAGS = Path(__file__).resolve().parents[1] / "dags"
END = date(2026, 11, 22)
WEEKS = 9


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("airflow_home")
    saved = dict(os.environ)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        }
    )
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import initdb

    initdb()
    bag = DagBag(dag_folder=str(DAGS))
    for dag in bag.dags.values():  # fail fast in tests instead of waiting out retry delays
        for t in dag.tasks:
            t.retries = 0
    yield bag
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory, airflow: Any) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("dag_demo")
    truth = build_market(out / "web", seed=11, end=END, weeks=WEEKS)
    with serve_market(out / "web") as base_url:
        raw = demo_config(base_url, out)
        path = out / "groundswell.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        os.environ["GROUNDSWELL_CONFIG"] = str(path)
        yield {"out": out, "config": path, "truth": truth}


def _snapshot(config_path: Path) -> tuple[int, list[str], list[tuple[str, str, int]]]:
    cfg = load_config(config_path)
    with open_store(cfg) as store:
        return (
            store.count(),
            sorted(d["id"] for d in store.query_docs("trends", limit=100_000)),
            sorted((t["id"], t["state"], len(t["history"])) for t in store.query_docs("tickets")),
        )


def test_ingest_dag_collects_enriches_detects_and_tickets(airflow: Any, market: dict[str, Any]) -> None:
    run = airflow.dags["groundswell_ingest"].test(logical_date=datetime(2026, 11, 22, 23, tzinfo=UTC))
    assert run.state == "success"
    cfg = load_config(market["config"])
    with open_store(cfg) as store:
        assert store.count() >= 0.8 * market["truth"].total_items
        assert store.count(Filters(enriched=False)) == 0
        assert {t.term for t in store.terms("source", size=20)} == {s.name for s in cfg.sources if s.enabled}
        safety = next(s for s in market["truth"].scenarios if s.name == "steampro-safety")
        tickets = store.query_docs("tickets", where={"subject": safety.entity})
        assert [t["type"] for t in tickets] == ["product"]
        rant = next(s for s in market["truth"].scenarios if s.name == "breezefan-rant")
        assert store.query_docs("tickets", where={"subject": rant.entity}) == []


def test_brief_dag_writes_the_weeks_brief(airflow: Any, market: dict[str, Any]) -> None:
    # the Monday-morning run of 2026-11-23 has the data interval [2026-11-16 07:00, 2026-11-23 07:00):
    # it reports on the week that started Monday 2026-11-16
    run = airflow.dags["groundswell_brief"].test(logical_date=datetime(2026, 11, 23, 7, tzinfo=UTC))
    assert run.state == "success"
    cfg = load_config(market["config"])
    html = cfg.path(cfg.brief.output_dir) / "brief-2026-11-16.html"
    assert html.exists() and "2026" in html.read_text(encoding="utf-8")
    with open_store(cfg) as store:
        assert store.get_doc("briefs", "2026-11-16") is not None


def test_ingest_dag_rerun_of_the_same_interval_duplicates_nothing(
    airflow: Any, market: dict[str, Any]
) -> None:
    before = _snapshot(market["config"])
    assert before[0] > 0, "runs after the first ingest test"
    run = airflow.dags["groundswell_ingest"].test(logical_date=datetime(2026, 11, 22, 23, tzinfo=UTC))
    assert run.state == "success"
    assert _snapshot(market["config"]) == before
