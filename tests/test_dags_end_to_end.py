"""End to end under Airflow: `dag.test()` of the ingest and brief DAGs on the demo market.

The demo market is served on loopback, the embedded store is the backend. The ingest DAG collects
every source in mapped tasks, enriches in two mapped partitions then assigns topics in one pass,
detects and tickets; the brief DAG writes the week's brief. A second ingest run of the same interval
must not duplicate a mention, an event or a ticket.

To keep the suite fast the market is the session's shared demo (`demo_run` in conftest.py), and the
DAG's store starts with the demo's enriched mentions of all but the last days: the DAG crawls the
whole market for real, finds those mentions already stored, and enriches only the last days' ones,
which must come out as the single-process demo run enriched them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from groundswell.app.demo import demo_config, serve_market
from groundswell.app.demo.mailbox import demo_mailbox
from groundswell.app.partitions import PENDING_TOPIC
from groundswell.config import load_config
from groundswell.store import Filters, open_store
from tests.conftest import DEMO_END

pytestmark = pytest.mark.slow

DAGS = Path(__file__).resolve().parents[1] / "dags"
NEW_DAYS = 2  # the DAG enriches the mentions of the market's last two days; the rest is seeded


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
            "GROUNDSWELL_ENRICH_PARTITIONS": "2",
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
def market(
    tmp_path_factory: pytest.TempPathFactory, airflow: Any, demo_run: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    from nlp.enricher import TOPIC_STATE_FILE

    out = tmp_path_factory.mktemp("dag_demo")
    demo_cfg = load_config(demo_run["out"] / "groundswell.yaml")
    cutoff = datetime.combine(DEMO_END - timedelta(days=NEW_DAYS - 1), time(), tzinfo=UTC)
    with serve_market(demo_run["out"] / "web") as base_url, demo_mailbox(out / "mailbox") as smtp:
        raw = demo_config(base_url, out)
        raw.setdefault("brief", {})["pdf"] = False  # the PDF is tested in tests/test_brief_build.py
        # the teams' notifications go to a local mailbox, as in the demo (not retried against port 25)
        raw.setdefault("alerts", {}).setdefault("smtp", {}).update({"host": smtp[0], "port": smtp[1]})
        path = out / "groundswell.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        cfg = load_config(path)
        with open_store(demo_cfg) as demo, open_store(cfg) as store:
            store.upsert_mentions(list(demo.iter_mentions(Filters(end=cutoff))))
            recent = {m.id: m for m in demo.iter_mentions(Filters(start=cutoff))}
        state = cfg.path(TOPIC_STATE_FILE)
        state.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(demo_cfg.path(TOPIC_STATE_FILE), state)
        os.environ["GROUNDSWELL_CONFIG"] = str(path)
        yield {"out": out, "config": path, "truth": demo_run["truth"], "cutoff": cutoff, "recent": recent}


def _labels(m: Any) -> tuple[Any, ...]:
    return (
        m.language,
        m.entities,
        m.sentiment,
        m.emotion,
        m.voc_kind,
        m.business_area,
        m.safety_hazards,
        m.safety_severity,
        [(t.entity, t.label) for t in m.target_sentiments],
        m.models,
    )


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
        assert store.count(Filters(topic_ids=(PENDING_TOPIC,))) == 0  # finish_enrich assigned every topic
        assert {t.term for t in store.terms("source", size=20)} == {s.name for s in cfg.sources if s.enabled}
        # the mapped collect tasks record one ledger run under the DAG run's id (from the task context)
        ledger = [e for e in store.collection_ledger() if e.run_id == run.run_id]
        assert sorted(e.source for e in ledger) == sorted(s.name for s in cfg.sources if s.enabled)
        # the partitions enriched the last days' mentions as the single-process demo run did (the
        # two stores need not keep exactly the same mentions at the edges: near-duplicate collapse and
        # crawl budgets see different stores and clocks; the mentions both stored are compared)
        recent = {m.id: m for m in store.iter_mentions(Filters(start=market["cutoff"]))}
        both = sorted(recent.keys() & market["recent"].keys())
        assert len(both) > 20
        assert [_labels(recent[i]) for i in both] == [_labels(market["recent"][i]) for i in both]
        for i in both:  # batches differ, so scores agree to float precision, not bit for bit
            single = market["recent"][i].sentiment_score
            assert recent[i].sentiment_score == (
                single if single is None else pytest.approx(single, abs=1e-4)
            )
        safety = next(s for s in market["truth"].scenarios if s.name == "steampro-safety")
        tickets = store.query_docs("tickets", where={"subject": safety.entity})
        assert [t["type"] for t in tickets] == ["product"]
        rant = next(s for s in market["truth"].scenarios if s.name == "breezefan-rant")
        assert store.query_docs("tickets", where={"subject": rant.entity}) == []
    # the act task notified the safety ticket's team (the demo's local mailbox files each message)
    mail = [
        p.read_text(encoding="utf-8", errors="replace") for p in (market["out"] / "mailbox").glob("*.eml")
    ]
    assert any(tickets[0]["id"] in m for m in mail), [m[:200] for m in mail]


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
